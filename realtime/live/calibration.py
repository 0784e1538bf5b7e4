"""Neutral calibration on the first *stable* face.

The motion driver takes the first face it sees as neutral, which is often mid-movement (the user is still
settling in front of the camera). :class:`StableCalibrator` watches the tracked faces and, once the head
has stayed still for a few consecutive frames (or after a timeout, so a never-still driving video still
calibrates), asks the driver to re-take its neutral on the next frame. Until the first stable calibration
it reports no motion (the portrait stays neutral); after C it keeps the old neutral until a new stable
face is found. Runs on the render thread, like the driver.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from engines.base import Motion
from engines.landmarks import RIGID, inter_ocular
from realtime.driver import MotionDriver

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CalibrationConfig:
    stable_frames: int = 5  # consecutive still frames that make a face "stable"
    max_motion: float = 0.02  # mean rigid-point movement per frame, in inter-ocular distances
    timeout_seconds: float = 2.0  # with a face in view this long and never still, calibrate anyway


class StableCalibrator:
    def __init__(self, driver: MotionDriver, config: CalibrationConfig = CalibrationConfig()):
        self._driver = driver
        self.config = config
        self._seeking = True
        self._calibrated = False
        self._awaiting_id: int | None = None  # the driver's calibration id when we asked for a new one
        self._previous: np.ndarray | None = None
        self._still = 0
        self._seeking_since: float | None = None

    @property
    def calibrated(self) -> bool:
        return self._calibrated

    def request(self) -> None:
        """Re-take the neutral on the next stable face (the C hotkey)."""
        self._seeking, self._still, self._seeking_since = True, 0, None

    def process(self, motion: Motion | None, timestamp: float) -> Motion | None:
        """The driver's motion once a stable neutral is in place, else None (render the neutral source)."""
        if motion is None:
            return None
        if self._awaiting_id is not None and motion.face_found and motion.calibration_id != self._awaiting_id:
            self._awaiting_id = None
            self._calibrated = True
            log.info("live: neutral face calibrated")
        if self._seeking and motion.face_found and motion.driving_face is not None:
            self._watch(motion.driving_face.landmarks, timestamp, motion.calibration_id)
        elif not motion.face_found:
            self._previous, self._still = None, 0
        return motion if self._calibrated else None

    def _watch(self, landmarks: np.ndarray, timestamp: float, calibration_id: int) -> None:
        points = landmarks[RIGID, :2]
        if self._previous is not None:
            movement = np.linalg.norm(points - self._previous, axis=1).mean() / max(
                inter_ocular(landmarks), 1e-6
            )
            self._still = self._still + 1 if movement <= self.config.max_motion else 0
        self._previous = points
        if self._seeking_since is None:
            self._seeking_since = timestamp
        timed_out = timestamp - self._seeking_since >= self.config.timeout_seconds
        if self._still + 1 >= self.config.stable_frames or timed_out:
            if timed_out and self._still + 1 < self.config.stable_frames:
                log.info(
                    "live: no still face within %.1f s; calibrating on the current one",
                    self.config.timeout_seconds,
                )
            self._driver.recalibrate()
            self._awaiting_id = calibration_id
            self._seeking, self._still, self._seeking_since = False, 0, None
