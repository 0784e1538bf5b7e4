"""The stitching and eye/lip retargeting MLPs (Linear layers at the even positions of ``mlp``, ReLU
between them, none after the last)."""

from __future__ import annotations

import torch
from torch import nn

# (input, hidden sizes, output) per network; see README §1 of the reference.
MLP_SIZES = {
    "stitching": (126, (128, 128, 64), 65),  # [x_s, x_d] -> 63 keypoint offsets + (tx, ty)
    "lip": (65, (128, 128, 64), 63),  # [x_s, c_s_lip, c_d_lip] -> 63 keypoint offsets
    "eye": (66, (256, 256, 128, 128, 64), 63),  # [x_s, c_s_eye_left, c_s_eye_right, c_d_eye] -> 63
}


class RetargetingMLP(nn.Module):
    def __init__(self, input_size: int, hidden_sizes: tuple[int, ...], output_size: int):
        super().__init__()
        sizes = [input_size, *hidden_sizes, output_size]
        layers: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            if i:
                layers.append(nn.ReLU())
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)


def build_mlp(name: str) -> RetargetingMLP:
    input_size, hidden, output_size = MLP_SIZES[name]
    return RetargetingMLP(input_size, hidden, output_size)
