"""Image helpers the engines and the app share."""

from __future__ import annotations

import cv2
import numpy as np


def fit_longest_side(image: np.ndarray, side: int) -> np.ndarray:
    """``image`` resized (aspect kept) so its longest side is ``side`` pixels; unchanged when it already is."""
    height, width = image.shape[:2]
    scale = side / max(height, width)
    if scale == 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
    return cv2.resize(image, size, interpolation=interpolation)
