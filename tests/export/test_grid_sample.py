"""The plugin-free 5-D grid sample equals torch's trilinear, zeros-padded, align_corners=False sampling,
also for coordinates outside [-1, 1], and exports without a GridSample node."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from export.grid_sample import exportable, grid_sample, plugin_free_active, trilinear_grid_sample

SHAPES = [
    (1, 3, 4, 5, 6, (4, 5, 6)),
    (2, 4, 3, 7, 5, (2, 3, 4)),
    (3, 1, 16, 8, 8, (5, 6, 7)),
    (2, 12, 4, 6, 5, (3, 4, 5)),
]  # C < 8 and >= 8


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s[:5])))
@pytest.mark.parametrize("spread", [1.0, 1.6, 4.0])
def test_equals_torch_on_random_volumes_and_grids(shape, spread):
    n, c, d, h, w, out = shape
    gen = torch.Generator().manual_seed(int(spread * 10) + n)
    volume = torch.randn(n, c, d, h, w, generator=gen)
    grid = (torch.rand(n, *out, 3, generator=gen) * 2 - 1) * spread  # spread > 1: many points outside
    expected = F.grid_sample(volume, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    actual = trilinear_grid_sample(volume, grid)
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, atol=2e-6, rtol=0)


def test_exact_voxel_centres_edges_and_far_outside():
    volume = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(1, 2, 3, 4, 5)
    # voxel centres, the half-voxel border band (partly zero-padded) and points far outside
    xs = torch.tensor([-1.0, -0.9, 0.0, 0.3, 0.9, 1.0, -1.2, 1.05, -7.0, 9.0])
    grid = torch.stack(torch.meshgrid(xs, xs[:4], xs[2:6], indexing="ij"), dim=-1)[None]  # (1, 10, 4, 4, 3)
    expected = F.grid_sample(volume, grid, align_corners=False)
    torch.testing.assert_close(trilinear_grid_sample(volume, grid), expected, atol=1e-5, rtol=0)
    assert float(trilinear_grid_sample(volume, torch.full((1, 1, 1, 1, 3), 5.0)).abs().max()) == 0.0


def test_switch_routes_only_inside_the_block_and_restores():
    original = F.grid_sample
    volume, grid = torch.randn(1, 2, 3, 4, 5), torch.rand(1, 2, 2, 2, 3) * 2 - 1
    with exportable():
        assert plugin_free_active() and F.grid_sample is grid_sample
        torch.testing.assert_close(
            F.grid_sample(volume, grid, align_corners=False), original(volume, grid, align_corners=False)
        )
        # 4-D inputs and other modes still take the native op
        image, grid2 = torch.randn(1, 2, 4, 5), torch.rand(1, 3, 3, 2) * 2 - 1
        torch.testing.assert_close(
            F.grid_sample(image, grid2, align_corners=False), original(image, grid2, align_corners=False)
        )
    assert not plugin_free_active() and F.grid_sample is original


def test_exports_without_gridsample_and_onnxruntime_matches(tmp_path):
    onnx = pytest.importorskip("onnx")
    from export.runners import OnnxRuntimeRunner

    class Sample(torch.nn.Module):
        def forward(self, volume, grid):
            return F.grid_sample(volume, grid, align_corners=False)

    volume = torch.randn(2, 4, 6, 8, 8)
    grid = (torch.rand(2, 5, 6, 7, 3) * 2 - 1) * 1.3
    path = tmp_path / "sample.onnx"
    with exportable(), torch.no_grad():
        program = torch.onnx.export(Sample(), (volume, grid), input_names=["volume", "grid"], output_names=["out"],
                                    opset_version=17, dynamo=True, verbose=False)  # fmt: skip
    program.save(str(path))
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert "GridSample" not in ops and "Gather" in ops
    with OnnxRuntimeRunner(path) as runner:
        out = runner.infer({"volume": volume.numpy(), "grid": grid.numpy()})["out"]
    expected = F.grid_sample(volume, grid, align_corners=False)
    assert np.abs(out.numpy() - expected.numpy()).max() <= 2e-6
