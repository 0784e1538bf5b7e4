"""Paste-back: put a rendered crop into the full-resolution portrait through a feathered mask, so that
nothing outside the head moves. Shared by every engine (warp, neural, offline modes).

Everything that depends only on the source (the crop->full transform, the mask warped to full size, the
region it touches) is computed once in ``__init__``; per frame there is one ``warpAffine`` of the crop into
that region and one ``blendLinear``.
"""

from __future__ import annotations

import cv2
import numpy as np


def feathered_mask(size: tuple[int, int], inner: np.ndarray, feather: float) -> np.ndarray:
    """A float32 mask of ``size`` (w, h): 1 inside the polygon ``inner`` (N, 2) px, falling smoothly to 0
    over about ``feather`` pixels outside it."""
    width, height = size
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(inner).astype(np.int32)], 255)
    if feather > 0:
        radius = max(1, int(round(feather)))
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (radius + 1, radius + 1)))
        mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=feather / 2)
    return mask.astype(np.float32) / 255.0


class PasteBack:
    """``paste(crop) -> full frame``.

    ``crop_to_full`` is the 2x3 affine from crop pixels to full-image pixels; ``crop_mask`` (float32 in
    [0, 1], crop-sized) says where the crop replaces the portrait. ``crop_mask=None`` with an integer
    translation is a plain copy into place (for renderers whose crop already matches the portrait at its
    border). The returned frame is a buffer owned by this object and overwritten by the next call: copy
    it if you keep it.
    """

    def __init__(self, full_image: np.ndarray, crop_to_full: np.ndarray, crop_mask: np.ndarray | None):
        height, width = full_image.shape[:2]
        crop_to_full = np.asarray(crop_to_full, np.float64).reshape(2, 3)
        self._frame = np.ascontiguousarray(full_image).copy()
        self._copy_into: tuple[int, int] | None = None
        if crop_mask is None:
            offset = crop_to_full[:, 2]
            if not np.allclose(crop_to_full[:, :2], np.eye(2)) or not np.allclose(offset, np.round(offset)):
                raise ValueError("a plain copy (crop_mask=None) needs an integer translation")
            self._copy_into = (int(round(offset[0])), int(round(offset[1])))
            return
        # 1. Where the mask lands in the full image (a padded box, clipped to the image).
        full_mask = cv2.warpAffine(crop_mask, crop_to_full, (width, height), flags=cv2.INTER_LINEAR)
        ys, xs = np.nonzero(full_mask > 1e-3)
        if len(xs) == 0:
            x0 = y0 = 0
            x1, y1 = 1, 1
        else:
            x0, y0 = max(0, xs.min() - 1), max(0, ys.min() - 1)
            x1, y1 = min(width, xs.max() + 2), min(height, ys.max() + 2)
        self.region = (int(x0), int(y0), int(x1), int(y1))
        # 2. The crop->region transform and the blend weights, fixed for this source.
        self._crop_to_region = crop_to_full.copy()
        self._crop_to_region[:, 2] -= (x0, y0)
        self._weights = np.ascontiguousarray(full_mask[y0:y1, x0:x1])
        self._weights_inverse = 1.0 - self._weights
        self._original_region = np.ascontiguousarray(full_image[y0:y1, x0:x1])

    def paste(self, crop: np.ndarray) -> np.ndarray:
        """Blend ``crop`` (RGB uint8, the crop's own size) into the portrait."""
        if self._copy_into is not None:
            x0, y0 = self._copy_into
            self._frame[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] = crop
            return self._frame
        x0, y0, x1, y1 = self.region
        warped = cv2.warpAffine(
            crop, self._crop_to_region, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        self._frame[y0:y1, x0:x1] = cv2.blendLinear(warped, self._original_region, self._weights, self._weights_inverse)
        return self._frame
