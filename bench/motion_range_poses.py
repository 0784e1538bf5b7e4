"""The known motions of ``bench.motion_range``: similarity transforms about the face centre, their schedule
(neutral lead-in, then per pose: ease in, hold, ease out) and how much of one an output followed.

Conventions: a transform is a 2x3 matrix acting on image pixels (``cv2.warpAffine``'s), built like
``cv2.getRotationMatrix2D(centre, angle, scale)`` plus a shift: a positive ``angle`` turns the picture
counter-clockwise on screen. Shifts are in inter-ocular distances (IOD) of the portrait, along the image axes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from bench.quality import similarity_2d

Kind = Literal["x", "y", "scale", "roll"]
KINDS: tuple[Kind, ...] = ("x", "y", "scale", "roll")


@dataclass(frozen=True, slots=True)
class Pose:
    """One known motion at full strength: a shift (IOD) along x or y, a scale factor or a roll (degrees)."""

    name: str
    kind: Kind
    amount: float


POSES = (
    Pose("x+0.8", "x", 0.8),
    Pose("x-0.8", "x", -0.8),
    Pose("y+0.5", "y", 0.5),
    Pose("y-0.5", "y", -0.5),
    Pose("scale0.8", "scale", 0.8),
    Pose("scale1.25", "scale", 1.25),
    Pose("roll+25", "roll", 25.0),
    Pose("roll-25", "roll", -25.0),
)


@dataclass(frozen=True, slots=True)
class Schedule:
    """Frame counts: ``lead`` neutral frames (the driver calibrates on them), then per pose ``ease`` frames
    easing in, ``hold`` frames at full strength and ``ease`` frames easing back to neutral."""

    lead: int = 3
    ease: int = 6
    hold: int = 4


@dataclass(frozen=True, slots=True)
class ClipFrame:
    """One frame of the driving clip: which pose (None in the lead-in), at what strength, and whether it is
    a hold frame (the frames that are measured)."""

    index: int
    pose: Pose | None
    weight: float  # 0 = neutral .. 1 = the pose at full strength
    hold: bool


def clip_frames(schedule: Schedule, poses: tuple[Pose, ...] = POSES) -> list[ClipFrame]:
    """The whole clip in order. Easing is a raised cosine; each pose ends back at neutral."""
    weights: list[tuple[Pose | None, float, bool]] = [(None, 0.0, False)] * schedule.lead
    ease_in = [0.5 - 0.5 * math.cos(math.pi * (k + 1) / (schedule.ease + 1)) for k in range(schedule.ease)]
    for pose in poses:
        weights += [(pose, w, False) for w in ease_in]
        weights += [(pose, 1.0, True)] * schedule.hold
        weights += [(pose, w, False) for w in reversed(ease_in)] + [(pose, 0.0, False)]
    return [ClipFrame(index, pose, weight, hold) for index, (pose, weight, hold) in enumerate(weights)]


def pose_matrix(pose: Pose | None, weight: float, centre: np.ndarray, iod: float) -> np.ndarray:
    """The 2x3 transform of ``pose`` at ``weight`` (0..1) about ``centre`` (2,) px; ``iod`` px per IOD."""
    shift, scale, angle = np.zeros(2), 1.0, 0.0
    if pose is not None:
        if pose.kind == "x":
            shift[0] = pose.amount * iod * weight
        elif pose.kind == "y":
            shift[1] = pose.amount * iod * weight
        elif pose.kind == "scale":
            scale = pose.amount**weight
        else:
            angle = pose.amount * weight
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, scale)
    matrix[:, 2] += shift
    return matrix


def decompose(matrix: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(shift (2,), scale, angle_degrees)`` of a 2x3 similarity, the shift being where it moves ``centre``
    minus ``centre`` (the inverse of :func:`pose_matrix`)."""
    scale = float(np.hypot(matrix[0, 0], matrix[0, 1]))
    angle = float(np.degrees(np.arctan2(matrix[0, 1], matrix[0, 0])))
    shift = matrix[:, :2] @ centre + matrix[:, 2] - centre
    return shift, scale, angle


def follow_ratio(pose: Pose, matrix: np.ndarray, centre: np.ndarray, iod: float) -> float:
    """How much of ``pose`` (at full strength) the similarity ``matrix`` carries out along the pose's own
    axis: shift along its axis / intended shift, log-scale ratio, or roll-angle ratio. 1.0 = all of it,
    0 = none, negative = the wrong way."""
    shift, scale, angle = decompose(matrix, centre)
    if pose.kind == "x":
        return float(shift[0] / (pose.amount * iod))
    if pose.kind == "y":
        return float(shift[1] / (pose.amount * iod))
    if pose.kind == "scale":
        return float(math.log(max(scale, 1e-9)) / math.log(pose.amount))
    return angle / pose.amount


def fitted_follow(
    pose: Pose, reference: np.ndarray, moved: np.ndarray, centre: np.ndarray, iod: float, points: np.ndarray
) -> float:
    """Follow ratio of the least-squares similarity taking ``reference`` landmarks (478, >=2) to ``moved``
    ones, fitted on the landmark indices ``points``."""
    matrix = similarity_2d(reference[points, :2].astype(np.float64), moved[points, :2].astype(np.float64))
    return follow_ratio(pose, matrix, centre, iod)


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 2) pixel points moved by the 2x3 ``matrix``."""
    return points[:, :2] @ matrix[:, :2].T + matrix[:, 2]
