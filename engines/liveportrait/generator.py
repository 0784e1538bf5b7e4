"""G, the SPADE decoder: the warped 2-D feature map -> a 512x512 RGB image.

The official checkpoint stores the residual-block convs with spectral norm (``weight_orig``, ``weight_u``,
``weight_v``); :func:`fold_spectral_norm` turns them into plain weights at load time (no power iteration
runs in eval mode, so the fold is exact)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SPECTRAL_CONVS = ("conv_0", "conv_1", "conv_s")


class SPADE(nn.Module):
    """Instance norm modulated by per-pixel scale/shift predicted from the segmentation map."""

    def __init__(self, channels: int, label_channels: int, hidden: int = 128):
        super().__init__()
        self.mlp_shared = nn.Sequential(
            nn.Conv2d(label_channels, hidden, kernel_size=3, padding=1), nn.ReLU()
        )
        self.mlp_gamma = nn.Conv2d(hidden, channels, kernel_size=3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, channels, kernel_size=3, padding=1)
        self.gamma_includes_one = False  # set by fold_spade_offsets: mlp_gamma's bias already holds the 1 +

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        normalized = instance_norm(x)
        if segmap.shape[2:] != x.shape[2:]:
            segmap = F.interpolate(segmap, size=x.shape[2:], mode="nearest")
        hidden = self.mlp_shared(segmap)
        scale = self.mlp_gamma(hidden)
        return torch.addcmul(
            self.mlp_beta(hidden), normalized, scale if self.gamma_includes_one else 1 + scale
        )


def instance_norm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Instance norm without affine parameters. In bf16 (the CPU bf16 path, export.reduced) it must keep x's
    channels-last layout: torch's instance-norm kernel hands back NCHW, and every following elementwise op
    then mixes layouts and leaves the vectorised loops (G ran 2x slower for it). For a batch of one it is
    batch norm with batch statistics, whose kernel keeps the layout, accumulates in fp32 and is the fastest
    (bf16, 2 threads: 47 ms against 229 ms written out and 170 ms for instance norm at 256x256x256); larger
    batches write it out. fp32 and fp16 (CUDA autocast, where fp16 variances could overflow) keep torch's
    instance-norm kernel."""
    if x.dtype != torch.bfloat16:
        return F.instance_norm(x, eps=eps)
    if x.shape[0] == 1:
        return F.batch_norm(x, None, None, training=True, eps=eps)
    var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
    return (x - mean) * torch.rsqrt(var + eps)


class SPADEResnetBlock(nn.Module):
    def __init__(self, fin: int, fout: int, label_channels: int):
        super().__init__()
        middle = min(fin, fout)
        self.conv_0 = nn.Conv2d(fin, middle, kernel_size=3, padding=1)
        self.conv_1 = nn.Conv2d(middle, fout, kernel_size=3, padding=1)
        self.norm_0 = SPADE(fin, label_channels)
        self.norm_1 = SPADE(middle, label_channels)
        self.learned_shortcut = fin != fout
        if self.learned_shortcut:
            self.conv_s = nn.Conv2d(fin, fout, kernel_size=1, bias=False)
            self.norm_s = SPADE(fin, label_channels)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        if segmap.shape[2:] != x.shape[2:]:  # resized once here rather than in each of the three SPADEs
            segmap = F.interpolate(segmap, size=x.shape[2:], mode="nearest")
        shortcut = self.conv_s(self.norm_s(x, segmap)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, segmap), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, segmap), 0.2))
        return shortcut + dx


class SPADEDecoder(nn.Module):
    """(B, 256, 64, 64) -> (B, 3, 512, 512) in (0, 1)."""

    def __init__(self, upscale: int = 2, max_features: int = 512, block_expansion: int = 64,
                 out_channels: int = 64, num_down_blocks: int = 2):  # fmt: skip
        super().__init__()
        channels = min(max_features, block_expansion * 2**num_down_blocks)  # 256
        self.fc = nn.Conv2d(channels, 2 * channels, kernel_size=3, padding=1)
        for i in range(6):
            self.add_module(f"G_middle_{i}", SPADEResnetBlock(2 * channels, 2 * channels, channels))
        self.up_0 = SPADEResnetBlock(2 * channels, channels, channels)
        self.up_1 = SPADEResnetBlock(channels, out_channels, channels)
        self.conv_img = nn.Sequential(
            nn.Conv2d(out_channels, 3 * upscale**2, kernel_size=3, padding=1), nn.PixelShuffle(upscale)
        )

    def middle(self, feature: torch.Tensor) -> torch.Tensor:
        x = self.fc(feature)  # (B, 512, 64, 64)
        for i in range(6):
            x = getattr(self, f"G_middle_{i}")(x, feature)
        return x

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        x = self.middle(feature)  # (B, 512, 64, 64)
        x = self.up_0(F.interpolate(x, scale_factor=2.0), feature)  # (B, 256, 128, 128)
        x = self.up_1(F.interpolate(x, scale_factor=2.0), feature)  # (B, 64, 256, 256)
        return torch.sigmoid(self.conv_img(F.leaky_relu(x, 0.2)))  # (B, 3, 512, 512)


@torch.no_grad()
def fold_spade_offsets(module: nn.Module) -> nn.Module:
    """In place: each SPADE's ``1 + gamma`` folded into ``mlp_gamma``'s bias (one pass over the activations
    fewer per SPADE: 7% of G in bf16 at 1 thread). Done in fp32, before a cast."""
    for spade in module.modules():
        if isinstance(spade, SPADE) and not spade.gamma_includes_one:
            spade.mlp_gamma.bias += 1
            spade.gamma_includes_one = True
    return module


def spectral_conv_prefixes(keys) -> list[str]:
    """Module prefixes whose conv weight is stored as spectral-norm ``weight_orig/u/v``."""
    return sorted({k[: -len(".weight_orig")] for k in keys if k.endswith(".weight_orig")})


def fold_spectral_norm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official G state dict -> plain conv weights: ``weight = weight_orig / (u . (W v))``."""
    folded = dict(state)
    for prefix in spectral_conv_prefixes(state):
        weight = folded.pop(f"{prefix}.weight_orig")
        u = folded.pop(f"{prefix}.weight_u")
        v = folded.pop(f"{prefix}.weight_v")
        sigma = torch.dot(u, weight.reshape(weight.shape[0], -1) @ v)
        folded[f"{prefix}.weight"] = weight / sigma
    return folded


def official_generator_shapes(plain: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """Our G key shapes -> the official (spectral-norm) key shapes."""
    shapes: dict[str, tuple[int, ...]] = {}
    for key, shape in plain.items():
        owner, _, leaf = key.rpartition(".")
        if leaf == "weight" and owner.rpartition(".")[2] in SPECTRAL_CONVS:
            shapes[f"{owner}.weight_orig"] = shape
            shapes[f"{owner}.weight_u"] = (shape[0],)
            shapes[f"{owner}.weight_v"] = (int(torch.Size(shape[1:]).numel()),)
        else:
            shapes[key] = shape
    return shapes
