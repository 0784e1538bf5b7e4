"""Small image helpers shared by the offline renderers (sizes, PIL conversion)."""

from __future__ import annotations

import cv2
import numpy as np


def generation_size(width: int, height: int, longest: int, multiple: int) -> tuple[int, int]:
    """(w, h) with the aspect of (width, height), the longest side about ``longest``, both multiples of
    ``multiple`` (what the model's downsampling needs)."""
    scale = longest / max(width, height)
    return (
        max(multiple, round(width * scale / multiple) * multiple),
        max(multiple, round(height * scale / multiple) * multiple),
    )


def to_pil(rgb: np.ndarray):
    """An RGB (or L) uint8 array as a PIL image (what the diffusers pipelines take)."""
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(rgb))


def from_unit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A pipeline's float (h, w, 3) image in [0, 1] as uint8 RGB resized to ``size`` = (w, h)."""
    rgb = np.clip(np.asarray(image) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
