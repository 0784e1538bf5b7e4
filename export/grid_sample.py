"""A plugin-free 5-D grid sample that TensorRT builds from native layers.

``torch.nn.functional.grid_sample`` on a 5-D input (trilinear, zeros padding, ``align_corners=False``) exports
to ONNX as one 5-D ``GridSample`` node (opset >= 20). onnxruntime runs it, TensorRT does not: its GridSample
layer is 2-D only, which is why public LivePortrait TensorRT ports ship a ``GridSample3D`` plugin. Here the
same maths is written with ``Floor``, ``Clip``, ``Gather`` and element-wise ops only:

1. un-normalise the grid to voxel coordinates, ``i = ((g + 1) * size - 1) / 2`` (``align_corners=False``);
2. the 8 corners ``(x0|x0+1, y0|y0+1, z0|z0+1)``, each with its trilinear weight, set to 0 for a corner
   outside the volume (zeros padding) -- so coordinates outside [-1, 1] behave exactly like torch's;
3. gather the corner voxels as rows of a channels-last ``(N*D*H*W, C)`` table and sum them weighted.

:func:`exportable` switches :func:`grid_sample` -- and, for modules that call
``torch.nn.functional.grid_sample`` directly, that function itself -- to this formulation for the duration of
an export.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch
import torch.nn.functional as F

_ORIGINAL_GRID_SAMPLE = F.grid_sample
_state = threading.local()


def plugin_free_active() -> bool:
    """True inside :func:`exportable` (on this thread)."""
    return getattr(_state, "active", False)


def trilinear_grid_sample(volume: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Trilinear 5-D grid sample with zeros padding and ``align_corners=False``, from Gather + arithmetic.

    volume: (N, C, D, H, W); grid: (N, Do, Ho, Wo, 3) with the last dim ordered (x -> W, y -> H, z -> D).
    Returns (N, C, Do, Ho, Wo), equal to ``F.grid_sample(volume, grid, align_corners=False)`` up to float
    rounding.
    """
    n, c, d, h, w = volume.shape
    _, do, ho, wo, _ = grid.shape
    points = do * ho * wo
    # 1. voxel coordinates, (N, P) each
    g = grid.reshape(n, points, 3)
    ix = ((g[..., 0] + 1) * w - 1) * 0.5
    iy = ((g[..., 1] + 1) * h - 1) * 0.5
    iz = ((g[..., 2] + 1) * d - 1) * 0.5
    x0, y0, z0 = torch.floor(ix), torch.floor(iy), torch.floor(iz)
    # 2. per-axis weights of the low/high corner, zeroed where that corner is outside the volume
    wx = _axis_weights(ix, x0, w)  # (lo, hi) pairs of (N, P)
    wy = _axis_weights(iy, y0, h)
    wz = _axis_weights(iz, z0, d)
    # clamped integer corner coordinates (their weight is already 0 when clamping changed them)
    xi = (_clamp_index(x0, w), _clamp_index(x0 + 1, w))
    yi = (_clamp_index(y0, h), _clamp_index(y0 + 1, h))
    zi = (_clamp_index(z0, d), _clamp_index(z0 + 1, d))
    # 3. channels-last table (N*D*H*W, C); row of a voxel = n*DHW + z*HW + y*W + x. Row gathers copy C
    # contiguous values per index (column gathers, one scalar per index, measured 2-4x slower in onnxruntime).
    # With few channels the weighting runs on the transposed rows (C, N*P): a (N*P, 1) weight broadcast over
    # rows of 4 values costs onnxruntime more than the transpose (W's 22 x 4-channel samplings: -17 %).
    table = volume.reshape(n, c, d * h * w).transpose(1, 2).reshape(n * d * h * w, c)
    batch_offset = (torch.arange(n, device=volume.device, dtype=torch.int64) * (d * h * w)).unsqueeze(1)
    transposed = c < 8
    out = None
    for a in (0, 1):
        for b in (0, 1):
            zy_index = zi[a] * (h * w) + yi[b] * w + batch_offset  # (N, P)
            zy_weight = wz[a] * wy[b]
            for e in (0, 1):
                index = (zy_index + xi[e]).reshape(-1)  # (N*P,)
                rows = table.index_select(0, index)  # (N*P, C)
                weight = zy_weight * wx[e]  # (N, P)
                term = rows.t() * weight.reshape(1, -1) if transposed else rows * weight.reshape(-1, 1)
                out = term if out is None else out + term
    if transposed:  # (C, N*P) -> (N, C, Do, Ho, Wo)
        return out.reshape(c, n, do, ho, wo).transpose(0, 1).contiguous()
    # (N*P, C) -> (N, C, Do, Ho, Wo)
    return out.reshape(n, points, c).transpose(1, 2).reshape(n, c, do, ho, wo).contiguous()


def _axis_weights(coord: torch.Tensor, low: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    frac = coord - low
    w_low = (1 - frac) * ((low >= 0) & (low <= size - 1)).to(coord.dtype)
    w_high = frac * ((low >= -1) & (low <= size - 2)).to(coord.dtype)
    return w_low, w_high


def _clamp_index(coord: torch.Tensor, size: int) -> torch.Tensor:
    return coord.clamp(0, size - 1).to(torch.int64)


def grid_sample(
    volume: torch.Tensor,
    grid: torch.Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> torch.Tensor:
    """``torch.nn.functional.grid_sample`` that takes the plugin-free path for 5-D trilinear zeros-padded
    sampling inside :func:`exportable`, and the native op everywhere else."""
    if (
        plugin_free_active()
        and volume.dim() == 5
        and mode == "bilinear"
        and padding_mode == "zeros"
        and not align_corners
    ):
        return trilinear_grid_sample(volume, grid)
    return _ORIGINAL_GRID_SAMPLE(
        volume, grid, mode=mode, padding_mode=padding_mode, align_corners=align_corners
    )


@contextlib.contextmanager
def exportable(enabled: bool = True) -> Iterator[None]:
    """Use the plugin-free 5-D grid sample while the block runs (on this thread).

    Modules that call :func:`grid_sample` of this module see the switch directly; modules that call
    ``torch.nn.functional.grid_sample`` are covered by temporarily pointing that attribute here (the original
    is restored on exit). Not re-entrant across threads: meant to wrap an export or a parity check.
    """
    previous = plugin_free_active()
    _state.active = enabled
    patched = F.grid_sample is _ORIGINAL_GRID_SAMPLE
    if patched:
        F.grid_sample = grid_sample
    try:
        yield
    finally:
        _state.active = previous
        if patched:
            F.grid_sample = _ORIGINAL_GRID_SAMPLE
