"""Where ``bench.motion_range`` allows the output to change: the person (MediaPipe selfie segmentation of
the portrait) and the path of the head under the known transforms, both dilated; and what it measures
there: the largest change outside them, and folded face pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from bench.quality import oval_mask
from engines.landmarks import FaceFrame
from engines.warp.layers import PersonSegmenter

PERSON_THRESHOLD = 0.5  # selfie-segmentation confidence above which a pixel is the person
CHIN = 152  # face-mesh landmark at the bottom of the chin


def person_mask(image: np.ndarray) -> np.ndarray:
    """Boolean (H, W) mask of the person in the RGB uint8 ``image`` (MediaPipe selfie segmentation)."""
    segmenter = PersonSegmenter()
    try:
        return segmenter(image) > PERSON_THRESHOLD
    finally:
        segmenter.close()


def head_mask(person: np.ndarray, landmarks: np.ndarray, reach: float, below_chin: float) -> np.ndarray:
    """The head with its hair: the face oval, plus the person's pixels above a line ``below_chin`` face
    heights below the chin (across the face's own down direction) and within ``reach`` face sizes of the
    face centre (the rigid landmarks' mean). (H, W) bool."""
    height, width = person.shape
    frame = FaceFrame.of(landmarks)
    centre, down = frame.centre[:2], frame.rotation[:2, 1]
    x0, y0 = landmarks[:, :2].min(axis=0)
    x1, y1 = landmarks[:, :2].max(axis=0)
    face_size = max(x1 - x0, y1 - y0)
    cut = float((landmarks[CHIN, :2] - centre) @ down) + below_chin * face_size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    offset = np.stack([xs - centre[0], ys - centre[1]], axis=-1)  # (H, W, 2)
    above = offset @ down <= cut
    near = np.hypot(offset[..., 0], offset[..., 1]) <= reach * face_size
    return oval_mask(landmarks, (width, height)) | (person & above & near)


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
