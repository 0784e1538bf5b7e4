"""The body half of the motion stage: tracked driving bodies -> :class:`engines.base.BodyMotion`, relative
to the driver's neutral body, the way :mod:`realtime.driver` turns faces into head motion.

Per frame: MediaPipe pose (tracking mode) on the same RGB frame the face tracker reads -> body parameters
against the neutral (shoulder line angle, centre and width, hip centre, each arm bone's angle and length)
-> One-Euro smoothing (the face path's filter) -> hold-and-ease per part: a part whose points leave the
frame (an arm dropping out of view) keeps its last value for ``hold_seconds``, then eases back to neutral
over ``ease_seconds``, while the parts still seen go on moving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from engines.base import BodyMotion
from engines.body import ARMS, HIPS, LEFT_SHOULDER, RIGHT_SHOULDER, SHOULDERS, Body, PoseReader, find_portrait_body
from realtime.driver import fade_weight, one_euro_for
from realtime.stages import TimedFrame
from realtime.tracker import SETTLE_READS

log = logging.getLogger(__name__)

# The parameter vector: its parts (slices) and the points each part needs (in the neutral and now).
SHOULDER_PART = slice(0, 4)  # roll, shift x, shift y, width - 1
HIP_PART = slice(4, 6)  # hip shift x, y
ARM_PARTS = ((slice(6, 8), slice(8, 10)), (slice(10, 12), slice(12, 14)))  # (angle, length - 1) per bone
NUM_PARAMETERS = 14


@dataclass(frozen=True, slots=True)
class BodyDriverConfig:
    smoothing: float = 0.0  # 0 = off; 0..1 = light..strong One-Euro smoothing (as the face path's)
    hold_seconds: float = 0.5  # a part out of view keeps its last value this long...
    ease_seconds: float = 0.5  # ...then eases back to neutral over this long
    # Hips out of view (a chest-high frame): they follow this share of the shoulders' shift, so a lean
    # bends the torso while a sideways step still carries it.
    hip_follow: float = 0.3
    # Live: pose tracking on its own thread ("pose"), so it never holds up the face path; the body then
    # trails the face by one pose inference. Offline renders keep it in step (deterministic).
    background: bool = False
    # At most this many pose reads per second of the driving frames' time (0: every frame). Live the body
    # is read at 10/s (every third frame at 30 FPS): the shoulders move slower than the face, and a pose
    # read costs 12-16 ms of one core (MediaPipe's full pose model), so reading every frame would take
    # half a core; between reads the last body holds. Held at 10/s the shoulder parameters stay within
    # 0.3° and 0.005 shoulder widths (mean) of reading every frame on the dev clips (15/s: 0.17°, 0.003).
    reads_per_second: float = 0.0


def _angle(vector: np.ndarray) -> float:
    return float(np.arctan2(vector[1], vector[0]))


def _wrapped(angle: float) -> float:
    return float((angle + np.pi) % (2 * np.pi) - np.pi)


def body_parameters(neutral: Body, body: Body) -> tuple[np.ndarray, np.ndarray]:
    """(NUM_PARAMETERS,) parameters of ``body`` against ``neutral`` and (NUM_PARAMETERS,) bool: which were
    measured (their points visible in both). Requires the neutral's shoulders."""
    values = np.zeros(NUM_PARAMETERS, np.float32)
    seen = np.zeros(NUM_PARAMETERS, bool)
    width = neutral.shoulder_width
    visible = neutral.visible & body.visible
    if visible[SHOULDERS].all():
        shoulder_line = neutral.points[LEFT_SHOULDER] - neutral.points[RIGHT_SHOULDER]
        now_line = body.points[LEFT_SHOULDER] - body.points[RIGHT_SHOULDER]
        shift = (body.points[SHOULDERS].mean(axis=0) - neutral.points[SHOULDERS].mean(axis=0)) / width
        values[SHOULDER_PART] = (_wrapped(_angle(now_line) - _angle(shoulder_line)), *shift, body.shoulder_width / width - 1.0)
        seen[SHOULDER_PART] = True
        if visible[HIPS].all():
            values[HIP_PART] = (body.points[HIPS].mean(axis=0) - neutral.points[HIPS].mean(axis=0)) / width
            seen[HIP_PART] = True
    for bones, parts in zip(ARMS, ARM_PARTS):
        for (parent, child), part in zip(bones, parts):
            if visible[parent] and visible[child]:
                before = neutral.points[child] - neutral.points[parent]
                now = body.points[child] - body.points[parent]
                ratio = np.linalg.norm(now) / max(float(np.linalg.norm(before)), 1e-6)
                values[part] = (_wrapped(_angle(now) - _angle(before)), ratio - 1.0)
                seen[part] = True
    return values, seen


def motion_from_parameters(values: np.ndarray, hip_weight: float, hip_follow: float) -> BodyMotion:
    """The motion of a parameter vector. ``hip_weight``: how much the hips' own (held) measurement is in
    effect; the rest of their shift follows the shoulders by ``hip_follow``."""
    shift = values[1:3].copy()
    hip_shift = values[HIP_PART] + (1.0 - hip_weight) * hip_follow * shift
    return BodyMotion(
        roll=float(values[0]), shift=shift, width=1.0 + float(values[3]), hip_shift=hip_shift,
        arm_angles=values[[6, 8, 10, 12]].reshape(2, 2).copy(),
        arm_lengths=1.0 + values[[7, 9, 11, 13]].reshape(2, 2),
    )  # fmt: skip


class BodyDriver:
    """``update(frame) -> BodyMotion | None``; None until a neutral body (both shoulders in view) is seen.

    The neutral is the first body showing both shoulders; :meth:`recalibrate` takes the next one instead.
    Owns its pose reader (tracking mode) unless one is given. Single-threaded.
    """

    def __init__(self, config: BodyDriverConfig = BodyDriverConfig(), reader: PoseReader | None = None):
        self.config = config
        self._owns_reader = reader is None
        if reader is None:
            reader = BackgroundPoseReader() if config.background else PoseReader(static_image=False)
        self._reader = reader
        self._filter = one_euro_for(config.smoothing)
        self._neutral: Body | None = None
        self._held = np.zeros(NUM_PARAMETERS, np.float32)  # last measured value of every parameter
        self._last_seen = np.full(NUM_PARAMETERS, -np.inf)  # when each was last measured
        self.frames_without_body = 0
        self._last_read = -np.inf  # timestamp of the last pose read
        self._last_body: Body | None = None

    def recalibrate(self) -> None:
        """Take the next body showing both shoulders as the new neutral."""
        self._neutral = None

    def update(self, frame: TimedFrame) -> BodyMotion | None:
        body = self._read(frame)
        if body is None:
            self.frames_without_body += 1
        elif self._neutral is None and body.shows_shoulders:
            # Read the neutral the way the frames after it will be read (see FaceTracker.settle): the
            # first frame of a track is cropped around the detector's box, later ones around the previous
            # pose, and the two crops place the same shoulders up to ~0.04 shoulder widths and 1° apart.
            for _ in range(SETTLE_READS - 1):
                body = self._reader.read(frame.image) or body
            self._neutral = body
            self._held[:] = 0.0
            self._last_seen[:] = -np.inf
            if self._filter is not None:
                self._filter.reset()
        if self._neutral is None:
            return None
        if body is not None:
            values, seen = body_parameters(self._neutral, body)
            self._held[seen] = values[seen]
            self._last_seen[seen] = frame.timestamp
        # Parts out of view: their last value, faded towards neutral (0) as they stay away.
        weights = np.array([
            fade_weight(frame.timestamp - seen_at, self.config.hold_seconds, self.config.ease_seconds)
            for seen_at in self._last_seen[[SHOULDER_PART.start, HIP_PART.start, 6, 8, 10, 12]]
        ], np.float32)  # fmt: skip
        values = self._held * np.repeat(weights, [4, 2, 2, 2, 2, 2])
        if self._filter is not None:
            values = self._filter.filter(values, frame.timestamp)
        return motion_from_parameters(values, float(weights[1]), self.config.hip_follow)

    def _read(self, frame: TimedFrame) -> Body | None:
        """The body of ``frame``, or the last one read when the read rate says to skip this frame."""
        rate = self.config.reads_per_second
        if self._neutral is not None and rate > 0 and frame.timestamp - self._last_read < 1.0 / rate - 1e-6:
            return self._last_body
        self._last_read = frame.timestamp
        self._last_body = self._reader.read(frame.image)
        return self._last_body

    def close(self) -> None:
        if self._owns_reader:
            self._reader.close()


class BackgroundPoseReader:
    """A tracking-mode :class:`PoseReader` on its own thread "pose": ``read(rgb)`` hands the frame over
    (newest wins) and returns the newest body found so far, of an earlier frame (None before the first).
    The first frame is read until the tracking crop settles (see :meth:`BodyDriver.update`).

    The thread is a background one (:mod:`realtime.live.priority`): a pose read (12-16 ms of a core) on a
    two-core machine otherwise preempts tracking and rendering and delays the frame they are on. The
    reader is opened (``open_reader``) on that thread after it turned nicer, so MediaPipe's graph threads,
    which run the inference, start from it and are as nice. Raises what ``open_reader`` raises."""

    def __init__(self, open_reader: Callable[[], PoseReader] = partial(PoseReader, static_image=False)):
        from realtime.live.slots import LatestSlot  # the live loop's mailbox (not needed offline)

        self._open_reader = open_reader
        self._reader: PoseReader | None = None
        self._frames = LatestSlot("pose")
        self._latest: Body | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pose", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._thread.join()
            raise self._failure

    def read(self, rgb: np.ndarray) -> Body | None:
        self._frames.put(rgb)
        with self._lock:
            return self._latest

    def _run(self) -> None:
        from realtime.live.priority import lower_thread_priority

        lower_thread_priority()
        try:
            self._reader = self._open_reader()
        except BaseException as exc:  # noqa: BLE001 - raised again on the caller's thread
            self._failure = exc
            return
        finally:
            self._ready.set()
        reads = SETTLE_READS
        while not self._stop.is_set():
            image = self._frames.get(timeout=0.1)
            if image is None:
                continue
            body = None
            for _ in range(reads):
                body = self._reader.read(image)
            if body is not None:
                reads = 1
            with self._lock:
                self._latest = body

    def close(self) -> None:
        self._stop.set()
        self._frames.close()
        self._thread.join(timeout=2.0)
        self._reader.close()


def body_tracking_wanted(mode: str, portrait: np.ndarray) -> bool:
    """Whether ``--body mode`` (on | off | auto) tracks the body for this portrait: only when it shows both
    shoulders (nothing else could move); ``on`` says so when it does not."""
    if mode == "off":
        return False
    body = find_portrait_body(portrait)
    shows = body is not None and body.shows_shoulders
    if mode == "on" and not shows:
        log.warning("--body on: the portrait does not show both shoulders, so its body stays still")
    return shows
