"""Crop geometry of the LivePortrait pipeline, computed from MediaPipe's 478 landmarks instead of
insightface's 106 points, plus the eye/lip openness ratios and the paste-back mask.

Official conventions (reference README §5): a roll-compensated similarity crop around the face with
scale 2.3 and vertical offset -0.125 (source) or an axis-aligned one with scale 2.2 and -0.1 (driving),
512x512, resized to 256x256 for the networks.

Landmark choices (MediaPipe face-mesh indices; "left" = image left = the subject's right):

* crop points, standing in for the 106-point set (jaw contour, brows, eyes, nose, lips; no forehead,
  which insightface's points do not cover): ``CROP_POINTS``;
* eye centres: the iris centres 468 and 473; lip centre: the mouth corners 61 and 291 (the 106 model's
  points 52 and 61);
* openness, ``|a - b| / (|c - d| + 1e-6)`` as the official 203-point ratios: left eye (159, 145, 33, 133),
  right eye (386, 374, 362, 263) (upper and lower lid middles over the eye corners), lip (13, 14, 61, 291)
  (inner lip middles over the mouth corners).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_JAW = [
    127,
    234,
    93,
    132,
    58,
    172,
    136,
    150,
    149,
    176,
    148,
    152,
    377,
    400,
    378,
    379,
    365,
    397,
    288,
    361,
    323,
    454,
    356,
]
_BROWS = [46, 52, 53, 55, 63, 65, 66, 70, 105, 107, 276, 282, 283, 285, 293, 295, 296, 300, 334, 336]
_EYES = [7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246,
         249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466]  # fmt: skip
_NOSE = [
    1,
    2,
    4,
    5,
    6,
    19,
    45,
    48,
    64,
    94,
    97,
    98,
    115,
    168,
    195,
    197,
    220,
    275,
    278,
    294,
    326,
    327,
    344,
    440,
]
_LIPS = [0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181, 185, 191,
         267, 269, 270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415]  # fmt: skip
CROP_POINTS = np.array(_JAW + _BROWS + _EYES + _NOSE + _LIPS)
EYE_CENTRES = (468, 473)  # iris centres, image left then right
MOUTH_CORNERS = (61, 291)
LEFT_EYE_RATIO = (159, 145, 33, 133)
RIGHT_EYE_RATIO = (386, 374, 362, 263)
LIP_RATIO = (13, 14, 61, 291)

CROP_SIZE = 512  # the crop G renders and paste-back uses
INPUT_SIZE = 256  # what the networks take


@dataclass(frozen=True, slots=True)
class CropConfig:
    scale: float
    vx: float
    vy: float
    rotate: bool


SOURCE_CROP = CropConfig(scale=2.3, vx=0.0, vy=-0.125, rotate=True)
DRIVING_CROP = CropConfig(scale=2.2, vx=0.0, vy=-0.1, rotate=False)


@dataclass(frozen=True, slots=True)
class FaceRect:
    """A square around the face: centre (x, y) px, side px, roll angle rad (of the face's x axis)."""

    center: np.ndarray  # (2,) float64
    size: float
    angle: float


def face_rect(landmarks: np.ndarray, config: CropConfig) -> FaceRect:
    """The official ``parse_rect_from_landmark`` on MediaPipe landmarks (478, 2+) px."""
    points = landmarks[CROP_POINTS, :2].astype(np.float64)
    eyes = (landmarks[EYE_CENTRES[0], :2] + landmarks[EYE_CENTRES[1], :2]) / 2
    lips = (landmarks[MOUTH_CORNERS[0], :2] + landmarks[MOUTH_CORNERS[1], :2]) / 2
    down = np.asarray(lips - eyes, np.float64)
    length = np.linalg.norm(down)
    down = down / length if length > 1e-3 else np.array([0.0, 1.0])
    right = np.array([down[1], -down[0]])
    angle = float(np.arccos(np.clip(right[0], -1, 1)) * (1 if right[1] >= 0 else -1))
    centroid = points.mean(axis=0)
    rotated = (points - centroid) @ np.stack([right, down]).T  # (N, 2) in the face's axes
    low, high = rotated.min(axis=0), rotated.max(axis=0)
    middle = (low + high) / 2
    size = float(np.max(high - low)) * config.scale
    center = centroid + right * middle[0] + down * middle[1]
    center = center + right * (config.vx * size) + down * (config.vy * size)
    return FaceRect(center=center, size=size, angle=angle if config.rotate else 0.0)


def crop_transform(rect: FaceRect, size: int = CROP_SIZE) -> np.ndarray:
    """(2, 3) affine from image pixels to crop pixels (the official M_o2c)."""
    s = size / rect.size
    cos, sin = np.cos(rect.angle), np.sin(rect.angle)
    cx, cy = rect.center
    half = size / 2
    return np.array(
        [
            [s * cos, s * sin, half - s * (cos * cx + sin * cy)],
            [-s * sin, s * cos, half - s * (-sin * cx + cos * cy)],
        ]
    )


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(np.asarray(matrix, np.float64))


def crop_to_input(
    image: np.ndarray, to_crop: np.ndarray, interpolation: int
) -> tuple[np.ndarray, np.ndarray]:
    """RGB image -> (512 crop, 256 network input) through ``to_crop`` (black outside the image)."""
    crop = cv2.warpAffine(image, to_crop, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR)
    return crop, cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE), interpolation=interpolation)


def source_crop(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(256 input RGB uint8, (2, 3) image->crop512 affine) for a portrait."""
    to_crop = crop_transform(face_rect(landmarks, SOURCE_CROP))
    _, small = crop_to_input(image, to_crop, cv2.INTER_AREA)
    return small, to_crop


def reference_crop(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """256 input for one driving frame from its own box (no smoothing): the calibration frame."""
    _, small = crop_to_input(image, crop_transform(face_rect(landmarks, DRIVING_CROP)), cv2.INTER_LINEAR)
    return small


class DrivingCropper:
    """Causal driving crop: this frame's box, lightly smoothed with the previous ones (exponential, in
    pixels), reset after a jump. The official offline path averages boxes over the whole video, which a
    live stream cannot do."""

    def __init__(self, alpha: float = 0.5, jump: float = 0.25):
        self.alpha = alpha  # weight of the new box
        self.jump = jump  # a move of more than this fraction of the box restarts the smoothing
        self._center: np.ndarray | None = None
        self._size = 0.0

    def reset(self) -> None:
        self._center = None

    def crop(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        rect = face_rect(landmarks, DRIVING_CROP)
        if self._center is None or np.linalg.norm(rect.center - self._center) > self.jump * self._size:
            self._center, self._size = rect.center, rect.size
        else:
            self._center = self._center + self.alpha * (rect.center - self._center)
            self._size = self._size + self.alpha * (rect.size - self._size)
        smoothed = FaceRect(center=self._center, size=self._size, angle=0.0)
        _, small = crop_to_input(image, crop_transform(smoothed), cv2.INTER_LINEAR)
        return small


def _ratio(landmarks: np.ndarray, a: int, b: int, c: int, d: int) -> float:
    xy = landmarks[:, :2].astype(np.float64)
    return float(np.linalg.norm(xy[a] - xy[b]) / (np.linalg.norm(xy[c] - xy[d]) + 1e-6))


def openness_ratios(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(left eye, right eye, lip) openness ratios of one face."""
    return (
        _ratio(landmarks, *LEFT_EYE_RATIO),
        _ratio(landmarks, *RIGHT_EYE_RATIO),
        _ratio(landmarks, *LIP_RATIO),
    )


def paste_mask(size: int = CROP_SIZE, feather: float = 16.0) -> np.ndarray:
    """(size, size) float32 paste-back weights: 1 inside, a linear ramp over ``feather`` px to 0 at the crop
    border, rounded corners (the same shape as the official template, built procedurally)."""
    coords = np.arange(size, dtype=np.float32)
    # Distance of each pixel outside the inner square [feather, size - 1 - feather]^2.
    outside = np.maximum(np.maximum(feather - coords, coords - (size - 1 - feather)), 0.0)
    distance = np.sqrt(outside[:, None] ** 2 + outside[None, :] ** 2)
    return np.clip(1.0 - distance / feather, 0.0, 1.0).astype(np.float32)
