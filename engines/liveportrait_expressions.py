"""Expression edits for the neural (LivePortrait-compatible) engine: head angles as a rotation and the
features as offsets of the 21 implicit keypoints' expression, ``exp_new += keypoint_offsets(params)``.

The keypoints are learned without labels, so which of them move for a blink or a smile is a property of
the weights and is *measured*, not assumed (:func:`measure_basis`): the portrait is edited feature by
feature with the landmark fields of :mod:`engines.expressions` rendered by the warp engine, the motion
extractor M reads the expression keypoints of each edited image (cropped exactly like the unedited one),
and the difference from the unedited portrait is that feature's offset per unit of its parameter
(positive and negative sides measured separately). The result, a :class:`KeypointBasis`, is linear in
the parameters; :meth:`KeypointBasis.moving_keypoints` lists the keypoints carrying most of each
feature's motion (the mapping to document for a set of weights):

    livepuppet models basis --weights DIR --source portrait.jpg --out basis.json

With synthetic (random) weights the measured mapping has no meaning in pictures; the tests use it to
check the measurement and the plumbing (edits move exactly the keypoints the basis names).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engines.base import Face, Motion
from engines.expressions import RANGES, ExpressionParams, apply_expression
from engines.landmarks import euler_to_rotation

log = logging.getLogger(__name__)

NUM_KP = 21
BASIS_FILE = "expression_basis.json"  # looked for in the weights folder by the neural engine
# Features carried by keypoint offsets (head angles are a rotation; look_at_camera needs the eye geometry
# of the landmark engines and is left to the driver here).
FEATURES = ("blink", "wink", "eyebrow", "pupil_x", "pupil_y", "aaa", "eee", "woo", "smile")


@dataclass(frozen=True, slots=True)
class KeypointBasis:
    """Per feature, the expression-keypoint offsets (21, 3) per unit of the parameter, for positive values
    and (bipolar features) for negative ones."""

    positive: dict[str, np.ndarray]
    negative: dict[str, np.ndarray]

    def keypoint_offsets(self, params: ExpressionParams) -> np.ndarray:
        """(21, 3) float32 offsets to add to the expression keypoints (``exp``) for ``params``."""
        p = params.clipped()
        total = np.zeros((NUM_KP, 3), np.float32)
        for name in FEATURES:
            value = getattr(p, name)
            if value > 0 and name in self.positive:
                total += value * self.positive[name]
            elif value < 0 and name in self.negative:
                total += -value * self.negative[name]
        return total

    def moving_keypoints(self, name: str, sign: int = 1, share: float = 0.8) -> list[int]:
        """The fewest keypoints whose offsets carry ``share`` of the feature's squared motion."""
        offsets = (self.positive if sign > 0 else self.negative)[name]
        energy = (offsets**2).sum(axis=1)
        order = np.argsort(energy)[::-1]
        needed = int(np.searchsorted(np.cumsum(energy[order]), share * energy.sum()) + 1)
        return sorted(int(k) for k in order[:needed])

    def to_json(self) -> dict:
        return {
            "positive": {k: v.round(6).tolist() for k, v in self.positive.items()},
            "negative": {k: v.round(6).tolist() for k, v in self.negative.items()},
        }

    @staticmethod
    def from_json(data: dict) -> KeypointBasis:
        def arrays(group):
            return {k: np.asarray(v, np.float32).reshape(NUM_KP, 3) for k, v in data.get(group, {}).items()}

        return KeypointBasis(positive=arrays("positive"), negative=arrays("negative"))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json()))

    @staticmethod
    def load(path: str | Path) -> KeypointBasis:
        return KeypointBasis.from_json(json.loads(Path(path).read_text()))


def rotation_delta(params: ExpressionParams) -> np.ndarray:
    """(3, 3) float32 edit rotation in the keypoints' row convention: ``R_new = rotation_delta @ R_new``
    (the transpose of the image-axis rotation, as the engine composes ``Motion.rotation``)."""
    p = params.clipped()
    return euler_to_rotation(p.pitch, p.yaw, p.roll).T.astype(np.float32)


def edit_pose(pose, params: ExpressionParams, basis: KeypointBasis | None, include_rotation: bool = True):
    """The hook for the engine: a ``composition.RelativePose`` with the edit's keypoint offsets added to the
    expression and (``include_rotation``) its head angles composed with the rotation; torch tensors stay
    on the pose's device. Scripted motion already carries the angles in ``Motion.rotation``: pass False."""
    import torch

    if params.is_neutral():
        return pose
    like = pose.expression
    changes = {}
    if include_rotation:
        rotation = torch.as_tensor(rotation_delta(params), dtype=like.dtype, device=like.device)[None]
        changes["rotation"] = rotation @ pose.rotation
    if basis is not None:
        offsets = torch.as_tensor(basis.keypoint_offsets(params), dtype=like.dtype, device=like.device)
        changes["expression"] = like + offsets[None]
    return dataclasses.replace(pose, **changes) if changes else pose


def _feature_values(name: str) -> list[float]:
    low, high = RANGES[name]
    return [high] if low >= 0 else [high, low]


def measure_basis(
    pipeline, warp_engine, image: np.ndarray, face: Face, features: tuple[str, ...] = FEATURES
) -> KeypointBasis:
    """Measure the basis on one portrait: M on the warp engine's edit of each feature minus M on the
    unedited portrait, every image cropped with the unedited face's crop (see the module docstring).

    ``pipeline``: an :class:`engines.liveportrait.pipeline.LivePortraitPipeline` (its motion extractor is
    used); ``warp_engine``: the landmark engine rendering the edits (``create_engine("warp")``)."""
    import cv2

    from engines.liveportrait import crop

    state = warp_engine.prepare(image, face)
    to_crop = crop.crop_transform(crop.face_rect(state.face.landmarks, crop.SOURCE_CROP))

    def expression_of(rgb: np.ndarray) -> np.ndarray:
        _, small = crop.crop_to_input(rgb, to_crop, cv2.INTER_AREA)
        info = pipeline.motion_info(pipeline.to_input(small))
        return info.expression[0].detach().cpu().numpy().astype(np.float32)  # (21, 3)

    from engines.landmarks import neutral_points

    identity = Motion.identity(neutral_points(state.face.landmarks))
    base = expression_of(warp_engine.render(state, identity))
    positive, negative = {}, {}
    for name in features:
        for value in _feature_values(name):
            edited = warp_engine.render(state, apply_expression(identity, ExpressionParams(**{name: value})))
            offsets = (expression_of(edited) - base) / abs(value)
            (positive if value > 0 else negative)[name] = offsets
    return KeypointBasis(positive=positive, negative=negative)
