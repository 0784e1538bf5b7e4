import cv2
import numpy as np

from engines.warp.field import (
    TpsGrid, determinant, fold_free_alpha, fold_free_field, grid_coordinates, invert, jacobian,
)  # fmt: skip


def _controls(rng, count=60, size=200):
    return rng.uniform(20, size - 20, (count, 2)).astype(np.float32)


def test_tps_grid_reproduces_affine_motion_exactly():
    rng = np.random.default_rng(1)
    controls = _controls(rng)
    grid = TpsGrid(controls, (200, 160), step=5.0, regularisation=0.0)
    matrix = np.array([[1.05, 0.02, 3.0], [-0.03, 0.97, -2.0]], np.float32)
    moved = controls @ matrix[:, :2].T + matrix[:, 2]
    field = grid.field(moved - controls)
    expected = grid.points @ matrix[:, :2].T + matrix[:, 2] - grid.points
    np.testing.assert_allclose(field.reshape(-1, 2), expected, atol=1e-3)


def test_inverse_map_undoes_the_forward_map():
    rng = np.random.default_rng(2)
    controls = _controls(rng)
    grid = TpsGrid(controls, (200, 200), step=4.0)
    smooth = np.stack([6 * np.sin(controls[:, 1] / 30), 5 * np.cos(controls[:, 0] / 25)], axis=1)
    displacement = grid.field(smooth.astype(np.float32))
    assert determinant(jacobian(displacement, grid.spacing)).min() > 0.2  # invertible
    backward = invert(displacement, grid.spacing)
    # forward(backward(y)) == y, sampling the forward field between grid points as the inversion does
    ix = (backward[..., 0] + 0.5) / grid.spacing[0] - 0.5
    iy = (backward[..., 1] + 0.5) / grid.spacing[1] - 0.5
    forward = backward + cv2.remap(displacement, ix, iy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    ny, nx = grid.shape
    target = np.stack(np.meshgrid(grid_coordinates(nx, grid.spacing[0]), grid_coordinates(ny, grid.spacing[1])), -1)
    error = np.abs(forward - target)[3:-3, 3:-3].max(axis=-1)
    assert np.percentile(error, 99) < 0.05 and error.max() < 0.5


def test_fold_free_field_never_folds_where_the_raw_field_does():
    rng = np.random.default_rng(3)
    controls = _controls(rng, count=40)
    grid = TpsGrid(controls, (200, 200), step=5.0)
    # Swap two nearby groups of points: the raw field folds.
    detail = np.zeros_like(controls)
    left = np.linalg.norm(controls - (90, 100), axis=1) < 25
    right = np.linalg.norm(controls - (110, 100), axis=1) < 25
    detail[left, 0] += 40
    detail[right, 0] -= 40
    raw = grid.field(detail)
    assert determinant(jacobian(raw, grid.spacing)).min() < 0  # the test case really folds
    base = np.zeros_like(raw)
    alpha = fold_free_alpha(base, raw, grid.spacing, margin=0.05)
    assert 0 <= alpha.min() < 1 and alpha.max() == 1.0  # lowered only where needed
    field, smallest = fold_free_field(base, raw, grid.spacing, margin=0.05)
    assert determinant(jacobian(field, grid.spacing)).min() > 0
    assert smallest < 1


def test_refinement_stops_points_that_circle_and_keeps_each_ones_best_position(monkeypatch):
    import engines.warp.field as field

    # f(x) = 1.2·x, steered by half its Jacobian: every step overshoots the root by as much as it was off,
    # so each point circles it for ever; a point started on its root is done at once.
    spacing = (4.0, 4.0)
    ny, nx = 20, 20
    grid = np.stack(np.meshgrid(grid_coordinates(nx, 4.0), grid_coordinates(ny, 4.0)), -1).astype(np.float32)
    displacement = 0.2 * grid
    steer = (0.5 * jacobian(displacement, spacing)).astype(np.float32)
    target = np.array([[36.0, 40.0], [48.0, 24.0]], np.float32)  # inside the grid, away from its border
    root = target / 1.2
    start = np.array([root[0] + (0.8, -0.6), root[1]], np.float32)
    steps = []
    step = field._newton_step
    monkeypatch.setattr(field, "_newton_step", lambda *args: steps.append(len(args[0][0])) or step(*args))
    x, residual = field._refine(start, target, displacement, steer, spacing, iterations=25, tolerance=0.05)
    assert len(steps) <= field.STALL_STEPS + 2  # not all 25
    assert steps[0] == 2 and all(count == 1 for count in steps[1:])  # the point on its root stopped at once
    assert np.abs(residual[1]).max() <= 0.05
    circling = np.abs(residual[0]).max()
    # no worse than where it began (remap reads the field at positions rounded to 1/32 of a cell: 0.05 px here)
    assert 0.05 < circling <= np.abs(1.2 * start[0] - target[0]).max() + 0.05
