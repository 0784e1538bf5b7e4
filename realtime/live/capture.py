"""The capture thread and its frame sources: a webcam (OpenCV, latency-minded settings) or a video file
played at its own frame rate (optionally looped) standing in for one.

Both sources follow :class:`realtime.stages.FrameSource`; ``frames()`` stamps each frame with
``time.perf_counter()`` when it arrives, ends normally when a (non-looping) video is over and raises
:class:`CaptureError` when a camera stops delivering. The capture thread puts every frame into a
:class:`~realtime.live.slots.LatestSlot` (the newest wins, older ones are dropped and counted) and, when
the source fails, closes it and opens it again with exponential back-off until it comes back.
"""

from __future__ import annotations

import logging
import platform
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2

from engines.base import LivePuppetError
from realtime.live.slots import LatestSlot
from realtime.stages import FrameSource, TimedFrame

log = logging.getLogger(__name__)


class CaptureError(LivePuppetError):
    """The camera could not be opened or stopped delivering frames (the capture thread retries)."""


@dataclass(frozen=True, slots=True)
class CameraRequest:
    """What to ask a webcam for; the camera may grant something else (see :class:`CameraSource.granted`)."""

    index: int = 0
    width: int = 640
    height: int = 480
    fps: float = 30.0
    fourcc: str = "MJPG"  # compressed modes reach higher resolutions and rates over USB
    buffer_size: int = 1  # the driver keeps at most one frame queued: no stale backlog


@dataclass(frozen=True, slots=True)
class GrantedMode:
    width: int
    height: int
    fps: float
    fourcc: str
    backend: str

    def describe(self) -> str:
        return f"{self.width}x{self.height} @ {self.fps:g} fps, {self.fourcc or '?'} ({self.backend})"


def camera_api() -> int:
    """The OpenCV capture backend that opens fastest and honours MJPG on this OS."""
    system = platform.system()
    if system == "Linux":
        return cv2.CAP_V4L2
    if system == "Windows":
        return cv2.CAP_DSHOW
    if system == "Darwin":
        return cv2.CAP_AVFOUNDATION
    return cv2.CAP_ANY


def decode_fourcc(value: float) -> str:
    code = int(value)
    text = "".join(chr((code >> (8 * k)) & 0xFF) for k in range(4))
    return text if text.isprintable() and text.strip() else ""


def read_mode(capture: cv2.VideoCapture) -> GrantedMode:
    return GrantedMode(
        width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        fps=float(capture.get(cv2.CAP_PROP_FPS) or 0.0),
        fourcc=decode_fourcc(capture.get(cv2.CAP_PROP_FOURCC)),
        backend=capture.getBackendName(),
    )


def open_camera(request: CameraRequest) -> tuple[cv2.VideoCapture, GrantedMode]:
    """Open a webcam with the requested mode; returns the capture and what the camera granted."""
    capture = cv2.VideoCapture(request.index, camera_api())
    if not capture.isOpened():
        capture.release()
        raise CaptureError(
            f"camera {request.index} could not be opened (list cameras with `livepuppet cameras`)"
        )
    # Order matters on V4L2: the pixel format first, then the size, then the rate.
    capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*request.fourcc))
    capture.set(cv2.CAP_PROP_FRAME_WIDTH, request.width)
    capture.set(cv2.CAP_PROP_FRAME_HEIGHT, request.height)
    capture.set(cv2.CAP_PROP_FPS, request.fps)
    capture.set(cv2.CAP_PROP_BUFFERSIZE, request.buffer_size)
    return capture, read_mode(capture)


class CameraSource:
    """A webcam as a :class:`FrameSource`: RGB frames stamped with ``perf_counter`` on arrival."""

    def __init__(self, request: CameraRequest = CameraRequest()):
        self.request = request
        self._capture, self.granted = open_camera(request)
        self.fps = self.granted.fps or request.fps
        self.size = (self.granted.width, self.granted.height)
        asked = f"{request.width}x{request.height} @ {request.fps:g} fps, {request.fourcc}"
        log.info("camera %d: asked for %s, granted %s", request.index, asked, self.granted.describe())

    def frames(self) -> Iterator[TimedFrame]:
        index = 0
        while True:
            ok, bgr = self._capture.read()
            arrived = time.perf_counter()
            if not ok or bgr is None:
                raise CaptureError(f"camera {self.request.index} stopped delivering frames")
            yield TimedFrame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), arrived, index)
            index += 1

    def close(self) -> None:
        self._capture.release()


class VideoFileSource:
    """A video file standing in for a camera: frames are released at the file's own rate (real time),
    stamped with ``perf_counter`` when released; ``loop`` starts over at the end instead of finishing."""

    def __init__(self, path: str | Path, *, loop: bool = False, realtime: bool = True):
        self.path = Path(path)
        if not self.path.is_file():
            raise LivePuppetError(f"driving video not found: {self.path}")
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            raise LivePuppetError(f"cannot read the driving video {self.path}")
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 1.0 <= fps <= 240.0 else 30.0
        self.size = (
            int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        self.loop = loop
        self.realtime = realtime

    def frames(self) -> Iterator[TimedFrame]:
        period = 1.0 / self.fps
        due = time.perf_counter()
        index = 0
        frames_this_pass = 0
        while True:
            ok, bgr = self._capture.read()
            if not ok:
                if not self.loop or frames_this_pass == 0:
                    return
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                frames_this_pass = 0
                continue
            frames_this_pass += 1
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            if self.realtime:
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                elif delay < -2 * period:  # starved of CPU: re-anchor instead of bursting to catch up
                    due = time.perf_counter()
            yield TimedFrame(rgb, time.perf_counter(), index)
            index += 1
            due += period

    def close(self) -> None:
        self._capture.release()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Back-off between attempts to reopen a failing source."""

    first_delay: float = 0.25
    max_delay: float = 4.0
    factor: float = 2.0


class CaptureThread:
    """Thread "capture": pulls frames from a source into ``slot``; reopens the source when it fails.

    ``open_source`` builds a fresh source (called again after each failure). Frames are renumbered so
    indices keep increasing across reconnections. ``ended`` is set when the source finished normally.
    """

    def __init__(
        self,
        open_source: Callable[[], FrameSource],
        slot: LatestSlot[TimedFrame],
        retry: RetryPolicy = RetryPolicy(),
    ):
        self._open_source = open_source
        self._slot = slot
        self._retry = retry
        self._stop = threading.Event()
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self.captured = 0
        self.failures = 0  # times the source failed (to open or while delivering)
        self.reconnects = 0  # times it came back after failing
        self.fps: float | None = None  # the opened source's nominal rate
        self.size: tuple[int, int] | None = None

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def _run(self) -> None:
        delay = self._retry.first_delay
        failing = False
        while not self._stop.is_set():
            source = None
            try:
                source = self._open_source()
                self.fps, self.size = source.fps, source.size
                for frame in source.frames():
                    if failing:
                        failing = False
                        self.reconnects += 1
                        log.info("capture: the source is delivering again")
                    delay = self._retry.first_delay
                    self._slot.put(TimedFrame(frame.image, frame.timestamp, self.captured))
                    self.captured += 1
                    if self._stop.is_set():
                        return
                log.info("capture: the source ended")
                self.ended.set()
                return
            except Exception as exc:  # noqa: BLE001  (a failing camera must never take the loop down)
                self.failures += 1
                if not failing:
                    log.warning("capture: %s; retrying with back-off", exc)
                failing = True
            finally:
                if source is not None:
                    source.close()
            self._stop.wait(delay)
            delay = min(delay * self._retry.factor, self._retry.max_delay)
