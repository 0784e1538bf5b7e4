"""Thin-plate-spline displacement fields on a fixed grid, and their inversion.

The forward map f(x) = x + d(x) takes source pixels to target pixels. Its control points are fixed per
source (the source landmarks plus anchors), so everything but the displacements is precomputed:
``d(grid) = evaluation @ displacements`` is one (N², K) @ (K, C) matmul per frame.

The renderer needs the backward map b(y) = f⁻¹(y) (for each output pixel, where to read the source);
it is found by a few Newton steps on the same grid, which converge while f does not fold (positive
Jacobian determinant) — and :func:`fold_free_blend` keeps it that way.
"""

from __future__ import annotations

import cv2
import numpy as np

from engines.blas import one_blas_thread


def _kernel(squared_distance: np.ndarray) -> np.ndarray:
    """TPS radial basis U = r² log r², with U(0) = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = squared_distance * np.log(squared_distance)
    return np.nan_to_num(value, nan=0.0, posinf=0.0, neginf=0.0)


class TpsGrid:
    """A TPS interpolator from ``controls`` (K, 2) px to a regular grid over a ``size`` = (w, h) px box.

    The grid has ``shape`` = (ny, nx) points, about ``step`` px apart; point (i, j) sits at pixel
    ``((j + 0.5) * w / nx - 0.5, (i + 0.5) * h / ny - 0.5)``: the sample positions ``cv2.resize`` assumes,
    so a grid field upsamples to pixels exactly. ``regularisation`` (λ) trades exact interpolation for
    smoothness.
    """

    def __init__(self, controls: np.ndarray, size: tuple[int, int], step: float, regularisation: float = 1e-4):
        width, height = size
        nx, ny = max(2, round(width / step)), max(2, round(height / step))
        self.size, self.shape = (width, height), (ny, nx)
        self.spacing = (width / nx, height / ny)  # px between grid points along x and y
        gx, gy = np.meshgrid(grid_coordinates(nx, self.spacing[0]), grid_coordinates(ny, self.spacing[1]))
        self.points = np.stack([gx, gy], axis=-1).reshape(-1, 2)  # (ny*nx, 2) grid positions in px
        # Work in units of the box's longer side so the system is well scaled.
        unit = float(max(width, height))
        c = controls.astype(np.float64) / unit
        g = self.points.astype(np.float64) / unit
        k = len(c)
        system = np.zeros((k + 3, k + 3))
        system[:k, :k] = _kernel(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1)) + regularisation * np.eye(k)
        system[:k, k] = 1.0
        system[:k, k + 1 :] = c
        system[k, :k] = 1.0
        system[k + 1 :, :k] = c.T
        basis = np.concatenate(
            [_kernel(((g[:, None, :] - c[None, :, :]) ** 2).sum(-1)), np.ones((len(g), 1)), g], axis=1
        )
        with one_blas_thread():  # the same matrix on any core count (batch workers, renders: same frames)
            inverse = np.linalg.inv(system)[:, :k]  # weights = inverse @ displacements
            evaluation = basis @ inverse
        self.evaluation = np.ascontiguousarray(evaluation.astype(np.float32))  # (ny*nx, K)

    def field(self, displacements: np.ndarray) -> np.ndarray:
        """(K, C) displacements at the controls -> (ny, nx, C) on the grid.

        One matrix-vector product per column: with so few columns OpenBLAS's sgemm path is several
        times slower than sgemv on the same (N², K) matrix (measured: 11.8 ms vs 2.0 ms for C = 4)."""
        columns = np.ascontiguousarray(displacements.T, dtype=np.float32)  # (C, K)
        out = np.stack([self.evaluation @ column for column in columns], axis=-1)  # (N², C)
        return out.reshape(*self.shape, -1)


def grid_coordinates(n: int, spacing: float) -> np.ndarray:
    return ((np.arange(n) + 0.5) * spacing - 0.5).astype(np.float32)


def jacobian(displacement: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    """(ny, nx, 2) displacement -> (ny, nx, 4) Jacobian of x + d(x): [dfx/dx, dfx/dy, dfy/dx, dfy/dy]."""
    ddx_dy, ddx_dx = np.gradient(displacement[..., 0], spacing[1], spacing[0])
    ddy_dy, ddy_dx = np.gradient(displacement[..., 1], spacing[1], spacing[0])
    return np.stack([1.0 + ddx_dx, ddx_dy, ddy_dx, 1.0 + ddy_dy], axis=-1).astype(np.float32)


def determinant(jac: np.ndarray) -> np.ndarray:
    return jac[..., 0] * jac[..., 3] - jac[..., 1] * jac[..., 2]


def _blend_terms(base: np.ndarray, detail: np.ndarray, spacing: tuple[float, float], margin: float):
    """Coefficients of det(J_base + α ∇detail) − margin = c0 + c1 α + c2 α² at every grid point."""
    a = jacobian(base, spacing)
    b = jacobian(detail, spacing) - np.array([1, 0, 0, 1], np.float32)  # the detail's gradient only
    c0 = determinant(a) - margin
    c1 = a[..., 0] * b[..., 3] + a[..., 3] * b[..., 0] - a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    return c0, c1, determinant(b)


ALPHA_LEVELS = np.linspace(0.0, 1.0, 21, dtype=np.float32)


def fold_free_alpha(base: np.ndarray, detail: np.ndarray, spacing: tuple[float, float], margin: float) -> np.ndarray:
    """Per grid point, the largest α in [0, 1] (to 1/20) such that ``base + α·detail`` keeps its Jacobian
    determinant ≥ ``margin`` for every smaller α too. det(A + αB) is quadratic in α at each point."""
    c0, c1, c2 = _blend_terms(base, detail, spacing, margin)
    levels = ALPHA_LEVELS[:, None, None]
    bad = (c0 + c1 * levels + c2 * levels**2) < 0  # (21, ny, nx)
    first_bad = np.where(bad.any(axis=0), np.argmax(bad, axis=0), len(ALPHA_LEVELS))
    return ALPHA_LEVELS[np.maximum(first_bad - 1, 0)]


def fold_free_blend(base: np.ndarray, detail: np.ndarray, spacing: tuple[float, float], margin: float) -> float:
    """The largest single α for the whole grid (see :func:`fold_free_alpha`)."""
    return float(fold_free_alpha(base, detail, spacing, margin).min())


def fold_free_field(
    base: np.ndarray, detail: np.ndarray, spacing: tuple[float, float], margin: float
) -> tuple[np.ndarray, float]:
    """``base + α(x)·detail`` with α(x) = 1 wherever that does not fold and lowered smoothly only around
    the places that would fold (so a fold at the lips does not flatten the eyes). Falls back to one global
    α if the smooth map still folds. Returns the field and the smallest α used."""
    full = base + detail
    if determinant(jacobian(full, spacing)).min() >= margin:  # the usual case: nothing folds
        return full, 1.0
    alpha = fold_free_alpha(base, detail, spacing, margin)
    if alpha.min() >= 1.0:
        return full, 1.0
    # Spread each limit over its neighbourhood (erode), then smooth; the gradient of a smooth α adds
    # little to the Jacobian, and the check below catches what it does add.
    spread = cv2.erode(alpha, np.ones((7, 7), np.uint8))
    smooth = cv2.GaussianBlur(spread, (0, 0), sigmaX=1.5)[..., None]
    field = base + smooth * detail
    if determinant(jacobian(field, spacing)).min() >= 0.5 * margin:
        return field, float(smooth.min())
    global_alpha = float(alpha.min())
    return base + global_alpha * detail, global_alpha


def invert(
    displacement: np.ndarray,
    spacing: tuple[float, float],
    start: np.ndarray | None = None,
    iterations: int = 3,
    refine_iterations: int = 25,
    tolerance: float = 0.05,
) -> np.ndarray:
    """Backward map on the same grid: for each grid position y, the source position x with
    x + d(x) = y. Returns (ny, nx, 2) absolute source coordinates in px (float32).

    Newton steps from ``start`` (e.g. the previous frame's answer: consecutive frames differ little) or
    from one fixed-point step: ``iterations`` over the whole grid, then up to ``refine_iterations`` more on
    the points still off by more than ``tolerance`` px (few, in strongly stretched places: an open mouth).
    """
    ny, nx = displacement.shape[:2]
    grid = np.stack(np.meshgrid(grid_coordinates(nx, spacing[0]), grid_coordinates(ny, spacing[1])), axis=-1)
    jac = jacobian(displacement, spacing)
    x = (grid - displacement if start is None else start).astype(np.float32)
    x, residual = _newton(x, grid, displacement, jac, spacing, iterations, tolerance)
    off = np.abs(residual).max(axis=-1) > tolerance
    if off.any():
        rows, cols = np.nonzero(off)
        x[rows, cols], residual[rows, cols] = _refine(
            x[rows, cols], grid[rows, cols], displacement, jac, spacing, refine_iterations, tolerance
        )
    return _unfold(_fill_unconverged(x, np.abs(residual).max(axis=-1) > 0.5)).astype(np.float32)


def _newton_residual(
    x: np.ndarray, target: np.ndarray, displacement: np.ndarray, jac: np.ndarray, spacing: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """For (h, w, 2) points ``x``: the residual x + d(x) − target and the Jacobian there (h, w, 4)."""
    # px -> fractional grid index: (p + 0.5) / spacing - 0.5
    ix = (x[..., 0] + 0.5) / spacing[0] - 0.5
    iy = (x[..., 1] + 0.5) / spacing[1] - 0.5
    # Bicubic sampling of the field: closer to the smooth TPS between grid points than bilinear, which
    # lets the eyes' thin features land where their landmarks say. The Jacobian only steers the steps
    # (an approximate one still converges to the same root): bilinear is enough there.
    d = cv2.remap(displacement, ix, iy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    j = cv2.remap(jac, ix, iy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return x + d - target, j


def _newton_step(residual: np.ndarray, j: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    """The damped Newton step reducing ``residual`` (h, w, 2) with the Jacobian ``j`` (h, w, 4) there."""
    det = determinant(j)
    det = np.where(np.abs(det) < 1e-3, 1e-3, det)
    step_x = (j[..., 3] * residual[..., 0] - j[..., 1] * residual[..., 1]) / det
    step_y = (-j[..., 2] * residual[..., 0] + j[..., 0] * residual[..., 1]) / det
    # Damped: a step never moves a point more than two grid cells (steep, strongly stretched places).
    limit = 2.0 * max(spacing)
    scale = np.minimum(1.0, limit / np.maximum(np.hypot(step_x, step_y), 1e-6))
    return np.stack([step_x * scale, step_y * scale], axis=-1)


def _newton(
    x: np.ndarray,
    target: np.ndarray,
    displacement: np.ndarray,
    jac: np.ndarray,
    spacing: tuple[float, float],
    iterations: int,
    tolerance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Newton steps solving x + d(x) = target for (h, w, 2) arrays of points; returns x and the residual."""
    residual = np.zeros_like(x)
    for _ in range(iterations):
        residual, j = _newton_residual(x, target, displacement, jac, spacing)
        if np.abs(residual).max() <= tolerance:
            break
        x = x - _newton_step(residual, j, spacing)
    return x, residual


# A refined point stops once this many steps in a row brought it no closer than its best: the bicubic field
# and the bilinear Jacobian disagree slightly, so some points settle 0.05–0.1 px off and circle there
# (measured on the head and body maps of p09/e01: 25 more steps never brought them closer; the refinement
# took 25 steps whenever one such point was left, now about 10).
STALL_STEPS = 5


def _refine(
    x: np.ndarray, target: np.ndarray, displacement: np.ndarray, jac: np.ndarray, spacing: tuple[float, float],
    iterations: int, tolerance: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """More Newton steps for (n, 2) points still off after the grid-wide ones: each point steps until it is
    within ``tolerance`` or stalls, and keeps the best position it reached. Returns x and its residual."""
    best_x, best_residual = x.copy(), np.full_like(x, np.inf)
    best_size = np.full(len(x), np.inf, np.float32)
    stalled = np.zeros(len(x), np.int32)
    active = np.arange(len(x))
    current = x[active]
    for _ in range(iterations):
        residual, j = _newton_residual(current[None], target[active][None], displacement, jac, spacing)
        residual, step = residual[0], _newton_step(residual, j, spacing)[0]
        size = np.abs(residual).max(axis=-1)
        better = size < best_size[active]
        stalled[active] = np.where(better, 0, stalled[active] + 1)
        improved = active[better]
        best_x[improved] = (current - step)[better]  # the step from the best point, as the grid-wide steps end
        best_residual[improved], best_size[improved] = residual[better], size[better]
        going = (size > tolerance) & (stalled[active] < STALL_STEPS)
        if not going.any():
            break
        active, current = active[going], (current - step)[going]
    return best_x, best_residual


def inverted_cells(x: np.ndarray) -> np.ndarray:
    """(ny-1, nx-1) True where a grid cell of the map ``x`` (ny, nx, 2) is not a convex quad of the grid's
    orientation: bilinear upsampling of a map whose cells are all convex and upright never folds."""
    a, b, c, d = x[:-1, :-1], x[:-1, 1:], x[1:, 1:], x[1:, :-1]  # clockwise in image coordinates
    # The turn at each corner is the cross product of the edges meeting there (each edge computed once).
    edges = [b - a, c - b, d - c, a - d]

    def turns_back(u, v):
        return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0] <= 0

    return turns_back(*edges[0:2]) | turns_back(*edges[1:3]) | turns_back(*edges[2:4]) | turns_back(edges[3], edges[0])


def _unfold(x: np.ndarray, rounds: int = 6) -> np.ndarray:
    """Smooth the map locally, a few times, wherever a cell is inverted (numerical leftovers of the
    inversion in strongly stretched places)."""
    for _ in range(rounds):
        bad_cells = inverted_cells(x)
        if not bad_cells.any():
            break
        bad = np.zeros(x.shape[:2], np.uint8)
        bad[:-1, :-1] |= bad_cells
        bad[1:, 1:] |= bad_cells
        bad[:-1, 1:] |= bad_cells
        bad[1:, :-1] |= bad_cells
        bad = cv2.dilate(bad, np.ones((3, 3), np.uint8)).astype(bool)
        x = np.where(bad[..., None], cv2.blur(x, (3, 3), borderType=cv2.BORDER_REPLICATE), x)
    return x


def _fill_unconverged(x: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Replace the points where Newton did not converge (only inside strongly stretched places, e.g. a
    mouth driven open, later painted over) by a smooth blend of their converged neighbours."""
    if not bad.any():
        return x
    good = (~bad).astype(np.float32)
    weight = cv2.GaussianBlur(good, (0, 0), sigmaX=2.0)
    filled = cv2.GaussianBlur(x * good[..., None], (0, 0), sigmaX=2.0) / np.maximum(weight, 1e-6)[..., None]
    return np.where(bad[..., None], filled, x)
