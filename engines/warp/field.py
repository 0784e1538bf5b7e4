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
        inverse = np.linalg.inv(system)[:, :k]  # weights = inverse @ displacements
        basis = np.concatenate(
            [_kernel(((g[:, None, :] - c[None, :, :]) ** 2).sum(-1)), np.ones((len(g), 1)), g], axis=1
        )
        self.evaluation = np.ascontiguousarray((basis @ inverse).astype(np.float32))  # (ny*nx, K)

    def field(self, displacements: np.ndarray) -> np.ndarray:
        """(K, C) displacements at the controls -> (ny, nx, C) on the grid."""
        return (self.evaluation @ displacements.astype(np.float32)).reshape(*self.shape, -1)


def grid_coordinates(n: int, spacing: float) -> np.ndarray:
    return ((np.arange(n) + 0.5) * spacing - 0.5).astype(np.float32)


def jacobian(displacement: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    """(ny, nx, 2) displacement -> (ny, nx, 4) Jacobian of x + d(x): [dfx/dx, dfx/dy, dfy/dx, dfy/dy]."""
    ddx_dy, ddx_dx = np.gradient(displacement[..., 0], spacing[1], spacing[0])
    ddy_dy, ddy_dx = np.gradient(displacement[..., 1], spacing[1], spacing[0])
    return np.stack([1.0 + ddx_dx, ddx_dy, ddy_dx, 1.0 + ddy_dy], axis=-1).astype(np.float32)


def determinant(jac: np.ndarray) -> np.ndarray:
    return jac[..., 0] * jac[..., 3] - jac[..., 1] * jac[..., 2]


def fold_free_blend(base: np.ndarray, detail: np.ndarray, spacing: tuple[float, float], margin: float) -> float:
    """Largest α in [0, 1] such that ``base + α·detail`` keeps its Jacobian determinant ≥ ``margin`` on the
    grid (``base`` alone must satisfy it). det(A + αB) is quadratic in α at every grid point, so the
    bound is solved in closed form rather than searched."""
    a = jacobian(base, spacing)
    b = jacobian(detail, spacing) - np.array([1, 0, 0, 1], np.float32)  # the detail's gradient only
    c0 = determinant(a) - margin
    c1 = a[..., 0] * b[..., 3] + a[..., 3] * b[..., 0] - a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    c2 = determinant(b)
    if (c0 + c1 + c2).min() >= 0 and c0.min() >= 0:
        # Endpoints fine; a quadratic can still dip inside (0, 1) where its vertex lies there.
        vertex = np.where(c2 > 0, -c1 / np.where(c2 > 0, 2 * c2, 1), -1.0)
        inside = (vertex > 0) & (vertex < 1)
        if not inside.any() or (c0 + c1 * vertex + c2 * vertex**2)[inside].min() >= 0:
            return 1.0
    alphas = np.linspace(1.0, 0.0, 21, dtype=np.float32)[:, None, None]
    ok = ((c0 + c1 * alphas + c2 * alphas**2) >= 0).reshape(len(alphas), -1).all(axis=1)
    return float(alphas[np.argmax(ok), 0, 0]) if ok.any() else 0.0


def invert(displacement: np.ndarray, spacing: tuple[float, float], iterations: int = 8) -> np.ndarray:
    """Backward map on the same grid: for each grid position y, the source position x with
    x + d(x) = y. Returns (ny, nx, 2) absolute source coordinates in px (float32)."""
    ny, nx = displacement.shape[:2]
    grid = np.stack(np.meshgrid(grid_coordinates(nx, spacing[0]), grid_coordinates(ny, spacing[1])), axis=-1)
    jac = jacobian(displacement, spacing)
    x = grid - displacement  # first guess: one fixed-point step
    for _ in range(iterations):
        # px -> fractional grid index: (p + 0.5) / spacing - 0.5
        ix = (x[..., 0] + 0.5) / spacing[0] - 0.5
        iy = (x[..., 1] + 0.5) / spacing[1] - 0.5
        d = cv2.remap(displacement, ix, iy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        j = cv2.remap(jac, ix, iy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        residual = x + d - grid
        det = determinant(j)
        det = np.where(np.abs(det) < 1e-3, 1e-3, det)
        step_x = (j[..., 3] * residual[..., 0] - j[..., 1] * residual[..., 1]) / det
        step_y = (-j[..., 2] * residual[..., 0] + j[..., 0] * residual[..., 1]) / det
        x = x - np.stack([step_x, step_y], axis=-1)
    return x.astype(np.float32)
