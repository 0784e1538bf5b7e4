"""The body layer's warp: the portrait's shoulders, torso and arms moved by :class:`engines.base.BodyMotion`.

prepare (once per portrait): the portrait's visible body points become the controls: shoulders, hips (or,
for a portrait cut off at the chest, two virtual hips below the shoulders), elbows and wrists it shows, and
points along each bone so a bone moves as one piece. Arms the portrait does not show get no control: they
are not invented.

backward_map (per frame):
 1. target controls = the portrait's points retargeted by the motion (:func:`engines.body.retarget_body`);
 2. a thin-plate spline from the target controls back to the source controls, on a coarse grid over the
    image (its controls move every frame, so it is fitted per frame: a (K+3)² solve, K ≈ 20);
 3. fold-free: the spline is split into its affine part and the rest, and the rest is scaled down where the
    Jacobian determinant would fall below ``fold_margin`` (:func:`engines.warp.field.fold_free_field`); if a
    grid cell still inverts (the affine part itself mirrors, or a fold between grid points), the whole
    motion is scaled down until none does: a bilinear map of upright convex cells never folds;
 4. upsampled to a (H, W, 2) float32 map for ``cv2.remap`` (a buffer reused by the next call).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engines.base import BodyMotion
from engines.body import ARMS, HIPS, LEFT_SHOULDER, RIGHT_SHOULDER, SHOULDERS, Body, retarget_body
from engines.warp.field import TpsGrid, determinant, fold_free_field, grid_coordinates, inverted_cells, jacobian

SHRINK_STEPS = np.linspace(1.0, 0.0, 6)[1:]  # shares of the whole motion tried when a grid cell still inverts


@dataclass(frozen=True, slots=True)
class BodyWarpConfig:
    grid_step: float = 16.0  # px between grid points at 512² (scales with the image)
    fold_margin: float = 0.25  # the smallest Jacobian determinant allowed on the grid (pixels in between dip lower)
    regularisation: float = 1e-3
    bone_samples: int = 3  # extra controls along each bone (it moves as one piece)
    virtual_hip_depth: float = 1.3  # virtual hips this many shoulder widths below the shoulder line
    virtual_hip_spread: float = 0.8  # ...and this share of the shoulder width apart


def _bone_points(start: np.ndarray, end: np.ndarray, count: int) -> np.ndarray:
    """``count`` points evenly inside the segment start -> end (end points excluded): (count, 2)."""
    t = (np.arange(1, count + 1, dtype=np.float32) / (count + 1))[:, None]
    return start + t * (end - start)


class BodyWarp:
    """Backward maps for one portrait's body layer. ``active`` is False when the portrait shows no
    shoulders: then there is nothing to move and :meth:`backward_map` returns the identity."""

    def __init__(self, body: Body | None, size: tuple[int, int], config: BodyWarpConfig = BodyWarpConfig()):
        self.config = config
        self.size = size  # (width, height)
        self.body = body
        self.active = body is not None and body.shows_shoulders
        width, height = size
        # The grid TpsGrid builds for this step (its own formula), so the fields line up with self._grid.
        self._step = config.grid_step * max(width, height) / 512.0
        self._shape = (max(2, round(height / self._step)), max(2, round(width / self._step)))
        self._spacing = (width / self._shape[1], height / self._shape[0])
        gx, gy = np.meshgrid(grid_coordinates(self._shape[1], self._spacing[0]), grid_coordinates(self._shape[0], self._spacing[1]))
        self._grid = np.stack([gx, gy], axis=-1)  # (ny, nx, 2) grid positions px
        px, py = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        self._identity = np.stack([px, py], axis=-1)  # (H, W, 2)
        self._map = self._identity.copy()
        self.last_alpha = 1.0  # share of the non-affine motion kept by the fold-free blend, last frame
        self._virtual_hips = None
        if self.active and not body.visible[HIPS].all():
            # A portrait cut off at the chest: hips below the shoulder line, square to it.
            line = body.points[LEFT_SHOULDER] - body.points[RIGHT_SHOULDER]
            down = np.array([-line[1], line[0]], np.float32)
            down = down if down[1] >= 0 else -down
            centre = body.points[SHOULDERS].mean(axis=0) + config.virtual_hip_depth * down
            spread = 0.5 * config.virtual_hip_spread * line
            self._virtual_hips = np.stack([centre + spread, centre - spread]).astype(np.float32)

    def controls(self, points: np.ndarray) -> np.ndarray:
        """The control positions (K, 2) for body points ``points`` (8, 2): the source's or retargeted."""
        body, samples = self.body, self.config.bone_samples
        shoulders = points[SHOULDERS]
        hips = points[HIPS]
        if self._virtual_hips is not None:  # they move as the (unseen) hips would
            hips = self._virtual_hips + (points[HIPS] - body.points[HIPS]).mean(axis=0)
        parts = [shoulders, hips, _bone_points(shoulders[0], shoulders[1], samples)]
        for bones in ARMS:
            for parent, child in bones:
                if body.visible[parent] and body.visible[child]:
                    parts += [points[child][None], _bone_points(points[parent], points[child], samples)]
        return np.concatenate(parts).astype(np.float32)

    def backward_map(self, motion: BodyMotion | None) -> np.ndarray:
        """(H, W, 2) float32: for each output pixel, where to read the body layer. Reused by the next call."""
        if not self.active or motion is None:
            np.copyto(self._map, self._identity)
            self.last_alpha = 1.0
            return self._map
        # 1. Controls: where they are in the portrait and where the motion takes them.
        source = self.controls(self.body.points)
        target = self.controls(retarget_body(self.body, motion))
        # 2. Backward TPS (target -> source) on the grid, affine part split off.
        displacement = source - target  # (K, 2)
        spline = TpsGrid(target, self.size, self._step, self.config.regularisation)
        affine = _affine_part(target, displacement)
        base = self._grid @ affine[:, :2].T + affine[:, 2]  # (ny, nx, 2)
        detail = spline.field(displacement - (target @ affine[:, :2].T + affine[:, 2]))  # (ny, nx, 2)
        # 3. Fold-free blend of the rest.
        field, self.last_alpha = fold_free_field(base, detail, self._spacing, self.config.fold_margin)
        if _folds(self._grid + field):  # between grid points, or the affine part itself
            for share in SHRINK_STEPS:
                if not _folds(self._grid + share * field):
                    break
            field, self.last_alpha = share * field, self.last_alpha * share
        # 4. Pixels.
        width, height = self.size
        cv2.resize(field, (width, height), dst=self._map, interpolation=cv2.INTER_LINEAR)
        self._map += self._identity
        return self._map

    def jacobian_determinant(self) -> np.ndarray:
        """(H, W) Jacobian determinant of the last map (≤ 0 where it folds). Diagnostics, not the hot path."""
        displacement = self._map - self._identity
        return determinant(jacobian(displacement, (1.0, 1.0)))


def _folds(grid_map: np.ndarray) -> bool:
    """Whether the bilinear upsampling of the (ny, nx, 2) map folds anywhere in the image: a grid cell that
    is not an upright convex quad, or a border row (column) running backwards along x (y), which folds the
    half cell beyond it, where the upsampling holds the border values."""
    rows = grid_map[[0, -1], :, 0]  # x along the top and bottom rows
    columns = grid_map[:, [0, -1], 1]  # y down the left and right columns
    return bool(inverted_cells(grid_map).any() or (np.diff(rows, axis=1) <= 0).any() or (np.diff(columns, axis=0) <= 0).any())


def _affine_part(points: np.ndarray, displacement: np.ndarray) -> np.ndarray:
    """Least-squares 2x3 affine A with points @ A[:, :2].T + A[:, 2] ≈ displacement."""
    design = np.concatenate([points, np.ones((len(points), 1), np.float32)], axis=1)
    solution, *_ = np.linalg.lstsq(design, displacement, rcond=None)
    return solution.T.astype(np.float32)
