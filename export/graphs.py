"""The neural engine's graphs as exportable modules with named, fixed-shape inputs and outputs.

One graph per network, so each maps 1:1 onto a field of
:class:`engines.liveportrait.checkpoints.LivePortraitNetworks` and the runtimes can stand in for the torch
modules (see :mod:`export.networks`):

====================  ==========================================  ==========================================
graph                 inputs                                       outputs
====================  ==========================================  ==========================================
``appearance`` (F)    image (1, 3, 256, 256)                       feature (1, 32, 16, 64, 64)
``motion`` (M)        image (1, 3, 256, 256)                       pitch, yaw, roll (1, 66), translation (1, 3),
                                                                   expression (1, 63), scale (1, 1),
                                                                   keypoints (1, 63)
``warping`` (W)       feature, kp_source (1, 21, 3),               features (1, 256, 64, 64),
                      kp_driving (1, 21, 3)                        occlusion_map (1, 1, 64, 64),
                                                                   deformation (1, 16, 64, 64, 3)
``generator`` (G)     features (1, 256, 64, 64)                    image (1, 3, 512, 512)
``stitching`` (S)     x (1, 126)                                   y (1, 65)
``lip`` / ``eye``     x (1, 65) / (1, 66)                          y (1, 63)
====================  ==========================================  ==========================================

Source side (once per portrait): appearance + motion. Per frame: motion, stitching, warping, generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

MOTION_OUTPUTS = ("pitch", "yaw", "roll", "translation", "expression", "scale", "keypoints")
WARP_OUTPUTS = ("features", "occlusion_map", "deformation")


@dataclass(frozen=True, slots=True)
class GraphSpec:
    """Names and fixed shapes of one graph; ``network`` is the ``LivePortraitNetworks`` field it wraps."""

    name: str
    network: str
    inputs: dict[str, tuple[int, ...]]
    outputs: tuple[str, ...]
    gflops: float  # conv/matmul GFLOPs per call, reference README §7 (2 per MAC)

    def example_inputs(self, seed: int = 0) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(seed)
        return {k: torch.rand(shape, generator=generator) for k, shape in self.inputs.items()}


GRAPHS: dict[str, GraphSpec] = {
    spec.name: spec
    for spec in (
        GraphSpec("appearance", "appearance", {"image": (1, 3, 256, 256)}, ("feature",), 64.1),
        GraphSpec("motion", "motion", {"image": (1, 3, 256, 256)}, MOTION_OUTPUTS, 11.6),
        GraphSpec(
            "warping",
            "warping",
            {"feature": (1, 32, 16, 64, 64), "kp_source": (1, 21, 3), "kp_driving": (1, 21, 3)},
            WARP_OUTPUTS,
            342.1,
        ),
        GraphSpec("generator", "generator", {"features": (1, 256, 64, 64)}, ("image",), 891.6),
        GraphSpec("stitching", "stitching", {"x": (1, 126)}, ("y",), 0.0001),
        GraphSpec("lip", "lip", {"x": (1, 65)}, ("y",), 0.0001),
        GraphSpec("eye", "eye", {"x": (1, 66)}, ("y",), 0.0001),
    )
}
FRAME_GRAPHS = ("motion", "stitching", "warping", "generator")


class _Motion(nn.Module):
    def __init__(self, motion: nn.Module):
        super().__init__()
        self.net = motion

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.net(image)
        return tuple(getattr(out, name) for name in MOTION_OUTPUTS)


class _Warping(nn.Module):
    def __init__(self, warping: nn.Module):
        super().__init__()
        self.net = warping

    def forward(self, feature, kp_source, kp_driving) -> tuple[torch.Tensor, ...]:
        out = self.net(feature, kp_source, kp_driving)
        return tuple(getattr(out, name) for name in WARP_OUTPUTS)


_WRAPPERS: dict[str, Callable[[nn.Module], nn.Module]] = {"motion": _Motion, "warping": _Warping}


def graph_module(spec: GraphSpec, networks) -> nn.Module:
    """The module to export or run for ``spec``: positional inputs in ``spec.inputs`` order, a tuple of
    outputs in ``spec.outputs`` order (a bare tensor for one output)."""
    module = getattr(networks, spec.network)
    wrap = _WRAPPERS.get(spec.name)
    return (wrap(module) if wrap else module).eval()


def as_output_dict(names: tuple[str, ...], result) -> dict[str, torch.Tensor]:
    """A graph module's return value (a tensor or a tuple of them) keyed by the graph's output ``names``."""
    values = result if isinstance(result, tuple) else (result,)
    return dict(zip(names, values, strict=True))
