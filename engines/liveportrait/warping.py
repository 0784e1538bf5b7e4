"""W, the warping module: dense motion from two keypoint sets (with an occlusion map), then the source
feature volume warped by it and flattened to a 2-D feature map for the generator."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engines.liveportrait.blocks import Hourglass, SameBlock2d, coordinate_grid

KP_VARIANCE = 0.01


@dataclass(frozen=True, slots=True)
class WarpOutput:
    features: torch.Tensor  # (B, 256, 64, 64), already multiplied by the occlusion map
    occlusion_map: torch.Tensor  # (B, 1, 64, 64)
    deformation: torch.Tensor  # (B, 16, 64, 64, 3) sampling grid (x, y, z) in [-1, 1]


def keypoint_gaussians(keypoints: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """(B, K, 3) keypoints on a (D, H, W, 3) grid -> (B, K, D, H, W) unnormalised Gaussians."""
    diff = grid[None, None] - keypoints[:, :, None, None, None, :]  # (B, K, D, H, W, 3)
    return torch.exp(-0.5 * diff.pow(2).sum(-1) / KP_VARIANCE)


class DenseMotionNetwork(nn.Module):
    def __init__(
        self,
        block_expansion: int = 32,
        num_blocks: int = 5,
        max_features: int = 1024,
        num_kp: int = 21,
        feature_channel: int = 32,
        reshape_depth: int = 16,
        compress: int = 4,
    ):
        super().__init__()
        self.num_kp = num_kp
        self.hourglass = Hourglass(block_expansion, (num_kp + 1) * (compress + 1), num_blocks, max_features)
        self.mask = nn.Conv3d(self.hourglass.out_filters, num_kp + 1, kernel_size=7, padding=3)
        self.compress = nn.Conv3d(feature_channel, compress, kernel_size=1)
        self.norm = nn.BatchNorm3d(compress, affine=True)
        self.occlusion = nn.Conv2d(self.hourglass.out_filters * reshape_depth, 1, kernel_size=7, padding=3)

    def forward(
        self, feature: torch.Tensor, kp_driving: torch.Tensor, kp_source: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """feature (B, 32, D, H, W), keypoints (B, K, 3) -> deformation (B, D, H, W, 3), occlusion (B, 1, H, W)."""
        batch, _, depth, height, width = feature.shape
        kp = self.num_kp + 1
        compressed = F.relu(self.norm(self.compress(feature)))  # (B, 4, D, H, W)
        grid = coordinate_grid(depth, height, width, like=compressed)  # (D, H, W, 3)

        # 1. Sparse motions: identity plus, per keypoint, the translation taking driving to source.
        offsets = (kp_source - kp_driving)[:, :, None, None, None, :]  # (B, K, 1, 1, 1, 3)
        sparse = torch.cat(
            [grid.expand(batch, 1, *grid.shape), grid[None, None] + offsets], dim=1
        )  # (B, K+1, D, H, W, 3)

        # 2. The compressed volume sampled along each sparse motion.
        repeated = (
            compressed[:, None]
            .expand(batch, kp, *compressed.shape[1:])
            .reshape(batch * kp, -1, depth, height, width)
        )
        deformed = F.grid_sample(
            repeated, sparse.reshape(batch * kp, depth, height, width, 3), align_corners=False
        )
        deformed = deformed.view(batch, kp, -1, depth, height, width)  # (B, K+1, 4, D, H, W)

        # 3. Heatmaps: driving minus source Gaussians, a zero map for the identity (background) motion.
        heatmap = keypoint_gaussians(kp_driving, grid) - keypoint_gaussians(
            kp_source, grid
        )  # (B, K, D, H, W)
        heatmap = torch.cat([heatmap.new_zeros(batch, 1, depth, height, width), heatmap], dim=1)
        hourglass_in = torch.cat([heatmap[:, :, None], deformed], dim=2).view(batch, -1, depth, height, width)

        # 4. Hourglass -> per-voxel softmax over the K+1 motions, and the occlusion map.
        prediction = self.hourglass(hourglass_in)  # (B, 142, D, H, W)
        mask = F.softmax(self.mask(prediction), dim=1)  # (B, K+1, D, H, W)
        deformation = (sparse * mask[..., None]).sum(dim=1)  # (B, D, H, W, 3)
        occlusion = torch.sigmoid(self.occlusion_logits(prediction))  # (B, 1, H, W)
        return deformation, occlusion

    def occlusion_logits(self, prediction: torch.Tensor) -> torch.Tensor:
        """(B, C, D, H, W) -> (B, 1, H, W): the 2-D occlusion convolution over channels x depth flattened. A
        replacement that says it ``takes_volume`` (the CPU bf16 path, export.reduced.DepthFoldedConv) gets
        the volume itself, without the flattening copy."""
        if getattr(self.occlusion, "takes_volume", False):
            return self.occlusion(prediction)
        return self.occlusion(prediction.flatten(1, 2))


class WarpingNetwork(nn.Module):
    """feature (B, 32, 16, 64, 64) + keypoints -> :class:`WarpOutput`."""

    def __init__(
        self,
        num_kp: int = 21,
        block_expansion: int = 64,
        max_features: int = 512,
        num_down_blocks: int = 2,
        reshape_channel: int = 32,
        dense_motion: dict | None = None,
    ):
        super().__init__()
        dense = {
            "block_expansion": 32,
            "max_features": 1024,
            "num_blocks": 5,
            "reshape_depth": 16,
            "compress": 4,
        }
        dense.update(dense_motion or {})
        self.dense_motion_network = DenseMotionNetwork(
            num_kp=num_kp, feature_channel=reshape_channel, **dense
        )
        out_features = block_expansion * 2**num_down_blocks
        self.third = SameBlock2d(max_features, out_features, leaky=True)
        self.fourth = nn.Conv2d(out_features, out_features, kernel_size=1)

    def forward(self, feature: torch.Tensor, kp_source: torch.Tensor, kp_driving: torch.Tensor) -> WarpOutput:
        deformation, occlusion = self.dense_motion_network(feature, kp_driving, kp_source)
        warped = F.grid_sample(feature, deformation, align_corners=False)  # (B, 32, 16, 64, 64)
        batch, channels, depth, height, width = warped.shape
        out = self.third(warped.view(batch, channels * depth, height, width))  # (B, 256, 64, 64)
        out = self.fourth(out) * occlusion
        return WarpOutput(features=out, occlusion_map=occlusion, deformation=deformation)
