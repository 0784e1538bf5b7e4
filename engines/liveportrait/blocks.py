"""Conv building blocks shared by the LivePortrait networks. Attribute names are the official state-dict
names (``conv``, ``norm``, ``down_blocks`` ...), so checkpoints load without renaming."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SameBlock2d(nn.Module):
    """3x3 conv + BatchNorm + ReLU (LeakyReLU 0.01 with ``leaky``), resolution kept."""

    def __init__(self, in_features: int, out_features: int, leaky: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm2d(out_features, affine=True)
        self.leaky = leaky

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.conv(x))
        return F.leaky_relu(x, 0.01) if self.leaky else F.relu(x)


class DownBlock2d(nn.Module):
    """3x3 conv + BatchNorm + ReLU + 2x2 average pool: (B, in, H, W) -> (B, out, H/2, W/2)."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm2d(out_features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(F.relu(self.norm(self.conv(x))), kernel_size=2)


class DownBlock3d(nn.Module):
    """3x3x3 conv + BatchNorm + ReLU + (1, 2, 2) average pool: (B, in, D, H, W) -> (B, out, D, H/2, W/2)."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.conv = nn.Conv3d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm3d(out_features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pool_height_width(F.relu(self.norm(self.conv(x))))


def pool_height_width(x: torch.Tensor) -> torch.Tensor:
    """(1, 2, 2) average pooling of (B, C, D, H, W). torch has no CPU bf16 kernel for avg_pool3d, so bf16
    volumes (the CPU bf16 path, export.reduced) average the four neighbours directly (same layout out)."""
    if x.dtype != torch.bfloat16 or x.is_cuda:
        return F.avg_pool3d(x, kernel_size=(1, 2, 2))
    return (x[..., ::2, ::2] + x[..., 1::2, ::2] + x[..., ::2, 1::2] + x[..., 1::2, 1::2]) * 0.25


class UpBlock3d(nn.Module):
    """Nearest (1, 2, 2) upsampling + 3x3x3 conv + BatchNorm + ReLU: (B, in, D, H, W) -> (B, out, D, 2H, 2W)."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.conv = nn.Conv3d(in_features, out_features, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm3d(out_features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=(1.0, 2.0, 2.0))
        return F.relu(self.norm(self.conv(x)))


class ResBlock3d(nn.Module):
    """Pre-activation residual block: x + conv2(relu(norm2(conv1(relu(norm1(x))))))."""

    def __init__(self, features: int):
        super().__init__()
        self.conv1 = nn.Conv3d(features, features, kernel_size=3, padding=1)
        self.conv2 = nn.Conv3d(features, features, kernel_size=3, padding=1)
        self.norm1 = nn.BatchNorm3d(features, affine=True)
        self.norm2 = nn.BatchNorm3d(features, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        out = self.conv2(F.relu(self.norm2(out)))
        return out + x


def _hourglass_width(block_expansion: int, max_features: int, level: int) -> int:
    return min(max_features, block_expansion * 2**level)


class HourglassEncoder(nn.Module):
    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int):
        super().__init__()
        widths = [in_features] + [
            _hourglass_width(block_expansion, max_features, i + 1) for i in range(num_blocks)
        ]
        self.down_blocks = nn.ModuleList(DownBlock3d(widths[i], widths[i + 1]) for i in range(num_blocks))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = [x]
        for block in self.down_blocks:
            outs.append(block(outs[-1]))
        return outs  # num_blocks + 1 maps, finest first


class HourglassDecoder(nn.Module):
    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int):
        super().__init__()
        blocks = []
        for level in reversed(range(num_blocks)):
            factor = 1 if level == num_blocks - 1 else 2  # all but the coarsest take a skip concatenation
            width_in = factor * _hourglass_width(block_expansion, max_features, level + 1)
            blocks.append(UpBlock3d(width_in, _hourglass_width(block_expansion, max_features, level)))
        self.up_blocks = nn.ModuleList(blocks)
        self.out_filters = block_expansion + in_features
        self.conv = nn.Conv3d(self.out_filters, self.out_filters, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm3d(self.out_filters, affine=True)

    def forward(self, skips: list[torch.Tensor]) -> torch.Tensor:
        skips = list(skips)
        out = skips.pop()
        for block in self.up_blocks:
            out = torch.cat([block(out), skips.pop()], dim=1)
        return F.relu(self.norm(self.conv(out)))


class Hourglass(nn.Module):
    """U-net on 3-D volumes: (B, in, D, H, W) -> (B, block_expansion + in, D, H, W)."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int):
        super().__init__()
        self.encoder = HourglassEncoder(block_expansion, in_features, num_blocks, max_features)
        self.decoder = HourglassDecoder(block_expansion, in_features, num_blocks, max_features)
        self.out_filters = self.decoder.out_filters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def coordinate_grid(depth: int, height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """(D, H, W, 3) grid of (x, y, z) in [-1, 1], align-corners style ``2i / (n - 1) - 1``."""

    def axis(n: int) -> torch.Tensor:
        return 2 * (torch.arange(n, dtype=like.dtype, device=like.device) / (n - 1)) - 1

    z, y, x = torch.meshgrid(axis(depth), axis(height), axis(width), indexing="ij")
    return torch.stack([x, y, z], dim=-1)


# Blocks whose forward applies ``norm`` (an eval-mode BatchNorm) directly to ``conv``'s output.
CONV_THEN_NORM = (SameBlock2d, DownBlock2d, DownBlock3d, UpBlock3d, HourglassDecoder)


@torch.no_grad()
def fold_batch_norms(module: nn.Module) -> nn.Module:
    """In place: in every conv-then-norm block below ``module``, the eval-mode BatchNorm folded into the
    convolution's weight and bias (the same affine map, one pass over the activations fewer) and replaced by
    an identity. ResBlock3d normalises *before* its convolutions and is left alone."""
    for block in module.modules():
        if not isinstance(block, CONV_THEN_NORM) or isinstance(block.norm, nn.Identity):
            continue
        conv, norm = block.conv, block.norm
        scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        shape = (-1,) + (1,) * (conv.weight.dim() - 1)
        conv.weight.copy_(conv.weight * scale.view(shape))
        bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
        conv.bias = nn.Parameter((bias - norm.running_mean) * scale + norm.bias, requires_grad=False)
        block.norm = nn.Identity()
    return module
