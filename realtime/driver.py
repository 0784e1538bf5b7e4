"""The motion stage: tracked driving faces -> :class:`engines.base.Motion`, relative to a neutral reference.

Per frame: track -> (optional) One-Euro smoothing of the landmarks in the neutral's face frame -> head pose
(3-D similarity on rigid points) and expression (what is left once the pose is undone). When the face is
lost the last motion is held for ``hold_seconds`` and then eased back to neutral over ``ease_seconds``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from engines.base import Face, Motion
from engines.landmarks import RIGID, FaceFrame, similarity_3d
from realtime.smoothing import OneEuroFilter
from realtime.stages import TimedFrame
from realtime.tracker import FaceTracker


@dataclass(frozen=True, slots=True)
class DriverConfig:
    smoothing: float = 0.0  # 0 = off; 0..1 = light..strong One-Euro smoothing of the landmarks
    hold_seconds: float = 0.5  # keep the last motion this long after the face is lost
    ease_seconds: float = 0.5  # then ease back to neutral over this long
    max_faces: int = 2  # faces MediaPipe looks for (one is picked consistently)
    body: bool = False  # also track the upper body (Motion.body; see realtime/body_motion.py)
    body_in_background: bool = False  # ...on its own thread (live), the body one pose inference behind
    body_reads_per_second: float = 0.0  # ...read at most this often (0: every frame; see BodyDriverConfig)


def one_euro_for(smoothing: float) -> OneEuroFilter | None:
    """Map a 0..1 smoothing strength to One-Euro parameters (values in inter-ocular units)."""
    if smoothing <= 0:
        return None
    min_cutoff = float(np.interp(smoothing, [0, 1], [6.0, 0.4]))
    return OneEuroFilter(min_cutoff=min_cutoff, beta=float(np.interp(smoothing, [0, 1], [4.0, 1.0])))


def motion_from_faces(neutral_points: np.ndarray, driving: np.ndarray) -> Motion:
    """Decompose driving landmarks, already in the neutral's face frame (478, 3), against the neutral's own
    normalised landmarks ``neutral_points`` (478, 3)."""
    scale, rotation, offset = similarity_3d(neutral_points[RIGID], driving[RIGID])
    # expression: the driving points with the head pose undone, minus neutral.
    unposed = ((driving - offset) @ rotation) / scale
    return Motion(
        rotation=rotation,
        scale=scale,
        translation=offset[:2].astype(np.float32),
        expression=(unposed - neutral_points).astype(np.float32),
        neutral=neutral_points,
    )


def ease_motion(motion: Motion, weight: float) -> Motion:
    """``weight`` of ``motion`` (1 = as is, 0 = neutral): rotation by axis-angle, the rest linearly."""
    rotation_vector, _ = cv2.Rodrigues(motion.rotation.astype(np.float64))
    rotation, _ = cv2.Rodrigues(rotation_vector * weight)
    return dataclasses.replace(
        motion,
        rotation=rotation.astype(np.float32),
        scale=1.0 + weight * (motion.scale - 1.0),
        translation=motion.translation * weight,
        expression=motion.expression * weight,
        body=None if motion.body is None else motion.body.eased(weight),
        face_found=False,
        driving_weight=motion.driving_weight * weight,
    )


def fade_weight(elapsed: float, hold_seconds: float, ease_seconds: float) -> float:
    """How much of the last motion to keep ``elapsed`` seconds after the face went: 1 while held, then a
    smooth (raised-cosine) fall to 0 over ``ease_seconds``, 0 after."""
    easing = max(0.0, elapsed - hold_seconds) / max(ease_seconds, 1e-6)
    return 0.0 if easing >= 1.0 else 0.5 * (1.0 + float(np.cos(np.pi * easing)))


class MotionDriver:
    """``update(frame) -> Motion | None``; None only until a first face has been seen (no neutral yet).

    The neutral reference is the first face found; :meth:`recalibrate` takes the next one instead.
    Owns its tracker (tracking mode) unless one is given. Single-threaded.
    """

    def __init__(self, config: DriverConfig = DriverConfig(), tracker: FaceTracker | None = None):
        self.config = config
        self._tracker = tracker or FaceTracker(static_image=False, max_faces=config.max_faces)
        self._owns_tracker = tracker is None
        self._filter = one_euro_for(config.smoothing)
        self._neutral_frame: FaceFrame | None = None
        self._neutral_points: np.ndarray | None = None
        self._reference: TimedFrame | None = None
        self._reference_face: Face | None = None
        self._calibration_id = 0
        self._last: Motion | None = None
        self._last_seen: float | None = None
        self.frames_without_face = 0
        self._body = _body_driver(config)

    def recalibrate(self) -> None:
        """Take the next face found as the new neutral reference."""
        self._neutral_frame = None

    def update(self, frame: TimedFrame) -> Motion | None:
        motion = self._face_motion(frame)
        if self._body is None or motion is None:
            return motion
        return dataclasses.replace(motion, body=self._body.update(frame))

    def _face_motion(self, frame: TimedFrame) -> Motion | None:
        face = self._tracker.track(frame.image)
        if face is None:
            self.frames_without_face += 1
            return self._lost(frame.timestamp)
        if self._neutral_frame is None:
            face = self._tracker.settle(frame.image) or face
            self._calibrate(frame, face)
        normalised = self._neutral_frame.normalise(face.landmarks)
        if self._filter is not None:
            normalised = self._filter.filter(normalised, frame.timestamp)
        motion = dataclasses.replace(
            motion_from_faces(self._neutral_points, normalised),
            driving_image=frame.image,
            driving_face=face,
            reference_image=self._reference.image,
            reference_face=self._reference_face,
            calibration_id=self._calibration_id,
        )
        self._last, self._last_seen = motion, frame.timestamp
        return motion

    def _calibrate(self, frame: TimedFrame, face: Face) -> None:
        self._neutral_frame = FaceFrame.of(face.landmarks)
        self._neutral_points = self._neutral_frame.normalise(face.landmarks).astype(np.float32)
        self._reference, self._reference_face = frame, face
        self._calibration_id += 1
        if self._filter is not None:
            self._filter.reset()
        if self._body is not None:
            self._body.recalibrate()

    def _lost(self, timestamp: float) -> Motion | None:
        if self._last is None:
            return None
        weight = fade_weight(timestamp - self._last_seen, self.config.hold_seconds, self.config.ease_seconds)
        return ease_motion(self._last, weight)

    def close(self) -> None:
        if self._owns_tracker:
            self._tracker.close()
        if self._body is not None:
            self._body.close()


def _body_driver(config: DriverConfig):
    """The body tracker the config asks for (imported on demand: face-only runs never load the pose model)."""
    if not config.body:
        return None
    from realtime.body_motion import BodyDriver, BodyDriverConfig

    return BodyDriver(BodyDriverConfig(
        smoothing=config.smoothing, background=config.body_in_background, reads_per_second=config.body_reads_per_second,
    ))  # fmt: skip
