"""The body layer's warp: the portrait's shoulders, torso and arms moved by :class:`engines.base.BodyMotion`,
the neck joining them to the moving head.

prepare (once per portrait, :meth:`BodyWarp.of_portrait`): the portrait's visible body points become the
controls of a thin-plate spline over the image: shoulders, hips (or, for a portrait cut off at the chest,
two virtual hips below the shoulders, at most at the frame's edge, which they never lift off), the elbows
and wrists it shows, and points along each bone so a
bone moves as one piece. Arms the portrait does not show get no control: they are not invented. The
controls are fixed per portrait, so the spline's evaluation matrix on a coarse grid is precomputed.

per frame (:meth:`BodyWarp.layer_map`):
 1. target controls = the portrait's points retargeted by the motion (:func:`engines.body.retarget_body`);
 2. the forward displacement on the grid: its affine part, plus the rest scaled down where the Jacobian
    determinant would fall below ``fold_margin`` (:func:`engines.warp.field.fold_free_field`); if a grid
    cell still inverts (the affine part itself mirrors), the whole motion shrinks until none does;
 3. each body pixel moves by the neck's share of the head's motion and the rest of the body's (the layer
    engine's ``neck`` map: 1 just under the chin, 0 from the shoulders down), so the neck stretches from
    the head to the torso without a seam. That pull is not damped where it squeezes (as in the layer
    engine's own neck map): damping it tore long hair at the head's cut, and the inversion smooths away
    the few cells it inverts, mostly at the hair's outer edge, where the layer is transparent;
 4. that blend is inverted on the grid by Newton steps (:func:`engines.warp.field.invert`, warm-started
    from the last frame) and upsampled to a backward map (H, W, 2) float32; the engine remaps only the
    body layer's box, widened by the farthest move.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engines.base import BodyMotion
from engines.body import ARMS, HIPS, LEFT_SHOULDER, RIGHT_SHOULDER, SHOULDERS, Body, find_portrait_body, retarget_body
from engines.warp.compose import Box, apply_affine, upsample
from engines.warp.field import TpsGrid, fold_free_field, invert, inverted_cells

SHRINK_STEPS = np.linspace(1.0, 0.0, 6)[1:]  # shares of the whole motion tried when a grid cell still inverts


@dataclass(frozen=True, slots=True)
class BodyWarpConfig:
    grid_step: float = 8.0  # px between the spline's grid points at 512² (scales with the image)
    fold_margin: float = 0.25  # the smallest Jacobian determinant allowed on the grid
    regularisation: float = 1e-5
    bone_samples: int = 3  # extra controls along each bone (it moves as one piece)
    virtual_hip_depth: float = 1.3  # virtual hips this many shoulder widths below the shoulder line
    virtual_hip_spread: float = 0.8  # ...and this share of the shoulder width apart
    neck_rise: float = 0.3  # the neck's base rises by this share of a shrug
    edge_points: int = 4  # controls on each frame edge that cuts the body (left, right, bottom)
    neck_reach: float = 0.4  # the neck's pull fades from half this many shoulder widths off the centre to this


def _bone_points(start: np.ndarray, end: np.ndarray, count: int) -> np.ndarray:
    """``count`` points evenly inside the segment start -> end (end points excluded): (count, 2)."""
    t = (np.arange(1, count + 1, dtype=np.float32) / (count + 1))[:, None]
    return start + t * (end - start)


class BodyWarp:
    """Body-layer maps for one portrait. ``active`` is False when the portrait does not show both
    shoulders: then there is nothing to move."""

    def __init__(self, body: Body | None, size: tuple[int, int], config: BodyWarpConfig = BodyWarpConfig()):
        self.config = config
        self.size = size  # (width, height)
        self.body = body
        self.active = body is not None and body.shows_shoulders
        self.last_alpha = 1.0  # share of the non-affine motion the fold-free blend kept, last frame
        self.last_map: np.ndarray | None = None  # (H, W, 2) the last backward map, a buffer reused per frame
        if not self.active:
            return
        width, height = size
        self._step = config.grid_step * max(width, height) / 512.0
        self._virtual_hips = None
        if not body.visible[HIPS].all():
            # A portrait cut off at the chest: hips below the shoulder line, square to it.
            line = body.points[LEFT_SHOULDER] - body.points[RIGHT_SHOULDER]
            down = np.array([-line[1], line[0]], np.float32)
            down = down if down[1] >= 0 else -down
            centre = body.points[SHOULDERS].mean(axis=0) + config.virtual_hip_depth * down
            spread = 0.5 * config.virtual_hip_spread * line
            hips = np.stack([centre + spread, centre - spread]).astype(np.float32)
            # No lower than the frame's bottom edge, where the portrait cuts the body: nothing below it is
            # known, so the cut never moves up (a shrug stretches the chest instead of tearing the cut).
            hips[:, 1] = np.minimum(hips[:, 1], size[1] - 1)
            self._virtual_hips = hips
        # Points on the frame's left, right and bottom edges below the shoulder line, where a portrait
        # cuts the body: across the edge they never move inwards, along it they slide (see _edge_shift).
        top = float(min(body.points[SHOULDERS, 1].max(), height - 1))
        ys = np.linspace(top, height - 1, config.edge_points, dtype=np.float32)
        xs = np.linspace(0, width - 1, config.edge_points + 2, dtype=np.float32)[1:-1]
        self._edges = np.concatenate([
            np.stack([np.zeros_like(ys), ys], 1), np.stack([np.full_like(ys, width - 1), ys], 1),
            np.stack([xs, np.full_like(xs, height - 1)], 1),
        ])  # fmt: skip
        self._outward = np.concatenate([
            np.tile([[-1, 0]], (len(ys), 1)), np.tile([[1, 0]], (len(ys), 1)), np.tile([[0, 1]], (len(xs), 1)),
        ]).astype(np.float32)  # fmt: skip
        self._bottom_corners = np.zeros(len(self._edges), bool)  # the side edges' lowest points
        self._bottom_corners[[len(ys) - 1, 2 * len(ys) - 1]] = True
        self._source = self.controls(body.points)
        self._spline = TpsGrid(self._source, size, self._step, config.regularisation)
        self._grid = self._spline.points.reshape(*self._spline.shape, 2)  # (ny, nx, 2) px
        self._last_grid_map: np.ndarray | None = None  # the last backward map on the grid (warm start)
        # The neck's pull towards the head holds between the shoulders and gives way towards them: a
        # webcam sees the shoulders about as high as the chin, inside the layer engine's neck region.
        line = body.points[LEFT_SHOULDER] - body.points[RIGHT_SHOULDER]
        lateral = np.abs((self._grid - body.points[SHOULDERS].mean(axis=0)) @ (line / max(float(np.linalg.norm(line)), 1e-6)))
        inner, outer = (config.neck_reach * body.shoulder_width * share for share in (0.5, 1.0))
        t = np.clip((lateral - inner) / max(outer - inner, 1e-6), 0.0, 1.0)
        self._neck_hold = (1.0 - t * t * (3.0 - 2.0 * t)).astype(np.float32)  # (ny, nx)
        self._neck: np.ndarray | None = None  # the neck map last given to layer_map...
        self._neck_share: np.ndarray | None = None  # ...(ny, nx, 1) its share on the grid, held between the shoulders

    @classmethod
    def of_portrait(cls, image: np.ndarray, config: BodyWarpConfig = BodyWarpConfig()) -> "BodyWarp":
        """The warp for the body MediaPipe pose finds in ``image`` (RGB uint8)."""
        height, width = image.shape[:2]
        return cls(find_portrait_body(image), (width, height), config)

    def controls(self, points: np.ndarray) -> np.ndarray:
        """The control positions (K, 2) for body points ``points`` (8, 2): the source's or retargeted."""
        body, samples = self.body, self.config.bone_samples
        shoulders, hips = points[SHOULDERS], points[HIPS]
        hip_shift = (points[HIPS] - body.points[HIPS]).mean(axis=0)
        if self._virtual_hips is not None:  # they move as the (unseen) hips would, never up from the cut
            hips = self._virtual_hips + (hip_shift[0], max(float(hip_shift[1]), 0.0))
        # The neck's base, between the shoulders: a lean carries it along, a shrug lifts the shoulders
        # round it (it rises by ``neck_rise`` of the shoulders' rise over the hips).
        centre = body.points[SHOULDERS].mean(axis=0)
        centre_shift = shoulders.mean(axis=0) - centre
        rise = centre_shift[1] - hip_shift[1]
        neck_base = centre + centre_shift - (0.0, (1.0 - self.config.neck_rise) * rise)
        edges = self._edges + self._edge_shift(shoulders, hips, hip_shift)
        parts = [shoulders, hips, neck_base[None].astype(np.float32), edges]
        for bones in ARMS:
            for parent, child in bones:
                if body.visible[parent] and body.visible[child]:
                    parts += [points[child][None], _bone_points(points[parent], points[child], samples)]
        return np.concatenate(parts).astype(np.float32)

    def _edge_shift(self, shoulders: np.ndarray, hips: np.ndarray, hip_shift: np.ndarray) -> np.ndarray:
        """(E, 2) moves of the frame-edge controls. Across the edge they follow the hips but never inwards
        (nothing beyond the frame is known); along it they slide with the nearest body points (a shoulder
        by the edge drops or rises with the edge beside it), except that the ends at the bottom corners
        never rise (that would pull in what lies below the frame)."""
        anchors = np.concatenate([self.body.points[SHOULDERS], self._hips_at_rest()])  # (4, 2)
        moves = np.concatenate([shoulders - self.body.points[SHOULDERS], hips - self._hips_at_rest()])
        weights = 1.0 / (((self._edges[:, None] - anchors[None]) ** 2).sum(axis=2) + self._step**2)  # (E, 4)
        nearby = (weights @ moves) / weights.sum(axis=1, keepdims=True)  # (E, 2)
        across = (hip_shift * self._outward).sum(axis=1, keepdims=True)  # < 0: moving into the frame
        along = nearby - (nearby * self._outward).sum(axis=1, keepdims=True) * self._outward
        along[self._bottom_corners, 1] = np.maximum(along[self._bottom_corners, 1], 0.0)
        return np.maximum(across, 0.0) * self._outward + along

    def _hips_at_rest(self) -> np.ndarray:
        return self.body.points[HIPS] if self._virtual_hips is None else self._virtual_hips

    def forward_field(self, motion: BodyMotion) -> np.ndarray:
        """(ny, nx, 2) forward displacement of the body on the spline's grid, fold-free."""
        target = self.controls(retarget_body(self.body, motion))
        displacement = target - self._source  # (K, 2)
        affine = _affine_part(self._source, displacement)
        base = apply_affine(affine, self._grid)  # (ny, nx, 2)
        detail = self._spline.field(displacement - apply_affine(affine, self._source))
        field, self.last_alpha = fold_free_field(base, detail, self._spline.spacing, self.config.fold_margin)
        if _folds(self._grid + field):  # the affine part itself mirrors, or a fold between grid points
            for share in SHRINK_STEPS:
                if not _folds(self._grid + share * field):
                    break
            field, self.last_alpha = share * field, self.last_alpha * share
        return field

    def layer_map(
        self, motion: BodyMotion, neck: np.ndarray | None = None, head: np.ndarray | None = None,
        layer_box: Box | None = None,
    ) -> tuple[Box, np.ndarray]:
        """The body layer's backward map: ``(box, (h, w, 2) float32)``, a view of a map reused by the next
        call. ``box`` is ``layer_box`` (where the body layer has pixels; default: the whole image) widened by
        the farthest move, so it covers both where the body was and where it goes.

        ``neck`` (H, W) is the share of the head's motion ``head`` (2×3 affine, px) each body pixel takes;
        the rest takes the body's motion. Without them the map is the body's motion alone."""
        width, height = self.size
        field = self.forward_field(motion)
        if neck is not None:  # the neck's pull towards the head
            if neck is not self._neck:  # the neck map is the portrait's: sampled on the grid once
                share = cv2.remap(neck, self._grid[..., 0], self._grid[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                self._neck, self._neck_share = neck, (share * self._neck_hold)[..., None]
            field = field + self._neck_share * (apply_affine(head, self._grid) - self._grid - field)
        backward = invert(field, self._spline.spacing, start=self._last_grid_map)
        self._last_grid_map = backward
        self.last_map = upsample(backward, self._grid, (0, 0, width, height), out=self.last_map)
        x0, y0, x1, y1 = layer_box or (0, 0, width, height)
        reach = int(np.ceil(np.abs(field).max() + 2 * self._step))
        box = (max(x0 - reach, 0), max(y0 - reach, 0), min(x1 + reach, width), min(y1 + reach, height))
        return box, self.last_map[box[1] : box[3], box[0] : box[2]]


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
