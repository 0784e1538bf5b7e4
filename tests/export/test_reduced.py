"""The CPU bf16 islands: weights converted once to bf16 channels-last, fp32 in and out, only the named
submodules reduced; the bf16-capable (1, 2, 2) pooling."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engines.liveportrait.blocks import pool_height_width
from export.reduced import WHOLE, cast_floats, islands_for, reduce_module


class Volume(nn.Module):
    """A 3-D conv body (the island) and a 2-D head that must stay fp32."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv3d(4, 8, 3, padding=1), nn.BatchNorm3d(8), nn.ReLU())
        self.head = nn.Conv2d(8 * 4, 3, 1)

    def forward(self, x):
        y = self.body(x)
        return self.head(y.flatten(1, 2))


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.InstanceNorm2d(16), nn.LeakyReLU(0.2),
                         nn.Conv2d(16, 3, 3, padding=1)).eval()  # fmt: skip


@dataclass(frozen=True)
class Pair:
    value: torch.Tensor
    index: torch.Tensor


def test_cast_floats_walks_tuples_and_dataclasses():
    out = cast_floats((torch.ones(1, 2, 3, 4), Pair(torch.ones(2), torch.arange(3))), torch.bfloat16, layout=True)
    assert out[0].dtype == torch.bfloat16 and out[0].is_contiguous(memory_format=torch.channels_last)
    assert out[1].value.dtype == torch.bfloat16
    assert out[1].index.dtype == torch.int64  # integer tensors untouched


def test_whole_module_island_has_bf16_channels_last_weights_and_fp32_io():
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        expected = _net()(x)
        reduced = reduce_module(_net(), WHOLE)
        weight = reduced.inner[0].weight
        assert weight.dtype == torch.bfloat16 and weight.is_contiguous(memory_format=torch.channels_last)
        out = reduced(x)
    assert out.dtype == torch.float32
    diff = float((out - expected).abs().max())
    assert 0 < diff < 0.1 * float(expected.abs().max())  # really bf16, still the same function


def test_islands_reduce_only_the_named_submodules():
    x = torch.rand(1, 4, 4, 8, 8)
    torch.manual_seed(3)
    reference = Volume().eval()
    torch.manual_seed(3)
    reduced = reduce_module(Volume().eval(), ("body",))
    assert reduced.body.inner[0].weight.dtype == torch.bfloat16
    assert reduced.body.inner[0].weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert reduced.head.weight.dtype == torch.float32  # outside the island: untouched
    with torch.no_grad():
        torch.testing.assert_close(reduced(x), reference(x), atol=0.05, rtol=0.05)


def test_warping_island_paths_exist_in_the_exported_graph_module(synthetic_networks):
    from export.graphs import GRAPHS, graph_module

    module = graph_module(GRAPHS["warping"], synthetic_networks)
    for path in islands_for("warping"):
        module.get_submodule(path)  # raises if the path is stale
    assert islands_for("generator") == WHOLE


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last_3d])
def test_bf16_pooling_matches_avg_pool3d(layout):
    x = torch.rand(1, 5, 3, 8, 6).contiguous(memory_format=layout)
    expected = F.avg_pool3d(x, kernel_size=(1, 2, 2))
    assert torch.equal(pool_height_width(x), expected)  # fp32 keeps the library op
    out = pool_height_width(x.to(torch.bfloat16))
    assert out.dtype == torch.bfloat16 and out.shape == expected.shape
    torch.testing.assert_close(out.float(), expected, atol=1e-2, rtol=1e-2)


@pytest.mark.parametrize("conv", [nn.Conv3d(14, 6, 3, padding=1), nn.Conv2d(18, 5, 3, padding=1, bias=False)])
def test_channel_padded_conv_gives_the_same_result(conv):
    from export.reduced import ChannelPaddedConv

    x = torch.rand(1, conv.in_channels, *([6] * (conv.weight.dim() - 2)))
    padded = ChannelPaddedConv(conv)
    assert padded.weight.shape[0] == 16 and padded.weight.shape[1] in (16, 32)  # both padded to 16s
    with torch.no_grad():
        torch.testing.assert_close(padded(x), conv(x), atol=1e-5, rtol=1e-5)


def test_islands_pad_ragged_convolutions():
    from export.reduced import ChannelPaddedConv

    reduced = reduce_module(Volume().eval(), ("body",))
    assert isinstance(reduced.body.inner[0], ChannelPaddedConv)  # 4 input channels: padded
    assert isinstance(reduced.head, nn.Conv2d)  # outside the island: untouched


def test_an_island_that_is_one_ragged_convolution_is_padded_too():
    """W's mask island is a bare 142-channel convolution: it must be padded itself, not only its children."""
    from export.reduced import ChannelPaddedConv

    torch.manual_seed(0)
    conv = nn.Conv3d(14, 6, 3, padding=1).eval()
    x = torch.rand(1, 14, 4, 8, 8)
    with torch.no_grad():
        expected = conv(x)
        island = reduce_module(nn.Sequential(conv), ("0",))[0]
        assert isinstance(island.inner, ChannelPaddedConv)
        torch.testing.assert_close(island(x), expected, atol=0.05, rtol=0.05)


@pytest.mark.parametrize("batch", [1, 2])
def test_bf16_instance_norm_keeps_channels_last_and_matches(batch):
    """SPADE's instance norm in bf16 (batch norm with batch statistics for one image, written out for
    more): per image and channel, over height and width, in the input's channels-last layout."""
    from engines.liveportrait.generator import instance_norm

    x = (torch.randn(batch, 24, 10, 12) * 3 + 1) * torch.arange(1, 25).view(1, 24, 1, 1)  # per-channel scales
    x[-1] += 5  # the last image differs: statistics must not mix images
    expected = F.instance_norm(x, eps=1e-5)
    out = instance_norm(x.to(torch.bfloat16).contiguous(memory_format=torch.channels_last))
    assert out.dtype == torch.bfloat16 and out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out.float(), expected, atol=0.05, rtol=0.05)


def test_folding_batch_norms_keeps_the_function():
    """Conv-then-norm blocks lose their BatchNorm into the convolution; pre-activation blocks keep theirs."""
    from engines.liveportrait.blocks import DownBlock3d, ResBlock3d, SameBlock2d, fold_batch_norms

    torch.manual_seed(0)
    blocks = [SameBlock2d(3, 8, leaky=True), DownBlock3d(4, 6), ResBlock3d(4)]
    inputs = [torch.rand(1, 3, 8, 8), torch.rand(1, 4, 3, 8, 8), torch.rand(1, 4, 3, 8, 8)]
    for block in blocks:
        for norm in [m for m in block.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]:
            norm.running_mean.uniform_(-1, 1)
            norm.running_var.uniform_(0.5, 2)
            norm.weight.data.uniform_(0.5, 2)
            norm.bias.data.uniform_(-1, 1)
        block.eval()
    with torch.no_grad():
        expected = [block(x) for block, x in zip(blocks, inputs)]
        for block in blocks:
            fold_batch_norms(block)
        assert isinstance(blocks[0].norm, nn.Identity) and isinstance(blocks[1].norm, nn.Identity)
        assert isinstance(blocks[2].norm1, nn.BatchNorm3d)  # normalises before its conv: not foldable
        for block, x, want in zip(blocks, inputs, expected):
            torch.testing.assert_close(block(x), want, atol=1e-5, rtol=1e-5)


def test_depth_folded_conv_is_the_flattened_2d_convolution():
    """W's occlusion convolution: a Conv2d over (B, C*D, H, W) equals a full-depth Conv3d over the volume."""
    from export.reduced import DepthFoldedConv

    torch.manual_seed(0)
    conv = nn.Conv2d(5 * 4, 2, 3, padding=1).eval()
    volume = torch.rand(1, 5, 4, 6, 7)
    folded = DepthFoldedConv(conv, depth=4)
    with torch.no_grad():
        torch.testing.assert_close(folded(volume), conv(volume.flatten(1, 2)), atol=1e-5, rtol=1e-5)


def test_folding_spade_offsets_keeps_the_function():
    from engines.liveportrait.generator import SPADE, fold_spade_offsets

    torch.manual_seed(0)
    spade = SPADE(8, 4, hidden=6).eval()
    x, segmap = torch.rand(1, 8, 5, 5), torch.rand(1, 4, 5, 5)
    with torch.no_grad():
        expected = spade(x, segmap)
        fold_spade_offsets(nn.Sequential(spade))
        fold_spade_offsets(spade)  # twice: still folded once
        assert spade.gamma_includes_one
        torch.testing.assert_close(spade(x, segmap), expected, atol=1e-5, rtol=1e-5)
