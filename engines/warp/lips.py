"""Lips that close as far as the driver's: a per-column re-parametrisation of the head's backward map.

The head warp is a smooth field on a grid a few pixels apart, so it cannot squeeze a portrait's parted lips
(a thin dark gap, or a whole open mouth with teeth) into the hair-line gap of a closed target mouth: the
re-detected output mouth stays open. Here each output column through the mouth is re-parametrised in y so
that the portrait's inner lip lines, wherever the warp brought them (found on the map itself), land on the
target's inner lips, and what lay between them (the gap, teeth, cavity) is squeezed into the target's gap.
Above the upper lip and below the lower lip nothing changes; a column whose target gap is at least the
warped one (an opening mouth: :mod:`engines.warp.mouth` paints that) is left as it is.
"""

from __future__ import annotations

import cv2
import numpy as np

from engines.landmarks import INNER_LIP_LOWER, INNER_LIP_UPPER
from engines.warp.mouth import lip_curve as curve

OUTER_UPPER = np.array([61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291])
OUTER_LOWER = np.array([61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291])
MARGIN = 0.5  # rows beyond the outer lips (share of the lip's thickness) through which the change fades
FULL_CLOSING = 1.0  # px of closing at which a column takes the whole correction (less: in proportion)
SMOOTHING = 0.06  # Gaussian smoothing of the correction across columns, in mouth widths


def close_lips(backward: np.ndarray, target: np.ndarray, source: np.ndarray) -> bool:
    """In place on ``backward`` ((h, w, 2) output px -> portrait px, float32): where the target's inner lips
    (``target`` (478, >=2), in the map's output px) are closer than the warp brought the portrait's
    (``source`` (478, >=2), portrait px), squeeze the rows between them. Returns whether anything changed."""
    height, width = backward.shape[:2]
    corners = target[[INNER_LIP_UPPER[0], INNER_LIP_UPPER[-1]], 0]
    x0, x1 = int(np.ceil(corners.min())) + 1, int(np.floor(corners.max())) - 1
    x0, x1 = max(x0, 0), min(x1, width - 1)
    if x1 - x0 < 2:
        return False
    columns = np.arange(x0, x1 + 1, dtype=np.float32)
    upper, lower = curve(target[INNER_LIP_UPPER, :2], columns), curve(target[INNER_LIP_LOWER, :2], columns)
    top = curve(target[OUTER_UPPER, :2], columns)
    bottom = curve(target[OUTER_LOWER, :2], columns)
    top = top - MARGIN * np.maximum(upper - top, 1.0)
    bottom = bottom + MARGIN * np.maximum(bottom - lower, 1.0)
    y0, y1 = int(max(np.floor(top.min()), 0)), int(min(np.ceil(bottom.max()), height - 1))
    if y1 - y0 < 3:
        return False
    band = backward[y0 : y1 + 1, x0 : x1 + 1]  # (rows, cols, 2) view
    # Where the warp put the portrait's inner lips in each column: the row at which the map crosses them.
    reached_upper = _crossing(band, source[INNER_LIP_UPPER, :2]) + y0
    reached_lower = _crossing(band, source[INNER_LIP_LOWER, :2]) + y0
    closing = (reached_lower - reached_upper) - (lower - upper)
    valid = (top < upper) & (upper <= lower) & (lower < bottom)
    valid &= (top < reached_upper) & (reached_upper <= reached_lower) & (reached_lower < bottom)
    weight = np.where(valid, np.clip(closing / FULL_CLOSING, 0.0, 1.0), 0.0).astype(np.float32)
    if not weight.any():
        return False
    # Output knots (top, upper, lower, bottom) take the map's rows (top, reached upper, reached lower,
    # bottom). The shifts are smoothed across columns: a correction that jumps from one column to the next
    # would fold the map there.
    sigma = max(SMOOTHING * len(columns), 1.0)
    shift_upper = _smooth(weight * (reached_upper - upper), sigma)
    shift_lower = _smooth(weight * (reached_lower - lower), sigma)
    to_upper = np.clip(upper + shift_upper, top + 0.5, bottom - 0.5)
    to_lower = np.clip(lower + shift_lower, to_upper, bottom - 0.5)
    rows = np.arange(y0, y1 + 1, dtype=np.float32)[:, None]  # (rows, 1)
    sampled = np.where(
        rows < upper,
        top + (rows - top) * (to_upper - top) / np.maximum(upper - top, 1e-3),
        np.where(
            rows < lower,
            to_upper + (rows - upper) * (to_lower - to_upper) / np.maximum(lower - upper, 1e-3),
            to_lower + (rows - lower) * (bottom - to_lower) / np.maximum(bottom - lower, 1e-3),
        ),
    )
    sampled = np.where((rows < top) | (rows > bottom), rows, sampled).astype(np.float32)
    map_x = np.broadcast_to(columns - x0, sampled.shape).astype(np.float32)
    band[...] = cv2.remap(np.ascontiguousarray(band), map_x, sampled - y0, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return True


def _crossing(band: np.ndarray, lip: np.ndarray) -> np.ndarray:
    """Per column of ``band`` ((rows, cols, 2) portrait px), the fractional row at which the mapped point
    crosses the portrait's lip line ``lip`` (M, 2) going down (the map is monotonic down a column)."""
    below = band[..., 1] - curve(lip, band[..., 0])  # (rows, cols): > 0 below the lip line
    count = (below < 0).sum(axis=0)  # rows above the line
    rows = band.shape[0]
    before = np.clip(count - 1, 0, rows - 1)
    after = np.clip(count, 0, rows - 1)
    cols = np.arange(band.shape[1])
    a, b = below[before, cols], below[after, cols]
    fraction = np.where(b - a > 1e-6, -a / np.maximum(b - a, 1e-6), 0.0)
    return (before + np.clip(fraction, 0.0, 1.0)).astype(np.float32)


def _smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """``values`` (n,) smoothed by a Gaussian of ``sigma`` samples (zero beyond the ends: the corners)."""
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return (np.convolve(values, kernel / kernel.sum(), mode="same")).astype(np.float32)
