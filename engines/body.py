"""Upper-body points: MediaPipe pose's shoulders, elbows, wrists and hips, and the body motion applied to
a portrait's own points (retargeting to its proportions).

Points are in *pixels* like the face landmarks (x right, y down). A point counts as visible when MediaPipe
rates it visible and it lies inside the image: the pose model also guesses points beyond the frame (the
shoulders of a head-and-neck crop), and a portrait's invisible arm must not be animated (it is not there).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from engines.base import BodyMotion, LivePuppetError

# Our eight body points and their MediaPipe pose indices ("left" is the subject's left: image right when
# they face the camera).
POSE_INDICES = np.array([11, 12, 13, 14, 15, 16, 23, 24])
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_ELBOW, RIGHT_ELBOW, LEFT_WRIST, RIGHT_WRIST, LEFT_HIP, RIGHT_HIP = range(8)
NUM_BODY_POINTS = len(POSE_INDICES)
SHOULDERS = np.array([LEFT_SHOULDER, RIGHT_SHOULDER])
HIPS = np.array([LEFT_HIP, RIGHT_HIP])
ARM_POINTS = np.array([LEFT_ELBOW, RIGHT_ELBOW, LEFT_WRIST, RIGHT_WRIST])
# Each arm as its bones (from, to): upper arm, forearm. Order matches BodyMotion.arm_angles' rows/columns.
ARMS = (((LEFT_SHOULDER, LEFT_ELBOW), (LEFT_ELBOW, LEFT_WRIST)), ((RIGHT_SHOULDER, RIGHT_ELBOW), (RIGHT_ELBOW, RIGHT_WRIST)))

MIN_VISIBILITY = 0.5  # MediaPipe's visibility score a point needs to count
EDGE_MARGIN = 0.01  # ...and it must lie this share of the image side inside the frame
MAX_POSE_SIDE = 1280  # huge images are read on a downscaled copy (the model reads 256² anyway)


@dataclass(frozen=True, slots=True)
class Body:
    """Eight body points of one person: ``points`` (8, 2) float32 px, ``visible`` (8,) bool."""

    points: np.ndarray
    visible: np.ndarray
    image_size: tuple[int, int]  # (width, height)

    @property
    def shows_shoulders(self) -> bool:
        return bool(self.visible[SHOULDERS].all())

    @property
    def shoulder_width(self) -> float:
        return float(np.linalg.norm(self.points[LEFT_SHOULDER] - self.points[RIGHT_SHOULDER]))

    def scaled(self, factor: float) -> "Body":
        """The same body in an image resized by ``factor``."""
        width, height = self.image_size
        size = (round(width * factor), round(height * factor))
        return Body((self.points * factor).astype(np.float32), self.visible, size)


class PoseReader:
    """``read(rgb) -> Body | None`` with MediaPipe pose (the full model shipped in mediapipe 0.10.21).
    Still-image mode for portraits, tracking mode for streams. Single-threaded."""

    def __init__(self, *, static_image: bool, min_confidence: float = 0.5):
        os.environ.setdefault("GLOG_minloglevel", "2")
        try:
            from mediapipe.python.solutions import pose
        except ImportError as exc:  # pragma: no cover - dependency problem, reported clearly
            raise LivePuppetError(
                f"MediaPipe pose is not available ({exc}); install it with `pip install mediapipe==0.10.21`"
            ) from exc
        self._pose = pose.Pose(
            static_image_mode=static_image, model_complexity=1, smooth_landmarks=not static_image,
            enable_segmentation=False, min_detection_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        )  # fmt: skip

    def read(self, rgb: np.ndarray) -> Body | None:
        """The body in ``rgb`` (H, W, 3 uint8), None when no person is found."""
        height, width = rgb.shape[:2]
        scale = min(1.0, MAX_POSE_SIDE / max(height, width))
        image = rgb if scale == 1.0 else cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        result = self._pose.process(np.ascontiguousarray(image))
        if result.pose_landmarks is None:
            return None
        landmarks = result.pose_landmarks.landmark
        raw = np.array([(landmarks[i].x, landmarks[i].y, landmarks[i].visibility) for i in POSE_INDICES], np.float32)
        inside = ((raw[:, :2] > EDGE_MARGIN) & (raw[:, :2] < 1.0 - EDGE_MARGIN)).all(axis=1)
        points = raw[:, :2] * np.array([width, height], np.float32)
        return Body(points=points, visible=inside & (raw[:, 2] >= MIN_VISIBILITY), image_size=(width, height))

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> "PoseReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def find_portrait_body(rgb: np.ndarray) -> Body | None:
    """The body points of a still portrait (None when no person's body is found)."""
    with PoseReader(static_image=True) as reader:
        return reader.read(rgb)


def rotate(vectors: np.ndarray, angle: float | np.ndarray) -> np.ndarray:
    """(..., 2) vectors turned by ``angle`` radians (clockwise on screen: y points down)."""
    c, s = np.cos(angle), np.sin(angle)
    x, y = vectors[..., 0], vectors[..., 1]
    return np.stack([c * x - s * y, s * x + c * y], axis=-1)


def retarget_body(source: Body, motion: BodyMotion) -> np.ndarray:
    """The portrait's body points moved by ``motion``, in the portrait's proportions: (8, 2) float32 px.

    Offsets are in shoulder widths (the portrait's own), bones keep the portrait's lengths times the
    driver's foreshortening, and points the portrait does not show stay where they are (the caller uses
    only the visible ones)."""
    points = source.points.astype(np.float32)
    target = points.copy()
    width = source.shoulder_width
    # 1. The shoulder line: its centre shifts, it turns by the roll and narrows or widens.
    centre = points[SHOULDERS].mean(axis=0)
    half = 0.5 * (points[LEFT_SHOULDER] - points[RIGHT_SHOULDER])
    moved_centre = centre + motion.shift * width
    moved_half = rotate(half, motion.roll) * motion.width
    target[LEFT_SHOULDER], target[RIGHT_SHOULDER] = moved_centre + moved_half, moved_centre - moved_half
    # 2. The hips shift (a lean moves the shoulders against them).
    target[HIPS] = points[HIPS] + motion.hip_shift * width
    # 3. The arms: each bone turns by the driver's change of angle, from its moved parent joint.
    for side, bones in enumerate(ARMS):
        for bone, (parent, child) in enumerate(bones):
            vector = rotate(points[child] - points[parent], motion.arm_angles[side, bone])
            target[child] = target[parent] + vector * motion.arm_lengths[side, bone]
    return target
