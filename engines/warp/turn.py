"""Turns a fold-free 2-D warp cannot show: the face hiding part of itself, and what the portrait hides.

Built once per portrait over the face mesh (its triangles and left-right mirror, :mod:`engines.mesh`); per
frame the target mesh is rasterised on the head map's coarse grid (the front-most triangle at each grid
point by the target's depth, vectorised; only in frames that need it), and up to two overrides are blended
over the warped head layer, colours not maps (a map halfway between two readings would squeeze the face):

* occlusion: where a triangle facing the camera in the portrait turns away in the target and the face lies
  over itself (a turn away: the nose before the far cheek), the front surface's own portrait pixels
  through the mesh's piecewise-affine map, faded in over a few grid points; the fold-free warp would
  squeeze the far cheek beside the nose instead, and the far eye would be painted over the nose bridge;
* hidden side: a turned portrait shows its far side (cheek, eye, jaw) squeezed; a turn towards it would
  stretch the sliver (the nose's flank becomes a bulging cheek). Faces are nearly symmetric, so the near
  side, mirrored, stands in: ``hidden`` per mesh point (how much larger the portrait shows the triangles
  about it mirrored than as they are, log area ratio, ramped) times ``revealed`` (how much larger the
  target shows them than the portrait, the head's scale taken out, ramped) weighs, interpolated over the
  triangles (smooth across their borders, 0 on the midline, its own mirror, and near the face's outline),
  the portrait read at the same barycentric coordinates in the mirrored triangle, brought to the warp's
  own brightness (the other side's light stays there).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from engines.landmarks import FACE_OVAL, LEFT_EYE_CONTOUR, OUTER_LIP_CONTOUR, RIGHT_EYE_CONTOUR, eye_centres
from engines.mesh import MESH_POINTS, mirror, triangles
from engines.warp.compose import smoothstep

AREA_FLOOR = 0.2  # triangle areas are compared with this share of the median one added to both
FEATURE_RINGS = 2  # rings of mesh points about an eye or the lips whose overlaps are the feature's own
LIGHT_GAIN = (0.7, 1.4)  # limits of the brightness gain bringing a mirror image to the warp's own light
OUTLINE_RINGS = 1  # rings of mesh points inside the face oval left unfilled (a near side's ear, sideburn, jaw)


@dataclass(frozen=True, slots=True)
class TurnConfig:
    hidden: tuple[float, float] = (0.5, 1.0)  # log area ratio (mirrored / own) over which the fill ramps in
    revealed: tuple[float, float] = (0.3, 0.8)  # log area ratio (target / portrait, scale removed), likewise
    occlusion_depth: float = 0.1  # eye distances between two surfaces over one point: the front one hides the other
    shading: float = 0.06  # eye distances: a mirror image takes the warp's own brightness at this scale


@dataclass(frozen=True, slots=True)
class Override:
    """A coarse backward map over the head warp's grid (the front surface, or a mirror image), and the share
    of it to blend in."""

    map: np.ndarray  # (ny, nx, 2) portrait px
    weight: np.ndarray  # (ny, nx) float32 in [0, 1]
    shading: float = 0.0  # px: the read colours take the warp's own brightness at this scale (blend_override)


@dataclass(frozen=True, slots=True)
class TurnFrame:
    """One frame's overrides (to blend in order) and where the face hides behind its own front surface."""

    overrides: tuple[Override, ...] = ()
    occluded: np.ndarray | None = None  # (ny, nx) float32 share of the front surface over the grid

    def occluded_at(self, points: np.ndarray, grid: np.ndarray) -> np.ndarray:
        """(K,) the occluded share at ``points`` (K, 2) output px on the regular ``grid`` (ny, nx, 2)."""
        if self.occluded is None:
            return np.zeros(len(points), np.float32)
        step = grid[1, 1] - grid[0, 0]
        where = ((points - grid[0, 0]) / step).astype(np.float32)
        return cv2.remap(self.occluded, where[:, None, 0], where[:, None, 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[:, 0]


@dataclass(frozen=True, slots=True)
class TurnMaps:
    """What a 2-D warp of one portrait cannot show in a turn: :meth:`of` makes it once per portrait,
    :meth:`frame` runs per frame."""

    config: TurnConfig
    hidden: np.ndarray  # (468,) float32 ramp(hidden) per mesh point, 0 on and next to the face's outline
    source: np.ndarray  # (468, 2) float32 the portrait's mesh points, px
    source_areas: np.ndarray  # (T,) float32 signed area of each triangle in the portrait, px²
    mirrored: np.ndarray  # (T, 3, 2) float32 portrait px of each triangle's mirrored corners
    eye_distance: float  # px, the portrait's

    @staticmethod
    def of(points: np.ndarray, config: TurnConfig = TurnConfig()) -> "TurnMaps":
        """From the portrait's landmarks ``points`` (478, >=2) px."""
        corners = triangles()
        mesh = points[:MESH_POINTS, :2].astype(np.float64)
        signed = _areas(mesh, corners)
        areas = np.abs(signed)
        floor = AREA_FLOOR * float(np.median(areas))  # shut eyes and lips: both sides about 0, no ratio
        gain = _spread(np.log((areas[_mirror_triangles(corners)] + floor) / (areas + floor)))
        # The near side's outline is the ear, the sideburn or the jaw line: no mirror image of the far cheek.
        hidden = (smoothstep(gain, *config.hidden) * _inner_face()).astype(np.float32)
        return TurnMaps(
            config=config, hidden=hidden, source=mesh.astype(np.float32), source_areas=signed.astype(np.float32),
            mirrored=mesh[mirror()[corners]].astype(np.float32), eye_distance=_eye_distance(mesh.astype(np.float32)),
        )  # fmt: skip

    def weights(self, target: np.ndarray, scale: float) -> np.ndarray:
        """(468,) float32 mirror-fill weight per mesh point for target landmarks ``target`` (478, >=2) px of
        a head at ``scale`` times the portrait's size."""
        return self._weights(np.abs(_areas(target[:MESH_POINTS, :2].astype(np.float64), triangles())), scale)

    def _weights(self, areas: np.ndarray, scale: float) -> np.ndarray:
        """:meth:`weights` from the target's (T,) unsigned triangle areas, px²."""
        if not self.hidden.any():
            return np.zeros(MESH_POINTS, np.float32)
        source = np.abs(self.source_areas) * scale**2
        floor = AREA_FLOOR * float(np.median(source))
        gain = _spread(np.log((areas + floor) / (source + floor)))
        return (self.hidden * smoothstep(gain, *self.config.revealed)).astype(np.float32)

    def frame(self, grid_map: np.ndarray, grid: np.ndarray, target: np.ndarray, scale: float) -> TurnFrame:
        """Coarse maps (on ``grid``, (ny, nx, 2) output px) to blend over the head's warp, in order, for
        target landmarks ``target`` (478, 3) output px with depth; elsewhere each is ``grid_map`` (the head's
        own coarse backward map, portrait px) with share 0. No overrides when the warp shows the turn as it is.

        * occlusion: where the target face lies over itself (one part in front of another, as the nose
          hides the far cheek in a turn away), the front part's portrait pixels (the mesh's piecewise-affine
          map), faded in over a few grid points about the overlap;
        * mirror: where the target reveals what the portrait hides, its mirror image (see the module)."""
        corners = triangles()
        target_areas = _areas(target[:MESH_POINTS, :2].astype(np.float64), corners)
        weights = self._weights(np.abs(target_areas), scale)
        floor = AREA_FLOOR * float(np.median(np.abs(target_areas)))
        # Newly folded: facing the camera in the portrait, away from it in the target (the portrait's own
        # far flank, turned towards the camera, unfolds: no occlusion).
        facing = np.sign(self.source_areas.sum())  # the sign of the area of a triangle facing the camera
        flipped = (np.sign(target_areas) != facing) & (np.sign(self.source_areas) == facing)
        flipped &= np.abs(target_areas) > floor
        # Not where only the outline's triangles turn away (the oval and the ring inside it): nearly edge-on
        # already, they do in any turn, even a slight one, and across them the portrait often shows hair (hair
        # over the cheeks, p09): the mesh's map blended in about them smeared it over the cheek. The big turns
        # this step is for (the nose before the far cheek) turn inner triangles away as well.
        flipped &= ~_outline_triangles()
        if not weights.any() and not flipped.any():
            return TurnFrame()
        depth_margin = self.config.occlusion_depth * scale * self.eye_distance  # px
        cell, index, barycentric, gap, back, folded = _rasterise(target[:MESH_POINTS], corners, grid, flipped)
        out, occluded = [], None
        # Only where the target folds over itself anew (the portrait's own overlaps the warp shows as they
        # are), and not a lid or a lip over its own eye or mouth (the lids' and lips' own business).
        regions = _feature_regions()
        behind = folded & (gap > depth_margin) & ((regions[index] == 0) | (regions[index] != regions[back]))
        if behind.any():
            share = np.zeros(grid.shape[:2], np.float32)
            share.reshape(-1)[cell[behind]] = 1.0
            share = cv2.GaussianBlur(cv2.dilate(share, np.ones((3, 3), np.uint8)), (5, 5), 0)
            front = grid_map.copy()
            front.reshape(-1, 2)[cell] = np.einsum("ni,nid->nd", barycentric, self.source[corners[index]])
            occluded = np.clip(share * 1.5, 0.0, 1.0)
            out.append(Override(front, occluded))
        weight = (barycentric * weights[corners[index]]).sum(axis=1)  # (N,)
        filled = weight > 0
        if filled.any():
            mirrored = grid_map.copy()
            share = np.zeros(grid.shape[:2], np.float32)
            mirrored.reshape(-1, 2)[cell[filled]] = np.einsum("ni,nid->nd", barycentric[filled], self.mirrored[index[filled]])
            share.reshape(-1)[cell[filled]] = weight[filled]
            share = np.minimum(share, cv2.GaussianBlur(share, (3, 3), 0))  # no lone cells where the mesh folds
            out.append(Override(mirrored, share, self.config.shading * scale * self.eye_distance))
        return TurnFrame(tuple(out), occluded)


def blend_override(
    warped: tuple[np.ndarray, np.ndarray], layer: tuple[np.ndarray, np.ndarray], backward: np.ndarray,
    weight: np.ndarray, shading: float = 0.0,
) -> None:  # fmt: skip
    """In place on ``warped`` (colour (h, w, 3) uint8, alpha (h, w) float32: the layer remapped): the
    ``layer`` (full-size colour, alpha) read through ``backward`` ((h, w, 2) px, an override's map) blended
    in by ``weight`` ((h, w) float32), only within the box where the weight is not 0. With ``shading`` (px,
    > 0) the read colours are brightened or darkened to the warp's own brightness at that scale (a mirror
    image would bring the other side's light; the gain is limited, so a dark feature of the stretched side
    does not stain the mirror image)."""
    rows = np.flatnonzero(weight.max(axis=1) > 0)
    columns = np.flatnonzero(weight.max(axis=0) > 0)
    if not len(rows):
        return
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
    share = np.ascontiguousarray(weight[y0:y1, x0:x1])
    window = np.ascontiguousarray(backward[y0:y1, x0:x1])
    colour = cv2.remap(layer[0], window, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.remap(layer[1], window, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    own = warped[0][y0:y1, x0:x1]
    if shading > 0:  # the read colours, brightened or darkened (within limits) to the warp's own light
        gain = (_low_pass(own, shading) + 1.0) / (_low_pass(colour, shading) + 1.0)
        colour = np.clip(colour * np.clip(gain, *LIGHT_GAIN)[..., None], 0, 255).astype(np.uint8)
    own[:] = cv2.blendLinear(colour, np.ascontiguousarray(own), share, 1.0 - share)
    warped[1][y0:y1, x0:x1] += share * (alpha - warped[1][y0:y1, x0:x1])


def _low_pass(image: np.ndarray, sigma: float) -> np.ndarray:
    """(h, w) float32 brightness (channel mean) of ``image`` (h, w, 3) blurred by a Gaussian of ``sigma`` px
    (on a 4× smaller copy: cheap)."""
    height, width = image.shape[:2]
    small = cv2.resize(image, (max(width // 4, 1), max(height // 4, 1)), interpolation=cv2.INTER_AREA)
    small = small.astype(np.float32).mean(axis=2)
    small = cv2.GaussianBlur(small, (0, 0), max(sigma / 4, 0.5), borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _rasterise(
    points: np.ndarray, corners: np.ndarray, grid: np.ndarray, marked: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The front-most triangle at each point of a regular ``grid`` ((ny, nx, 2) px, as
    :func:`engines.warp.compose.box_grid` makes it) for mesh ``points`` (N, 3) px with depth (smaller is
    nearer) and triangles ``corners`` (T, 3). Returns the covered grid cells' flat indices (M,), their
    front triangles (M,), barycentric coordinates (M, 3), the depth from the front surface to the farthest
    one behind it (M,) px (0 where only one covers the cell), that farthest triangle (M,) and whether any
    triangle ``marked`` ((T,) bool) covers the cell (M,)."""
    ny, nx = grid.shape[:2]
    x0, y0 = float(grid[0, 0, 0]), float(grid[0, 0, 1])
    sx = float(grid[0, 1, 0] - grid[0, 0, 0]) if nx > 1 else 1.0
    sy = float(grid[1, 0, 1] - grid[0, 0, 1]) if ny > 1 else 1.0
    corner_points = points[corners].astype(np.float64)  # (T, 3, 3)
    # Each triangle's box in grid indices (clipped), and one candidate per grid point in it.
    lo = np.ceil((corner_points[..., :2].min(axis=1) - (x0, y0)) / (sx, sy)).astype(np.int64)
    hi = np.floor((corner_points[..., :2].max(axis=1) - (x0, y0)) / (sx, sy)).astype(np.int64)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, (nx - 1, ny - 1))
    width, height = np.maximum(hi[:, 0] - lo[:, 0] + 1, 0), np.maximum(hi[:, 1] - lo[:, 1] + 1, 0)
    counts = width * height
    index = np.repeat(np.arange(len(corners)), counts)  # (M,)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    column = lo[index, 0] + offset % np.maximum(width[index], 1)
    row = lo[index, 1] + offset // np.maximum(width[index], 1)
    # Barycentric coordinates from each triangle's affine frame.
    a, b, c = corner_points[:, 0, :2], corner_points[:, 1, :2], corner_points[:, 2, :2]
    det = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    usable = np.abs(det[index]) > 1e-6
    index, column, row = index[usable], column[usable], row[usable]
    px, py = x0 + column * sx - a[index, 0], y0 + row * sy - a[index, 1]
    inv = 1.0 / det[index]
    u = ((c[index, 1] - a[index, 1]) * px - (c[index, 0] - a[index, 0]) * py) * inv
    v = (-(b[index, 1] - a[index, 1]) * px + (b[index, 0] - a[index, 0]) * py) * inv
    barycentric = np.stack([1.0 - u - v, u, v], axis=1)
    inside = (barycentric >= -1e-6).all(axis=1)
    index, barycentric, cell = index[inside], barycentric[inside], (row * nx + column)[inside]
    # The front-most triangle per grid point (MediaPipe's depth: smaller is nearer the camera).
    depth = (barycentric * corner_points[index, :, 2]).sum(axis=1)
    order = np.lexsort((depth, cell))
    cells, first, counts = np.unique(cell[order], return_index=True, return_counts=True)
    keep, last = order[first], order[first + counts - 1]
    gap = depth[last] - depth[keep]  # the farthest surface behind the front one
    covered = np.add.reduceat(marked[index[order]], first) > 0
    return cell[keep], index[keep], np.clip(barycentric[keep], 0.0, 1.0).astype(np.float32), gap, index[last], covered


@cache
def _feature_regions(rings: int = FEATURE_RINGS) -> np.ndarray:
    """(T,) int: per triangle 1 (right eye), 2 (left eye) or 3 (mouth) within ``rings`` rings of triangles
    about that feature's opening, else 0."""
    corners = triangles()
    out = np.zeros(len(corners), np.int64)
    for label, contour in enumerate((RIGHT_EYE_CONTOUR, LEFT_EYE_CONTOUR, OUTER_LIP_CONTOUR), start=1):
        near = np.zeros(MESH_POINTS, bool)
        near[contour] = True
        for _ in range(rings):
            near[np.unique(corners[near[corners].any(axis=1)])] = True
        out[near[corners].any(axis=1) & (out == 0)] = label
    return out


@cache
def _inner_face(rings: int = OUTLINE_RINGS) -> np.ndarray:
    """(468,) float32: 0 on the face oval and the ``rings`` rings of mesh points next to it, else 1."""
    corners = triangles()
    out = np.ones(MESH_POINTS, np.float32)
    out[FACE_OVAL] = 0.0
    for _ in range(rings):
        touching = (out[corners] == 0).any(axis=1)
        out[np.unique(corners[touching])] = 0.0
    return out


@cache
def _outline_triangles() -> np.ndarray:
    """(T,) bool: the triangles with a corner on the face oval or on the ring of mesh points next to it."""
    return (_inner_face()[triangles()] == 0).any(axis=1)


def _eye_distance(points: np.ndarray) -> float:
    """The distance between the eye centres of mesh ``points`` (468, 2) px."""
    right, left = eye_centres(points)
    return float(np.linalg.norm(left - right))


def _areas(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """(T,) signed areas of the triangles ``corners`` (T, 3) of ``points`` (N, 2)."""
    a, b, c = points[corners[:, 0]], points[corners[:, 1]], points[corners[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def _mirror_triangles(corners: np.ndarray) -> np.ndarray:
    """(T,) for each triangle, the index of its mirror image among ``corners`` (itself when not found)."""
    index = {tuple(sorted(t)): k for k, t in enumerate(corners.tolist())}
    images = mirror()[corners]
    return np.array([index.get(tuple(sorted(t)), k) for k, t in enumerate(images.tolist())])


def _spread(values: np.ndarray) -> np.ndarray:
    """(468,) per mesh point, the mean of per-triangle ``values`` (T,) over the triangles about it."""
    corners = triangles()
    total = np.bincount(corners.ravel(), weights=np.repeat(values, 3), minlength=MESH_POINTS)
    return total / np.maximum(np.bincount(corners.ravel(), minlength=MESH_POINTS), 1)
