"""The LivePortrait per-frame path on 256x256 crops: source features once, then driving keypoints and a
warp + decode per frame. Image geometry (cropping, paste-back) lives in ``crop.py`` and ``engine.py``."""

from __future__ import annotations

from typing import Callable

import contextlib
import dataclasses
import logging
from dataclasses import dataclass

import numpy as np
import torch

from engines.liveportrait import composition as C
from engines.liveportrait.checkpoints import LivePortraitNetworks
from engines.liveportrait.denormals import flushed_denormals
from engines.liveportrait.transfer import HostTransfer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceFeatures:
    """Everything F and M give for the source crop (computed once per portrait)."""

    feature: torch.Tensor  # (1, 32, 16, 64, 64) appearance volume f_s
    info: C.KeypointInfo
    keypoints: torch.Tensor  # (1, 21, 3) x_s


@dataclass(frozen=True, slots=True)
class DrivingReference:
    """The neutral driving frame (frame 0 of a video, the calibration frame live)."""

    info: C.KeypointInfo
    keypoints: torch.Tensor  # (1, 21, 3) x_d,0 (equals x_s up to rounding for an image source)
    multiplier: float  # expression-friendly m (1 when the option is off)


@dataclass(frozen=True, slots=True)
class OpennessRatios:
    """Eye/lip openness (distance ratios, see ``crop.openness_ratios``) for retargeting."""

    source_eyes: tuple[float, float]  # left, right
    source_lip: float
    driving_eye: float  # the official pipeline feeds only the left driving eye
    driving_lip: float


class LivePortraitPipeline:
    """Single-threaded. ``autocast_dtype`` (fp16 as the official app, or bf16) runs F, M, W and G under
    CUDA autocast; the MLPs and the keypoint maths stay fp32. Ignored off CUDA."""

    def __init__(self, networks: LivePortraitNetworks, device: torch.device,
                 autocast_dtype: torch.dtype | None = None, options: C.CompositionOptions | None = None):  # fmt: skip
        self.networks = networks
        self.device = device
        self.autocast_dtype = autocast_dtype if device.type == "cuda" else None
        self.options = options or C.CompositionOptions()
        self.transfer = HostTransfer(device)

    def autocast(self) -> contextlib.ExitStack:
        """The context the networks run in: CUDA autocast when asked for, denormals flushed on the CPU."""
        stack = contextlib.ExitStack()
        if self.autocast_dtype is not None:
            stack.enter_context(torch.autocast("cuda", dtype=self.autocast_dtype))
        stack.enter_context(flushed_denormals(self.device))
        return stack

    def to_input(self, crop: np.ndarray) -> torch.Tensor:
        """RGB uint8 (256, 256, 3) -> (1, 3, 256, 256) float32 in [0, 1] on the device."""
        return self.transfer.upload(crop)

    @torch.no_grad()
    def motion_info(self, image: torch.Tensor) -> C.KeypointInfo:
        """M on (1, 3, 256, 256) -> refined keypoint info (fp32)."""
        with self.autocast():
            raw = self.networks.motion(image)
        raw = dataclasses.replace(
            raw, **{f.name: getattr(raw, f.name).float() for f in dataclasses.fields(raw)}
        )
        return C.keypoint_info(raw)

    @torch.no_grad()
    def source(self, image: torch.Tensor) -> SourceFeatures:
        with self.autocast():
            feature = self.networks.appearance(image)
        info = self.motion_info(image)
        return SourceFeatures(feature=feature, info=info, keypoints=C.source_keypoints(info))

    @torch.no_grad()
    def reference(self, source: SourceFeatures, info: C.KeypointInfo) -> DrivingReference:
        keypoints = C.posed_keypoints(source.info.canonical, C.relative_pose(source.info, info, info))
        multiplier = 1.0
        if self.options.expression_friendly:
            multiplier = C.hull_motion_multiplier(source.keypoints, keypoints)
        return DrivingReference(info=info, keypoints=keypoints, multiplier=multiplier)

    @torch.no_grad()
    def lip_normalisation(self, source: SourceFeatures, source_lip_ratio: float) -> torch.Tensor | None:
        """The constant delta closing the source's mouth (None when the option is off or it is closed)."""
        if not self.options.lip_normalisation:
            return None
        return C.lip_normalisation_delta(self.networks.lip, source.keypoints, source_lip_ratio)

    @torch.no_grad()
    def driving_keypoints(self, source: SourceFeatures, driving: C.KeypointInfo, reference: DrivingReference,
                          ratios: OpennessRatios | None = None, lip_delta: torch.Tensor | None = None,
                          weight: float = 1.0,
                          edit: Callable[[C.RelativePose], C.RelativePose] | None = None) -> torch.Tensor:  # fmt: skip
        """x_d (1, 21, 3) for one driving frame; ``weight`` scales the motion (0 = the source as is).

        ``lip_delta``: from :meth:`lip_normalisation`; ``ratios``: needed when eye/lip retargeting is on;
        ``edit``: changes the relative pose (expression edits: engines.liveportrait_expressions.edit_pose)."""
        x_s = source.keypoints
        # 1. Relative motion: the source pose moved as the driver moved since the reference frame.
        pose = C.relative_pose(source.info, driving, reference.info)
        if edit is not None:
            pose = edit(pose)
        x_d = C.posed_keypoints(source.info.canonical, pose)
        if self.options.expression_friendly:
            x_d = C.expression_friendly(x_d, reference.keypoints, x_s, reference.multiplier)
        # 2. Stitching (+ lip normalisation), or the official retargeting mode: eye/lip deltas replace the
        #    motion, then stitching.
        if ratios is not None and (self.options.retarget_eyes or self.options.retarget_lips):
            x_d = x_s + self._retargeting_delta(x_s, ratios)
            if self.options.stitching:
                x_d = C.stitch(self.networks.stitching, x_s, x_d)
        elif self.options.stitching:
            x_d = C.stitch(self.networks.stitching, x_s, x_d)
            if lip_delta is not None:
                x_d = x_d + lip_delta
        # 3. Driving multiplier; the tracking weight eases towards the source at rest.
        x_d = C.apply_driving_multiplier(x_s, x_d, self.options.driving_multiplier)
        if weight != 1.0:
            rest = self.rest_keypoints(source, lip_delta)
            x_d = rest + (x_d - rest) * weight
        return x_d

    @torch.no_grad()
    def rest_keypoints(self, source: SourceFeatures, lip_delta: torch.Tensor | None = None) -> torch.Tensor:
        """x_d when the driver does not move (the official frame 0): the stitched source keypoints."""
        x_s = source.keypoints
        if not self.options.stitching:
            return x_s
        x_d = C.stitch(self.networks.stitching, x_s, x_s)
        return x_d if lip_delta is None else x_d + lip_delta

    def _retargeting_delta(self, x_s: torch.Tensor, ratios: OpennessRatios) -> torch.Tensor:
        delta = torch.zeros_like(x_s)
        if self.options.retarget_eyes:
            eyes = x_s.new_tensor([[*ratios.source_eyes, ratios.driving_eye]])
            delta = delta + C.retarget(self.networks.eye, x_s, eyes)
        if self.options.retarget_lips:
            lips = x_s.new_tensor([[ratios.source_lip, ratios.driving_lip]])
            delta = delta + C.retarget(self.networks.lip, x_s, lips)
        return delta

    @torch.no_grad()
    def decode(self, source: SourceFeatures, x_d: torch.Tensor) -> torch.Tensor:
        """W + G: (1, 3, 512, 512) float in (0, 1)."""
        with self.autocast():
            warped = self.networks.warping(source.feature, source.keypoints, x_d)
            return self.networks.generator(warped.features).float()

    @torch.no_grad()
    def warm_up(self, source: SourceFeatures, image: torch.Tensor, calls: int = 3) -> None:
        """Run the per-frame graphs ``calls`` times on the source image, so that cuDNN's algorithm search
        and the static runners' CUDA-graph capture (export.static_graph) happen now, not in the first live
        frames."""
        for _ in range(calls):
            self.motion_info(image)
            self.to_uint8(self.decode(source, self.rest_keypoints(source)))

    def to_uint8(self, image: torch.Tensor) -> np.ndarray:
        """(1, 3, 512, 512) float -> (512, 512, 3) RGB uint8 (clip, x255, truncate, as the official code).
        On CUDA the array is a pinned buffer reused by the next call (see ``transfer.HostTransfer``)."""
        return self.transfer.download(image)
