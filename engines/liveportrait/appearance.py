"""F, the appearance feature extractor: a portrait crop -> a 3-D feature volume (computed once per source)."""

from __future__ import annotations

import torch
from torch import nn

from engines.liveportrait.blocks import DownBlock2d, ResBlock3d, SameBlock2d


class AppearanceFeatureExtractor(nn.Module):
    """(B, 3, 256, 256) RGB in [0, 1] -> (B, 32, 16, 64, 64)."""

    def __init__(
        self,
        image_channel: int = 3,
        block_expansion: int = 64,
        num_down_blocks: int = 2,
        max_features: int = 512,
        reshape_channel: int = 32,
        reshape_depth: int = 16,
        num_resblocks: int = 6,
    ):
        super().__init__()
        self.reshape_channel = reshape_channel
        self.reshape_depth = reshape_depth
        self.first = SameBlock2d(image_channel, block_expansion)
        widths = [min(max_features, block_expansion * 2**i) for i in range(num_down_blocks + 1)]
        self.down_blocks = nn.ModuleList(
            DownBlock2d(widths[i], widths[i + 1]) for i in range(num_down_blocks)
        )
        self.second = nn.Conv2d(widths[-1], max_features, kernel_size=1)
        self.resblocks_3d = nn.Sequential()
        for i in range(num_resblocks):
            self.resblocks_3d.add_module(f"3dr{i}", ResBlock3d(reshape_channel))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        out = self.first(image)  # (B, 64, 256, 256)
        for block in self.down_blocks:
            out = block(out)  # (B, 128, 128, 128) then (B, 256, 64, 64)
        out = self.second(out)  # (B, 512, 64, 64)
        batch, _, height, width = out.shape
        volume = out.view(
            batch, self.reshape_channel, self.reshape_depth, height, width
        )  # (B, 32, 16, 64, 64)
        return self.resblocks_3d(volume)
