"""M, the motion extractor: ConvNeXtV2-tiny with heads for head pose (66 bins each), translation,
expression, scale and canonical keypoints. Kept under ``.detector`` as in the official checkpoint."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


class ChannelsFirstLayerNorm(nn.Module):
    """LayerNorm over the channel axis of (B, C, H, W)."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class GlobalResponseNorm(nn.Module):
    """ConvNeXtV2 GRN on channels-last (B, H, W, C)."""

    def __init__(self, channels: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, channels))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spatial = torch.norm(x, p=2, dim=(1, 2), keepdim=True)  # (B, 1, 1, C)
        normalized = spatial / (spatial.mean(dim=-1, keepdim=True) + 1e-6)
        return self.gamma * (x * normalized) + self.beta + x


class ConvNeXtBlock(nn.Module):
    """Depthwise 7x7 conv, LayerNorm, 4x MLP with GELU and GRN, residual."""

    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.grn = GlobalResponseNorm(4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.dwconv(x).permute(0, 2, 3, 1)  # (B, H, W, C)
        out = self.pwconv2(self.grn(F.gelu(self.pwconv1(self.norm(out)))))
        return x + out.permute(0, 3, 1, 2)


@dataclass(frozen=True, slots=True)
class MotionOutput:
    """Raw head outputs for a batch of B crops."""

    pitch: torch.Tensor  # (B, 66) logits over 3-degree bins
    yaw: torch.Tensor  # (B, 66)
    roll: torch.Tensor  # (B, 66)
    translation: torch.Tensor  # (B, 3)
    expression: torch.Tensor  # (B, 63)
    scale: torch.Tensor  # (B, 1)
    keypoints: torch.Tensor  # (B, 63) canonical keypoints


class ConvNeXtV2(nn.Module):
    def __init__(self, depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), num_kp: int = 21, num_bins: int = 66):
        super().__init__()
        stem = nn.Sequential(nn.Conv2d(3, dims[0], kernel_size=4, stride=4), ChannelsFirstLayerNorm(dims[0]))
        downs = [
            nn.Sequential(
                ChannelsFirstLayerNorm(dims[i - 1]), nn.Conv2d(dims[i - 1], dims[i], kernel_size=2, stride=2)
            )
            for i in range(1, len(dims))
        ]
        self.downsample_layers = nn.ModuleList([stem, *downs])
        self.stages = nn.ModuleList(
            nn.Sequential(*(ConvNeXtBlock(d) for _ in range(n))) for d, n in zip(dims, depths)
        )
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        self.fc_kp = nn.Linear(dims[-1], 3 * num_kp)
        self.fc_scale = nn.Linear(dims[-1], 1)
        self.fc_pitch = nn.Linear(dims[-1], num_bins)
        self.fc_yaw = nn.Linear(dims[-1], num_bins)
        self.fc_roll = nn.Linear(dims[-1], num_bins)
        self.fc_t = nn.Linear(dims[-1], 3)
        self.fc_exp = nn.Linear(dims[-1], 3 * num_kp)

    def pooled_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 256, 256) -> (B, 768): global average pool + LayerNorm."""
        for down, stage in zip(self.downsample_layers, self.stages):
            x = stage(down(x))  # (B, 96, 64, 64) ... (B, 768, 8, 8)
        return self.norm(x.mean(dim=(-2, -1)))

    def forward(self, x: torch.Tensor) -> MotionOutput:
        pooled = self.pooled_features(x)
        return MotionOutput(
            pitch=self.fc_pitch(pooled),
            yaw=self.fc_yaw(pooled),
            roll=self.fc_roll(pooled),
            translation=self.fc_t(pooled),
            expression=self.fc_exp(pooled),
            scale=self.fc_scale(pooled),
            keypoints=self.fc_kp(pooled),
        )


class MotionExtractor(nn.Module):
    """(B, 3, 256, 256) RGB in [0, 1] -> :class:`MotionOutput`."""

    def __init__(self, num_kp: int = 21, num_bins: int = 66):
        super().__init__()
        self.detector = ConvNeXtV2(num_kp=num_kp, num_bins=num_bins)

    def forward(self, image: torch.Tensor) -> MotionOutput:
        return self.detector(image)
