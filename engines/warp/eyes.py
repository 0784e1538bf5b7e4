"""Eyeball re-rendering for gaze. When the driver looks sideways the warp drags the iris across the eye and
smears it over the white: the eye turns dark. Instead, where the gaze moves, the eye opening is redrawn:
the sclera in the source's own white (shaded under the upper lid and towards the corners), and the source's
iris disk moved to the target iris position and scaled with the eye. Lids and lashes stay the warp's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engines.warp.polygon import polygon_patch

DEFAULT_SCLERA = np.array([232, 226, 220], np.float32)


@dataclass(frozen=True, slots=True)
class EyeTexture:
    """What one source eye looks like: its iris disk (the part its lids leave visible) and its white."""

    iris_patch: np.ndarray  # (S, S, 3) float32 source pixels around the iris centre
    iris_alpha: np.ndarray  # (S, S) float32: where the patch shows iris (inside the disk and the opening)
    radius: float  # source iris radius, px
    sclera: np.ndarray  # (3,)


def eye_texture(image: np.ndarray, points: np.ndarray, contour: np.ndarray, iris: np.ndarray) -> EyeTexture:
    """Sample one eye of ``image`` (RGB uint8) from its landmarks ``points`` (478, >=2) in its pixels."""
    centre = points[iris[0], :2]
    radius = float(np.linalg.norm(points[iris[1:], :2] - centre, axis=1).mean())
    half = int(np.ceil(radius * 1.3)) + 1
    size = 2 * half + 1
    # The patch around the iris (replicated at the image border).
    to_patch = np.array([[1, 0, half - centre[0]], [0, 1, half - centre[1]]], np.float32)
    patch = cv2.warpAffine(image, to_patch, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    opening = np.zeros((size, size), np.uint8)
    cv2.fillPoly(opening, [np.round(points[contour, :2] + to_patch[:, 2]).astype(np.int32)], 1)
    opening = cv2.erode(opening, np.ones((3, 3), np.uint8))  # keep the lash line out of the iris
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    disk = np.clip(radius + 0.5 - np.hypot(xx - half, yy - half), 0.0, 1.0)
    alpha = disk * opening
    # The white: the brighter part of the opening outside the iris disk.
    x0, y0 = np.floor(points[contour, :2].min(axis=0)).astype(int)
    x1, y1 = np.ceil(points[contour, :2].max(axis=0)).astype(int) + 1
    region = image[max(y0, 0) : y1, max(x0, 0) : x1].astype(np.float32)
    mask = np.zeros(region.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points[contour, :2] - (max(x0, 0), max(y0, 0))).astype(np.int32)], 1)
    gy, gx = np.mgrid[0 : region.shape[0], 0 : region.shape[1]]
    outside_iris = np.hypot(gx + max(x0, 0) - centre[0], gy + max(y0, 0) - centre[1]) > radius * 1.1
    candidates = region[(mask > 0) & outside_iris]
    sclera = DEFAULT_SCLERA
    if len(candidates) >= 12:
        brightness = candidates.sum(axis=1)
        sampled = np.median(candidates[brightness >= np.percentile(brightness, 80)], axis=0).astype(np.float32)
        # A narrow source eye shows little white: lean on a neutral white as the sample gets darker.
        trust = float(np.clip((sampled.mean() - 110.0) / 80.0, 0.0, 1.0))
        sclera = trust * sampled + (1.0 - trust) * DEFAULT_SCLERA * (sampled.mean() / 200.0 + 0.25)
    return EyeTexture(patch.astype(np.float32), alpha.astype(np.float32), radius, sclera)


def paint_eye(
    image: np.ndarray, target: np.ndarray, contour: np.ndarray, iris: np.ndarray, eye: EyeTexture,
    scale: float, weight: float,
) -> None:  # fmt: skip
    """Redraw the eye opening of ``image`` (RGB uint8, in place) around the target landmarks (478, >=2):
    ``scale`` is target / source eye size, ``weight`` in [0, 1] how much of the redrawn eye shows."""
    if weight <= 0:
        return
    polygon = target[contour, :2]
    # 1. The opening, a pixel inside the lid line (the warped lids and lashes stay), feathered.
    patch = polygon_patch(polygon, image.shape, pad=1, blur=3, inset=True)
    if patch is None:
        return
    (x0, y0, x1, y1), opening = patch
    opening *= weight
    box = (x1 - x0, y1 - y0)
    # 2. The white, shaded under the upper lid and towards the corners.
    rows = np.arange(y0, y1, dtype=np.float32)[:, None]
    columns = np.arange(x0, x1, dtype=np.float32)[None, :]
    top, bottom = polygon[:, 1].min(), polygon[:, 1].max()
    left, right = polygon[:, 0].min(), polygon[:, 0].max()
    down = np.clip((rows - top) / max(bottom - top, 1.0), 0.0, 1.0)
    across = np.clip(np.abs(columns - 0.5 * (left + right)) / max(0.5 * (right - left), 1.0), 0.0, 1.0)
    shade = (0.78 + 0.22 * np.sqrt(down)) * (1.0 - 0.18 * across**2)
    colour = eye.sclera * shade[..., None]
    # 3. The iris: the source disk, scaled with the eye, at the target centre; lid-covered parts filled.
    centre = target[iris[0], :2] - (x0, y0)
    half = (eye.iris_patch.shape[0] - 1) / 2
    to_box = np.array([[scale, 0, centre[0] - scale * half], [0, scale, centre[1] - scale * half]], np.float32)
    patch = cv2.warpAffine(eye.iris_patch, to_box, box, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(eye.iris_alpha, to_box, box, flags=cv2.INTER_LINEAR)[..., None]
    yy, xx = rows - y0, columns - x0
    disk = np.clip(eye.radius * scale + 0.5 - np.hypot(xx - centre[0], yy - centre[1]), 0.0, 1.0)[..., None]
    region = image[y0:y1, x0:x1].astype(np.float32)
    # Where the source lids hid part of the iris, the warp's own (moved) iris shows through.
    iris_colour = alpha * patch + (1.0 - alpha) * region
    colour = colour * (1.0 - disk) + iris_colour * disk
    # 4. Blend into the image.
    region += (colour - region) * opening[..., None]
    image[y0:y1, x0:x1] = np.clip(region, 0, 255).astype(np.uint8)
