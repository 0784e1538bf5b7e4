"""The per-frame keypoint maths of LivePortrait (reference README §5), as small typed functions.

Keypoints are row vectors: a (B, 21, 3) tensor times a (B, 3, 3) rotation on the right. Nothing here
runs a convolutional network; the MLPs (stitching, eye, lip) are passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from engines.liveportrait.motion import MotionOutput

NUM_KP = 21
LIP_NORMALISATION_THRESHOLD = 0.03  # the official lip_normalize_threshold


@dataclass(frozen=True, slots=True)
class KeypointInfo:
    """M's outputs refined: head pose in degrees, rotation, keypoints reshaped."""

    pitch: torch.Tensor  # (B, 1) degrees
    yaw: torch.Tensor  # (B, 1)
    roll: torch.Tensor  # (B, 1)
    rotation: torch.Tensor  # (B, 3, 3) R = (Rz Ry Rx)^T, acting on row vectors
    scale: torch.Tensor  # (B, 1)
    translation: torch.Tensor  # (B, 3); only x, y are ever used
    expression: torch.Tensor  # (B, 21, 3)
    canonical: torch.Tensor  # (B, 21, 3) canonical keypoints


@dataclass(frozen=True, slots=True)
class CompositionOptions:
    """Official defaults of the CLI/Gradio app (relative motion, image source)."""

    expression_friendly: bool = True  # scale motion by the source/driving hull-volume ratio (m = 1 here)
    stitching: bool = True
    lip_normalisation: bool = False  # close the source's mouth first (InferenceConfig default True)
    driving_multiplier: float = 1.0
    # Official retargeting mode (WIP upstream): the driving motion is replaced by eye/lip deltas computed
    # from openness ratios, so the head stays still and only eyes / lips follow the driver.
    retarget_eyes: bool = False
    retarget_lips: bool = False


def headpose_degrees(logits: torch.Tensor) -> torch.Tensor:
    """(B, 66) bin logits -> (B, 1) degrees: ``3 * E[bin] - 97.5``."""
    bins = torch.arange(logits.shape[1], dtype=logits.dtype, device=logits.device)
    return (torch.softmax(logits, dim=1) * bins).sum(dim=1, keepdim=True) * 3 - 97.5


def rotation_matrix(pitch: torch.Tensor, yaw: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """Degrees (B, 1) each -> (B, 3, 3) ``(Rz(roll) Ry(yaw) Rx(pitch))^T``."""
    p, y, r = (a.reshape(-1) / 180 * math.pi for a in (pitch, yaw, roll))
    one, zero = torch.ones_like(p), torch.zeros_like(p)
    rot_x = torch.stack([one, zero, zero, zero, p.cos(), -p.sin(), zero, p.sin(), p.cos()], 1).view(-1, 3, 3)
    rot_y = torch.stack([y.cos(), zero, y.sin(), zero, one, zero, -y.sin(), zero, y.cos()], 1).view(-1, 3, 3)
    rot_z = torch.stack([r.cos(), -r.sin(), zero, r.sin(), r.cos(), zero, zero, zero, one], 1).view(-1, 3, 3)
    return (rot_z @ rot_y @ rot_x).transpose(1, 2)


def keypoint_info(raw: MotionOutput) -> KeypointInfo:
    pitch, yaw, roll = headpose_degrees(raw.pitch), headpose_degrees(raw.yaw), headpose_degrees(raw.roll)
    batch = raw.keypoints.shape[0]
    return KeypointInfo(
        pitch=pitch,
        yaw=yaw,
        roll=roll,
        rotation=rotation_matrix(pitch, yaw, roll),
        scale=raw.scale,
        translation=raw.translation,
        expression=raw.expression.reshape(batch, -1, 3),
        canonical=raw.keypoints.reshape(batch, -1, 3),
    )


def implicit_keypoints(canonical, rotation, expression, scale, translation) -> torch.Tensor:
    """``scale * (kp R + exp) + [t_x, t_y, 0]`` -> (B, 21, 3)."""
    kp = scale[:, :, None] * (canonical @ rotation + expression)
    shift = torch.cat([translation[:, :2], torch.zeros_like(translation[:, 2:])], dim=1)
    return kp + shift[:, None, :]


def source_keypoints(info: KeypointInfo) -> torch.Tensor:
    """x_s (B, 21, 3)."""
    return implicit_keypoints(info.canonical, info.rotation, info.expression, info.scale, info.translation)


@dataclass(frozen=True, slots=True)
class RelativePose:
    """The source pose moved by driving frame i relative to the reference driving frame."""

    rotation: torch.Tensor  # (B, 3, 3) R_new
    expression: torch.Tensor  # (B, 21, 3) exp_new
    scale: torch.Tensor  # (B, 1) scale_new
    translation: torch.Tensor  # (B, 3) t_new, z = 0


def relative_pose(source: KeypointInfo, driving: KeypointInfo, reference: KeypointInfo) -> RelativePose:
    translation = source.translation + (driving.translation - reference.translation)
    return RelativePose(
        rotation=(driving.rotation @ reference.rotation.transpose(1, 2)) @ source.rotation,
        expression=source.expression + (driving.expression - reference.expression),
        scale=source.scale * (driving.scale / reference.scale),
        translation=torch.cat([translation[:, :2], torch.zeros_like(translation[:, 2:])], dim=1),
    )


def posed_keypoints(canonical: torch.Tensor, pose: RelativePose) -> torch.Tensor:
    """x_d = scale_new (kp_s R_new + exp_new) + t_new -> (B, 21, 3)."""
    return implicit_keypoints(canonical, pose.rotation, pose.expression, pose.scale, pose.translation)


def hull_motion_multiplier(x_s: torch.Tensor, x_d0: torch.Tensor) -> float:
    """Expression-friendly ``m = sqrt(V(x_s)) / sqrt(V(x_d0))`` (V: 3-D convex hull volume, batch 0)."""
    from scipy.spatial import ConvexHull

    source = ConvexHull(x_s[0].detach().double().cpu().numpy()).volume
    driving = ConvexHull(x_d0[0].detach().double().cpu().numpy()).volume
    return math.sqrt(source) / math.sqrt(driving)


def expression_friendly(
    x_d: torch.Tensor, x_d0: torch.Tensor, x_s: torch.Tensor, multiplier: float
) -> torch.Tensor:
    return (x_d - x_d0) * multiplier + x_s


def stitch(stitching: nn.Module, x_s: torch.Tensor, x_d: torch.Tensor) -> torch.Tensor:
    """x_d + S([x_s, x_d]): 63 per-keypoint offsets, then one shared (tx, ty)."""
    batch = x_s.shape[0]
    delta = stitching(torch.cat([x_s.reshape(batch, -1), x_d.reshape(batch, -1)], dim=1))  # (B, 65)
    out = x_d + delta[:, : 3 * NUM_KP].reshape(batch, NUM_KP, 3)
    shift = torch.cat([delta[:, 3 * NUM_KP : 3 * NUM_KP + 2], torch.zeros_like(delta[:, :1])], dim=1)
    return out + shift[:, None, :]


def retarget(mlp: nn.Module, x_s: torch.Tensor, ratios: torch.Tensor) -> torch.Tensor:
    """Eye or lip delta: MLP([x_s.flat, ratios]) -> (B, 21, 3).

    Eye ratios (B, 3): source left, source right, driving (left) eye openness; lip ratios (B, 2): source,
    driving lip openness."""
    batch = x_s.shape[0]
    return mlp(torch.cat([x_s.reshape(batch, -1), ratios], dim=1)).reshape(batch, NUM_KP, 3)


def lip_normalisation_delta(
    lip: nn.Module, x_s: torch.Tensor, source_lip_ratio: float
) -> torch.Tensor | None:
    """The constant delta that closes the source mouth, or None below the official threshold."""
    if source_lip_ratio < LIP_NORMALISATION_THRESHOLD:
        return None
    ratios = x_s.new_tensor([[source_lip_ratio, 0.0]]).expand(x_s.shape[0], 2)
    return retarget(lip, x_s, ratios)


def apply_driving_multiplier(x_s: torch.Tensor, x_d: torch.Tensor, multiplier: float) -> torch.Tensor:
    return x_s + (x_d - x_s) * multiplier
