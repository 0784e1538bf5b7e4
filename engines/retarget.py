"""Retargeting: put a driver's :class:`~engines.base.Motion` onto the source's own face.

Expression offsets are scaled per feature by the ratio of the source's and the driver's neutral
proportions, so a small-eyed source still closes its eyes fully when the driver blinks and the mouth opens
in proportion to the source's mouth. The head pose is applied about the source's rigid-point centre in
its roll-free face frame (3-D, with MediaPipe's depth), then taken back to image pixels.
"""

from __future__ import annotations

import numpy as np

from engines.base import Face, Motion
from engines.landmarks import (
    LEFT_BROW, LEFT_EYE_CONTOUR, LEFT_EYE_CORNERS, LEFT_EYE_LOWER, LEFT_EYE_UPPER, LEFT_IRIS, LIPS,
    MOUTH_CORNERS, RIGHT_BROW, RIGHT_EYE_CONTOUR, RIGHT_EYE_CORNERS, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER,
    RIGHT_IRIS, FaceFrame, eye_openings,
)  # fmt: skip

RATIO_LIMITS = (0.25, 4.0)
# A driver's neutral eye opened less than this (lid gap / eye width, as :func:`eye_openings`) counts as shut:
# a driver whose reference frame has its eyes closed (a blink, eyes down at the start of a clip: b01, b02,
# v03) would otherwise make every open eye after it an eye opened wide beyond the portrait's own (googly
# painted eyes), its iris a guess under the lid. Such an eye is measured against a relaxed open eye instead:
# its upper lid raised to ``OPEN_EYE``, its iris centred in it.
SHUT_EYE = 0.1
OPEN_EYE = 0.3
# A neutral eye open but narrower than a relaxed one (a squint, a half-blink, eyes down: v01's first frame,
# 0.16 against 0.22 after it) made the driver's ordinary open eyes 1.4× the portrait's and the redraw painted
# them wide: it is raised to the narrowest relaxed opening (the 18 driving clips' median open eyes lie
# between 0.19 and 0.43), no further than the portrait's own. A portrait driven by itself stays exactly as it
# is, and a squinting or shut-eyed portrait keeps its look under a relaxed driver.
RELAXED_EYE = 0.2
CHIN, FOREHEAD = 152, 10
EYE_PARTS = (
    (RIGHT_EYE_CORNERS, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_IRIS),
    (LEFT_EYE_CORNERS, LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_IRIS),
)


def _eye_size(points: np.ndarray, corners, upper, lower) -> tuple[float, float]:
    """Eye width and lid gap (vertical, in the face frame) of face-frame points."""
    width = np.linalg.norm(points[corners[0], :2] - points[corners[1], :2])
    gap = np.abs(points[lower[1:-1], 1] - points[upper[1:-1], 1]).mean()
    return float(width), float(gap)


def opened_eyes(points: np.ndarray, portrait: np.ndarray) -> np.ndarray:
    """Face-frame points (478, 3) of a driver's neutral with each shut eye (opening < ``SHUT_EYE``) opened to
    ``OPEN_EYE``, its iris centred, unless the portrait's eye is shut too (``portrait``: the portrait's
    (right, left) openings; two shut references: the portrait's eye follows the driver's as it opens), and
    each narrowed eye (< ``RELAXED_EYE``) raised to ``RELAXED_EYE``, no further than the portrait's own
    opening; other eyes as they are (see :func:`with_eye_opened`). So a portrait driven by itself is measured
    against itself."""
    out = points
    for eye, opening in enumerate(eye_openings(points)):
        if opening < SHUT_EYE:
            if portrait[eye] >= SHUT_EYE:
                out = with_eye_opened(out, eye, OPEN_EYE)
        elif opening < RELAXED_EYE:
            wanted = min(RELAXED_EYE, float(portrait[eye]))
            if wanted > opening:
                out = with_eye_opened(out, eye, wanted, centre_iris=False)
    return out if out is not points else points.copy()


def with_eye_opened(points: np.ndarray, eye: int, opening: float, centre_iris: bool = True) -> np.ndarray:
    """Face-frame points (478, 3) with eye ``eye`` (0 right, 1 left) opened to ``opening`` (lid gap / eye
    width): the upper lid moved, most in the middle and not at the corners; with ``centre_iris`` the iris
    centred in the eye (a shut eye's iris is MediaPipe's guess)."""
    corners, upper, lower, iris = EYE_PARTS[eye]
    out = points.copy()
    outer, inner = points[corners[0], :2], points[corners[1], :2]
    width = float(np.linalg.norm(inner - outer))
    along = np.clip((points[upper, 0] - outer[0]) / (inner[0] - outer[0] or 1e-6), 0.0, 1.0)
    profile = np.sin(np.pi * along)  # 0 at the corners
    down = float(np.sign(points[CHIN, 1] - points[FOREHEAD, 1]) or 1.0)  # the face frame's downwards
    middle = slice(2, 5)  # the lid points eye_openings measures
    now = float(eye_openings(points)[eye])
    out[upper, 1] -= down * (opening - now) * width / max(float(profile[middle].mean()), 1e-3) * profile
    if centre_iris:
        centre = np.array([(outer[0] + inner[0]) / 2, (out[upper[middle], 1].mean() + out[lower[middle], 1].mean()) / 2])
        out[iris, :2] += centre - points[iris[0], :2]
    return out


def _mouth_size(points: np.ndarray) -> tuple[float, float]:
    width = np.linalg.norm(points[MOUTH_CORNERS[0], :2] - points[MOUTH_CORNERS[1], :2])
    height = np.linalg.norm(points[0, :2] - points[17, :2])  # outer lip top to bottom
    return float(width), float(height)


def _ratio(source: float, driver: float) -> float:
    return float(np.clip(source / max(driver, 1e-6), *RATIO_LIMITS))


def expression_scales(source: np.ndarray, driver: np.ndarray) -> np.ndarray:
    """Per-point (478, 3) multipliers for the driver's expression offsets, from both neutral faces given in
    their own face frames (478, 3)."""
    scales = np.ones_like(source, dtype=np.float32)
    eyes = (
        (RIGHT_EYE_CORNERS, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_CONTOUR, RIGHT_IRIS, RIGHT_BROW),
        (LEFT_EYE_CORNERS, LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_EYE_CONTOUR, LEFT_IRIS, LEFT_BROW),
    )
    for corners, upper, lower, contour, iris, brow in eyes:
        source_width, source_gap = _eye_size(source, corners, upper, lower)
        driver_width, driver_gap = _eye_size(driver, corners, upper, lower)
        points = np.concatenate([contour, iris])
        scales[points, 0] = _ratio(source_width, driver_width)
        both_shut = source_gap < SHUT_EYE * source_width and driver_gap < SHUT_EYE * driver_width
        # Two shut eyes have no gaps to compare: their widths tell how their openings compare.
        scales[points, 1] = _ratio(source_width, driver_width) if both_shut else _ratio(source_gap, driver_gap)
        scales[brow, :2] = _ratio(source_width, driver_width)
    source_width, source_height = _mouth_size(source)
    driver_width, driver_height = _mouth_size(driver)
    scales[LIPS, 0] = _ratio(source_width, driver_width)
    scales[LIPS, 1] = _ratio(source_height, driver_height)
    return scales


class Retargeter:
    """``retarget(motion) -> (478, 3)`` target landmarks in the source image's pixels.

    Built once per source face; the per-feature scales are recomputed only when the driver's neutral
    changes (a new calibration).
    """

    def __init__(self, source: Face):
        self.frame = FaceFrame.of(source.landmarks)
        self.source_points = self.frame.normalise(source.landmarks).astype(np.float32)  # (478, 3)
        self._source_openings = eye_openings(self.source_points)
        self._driver_neutral: np.ndarray | None = None
        self._neutral_shift = np.zeros_like(self.source_points)
        self._scales = np.ones_like(self.source_points)

    def retarget(self, motion: Motion) -> np.ndarray:
        if motion.neutral is not self._driver_neutral:
            self._driver_neutral = motion.neutral
            # The driver's expression measured from its neutral with shut or narrowed eyes opened (see
            # SHUT_EYE, RELAXED_EYE); the shift is 0 elsewhere.
            opened = opened_eyes(motion.neutral, self._source_openings)
            self._neutral_shift = (motion.neutral - opened).astype(np.float32)
            self._scales = expression_scales(self.source_points, opened)
        # 1. expression in the source's face frame, 2. head pose about the source's centre.
        expressed = self.source_points + (motion.expression + self._neutral_shift) * self._scales
        posed = motion.scale * expressed @ motion.rotation.T
        posed[:, :2] += motion.translation
        # 3. back to image pixels.
        return self.frame.denormalise(posed).astype(np.float32)
