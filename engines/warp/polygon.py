"""The patch and the feathered mask of a landmark polygon: the drawing area the mouth and eye painters share."""

from __future__ import annotations

import cv2
import numpy as np


def polygon_patch(
    polygon: np.ndarray, image_shape: tuple[int, ...], pad: int, blur: int, inset: bool = False
) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The box ``(x0, y0, x1, y1)`` around ``polygon`` (N, 2) px padded by ``pad`` and clipped to the image,
    and a float32 mask in [0, 1] over it: the polygon anti-aliased, optionally ``inset`` by a pixel, then
    blurred by a ``blur``-pixel kernel. None when the box is too small to draw in."""
    height, width = image_shape[:2]
    x0, y0 = np.floor(polygon.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(polygon.max(axis=0)).astype(int) + pad + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 - x0 < 3 or y1 - y0 < 2:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round((polygon - (x0, y0)) * 4).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
    if inset:
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
    mask = cv2.GaussianBlur(mask, (blur, blur), 0).astype(np.float32) / 255.0
    return (int(x0), int(y0), int(x1), int(y1)), mask
