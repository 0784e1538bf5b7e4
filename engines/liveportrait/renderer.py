"""The ``liveportrait`` engine: :class:`engines.base.Engine` on top of :class:`LivePortraitPipeline`.

``prepare`` crops the portrait (official similarity crop from the MediaPipe landmarks), runs F and M once
and builds the paste-back. ``render`` crops the driving frame causally, runs M on it (and once per
calibration on the neutral reference frame), composes the keypoints relative to that reference, runs
W + G and pastes the 512x512 result into the portrait.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from engines.base import EngineOptions, Face, LivePuppetError, Motion, SourceState
from engines.expressions import edit_of
from engines.liveportrait_expressions import BASIS_FILE, KeypointBasis, edit_pose, measure_basis
from engines.compositor import PasteBack
from engines.liveportrait import composition as C
from engines.liveportrait import crop
from engines.liveportrait.checkpoints import load_networks
from engines.liveportrait.pipeline import (
    DrivingReference,
    LivePortraitPipeline,
    OpennessRatios,
    SourceFeatures,
)

log = logging.getLogger(__name__)

# Source-crop pixels per unit of the keypoint space ([-1, 1] spans the 512 crop).
_CROP_HALF = crop.CROP_SIZE / 2


@dataclass(slots=True, kw_only=True)
class LivePortraitState(SourceState):
    """What ``prepare`` computed for one portrait."""

    features: SourceFeatures  # f_s, source keypoint info, x_s
    crop_to_full: np.ndarray  # (2, 3) crop-512 pixels -> portrait pixels
    paste: PasteBack
    eyes: tuple[float, float]  # source openness (left, right)
    lip: float
    lip_delta: torch.Tensor | None  # lip normalisation (None when off)
    interocular_crop: float  # source eye distance in 512-crop pixels (scripted-motion translation unit)
    neutral_frame: np.ndarray | None = field(default=None)  # cached render of the source at rest


def resolve_device(requested: str) -> torch.device:
    if requested == "cuda" and not torch.cuda.is_available():
        raise LivePuppetError("--device cuda was asked for but torch sees no CUDA device")
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(requested)


def _runtime_networks(options: EngineOptions):
    """(networks, device) on an exported runtime (ONNX Runtime / TensorRT) through ``export.networks``; the
    runners apply the precision themselves."""
    try:
        from export.networks import load_runtime_networks
    except ImportError as exc:
        raise LivePuppetError(f"--runtime {options.runtime} needs the export package ({exc})") from exc
    networks, choice = load_runtime_networks(
        options.weights, options.runtime, options.device, options.precision
    )
    return networks, torch.device(choice.device)


class LivePortraitEngine:
    """Single-threaded. Frames returned by ``render`` are buffers reused by the next call."""

    name = "liveportrait"

    def __init__(self, pipeline: LivePortraitPipeline, basis_path: Path | None = None):
        self.pipeline = pipeline
        self._cropper = crop.DrivingCropper()
        # Expression edits: the measured keypoint basis (engines.liveportrait_expressions), read from
        # ``basis_path`` when that file exists, else measured once per portrait on the first edit.
        self._basis_path = basis_path
        self._basis: tuple[LivePortraitState, KeypointBasis] | None = None
        # Caches, compared by identity (the objects are held, so their ids cannot be reused meanwhile).
        self._reference_key: tuple[LivePortraitState, int] | None = None  # (state, calibration_id)
        self._reference: DrivingReference | None = None
        self._driving_key: tuple[np.ndarray, Face] | None = None  # the last driving frame and face
        self._driving: C.KeypointInfo | None = None
        self._driving_eyes: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @classmethod
    def from_options(cls, options: EngineOptions, composition: C.CompositionOptions | None = None):
        if options.weights is None:
            raise LivePuppetError(
                "the liveportrait engine needs --weights DIR (see `livepuppet models download`)"
            )
        basis_path = Path(options.weights) / BASIS_FILE
        device = resolve_device(options.device)
        # Exported runtimes, and bf16 on the CPU (its per-graph precision lives in the runners), go through
        # export.networks; everything else runs the torch modules directly.
        if options.runtime != "torch" or (options.precision == "bf16" and device.type == "cpu"):
            return cls(LivePortraitPipeline(*_runtime_networks(options), options=composition), basis_path)
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(options.precision)
        if device.type == "cuda" and dtype is None:  # fp32 as the reference vectors: no TF32
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        if dtype is not None and device.type != "cuda":
            log.warning("--precision %s applies on CUDA only; running fp32 on %s", options.precision, device)
        networks = load_networks(options.weights, device)
        return cls(LivePortraitPipeline(networks, device, autocast_dtype=dtype, options=composition), basis_path)

    # -- per portrait --------------------------------------------------------------------------------

    def prepare(self, portrait: np.ndarray, face: Face) -> LivePortraitState:
        # 1. Official similarity crop (scale 2.3, vy -0.125, roll-compensated) -> 256 network input.
        landmarks = face.landmarks
        small, to_crop = crop.source_crop(portrait, landmarks)
        crop_to_full = crop.invert_affine(to_crop)
        # 2. F and M once: f_s, x_s.
        features = self.pipeline.source(self.pipeline.to_input(small))
        left, right, lip = crop.openness_ratios(landmarks)
        eyes_crop = np.c_[landmarks[list(crop.EYE_CENTRES), :2], np.ones(2)] @ to_crop.T  # (2, 2) crop px
        return LivePortraitState(
            image=portrait,
            face=face,
            features=features,
            crop_to_full=crop_to_full,
            paste=PasteBack(portrait, crop_to_full, crop.paste_mask()),
            eyes=(left, right),
            lip=lip,
            lip_delta=self.pipeline.lip_normalisation(features, lip),
            interocular_crop=float(np.linalg.norm(eyes_crop[1] - eyes_crop[0])),
        )

    # -- per frame -----------------------------------------------------------------------------------

    def render(self, state: SourceState, motion: Motion) -> np.ndarray:
        if not isinstance(state, LivePortraitState):
            raise LivePuppetError("this state was not prepared by the liveportrait engine")
        # 1. Keypoints: from the driving pixels when there are any, else from the scripted pose.
        if motion.driving_image is None or motion.reference_image is None or motion.reference_face is None:
            x_d = self._scripted_keypoints(state, motion)
            if x_d is None:
                return state.paste.paste(self._neutral_crop(state))
        else:
            x_d = self._driving_keypoints(state, motion)
        # 2. W + G -> (512, 512, 3) uint8, pasted into the portrait.
        image = self.pipeline.to_uint8(self.pipeline.decode(state.features, x_d))
        return state.paste.paste(image)

    def _driving_keypoints(self, state: LivePortraitState, motion: Motion) -> torch.Tensor:
        reference = self._reference_for(state, motion)
        driving = self._driving_info(motion)
        if driving is None:  # no driving face seen since the reference: rest
            driving = reference.info
        ratios = OpennessRatios(state.eyes, state.lip, self._driving_eyes[0], self._driving_eyes[2])
        params = edit_of(motion)
        edit = None
        if not params.is_neutral():
            basis = self._expression_basis(state)
            edit = lambda pose: edit_pose(pose, params, basis)  # noqa: E731
        return self.pipeline.driving_keypoints(
            state.features, driving, reference, ratios=ratios, lip_delta=state.lip_delta,
            weight=float(np.clip(motion.driving_weight, 0.0, 1.0)), edit=edit,
        )  # fmt: skip

    def _expression_basis(self, state: LivePortraitState) -> KeypointBasis:
        if self._basis is not None and self._basis[0] is state:
            return self._basis[1]
        if self._basis_path is not None and self._basis_path.is_file():
            basis = KeypointBasis.load(self._basis_path)
        else:
            from engines.warp.engine import WarpEngine

            log.info("measuring the expression keypoint basis for this portrait (once; save it with "
                     "`livepuppet models basis` to skip this)")  # fmt: skip
            basis = measure_basis(self.pipeline, WarpEngine(), state.image, state.face)
        self._basis = (state, basis)
        return basis

    def _reference_for(self, state: LivePortraitState, motion: Motion) -> DrivingReference:
        cached = self._reference_key
        if cached is None or cached[0] is not state or cached[1] != motion.calibration_id:
            small = crop.reference_crop(motion.reference_image, motion.reference_face.landmarks)
            info = self.pipeline.motion_info(self.pipeline.to_input(small))
            self._reference = self.pipeline.reference(state.features, info)
            self._reference_key = (state, motion.calibration_id)
            self._cropper.reset()
        return self._reference

    def _driving_info(self, motion: Motion) -> C.KeypointInfo | None:
        """M on this frame's causal crop; the held frame's result again while the face is lost."""
        if motion.driving_face is None:
            return self._driving
        cached = self._driving_key
        if cached is None or cached[0] is not motion.driving_image or cached[1] is not motion.driving_face:
            small = self._cropper.crop(motion.driving_image, motion.driving_face.landmarks)
            self._driving = self.pipeline.motion_info(self.pipeline.to_input(small))
            self._driving_eyes = crop.openness_ratios(motion.driving_face.landmarks)
            self._driving_key = (motion.driving_image, motion.driving_face)
        return self._driving

    def _scripted_keypoints(self, state: LivePortraitState, motion: Motion) -> torch.Tensor | None:
        """Synthetic motion (no driving pixels): the source re-posed by ``motion``'s rotation, scale and
        translation, expression unchanged. None when the motion is the identity (the cached neutral)."""
        rotation = np.asarray(motion.rotation, np.float64)
        params = edit_of(motion)
        still = np.allclose(rotation, np.eye(3), atol=1e-6) and abs(motion.scale - 1) < 1e-6
        if still and np.allclose(motion.translation, 0, atol=1e-6) and params.is_neutral():
            return None
        source = state.features
        info = source.info
        device, dtype = info.rotation.device, info.rotation.dtype
        # Motion.rotation acts on image-axis column vectors; keypoints are rows, so R_new = M^T R_s.
        delta = torch.as_tensor(rotation.T, dtype=dtype, device=device)[None]
        shift = np.asarray(motion.translation, np.float64) * state.interocular_crop / _CROP_HALF
        translation = info.translation + torch.tensor([[shift[0], shift[1], 0.0]], dtype=dtype, device=device)
        pose = C.RelativePose(
            rotation=delta @ info.rotation,
            expression=info.expression,
            scale=info.scale * float(motion.scale),
            translation=torch.cat([translation[:, :2], torch.zeros_like(translation[:, 2:])], dim=1),
        )
        if not params.is_neutral():  # the edit's head angles are already in motion.rotation
            pose = edit_pose(pose, params, self._expression_basis(state), include_rotation=False)
        x_d = C.posed_keypoints(info.canonical, pose)
        if self.pipeline.options.stitching:
            x_d = C.stitch(self.pipeline.networks.stitching, source.keypoints, x_d)
        return x_d if state.lip_delta is None else x_d + state.lip_delta

    def _neutral_crop(self, state: LivePortraitState) -> np.ndarray:
        if state.neutral_frame is None:
            x_d = self.pipeline.rest_keypoints(state.features, state.lip_delta)
            state.neutral_frame = self.pipeline.to_uint8(self.pipeline.decode(state.features, x_d))
        return state.neutral_frame

    def close(self) -> None:
        self._reference = self._driving = None
        self._reference_key = self._driving_key = None
