"""Colour matching: pull a generated frame's colours back to the source portrait's.

Diffusion models drift in colour (saturation, white balance) from frame to frame and away from the source.
Each frame is mapped so that its per-channel mean and standard deviation in CIE Lab equal the source's
(Reinhard-style transfer), optionally blended with the unmatched frame.
"""

from __future__ import annotations

import cv2
import numpy as np


def lab_statistics(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (mean, std) of ``rgb`` (H, W, 3) uint8 in OpenCV's 8-bit Lab, each (3,) float32."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    return lab.mean(axis=0), lab.std(axis=0)


class ColourMatcher:
    """``apply(rgb) -> rgb``: the frame with the reference's Lab mean/std; ``strength`` 0 (off)..1."""

    def __init__(self, reference: np.ndarray, strength: float = 1.0):
        self.mean, self.std = lab_statistics(reference)
        self.strength = float(strength)

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        if self.strength <= 0:
            return rgb
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)  # (H, W, 3)
        mean = lab.reshape(-1, 3).mean(axis=0)
        std = lab.reshape(-1, 3).std(axis=0)
        matched = (lab - mean) * (self.std / np.maximum(std, 1e-3)) + self.mean
        blended = lab + self.strength * (matched - lab)
        return cv2.cvtColor(np.clip(blended, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
