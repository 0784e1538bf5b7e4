"""Per-frame maps and compositing of the warp engine's layers.

Backward maps say, for each output pixel, where to read the layer (absolute source px, float32 (h, w, 2)
as ``cv2.remap`` takes them). They are built on a coarse grid and upsampled with ``cv2.resize``, whose
sample positions the grids here follow (see :func:`engines.warp.field.grid_coordinates`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import cv2
import numpy as np

from engines.warp.field import grid_coordinates

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) in image px


def smoothstep(x, lo: float, hi: float):
    """0 below ``lo``, 1 above ``hi``, a smooth cubic between (arrays or floats)."""
    t = np.clip((x - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(2, 3) affine applied to (..., 2) points."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def affine_of_box(box: Box, matrix: np.ndarray) -> np.ndarray:
    """(h, w, 2) float32: the (2, 3) affine ``matrix`` applied to every pixel of ``box`` (x0, y0, x1, y1).
    A pixel grid's image is a sum of a row term and a column term: two broadcast sums, not a (h·w, 2)
    matrix product (which numpy runs as h·w tiny ones: ~10× slower at a neck's size)."""
    x0, y0, x1, y1 = box
    xs, ys = np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32)
    m = matrix.astype(np.float32)
    out = np.empty((y1 - y0, x1 - x0, 2), np.float32)
    for axis in range(2):
        np.add((m[axis, 0] * xs)[None, :], (m[axis, 1] * ys + m[axis, 2])[:, None], out=out[..., axis])
    return out


def partial_similarity(matrix: np.ndarray, centre: np.ndarray, share: float) -> np.ndarray:
    """``share`` of the 2×3 similarity ``matrix`` about ``centre``: its rotation angle, log scale and the
    displacement of ``centre`` each multiplied by ``share`` (1 = the whole motion, 0 = none)."""
    linear = matrix[:, :2].astype(np.float64)
    scale = float(np.sqrt(abs(np.linalg.det(linear))))
    angle = float(np.arctan2(linear[1, 0], linear[0, 0]))
    scale, angle = scale**share, angle * share
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = apply_affine(matrix.astype(np.float64), centre.astype(np.float64))
    destination = centre + share * (moved - centre)
    return np.hstack([rotation, (destination - rotation @ centre)[:, None]]).astype(np.float32)


def moved_box(matrix: np.ndarray, box: Box, pad: float, image_size: tuple[int, int]) -> Box:
    """The box around ``box`` moved by the affine ``matrix``, padded by ``pad`` px and clipped to the image
    (``image_size`` = (w, h)); at least 2×2 px."""
    x0, y0, x1, y1 = box
    corners = apply_affine(matrix, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32))
    width, height = image_size
    lo = np.floor(corners.min(axis=0) - pad).astype(int)
    hi = np.ceil(corners.max(axis=0) + pad).astype(int)
    bx0, by0 = min(max(lo[0], 0), width - 2), min(max(lo[1], 0), height - 2)
    bx1, by1 = max(min(hi[0], width), bx0 + 2), max(min(hi[1], height), by0 + 2)
    return int(bx0), int(by0), int(bx1), int(by1)


def union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def box_grid(box: Box, step: float) -> np.ndarray:
    """(ny, nx, 2) grid points over ``box`` (absolute px), about ``step`` px apart, at resize's positions."""
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    nx, ny = max(2, round(width / step)), max(2, round(height / step))
    gx = grid_coordinates(nx, width / nx) + x0
    gy = grid_coordinates(ny, height / ny) + y0
    return np.stack(np.meshgrid(gx, gy), axis=-1)


def upsample(grid_map: np.ndarray, grid: np.ndarray, box: Box, out: np.ndarray | None = None) -> np.ndarray:
    """A backward map on ``grid`` (both (ny, nx, 2), absolute px) over ``box``, upsampled to one entry per
    pixel of the box. The displacement is what is interpolated, so the identity stays exact up to the
    box's edges (resize holds values constant in the outer half cell). Written into ``out`` when given
    ((h, w, 2) float32, the box's size: a buffer reused frame to frame), else into a new array."""
    width, height = box[2] - box[0], box[3] - box[1]
    shifted = grid_map - grid + np.array(box[:2], np.float32)  # displacement plus the box's corner
    out = cv2.resize(shifted, (width, height), dst=out, interpolation=cv2.INTER_LINEAR)
    return np.add(out, _pixel_grid(width, height), out=out)


PIXEL_GRID_BLOCK = 256  # pixel grids are cached in sizes rounded up to this many px


def _pixel_grid(width: int, height: int) -> np.ndarray:
    """(h, w, 2) float32 pixel coordinates of a w×h box: a read-only view of a cached larger grid (the head's
    and neck's boxes change size every frame; their grids are corners of one grid)."""
    block = PIXEL_GRID_BLOCK
    return _cached_pixel_grid(-(-width // block) * block, -(-height // block) * block)[:height, :width]


@lru_cache(maxsize=4)
def _cached_pixel_grid(width: int, height: int) -> np.ndarray:
    grid = np.stack(np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)), axis=-1)
    grid.flags.writeable = False
    return grid


def head_grid_map(
    displacement: np.ndarray, spacing: tuple[float, float], origin: np.ndarray, inverse: np.ndarray, box: Box
) -> tuple[np.ndarray, np.ndarray]:
    """Backward map of the head layer on a coarse grid over ``box``: each output point y is taken back by
    the head's similarity (``inverse``, 2×3, full px), then by the non-rigid backward map of the head
    region, given as ``displacement`` (ny, nx, 2) on the region's grid (``spacing``, region px whose corner
    is ``origin`` in full px). Returns the map and its grid (both (my, mx, 2) full px) for :func:`upsample`."""
    points = box_grid(box, min(spacing))
    aligned = apply_affine(inverse, points) - origin  # region px
    ix = (aligned[..., 0] + 0.5) / spacing[0] - 0.5
    iy = (aligned[..., 1] + 0.5) / spacing[1] - 0.5
    detail = cv2.remap(displacement, ix, iy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return (aligned + detail + origin).astype(np.float32), points


def neck_map(neck: np.ndarray, head: np.ndarray, box: Box, step: float, iterations: int = 3) -> np.ndarray:
    """Backward map of the body layer over ``box``: a body pixel x moves by ``neck(x)`` times the head's
    displacement there (``head`` 2×3, full px), so the neck stretches from the head (share 1) to the torso
    (share 0). Inverted by fixed-point steps x ← y − neck(x)·(head(x) − x) on a grid. (h, w, 2) full px."""
    target = box_grid(box, step).astype(np.float32)
    source = target.copy()
    for _ in range(iterations):
        share = cv2.remap(neck, source[..., 0], source[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        source = target - share[..., None] * (apply_affine(head, source) - source)
    return upsample(source.astype(np.float32), target, box)


def seam_weight(head_alpha: np.ndarray, neck: np.ndarray, reach: float) -> np.ndarray:
    """Where the body layer takes the head's non-rigid motion (:func:`follow_head_detail`), (H, W) float32:
    the neck's core (its share cubed, so not the collar or shoulders beside it) just below the head layer,
    fading to nothing ``reach`` px below the head layer's lowest pixel above it. Made once per portrait."""
    height = head_alpha.shape[0]
    below = head_alpha.astype(np.float32).copy()
    steps = max(1, int(round(reach)))
    for step in range(1, min(steps, height)):
        np.maximum(below[step:], head_alpha[:-step] * (1.0 - step / steps), out=below[step:])
    return (below * neck**3).astype(np.float32)


def follow_head_detail(
    body_map: np.ndarray, body_box: Box, weight: np.ndarray, head: np.ndarray, head_box: Box, inverse: np.ndarray
) -> None:
    """In place: where the body layer's map (``body_map`` over ``body_box``) overlaps the head layer's
    (``head`` over ``head_box``), the body takes the head's non-rigid motion too, in proportion to
    ``weight`` ((H, W) in [0, 1], :func:`seam_weight`, read where the body pixel comes from). The neck's top
    then moves exactly as the head layer's cut edge above it: no step at the seam, however the jaw moves.
    ``inverse``: the rigid (similarity) part of the head's backward map, 2×3."""
    x0, y0 = max(body_box[0], head_box[0]), max(body_box[1], head_box[1])
    x1, y1 = min(body_box[2], head_box[2]), min(body_box[3], head_box[3])
    if x1 <= x0 or y1 <= y0:
        return
    region = body_map[y0 - body_box[1] : y1 - body_box[1], x0 - body_box[0] : x1 - body_box[0]]
    detail = head[y0 - head_box[1] : y1 - head_box[1], x0 - head_box[0] : x1 - head_box[0]] - affine_of_box((x0, y0, x1, y1), inverse)
    share = cv2.remap(weight, region[..., 0], region[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    region += share[..., None] * detail


class Layer(NamedTuple):
    """A portrait layer, made once per portrait: ``colour`` (H, W, 3) uint8, ``alpha`` (H, W) float32 in
    steps of 1/255, and ``packed`` (H, W, 4) uint8, both in one image: what :func:`warp_layer` remaps."""

    colour: np.ndarray
    alpha: np.ndarray
    packed: np.ndarray

    @classmethod
    def of(cls, colour: np.ndarray, alpha: np.ndarray) -> "Layer":
        alpha = np.ascontiguousarray(alpha, dtype=np.float32)
        opacity = np.clip(np.round(alpha * 255.0), 0, 255).astype(np.uint8)
        return cls(colour, alpha, np.dstack([colour, opacity]))


ALPHA_STEP = np.float32(1.0 / 255.0)


def warp_layer(layer: Layer, backward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A layer remapped through ``backward`` (h, w, 2): (colour (h, w, 3) uint8, alpha (h, w) float32);
    beyond the image the layer's border pixels continue. Colour and alpha move in one remap of the packed
    image (a float alpha remapped on its own cost as much again; the alpha read back differs from it by
    under half a step of 1/255). The map is turned into remap's fixed-point form first (what remap does
    itself to a float map: the same pixels)."""
    whole, fraction = cv2.convertMaps(backward, None, cv2.CV_16SC2)
    packed = cv2.remap(layer.packed, whole, fraction, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    colour = cv2.cvtColor(packed, cv2.COLOR_RGBA2RGB)
    return colour, np.multiply(packed[..., 3], ALPHA_STEP, dtype=np.float32)


def blend_over(destination: np.ndarray, layer: tuple[np.ndarray, np.ndarray], under: np.ndarray) -> None:
    """``destination`` (h, w, 3) uint8 = ``layer`` (colour (h, w, 3) uint8, alpha (h, w) float32) over ``under``
    (which may be ``destination`` itself). Written in place (a view of the frame works)."""
    colour, alpha = layer
    out = cv2.blendLinear(colour, under, alpha, 1.0 - alpha, dst=destination)
    if out is not destination:  # an OpenCV that could not write into the view
        destination[:] = out
