"""Fakes for the live-loop tests: a synthetic camera with scripted outages and face gaps, a tracker that
reads the script from the frame, an engine that can fail on chosen frames, a recording sink and a
pyvirtualcam backend."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from engines.base import NUM_LANDMARKS, Face, SourceState
from realtime.live.capture import CaptureError
from realtime.stages import TimedFrame

SIZE = (64, 48)  # synthetic camera frames (w, h)
PORTRAIT_SIZE = (96, 80)


def face_template(center=(48.0, 40.0), spread=12.0, seed=0) -> np.ndarray:
    """(478, 3) float32 landmark cloud; any non-degenerate cloud works for the face-frame geometry."""
    rng = np.random.default_rng(seed)
    points = rng.normal(0.0, spread, (NUM_LANDMARKS, 3)).astype(np.float32)
    points[:, 0] += center[0]
    points[:, 1] += center[1]
    return points


def portrait() -> tuple[np.ndarray, Face]:
    width, height = PORTRAIT_SIZE
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = (200, 40, 40)  # left half red, right half blue: shows any mirroring
    image[:, width // 2 :] = (40, 40, 200)
    return image, Face(face_template(), (width, height))


def intervals(spans: list[tuple[float, float]]) -> Callable[[float], bool]:
    return lambda t: any(start <= t < end for start, end in spans)


class Scenario:
    """A camera over time: ``face(t)`` says whether a face is in view, ``down(t)`` whether the camera is
    unplugged (opening fails and a running stream raises). ``t`` is seconds since the scenario started."""

    def __init__(self, fps: float = 30.0, face=lambda t: True, down=lambda t: False):
        self.fps = fps
        self.face = face
        self.down = down
        self.start = time.perf_counter()
        self.opens = 0
        self.open_failures = 0

    def now(self) -> float:
        return time.perf_counter() - self.start

    def open(self) -> FakeCamera:
        if self.down(self.now()):
            self.open_failures += 1
            raise CaptureError("fake camera unplugged")
        self.opens += 1
        return FakeCamera(self)


class FakeCamera:
    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.fps = scenario.fps
        self.size = SIZE
        self.closed = False

    def frames(self):
        period = 1.0 / self.fps
        due = time.perf_counter()
        index = 0
        while True:
            t = self.scenario.now()
            if self.scenario.down(t):
                raise CaptureError("fake camera stopped delivering")
            image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
            image[0, 0, 1] = 255 if self.scenario.face(t) else 0  # the face marker
            image[0, 0, 2] = index % 7  # a little head movement
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            yield TimedFrame(image, time.perf_counter(), index)
            index += 1
            due += period

    def close(self) -> None:
        self.closed = True


class FakeTracker:
    """Finds a face when the frame's marker pixel says so; the landmarks shift with the frame."""

    def __init__(self):
        self.template = face_template(center=(32.0, 24.0), spread=8.0, seed=1)

    def track(self, rgb: np.ndarray) -> Face | None:
        if rgb[0, 0, 1] == 0:
            return None
        points = self.template.copy()
        points[:, 0] += 0.02 * float(rgb[0, 0, 2])
        return Face(points, (rgb.shape[1], rgb.shape[0]))

    def settle(self, rgb: np.ndarray) -> Face | None:
        return self.track(rgb)  # no tracking crop to settle

    def close(self) -> None:
        pass


ENGINE_MARK = (1, 2, 3)  # pixel (1, 1) of every frame the fake engine renders


class FakeEngine:
    """Returns the portrait marked with ENGINE_MARK at pixel (1, 1); raises on the calls in ``fail_on``."""

    name = "fake"

    def __init__(self, fail_on: tuple[int, ...] = ()):
        self.fail_on = set(fail_on)
        self.calls = 0
        self.face_found: list[bool] = []
        self.weights: list[float] = []
        self.calibration_ids: list[int] = []
        self.scales: list[float] = []
        self.edits: list[dict | None] = []
        self.closed = False

    def prepare(self, portrait: np.ndarray, face: Face) -> SourceState:
        return SourceState(image=portrait, face=face)

    def render(self, state: SourceState, motion) -> np.ndarray:
        self.calls += 1
        if self.calls in self.fail_on:
            raise RuntimeError(f"fake engine failure on call {self.calls}")
        self.face_found.append(motion.face_found)
        self.weights.append(motion.driving_weight)
        self.calibration_ids.append(motion.calibration_id)
        self.scales.append(motion.scale)
        self.edits.append(dict(motion.edit) if motion.edit else None)
        out = state.image.copy()
        out[1, 1] = ENGINE_MARK
        return out

    def close(self) -> None:
        self.closed = True


class RecordingSink:
    """Remembers when each frame arrived (perf_counter), its capture timestamp and its shape."""

    def __init__(self):
        self.opened: tuple[tuple[int, int], float] | None = None
        self.times: list[float] = []
        self.timestamps: list[float] = []
        self.shapes: set[tuple[int, ...]] = set()
        self.marks: list[tuple[int, ...]] = []  # pixel (1, 1) of each frame
        self.closed = False
        self.lock = threading.Lock()

    def open(self, size: tuple[int, int], fps: float) -> None:
        self.opened = (size, fps)

    def send(self, frame: np.ndarray, timestamp: float) -> None:
        with self.lock:
            self.times.append(time.perf_counter())
            self.timestamps.append(timestamp)
            self.shapes.add(frame.shape)
            self.marks.append(tuple(int(v) for v in frame[1, 1]))

    def close(self) -> None:
        self.closed = True

    def sends_between(self, start: float, end: float) -> int:
        return sum(start <= t < end for t in self.times)

    def max_gap(self, start: float, end: float) -> float:
        inside = [t for t in self.times if start <= t < end]
        return max(np.diff([start, *inside, end])) if inside else end - start


class FakeVirtualCamera:
    """A pyvirtualcam backend (registered with ``pyvirtualcam.register_backend``) that keeps what it gets."""

    instances: ClassVar[list[FakeVirtualCamera]] = []

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw):
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self.frames: list[np.ndarray] = []
        self.times: list[float] = []
        self.closed = False
        FakeVirtualCamera.instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        self.times.append(time.perf_counter())
        if len(self.frames) < 5:
            self.frames.append(frame.copy())

    def close(self) -> None:
        self.closed = True

    def device(self) -> str:
        return "fake-vcam"

    def native_fourcc(self):
        return None


class MissingVirtualCamera:
    """A backend whose driver is not installed (what pyvirtualcam raises on a machine without one)."""

    def __init__(self, **kw):
        raise RuntimeError(
            "No v4l2 loopback device found at /dev/video[0-99]. Did you run 'modprobe v4l2loopback'?"
        )
