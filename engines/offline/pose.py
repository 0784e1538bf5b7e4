"""Inputs of the video models drawn from face landmarks: an OpenPose-style pose video and face crops.

Wan-Animate and VACE were trained with pose videos drawn by OpenPose/DWPose annotators (COCO-18 body
keypoints on black: limbs as 60 %-opaque coloured sticks, joints as full-colour dots; DWPose adds the face
as white dots). A portrait puppet only has face landmarks, so this draws the head part of that skeleton
(nose, eyes, ears) from the retargeted landmarks and a neck and shoulders that stay where the portrait's
body is (estimated once from the source face: the body of a portrait does not move with the driver's head).
That is an approximation of the annotators' pictures, not their output; it keeps the pose video's geometry
on the portrait, which is what Wan-Animate's own preprocessing (pose retargeted to the reference) aims at.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engines.landmarks import (
    FACE_OVAL,
    INNER_LIP_CONTOUR,
    LEFT_BROW,
    LEFT_EYE_CONTOUR,
    OUTER_LIP_CONTOUR,
    RIGHT_BROW,
    RIGHT_EYE_CONTOUR,
)

# COCO-18 keypoint colours (RGB) of the OpenPose annotator; limb i is drawn in colour i.
OPENPOSE_COLOURS = (
    (255, 0, 0),
    (255, 85, 0),
    (255, 170, 0),
    (255, 255, 0),
    (170, 255, 0),
    (85, 255, 0),
    (0, 255, 0),
    (0, 255, 85),
    (0, 255, 170),
    (0, 255, 255),
    (0, 170, 255),
    (0, 85, 255),
    (0, 0, 255),
    (85, 0, 255),
    (170, 0, 255),
    (255, 0, 255),
    (255, 0, 170),
    (255, 0, 85),
)
NOSE, NECK, RIGHT_SHOULDER, LEFT_SHOULDER, RIGHT_EYE, LEFT_EYE, RIGHT_EAR, LEFT_EAR = (
    0,
    1,
    2,
    5,
    14,
    15,
    16,
    17,
)
# (limb index in OpenPose's order, from keypoint, to keypoint) for the limbs a portrait has.
HEAD_LIMBS = (
    (0, NECK, RIGHT_SHOULDER),
    (1, NECK, LEFT_SHOULDER),
    (12, NECK, NOSE),
    (13, NOSE, RIGHT_EYE),
    (14, RIGHT_EYE, RIGHT_EAR),
    (15, NOSE, LEFT_EYE),
    (16, LEFT_EYE, LEFT_EAR),
)
# MediaPipe indices standing in for the COCO head keypoints: nose tip, iris centres, face edge at the ears.
MEDIAPIPE_HEAD = {NOSE: 1, RIGHT_EYE: 468, LEFT_EYE: 473, RIGHT_EAR: 234, LEFT_EAR: 454}
NOSE_LINE = np.array([168, 6, 197, 195, 5, 4, 1, 98, 327])
FACE_DOTS = np.unique(
    np.concatenate(
        [
            FACE_OVAL,
            RIGHT_BROW,
            LEFT_BROW,
            RIGHT_EYE_CONTOUR,
            LEFT_EYE_CONTOUR,
            OUTER_LIP_CONTOUR,
            INNER_LIP_CONTOUR,
            NOSE_LINE,
        ]
    )
)
REFERENCE_SIDE = 512  # the annotators' stick width (4 px) and dot radius (4 px) are at this scale


@dataclass(frozen=True, slots=True)
class Body:
    """Where the portrait's neck and shoulders are, in source pixels (each (2,))."""

    neck: np.ndarray
    right_shoulder: np.ndarray
    left_shoulder: np.ndarray

    @staticmethod
    def estimate(landmarks: np.ndarray) -> Body:
        """From the source's face (478, 3) px: neck below the chin, shoulders a face-width aside."""
        xy = landmarks[:, :2].astype(np.float64)
        down = xy[152] - xy[168]  # between the eyes -> chin
        face_height = np.linalg.norm(xy[152] - xy[10])
        down /= max(np.linalg.norm(down), 1e-6)
        across = xy[454] - xy[234]  # subject's right ear -> left ear (image left -> right when facing us)
        neck = xy[152] + 0.45 * face_height * down
        shoulder_line = neck + 0.2 * face_height * down
        return Body(
            neck=neck, right_shoulder=shoulder_line - 1.1 * across, left_shoulder=shoulder_line + 1.1 * across
        )


def draw_pose(
    landmarks: np.ndarray, body: Body, size: tuple[int, int], scale: float = 1.0, face_dots: bool = False
) -> np.ndarray:
    """The pose frame (H, W, 3) uint8 RGB for target landmarks (478, 3) in source pixels, drawn at ``scale``
    times the source size onto a black canvas of ``size`` = (width, height)."""
    width, height = size
    unit = max(width, height) / REFERENCE_SIDE
    points = {key: landmarks[index, :2] * scale for key, index in MEDIAPIPE_HEAD.items()}
    points[NECK] = body.neck * scale
    points[RIGHT_SHOULDER] = body.right_shoulder * scale
    points[LEFT_SHOULDER] = body.left_shoulder * scale
    canvas = np.zeros((height, width, 3), np.uint8)
    stick = max(1, round(4 * unit))
    for limb, start, end in HEAD_LIMBS:
        layer = canvas.copy()
        a, b = points[start], points[end]
        centre = (a + b) / 2
        length = float(np.linalg.norm(b - a))
        angle = float(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0])))
        polygon = cv2.ellipse2Poly(
            (int(centre[0]), int(centre[1])), (max(1, int(length / 2)), stick), int(angle), 0, 360, 1
        )
        cv2.fillConvexPoly(layer, polygon, OPENPOSE_COLOURS[limb])
        canvas = cv2.addWeighted(canvas, 0.4, layer, 0.6, 0)
    radius = max(1, round(4 * unit))
    for key, point in points.items():
        cv2.circle(canvas, (int(point[0]), int(point[1])), radius, OPENPOSE_COLOURS[key], thickness=-1)
    if face_dots:
        dot = max(1, round(3 * unit))
        for x, y in landmarks[FACE_DOTS, :2] * scale:
            cv2.circle(canvas, (int(x), int(y)), dot, (255, 255, 255), thickness=-1)
    return canvas


def face_crop(image: np.ndarray, landmarks: np.ndarray, side: int, margin: float = 1.5) -> np.ndarray:
    """A square (side, side, 3) crop of the face in ``image`` around its landmarks (478, >=2) px, ``margin``
    times the landmarks' larger extent, edges replicated where the square leaves the image."""
    xy = landmarks[:, :2]
    low, high = xy.min(axis=0), xy.max(axis=0)
    centre = (low + high) / 2
    extent = max(float((high - low).max()) * margin, 1.0)
    zoom = side / extent
    matrix = np.array([[zoom, 0, side / 2 - zoom * centre[0]], [0, zoom, side / 2 - zoom * centre[1]]])
    return cv2.warpAffine(image, matrix, (side, side), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
