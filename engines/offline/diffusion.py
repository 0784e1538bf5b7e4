"""Diffusion rerender: Stable Diffusion 1.5 + the MediaPipe-face ControlNet + IP-Adapter, img2img.

Per frame (or per AnimateDiff window):

1. the init image is the warp (or neural) engine's frame for the same motion (the source portrait when no
   engine can be built), resized to the generation size (the portrait fitted to ``resolution``);
2. the control image is the retargeted landmarks drawn as the ControlNet's face mesh
   (:mod:`engines.offline.conditioning`);
3. identity comes from a face crop of the source portrait through IP-Adapter (when given);
4. ``StableDiffusionControlNetImg2ImgPipeline`` denoises from ``strength``, with the same seed every frame
   (shared noise keeps the texture from boiling); with a motion adapter, windows of frames go through
   ``AnimateDiffVideoToVideoControlNetPipeline`` instead (temporal attention across the window);
5. the result is colour-matched to the source in Lab and, by default, blended into the engine's frame
   inside a feathered face region only, so hair, body and background stay the engine's (steady).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from engines.base import Face, LivePuppetError
from engines.compositor import feathered_mask
from engines.offline.colour import ColourMatcher
from engines.offline.conditioning import draw_face_mesh
from engines.offline.frames import DrivingFrame, InitFrames, SourceFrames
from engines.offline.images import from_unit, generation_size, to_pil
from engines.offline.pose import face_crop
from engines.offline.weights import (
    CONTROLNET,
    LCM_LORA,
    MOTION_ADAPTER,
    SD15,
    RuntimeOptions,
    check_weights,
    controlnet_folder,
    ip_adapter_spec,
)

log = logging.getLogger(__name__)

# Scheduler names on the command line -> diffusers classes (built from the model's own scheduler config).
SCHEDULERS = {
    "ddim": "DDIMScheduler",
    "pndm": "PNDMScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler-a": "EulerAncestralDiscreteScheduler",
    "dpm++": "DPMSolverMultistepScheduler",
    "unipc": "UniPCMultistepScheduler",
    "lcm": "LCMScheduler",
}
DEFAULT_IP_ADAPTER_WEIGHT = "ip-adapter-plus-face_sd15.safetensors"
IDENTITY_SIDE = 256  # the identity crop handed to IP-Adapter (its CLIP encoder resizes to 224)


@dataclass(frozen=True, slots=True)
class DiffusionWeights:
    model: Path | None  # SD-1.5 pipeline folder
    controlnet: Path | None  # MediaPipe-face ControlNet folder
    ip_adapter: Path | None = None  # h94/IP-Adapter folder (holds models/)
    ip_adapter_weight: str = DEFAULT_IP_ADAPTER_WEIGHT
    motion_adapter: Path | None = None  # AnimateDiff motion adapter folder
    lcm_lora: Path | None = None  # LCM-LoRA folder (needs the peft package)


@dataclass(frozen=True, slots=True)
class DiffusionConfig:
    prompt: str = "a photo of a person, detailed face, natural skin, high quality"
    negative_prompt: str = "blurry, deformed face, distorted eyes, extra teeth, low quality, watermark, text"
    steps: int = 20
    strength: float = 0.45  # img2img: 0 keeps the engine's frame, 1 ignores it
    guidance: float = 5.0
    controlnet_scale: float = 1.0
    ip_adapter_scale: float = 0.6
    scheduler: str = "dpm++"
    seed: int = 0
    resolution: int = 512  # longest side of the generation
    window: int = 16  # AnimateDiff frames per window (used only with a motion adapter)
    overlap: int = 4  # frames shared by consecutive AnimateDiff windows
    colour_match: float = 1.0  # 0 (off) .. 1 (full) Lab mean/std match to the source
    blend: Literal["face", "full"] = "face"  # paste only the face region into the engine frame, or everything


def face_region_mask(target: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) float32 mask: 1 inside the target face's hull grown by a fifth, feathered."""
    xy = target[:, :2].astype(np.float32)
    hull = cv2.convexHull(xy).reshape(-1, 2)
    centre = xy.mean(axis=0)
    grown = centre + (hull - centre) * 1.2
    extent = float(np.ptp(xy, axis=0).max())
    return feathered_mask(size, grown, feather=0.12 * extent)


class DiffusionRenderer:
    """A :class:`~engines.offline.frames.WindowRenderer` with SD 1.5 + ControlNet (+ IP-Adapter, AnimateDiff)."""

    def __init__(
        self,
        weights: DiffusionWeights,
        config: DiffusionConfig = DiffusionConfig(),
        runtime: RuntimeOptions | None = None,
        base: InitFrames | None = None,
    ):
        if config.scheduler not in SCHEDULERS:
            raise LivePuppetError(
                f"unknown scheduler {config.scheduler!r}; choose from {', '.join(SCHEDULERS)}"
            )
        if not 0.0 < config.strength <= 1.0 or int(config.steps * config.strength) < 1:
            raise LivePuppetError(
                f"--strength must be in (0, 1] and --steps x --strength at least 1 (img2img runs "
                f"int(steps x strength) steps); got {config.steps} x {config.strength}"
            )
        needed = [("--model", SD15, weights.model), ("--controlnet", CONTROLNET, weights.controlnet)]
        if weights.ip_adapter is not None:
            needed.append(("--ip-adapter", ip_adapter_spec(weights.ip_adapter_weight), weights.ip_adapter))
        if weights.motion_adapter is not None:
            needed.append(("--motion-adapter", MOTION_ADAPTER, weights.motion_adapter))
        if weights.lcm_lora is not None:
            needed.append(("--lcm-lora", LCM_LORA, weights.lcm_lora))
        check_weights(needed)
        self.weights, self.config, self.runtime = weights, config, runtime or RuntimeOptions()
        if self.runtime.attention_slicing and weights.ip_adapter is not None:
            # Sliced attention processors would replace IP-Adapter's (which carry the image tokens).
            log.warning("--attention-slicing is ignored with --ip-adapter (their attention processors clash)")
            self.runtime = replace(self.runtime, attention_slicing=False)
        self.base = base or SourceFrames()
        self.animated = weights.motion_adapter is not None
        self.window = config.window if self.animated else 1
        self.overlap = config.overlap if self.animated else 0
        self.pipe = self._load()
        self._seed_device = "cpu"  # a CPU generator gives the same noise on every device

    def _load(self):
        import diffusers

        dtype = self.runtime.dtype()
        controlnet = diffusers.ControlNetModel.from_pretrained(
            controlnet_folder(self.weights.controlnet), dtype=dtype
        )
        pipe = diffusers.StableDiffusionControlNetImg2ImgPipeline.from_pretrained(
            self.weights.model,
            controlnet=controlnet,
            safety_checker=None,
            requires_safety_checker=False,
            dtype=dtype,
        )
        if self.weights.ip_adapter is not None:
            pipe.load_ip_adapter(
                str(self.weights.ip_adapter),
                subfolder="models",
                weight_name=self.weights.ip_adapter_weight,
                image_encoder_folder="image_encoder",
            )
            pipe.set_ip_adapter_scale(self.config.ip_adapter_scale)
        if self.weights.lcm_lora is not None:
            try:
                import peft  # noqa: F401
            except ImportError as exc:
                raise LivePuppetError("--lcm-lora needs the peft package: pip install peft") from exc
            pipe.load_lora_weights(str(self.weights.lcm_lora))
            pipe.fuse_lora()
        pipe.scheduler = getattr(diffusers, SCHEDULERS[self.config.scheduler]).from_config(
            pipe.scheduler.config
        )
        if self.animated:
            adapter = diffusers.MotionAdapter.from_pretrained(self.weights.motion_adapter, dtype=dtype)
            pipe = diffusers.AnimateDiffVideoToVideoControlNetPipeline.from_pipe(
                pipe, motion_adapter=adapter, dtype=dtype
            )
        self.runtime.place(pipe)
        return pipe

    def settings(self) -> dict:
        weights = {k: str(v) for k, v in asdict(self.weights).items()}
        return {
            "mode": "diffusion",
            "weights": weights,
            "config": asdict(self.config),
            "base": self.base.name,
            "precision": str(self.runtime.dtype()),
        }

    def prepare(self, portrait: np.ndarray, face: Face) -> None:
        height, width = portrait.shape[:2]
        multiple = self.pipe.vae_scale_factor * 2 ** (len(self.pipe.unet.config.block_out_channels) - 1)
        self.size = generation_size(width, height, self.config.resolution, multiple)
        self.scale = (self.size[0] / width, self.size[1] / height)
        self.portrait = portrait
        # IP-Adapter (the face variants especially) reads identity from a face crop, as it was trained.
        identity = face_crop(portrait, face.landmarks, IDENTITY_SIDE, margin=1.3)
        self.identity = to_pil(identity) if self.weights.ip_adapter is not None else None
        self.colour = ColourMatcher(portrait, self.config.colour_match)
        self.base.prepare(portrait, face)

    def render(self, frames: Sequence[DrivingFrame]) -> list[np.ndarray]:
        import torch

        # 1. Init frames and control images at the generation size.
        bases = [self.base.frame(frame) for frame in frames]  # portrait-sized (H, W, 3)
        inits = [to_pil(cv2.resize(b, self.size, interpolation=cv2.INTER_AREA)) for b in bases]
        scale = np.array([*self.scale, 1.0], np.float32)
        controls = [to_pil(draw_face_mesh(frame.target * scale, self.size)) for frame in frames]
        # 2. Denoise with the same noise for every frame/window.
        config = self.config
        common = {
            "prompt": config.prompt,
            "negative_prompt": config.negative_prompt,
            "strength": config.strength,
            "num_inference_steps": config.steps,
            "guidance_scale": config.guidance,
            "controlnet_conditioning_scale": config.controlnet_scale,
            "height": self.size[1],
            "width": self.size[0],
            "generator": torch.Generator(self._seed_device).manual_seed(config.seed),
            "output_type": "np",
        }
        if self.identity is not None:
            common["ip_adapter_image"] = self.identity
        if self.animated:
            images = self.pipe(video=inits, conditioning_frames=controls, **common).frames[0]
        else:
            images = [
                self.pipe(image=init, control_image=control, **common).images[0]
                for init, control in zip(inits, controls)
            ]
        # 3. Back to the portrait's size and colours, into the engine frame.
        height, width = self.portrait.shape[:2]
        outputs = []
        for image, base, frame in zip(images, bases, frames):
            rgb = self.colour.apply(from_unit(image, (width, height)))
            if self.config.blend == "face":
                mask = face_region_mask(frame.target, (width, height))[:, :, None]
                rgb = (base * (1.0 - mask) + rgb * mask + 0.5).astype(np.uint8)
            outputs.append(rgb)
        return outputs

    def close(self) -> None:
        self.base.close()
