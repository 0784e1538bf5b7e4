"""What an offline renderer is handed and what it promises: :class:`DrivingFrame` in, frames out.

The pipeline (the rerender job) reads the driving video, tracks it and retargets the motion onto the
portrait; the renderers here see only the resulting :class:`DrivingFrame` windows. Every offline renderer
(diffusion per frame, AnimateDiff windows, video-model segments) is a :class:`WindowRenderer`, and the
diffusion modes start img2img from an :class:`InitFrames` (the source portrait by default, an engine's
render when the pipeline provides one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engines.base import Face, Motion


@dataclass(frozen=True, slots=True)
class DrivingFrame:
    """One driving frame as the offline modes see it."""

    index: int
    timestamp: float
    motion: Motion  # the portrait's motion (modifiers applied; the identity before the first driving face)
    target: np.ndarray  # (478, 3) float32: where the portrait's landmarks go, in portrait pixels
    driving_image: np.ndarray  # (h, w, 3) uint8 RGB: the driving video's frame
    driving_face: Face | None  # the face tracked in it (None when not found)


class WindowRenderer(Protocol):
    """An offline renderer. ``prepare`` once per portrait, then ``render`` windows; single-threaded.

    It turns a window of ``window`` consecutive :class:`DrivingFrame` into as many output frames;
    consecutive windows share ``overlap`` frames (the pipeline cross-fades them)."""

    window: int  # frames per call (1: per frame)
    overlap: int  # frames shared with the previous window (< window)

    def settings(self) -> dict:
        """Everything that changes the pictures (models, options), for the work folder's key."""
        ...

    def prepare(self, portrait: np.ndarray, face: Face) -> None: ...

    def render(self, frames: Sequence[DrivingFrame]) -> list[np.ndarray]:
        """One output frame (portrait-sized RGB uint8) per driving frame."""
        ...

    def close(self) -> None: ...


class InitFrames(Protocol):
    """The img2img starting frame of each driving frame (portrait-sized RGB uint8, a fresh array)."""

    name: str | None  # what draws them (an engine name), None for the plain source; part of the settings

    def prepare(self, portrait: np.ndarray, face: Face) -> None: ...

    def frame(self, driving: DrivingFrame) -> np.ndarray: ...

    def close(self) -> None: ...


class SourceFrames:
    """:class:`InitFrames` that start every frame from the source portrait itself."""

    name = None

    def __init__(self) -> None:
        self._source: np.ndarray | None = None

    def prepare(self, portrait: np.ndarray, face: Face) -> None:
        self._source = portrait

    def frame(self, driving: DrivingFrame) -> np.ndarray:
        return self._source

    def close(self) -> None:
        pass
