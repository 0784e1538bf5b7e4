"""The stage interfaces shared by the offline renderer and the live loop.

    frame source -> tracker -> motion driver -> engine (render + paste-back) -> sinks

The offline path feeds a video file and writes a file; the live loop feeds a camera (or a video file
played at its own pace) and writes to the virtual camera, a preview window and/or a file. Both use the
same :class:`FrameSource` and :class:`Sink` contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True, slots=True)
class TimedFrame:
    """One captured frame. ``timestamp`` is ``time.perf_counter()`` at capture (live) or the
    presentation time in seconds (files); it travels with the frame to the sink so latency is measurable."""

    image: np.ndarray  # RGB uint8 (H, W, 3)
    timestamp: float
    index: int


@runtime_checkable
class FrameSource(Protocol):
    """Frames in order. ``fps`` is the nominal rate, ``size`` is (width, height)."""

    fps: float
    size: tuple[int, int]

    def frames(self) -> Iterator[TimedFrame]: ...

    def close(self) -> None: ...


@runtime_checkable
class Sink(Protocol):
    """Where rendered frames go: ``open`` once, ``send`` per frame, ``close`` exactly once."""

    def open(self, size: tuple[int, int], fps: float) -> None: ...

    def send(self, frame: np.ndarray, timestamp: float) -> None: ...

    def close(self) -> None: ...


class NullSink:
    """Discards frames but counts them (tests and benchmarks)."""

    def __init__(self) -> None:
        self.count = 0
        self.size: tuple[int, int] | None = None
        self.last_timestamp: float | None = None

    def open(self, size: tuple[int, int], fps: float) -> None:
        self.size = size

    def send(self, frame: np.ndarray, timestamp: float) -> None:
        self.count += 1
        self.last_timestamp = timestamp

    def close(self) -> None:
        pass
