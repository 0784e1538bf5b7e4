"""bf16 forms of the graph modules for CPUs with bf16 units (AMX / AVX512-BF16).

Measured on a Xeon with AMX (2 threads, synthetic weights): autocast made G *slower* than fp32 (SPADE's
instance norms flip every activation between bf16 and fp32, and each weight is cast again on every call),
while G stored in bf16 ran about 3x faster than fp32 at the same PSNR. So the reduced parts of a graph
are converted once, when the runner is built:

* weights cast to bf16 and stored channels-last (``channels_last`` for 4-D, ``channels_last_3d`` for 5-D
  convolution weights): oneDNN then runs the AMX kernels on them without a per-call reorder or cast;
* each reduced part ("island") takes its tensor inputs cast to bf16 in the same layout and hands fp32 back,
  so the parts left in fp32 see fp32.

Islands per graph (:data:`BF16_ISLANDS`): the whole module, except W, where only the 3-D hourglass and the
mask convolution (about 90% of W's FLOPs) run in bf16: the sampling grids, the keypoint Gaussians, the
softmax-weighted deformation and the 2-D output convolutions stay fp32 (in bf16 the deformation path cost
the frame about 6 dB, the output convolution another 4).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

BF16_ISLANDS: dict[str, tuple[str, ...]] = {
    "warping": ("net.dense_motion_network.hourglass", "net.dense_motion_network.mask"),
}
WHOLE = ("",)


def channels_last(tensor: torch.Tensor) -> torch.Tensor:
    """4-D and 5-D tensors in oneDNN's preferred channels-last layout; others unchanged."""
    if tensor.dim() == 4:
        return tensor.contiguous(memory_format=torch.channels_last)
    if tensor.dim() == 5:
        return tensor.contiguous(memory_format=torch.channels_last_3d)
    return tensor


def cast_floats(value: Any, dtype: torch.dtype, layout: bool = False) -> Any:
    """``value`` (a tensor, a tuple of them or a dataclass of them) with floating tensors cast to ``dtype``
    (and put channels-last when ``layout``); anything else is returned as is."""
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            return value
        value = value.to(dtype)
        return channels_last(value) if layout else value
    if isinstance(value, tuple):
        return tuple(cast_floats(v, dtype, layout) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: cast_floats(getattr(value, f.name), dtype, layout) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **fields)
    return value


class ReducedIsland(nn.Module):
    """A submodule whose weights are stored in ``dtype`` (channels-last), called with fp32 in and out."""

    def __init__(self, module: nn.Module, dtype: torch.dtype, compile: bool = False):
        super().__init__()
        self.inner = module.to(dtype)
        for parameter in self.inner.parameters():
            parameter.data = channels_last(parameter.data)
        self.dtype = dtype
        # inductor with freezing: weights folded in as constants and reordered once into oneDNN's blocked
        # layout (true prepacking), elementwise chains fused into C++ loops. Compiled on the first call.
        self.run = torch.compile(self.inner, dynamic=False, options={"freezing": True}) if compile else self.inner

    def forward(self, *args):
        return cast_floats(self.run(*cast_floats(args, self.dtype, layout=True)), torch.float32)


def reduce_module(module: nn.Module, islands: tuple[str, ...], dtype: torch.dtype = torch.bfloat16,
                  compile: bool = False) -> nn.Module:
    """``module`` with each submodule path in ``islands`` ("" = the whole module) replaced by a
    :class:`ReducedIsland`, in place (the fp32 weights are not kept: no second copy in memory)."""
    reduced = module
    if islands == WHOLE:
        return ReducedIsland(reduced, dtype, compile).eval()
    for path in islands:
        parent_path, _, leaf = path.rpartition(".")
        parent = reduced.get_submodule(parent_path)
        setattr(parent, leaf, ReducedIsland(getattr(parent, leaf), dtype, compile))
    return reduced.eval()


def islands_for(graph: str) -> tuple[str, ...]:
    return BF16_ISLANDS.get(graph, WHOLE)
