"""Where ``bench.motion_range`` allows the output to change: the person (MediaPipe selfie segmentation of
the portrait) and the path of the head under the known transforms, both dilated; and what it measures
there: the largest change outside them, and folded face pixels.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from bench.quality import oval_mask
from engines.base import LivePuppetError
from engines.landmarks import FACE_OVAL, RIGID

PERSON_THRESHOLD = 0.5  # selfie-segmentation confidence above which a pixel is the person


def person_mask(image: np.ndarray) -> np.ndarray:
    """Boolean (H, W) mask of the person in the RGB uint8 ``image`` (MediaPipe selfie segmentation)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        from mediapipe.python.solutions import selfie_segmentation
    except ImportError as exc:  # pragma: no cover - dependency problem, reported clearly
        raise LivePuppetError(f"MediaPipe selfie segmentation is not available ({exc})") from exc
    with selfie_segmentation.SelfieSegmentation(model_selection=0) as segmenter:
        result = segmenter.process(np.ascontiguousarray(image))
    if result.segmentation_mask is None:
        return np.zeros(image.shape[:2], bool)
    return result.segmentation_mask > PERSON_THRESHOLD


def head_mask(person: np.ndarray, landmarks: np.ndarray, head_scale: float) -> np.ndarray:
    """The head with its hair: the face oval, plus the person's pixels inside the face oval enlarged
    ``head_scale`` times about the face centre (the rigid landmarks' mean). (H, W) bool."""
    size = (person.shape[1], person.shape[0])
    centre = landmarks[RIGID, :2].mean(axis=0)
    enlarged = centre + (landmarks[FACE_OVAL, :2] - centre) * head_scale
    around = np.zeros(person.shape, np.uint8)
    cv2.fillPoly(around, [np.round(enlarged).astype(np.int32)], 1)
    return oval_mask(landmarks, size) | (person & around.astype(bool))


def head_path(head: np.ndarray, matrices: list[np.ndarray]) -> np.ndarray:
    """Union of ``head`` (H, W) bool moved by each 2x3 transform."""
    height, width = head.shape
    source = head.astype(np.uint8)
    path = np.zeros_like(source)
    for matrix in matrices:
        moved = cv2.warpAffine(source, matrix, (width, height), flags=cv2.INTER_NEAREST, borderValue=0)
        np.maximum(path, moved, out=path)
    return path.astype(bool)


def dilate(mask: np.ndarray, radius: float) -> np.ndarray:
    """``mask`` grown by a disk of ``radius`` px."""
    r = max(1, round(radius))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def allowed_region(person: np.ndarray, path: np.ndarray, radius: float) -> np.ndarray:
    """Where the output may differ from the portrait: the person and the head's path, dilated."""
    return dilate(person | path, radius)


def outside_change(
    output: np.ndarray, portrait: np.ndarray, outside: np.ndarray, threshold: int
) -> tuple[int, int]:
    """``(largest change, pixels changed by more than threshold)`` of ``output`` against ``portrait`` (both
    RGB uint8) on the ``outside`` (H, W) bool pixels; change is the largest of the three channels, 0..255."""
    if not outside.any():
        return 0, 0
    difference = cv2.absdiff(output, portrait).max(axis=2)[outside]
    return int(difference.max()), int((difference > threshold).sum())


def folded_pixels(determinant: np.ndarray, *faces: np.ndarray) -> int:
    """Pixels inside any of the face ovals of ``faces`` (each (478, >=2) landmarks, px) where the warp's
    Jacobian ``determinant`` (H, W) is <= 0."""
    size = (determinant.shape[1], determinant.shape[0])
    inside = np.logical_or.reduce([oval_mask(landmarks, size) for landmarks in faces])
    return int((determinant[inside] <= 0).sum())
