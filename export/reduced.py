"""bf16 forms of the graph modules for CPUs with bf16 units (AMX / AVX512-BF16).

Measured on a Xeon with AMX (2 threads, synthetic weights): autocast made G *slower* than fp32 (SPADE's
instance norms flip every activation between bf16 and fp32, and each weight is cast again on every call),
while G stored in bf16 ran about 3x faster than fp32 at the same PSNR. So the reduced parts of a graph
are converted once, when the runner is built:

* batch norms that follow a convolution folded into it, in fp32, before anything is cast
  (``engines.liveportrait.blocks.fold_batch_norms``: one pass over the activations fewer per block), and
  SPADE's ``1 + gamma`` into its gamma convolution's bias (``generator.fold_spade_offsets``);
* weights cast to bf16 and stored channels-last (``channels_last`` for 4-D, ``channels_last_3d`` for 5-D
  convolution weights): oneDNN then runs the AMX kernels on them without a per-call reorder or cast;
* each reduced part ("island") takes its tensor inputs cast to bf16 in the same layout and hands fp32 back,
  so the parts left in fp32 see fp32;
* convolutions with a channel count that is not a multiple of 16 are zero-padded to one
  (:class:`ChannelPaddedConv`): AMX handles ragged channel blocks several times slower.

Islands per graph (:data:`BF16_ISLANDS`): the whole module, except W, where only the 3-D hourglass, the
mask convolution and the occlusion convolution (about 90% of W's FLOPs) run in bf16: the sampling grids,
the keypoint Gaussians, the softmax-weighted deformation and the 2-D output convolutions stay fp32 (in
bf16 the deformation path cost the frame about 6 dB, the output convolution ``third`` another 3.6; the
occlusion convolution, 2272 -> 1 channels, 7x7, took 150 ms in fp32 and 28 ms in bf16 for 0.05 dB).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from engines.liveportrait.blocks import fold_batch_norms
from engines.liveportrait.generator import fold_spade_offsets

BF16_ISLANDS: dict[str, tuple[str, ...]] = {
    "warping": (
        "net.dense_motion_network.hourglass",
        "net.dense_motion_network.mask",
        "net.dense_motion_network.occlusion",
    ),
}
# Islands whose output is read only by other islands hand it on in bf16 (no cast to fp32 and back): W's
# hourglass output (142 x 16 x 64 x 64) feeds only the mask and occlusion convolutions.
BF16_OUTPUTS: dict[str, tuple[str, ...]] = {"warping": ("net.dense_motion_network.hourglass",)}
# Islands that are a 2-D convolution over a volume's channels x depth flattened, run on the volume itself
# (DepthFoldedConv), with that depth.
DEPTH_FOLDED: dict[str, dict[str, int]] = {"warping": {"net.dense_motion_network.occlusion": 16}}
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
        fields = {
            f.name: cast_floats(getattr(value, f.name), dtype, layout) for f in dataclasses.fields(value)
        }
        return dataclasses.replace(value, **fields)
    return value


AMX_CHANNELS = 16  # AMX tiles take bf16 channels in blocks of 32 bytes


class ChannelPaddedConv(nn.Module):
    """A bf16 convolution whose input and output channels are padded with zeros to multiples of 16: the same
    result, but oneDNN's AMX kernels no longer fall back for the ragged block. Measured on W's mask
    convolution (142 -> 22 channels, 7x7x7 over 16x64x64): 1.32 s as is, 0.35 s padded to 144 -> 32."""

    def __init__(self, conv: nn.Conv2d | nn.Conv3d):
        super().__init__()
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        pad_in, pad_out = -self.in_channels % AMX_CHANNELS, -self.out_channels % AMX_CHANNELS
        spatial = conv.weight.dim() - 2
        weight = F.pad(conv.weight.detach(), (0, 0) * spatial + (0, pad_in, 0, pad_out))
        bias = None if conv.bias is None else F.pad(conv.bias.detach(), (0, pad_out))
        self.weight = nn.Parameter(channels_last(weight), requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)
        self.stride, self.padding, self.dilation = conv.stride, conv.padding, conv.dilation
        self.run = F.conv3d if spatial == 3 else F.conv2d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        extra = self.weight.shape[1] - self.in_channels
        if extra:  # F.pad keeps the channels-last layout (1 ms; zeros + a strided copy took 40)
            x = F.pad(x, (0, 0) * (x.dim() - 2) + (0, extra))
        out = self.run(x, self.weight, self.bias, self.stride, self.padding, self.dilation)
        return out[:, : self.out_channels] if out.shape[1] != self.out_channels else out


def pad_ragged_convs(module: nn.Module) -> nn.Module:
    """``module`` with each groups-free convolution whose input channel count is not a multiple of 16
    replaced by a :class:`ChannelPaddedConv` (in place below it; ``module`` itself may be one: an island
    that is a single convolution, as W's mask, comes back padded)."""
    ragged = isinstance(module, (nn.Conv2d, nn.Conv3d)) and module.in_channels % AMX_CHANNELS
    if (
        ragged
        and module.groups == 1
        and module.padding_mode == "zeros"
        and not isinstance(module.padding, str)
    ):
        return ChannelPaddedConv(module)
    for name, child in list(module.named_children()):
        setattr(module, name, pad_ragged_convs(child))
    return module


class DepthFoldedConv(nn.Module):
    """A Conv2d over a volume with its channels and depth flattened ((B, C*D, H, W), channel c*D + d), run
    as a Conv3d over the volume (B, C, D, H, W) whose kernel spans the whole depth: the same sums, without
    the flattening copy of the volume. W's occlusion convolution (2272 -> 1 channels, 7x7) in bf16 at
    1 thread: 136 ms flattened, 29 ms folded (142 -> 144 and 1 -> 16 channels padded)."""

    takes_volume = True

    def __init__(self, conv: nn.Conv2d, depth: int):
        super().__init__()
        out_channels, flat_channels, *kernel = conv.weight.shape
        self.conv = nn.Conv3d(flat_channels // depth, out_channels, (depth, *kernel), padding=(0, *conv.padding),
                              bias=conv.bias is not None)  # fmt: skip
        with torch.no_grad():
            self.conv.weight.copy_(conv.weight.reshape(self.conv.weight.shape))
            if conv.bias is not None:
                self.conv.bias.copy_(conv.bias)

    def forward(self, volume: torch.Tensor) -> torch.Tensor:
        return self.conv(volume)[:, :, 0]


class ReducedIsland(nn.Module):
    """A submodule whose weights are stored in ``dtype`` (channels-last), called with fp32 in and out."""

    def __init__(
        self, module: nn.Module, dtype: torch.dtype, compile: bool = False, reduced_output: bool = False
    ):
        super().__init__()
        self.output_dtype = dtype if reduced_output else torch.float32
        self.takes_volume = getattr(module, "takes_volume", False)
        self.inner = pad_ragged_convs(fold_spade_offsets(fold_batch_norms(module)).to(dtype))
        for parameter in self.inner.parameters():
            parameter.data = channels_last(parameter.data)
        self.dtype = dtype
        # inductor with freezing: weights folded in as constants and reordered once into oneDNN's blocked
        # layout (true prepacking), elementwise chains fused into C++ loops. Compiled on the first call.
        self.run = (
            torch.compile(self.inner, dynamic=False, options={"freezing": True}) if compile else self.inner
        )

    def forward(self, *args):
        return cast_floats(self.run(*cast_floats(args, self.dtype, layout=True)), self.output_dtype)


def reduce_module(module: nn.Module, islands: tuple[str, ...], dtype: torch.dtype = torch.bfloat16,
                  compile: bool = False, reduced_outputs: tuple[str, ...] = (),
                  depth_folded: dict[str, int] | None = None) -> nn.Module:  # fmt: skip
    """``module`` with each submodule path in ``islands`` ("" = the whole module) replaced by a
    :class:`ReducedIsland`, in place (the fp32 weights are not kept: no second copy in memory). Islands in
    ``reduced_outputs`` return ``dtype`` (their readers must be islands too); those in ``depth_folded``
    (path -> depth) become a :class:`DepthFoldedConv` first."""
    depth_folded = depth_folded or {}
    reduced = module
    if islands == WHOLE:
        return ReducedIsland(reduced, dtype, compile).eval()
    for path in islands:
        parent_path, _, leaf = path.rpartition(".")
        parent = reduced.get_submodule(parent_path)
        child = getattr(parent, leaf)
        if path in depth_folded:
            child = DepthFoldedConv(child, depth_folded[path])
        setattr(parent, leaf, ReducedIsland(child, dtype, compile, path in reduced_outputs))
    return reduced.eval()


def islands_for(graph: str) -> tuple[str, ...]:
    return BF16_ISLANDS.get(graph, WHOLE)


def reduced_outputs_for(graph: str) -> tuple[str, ...]:
    return BF16_OUTPUTS.get(graph, ())


def depth_folded_for(graph: str) -> dict[str, int]:
    return DEPTH_FOLDED.get(graph, {})
