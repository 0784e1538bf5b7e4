"""Video-model rerender: Wan2.2-Animate (portrait + pose video + driving face crops) or Wan2.1-VACE.

Per segment of ``window`` frames (a ``4k+1`` length, as Wan's VAE compresses time by 4):

* **Wan-Animate** (``WanAnimatePipeline``, mode "animate"): the portrait is the character image, the pose
  video is the retargeted head skeleton on the portrait (:mod:`engines.offline.pose`), and the face video is
  square crops of the driving face (the motion encoder reads expressions from them; before the first
  driving face, the portrait's own face);
* **VACE** (``WanVACEPipeline``, the lighter one: a 1.3B model exists): the pose video (with DWPose-like face
  dots) is the control video, all of it to be generated (white mask), and the portrait the reference image.

Which one is used follows the folder's ``model_index.json``. Segments overlap by ``overlap`` frames that are
cross-faded (by the rerender job); every segment starts from the same seed. Results are resized to
the portrait and colour-matched to it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from engines.base import Face, LivePuppetError
from engines.offline.colour import ColourMatcher
from engines.offline.frames import DrivingFrame
from engines.offline.images import from_unit, generation_size, to_pil
from engines.offline.pose import Body, draw_pose, face_crop
from engines.offline.weights import (
    WAN_ANIMATE,
    WAN_EITHER,
    WAN_VACE,
    RuntimeOptions,
    check_weights,
    pipeline_class_name,
)

log = logging.getLogger(__name__)

KINDS = {"WanAnimatePipeline": "animate", "WanVACEPipeline": "vace"}


@dataclass(frozen=True, slots=True)
class VideoConfig:
    prompt: str = "a person talking, natural head motion, detailed face, high quality"
    negative_prompt: str = "blurry, deformed face, distorted, static, low quality, watermark, text"
    steps: int = 20
    guidance: float | None = None  # None: 1.0 for Wan-Animate (its authors use no CFG), 5.0 for VACE
    seed: int = 0
    resolution: int = 832  # longest side of the generation (Wan's 480p is 832x480)
    window: int = 77  # frames per segment (rounded down to 4k+1)
    overlap: int = 8  # frames shared by consecutive segments (cross-faded)
    colour_match: float = 1.0
    max_sequence_length: int = 512  # text tokens


def segment_length(frames: int) -> int:
    """The smallest ``4k+1 >= frames``."""
    return ((max(frames, 1) - 1 + 3) // 4) * 4 + 1


class VideoModelRenderer:
    """A :class:`~engines.offline.frames.WindowRenderer` driving a Wan video model."""

    def __init__(
        self, model: Path | None, config: VideoConfig = VideoConfig(), runtime: RuntimeOptions | None = None
    ):
        kind = KINDS.get(pipeline_class_name(model)) if model is not None else None
        spec = {"vace": WAN_VACE, "animate": WAN_ANIMATE}.get(kind, WAN_EITHER)
        check_weights([("--model", spec, model)])
        if kind is None:
            raise LivePuppetError(
                f"--model {model} is neither a WanAnimatePipeline nor a WanVACEPipeline folder "
                f"(model_index.json "
                f"says {pipeline_class_name(model)!r}); get {WAN_ANIMATE.repos[0]} or {WAN_VACE.repos[0]}"
            )
        self.kind, self.model, self.config = kind, Path(model), config
        self.runtime = runtime or RuntimeOptions()
        self.window = max(1, (config.window - 1) // 4 * 4 + 1)
        self.overlap = min(config.overlap, self.window - 1)
        self.guidance = (
            config.guidance if config.guidance is not None else (1.0 if kind == "animate" else 5.0)
        )
        self.pipe = self._load()

    def _load(self):
        import diffusers
        import torch

        # Wan's VAE stays in float32 (its authors' advice); the rest in the chosen precision.
        vae = diffusers.AutoencoderKLWan.from_pretrained(self.model, subfolder="vae", dtype=torch.float32)
        cls = diffusers.WanAnimatePipeline if self.kind == "animate" else diffusers.WanVACEPipeline
        pipe = cls.from_pretrained(self.model, vae=vae, dtype=self.runtime.dtype())
        self.runtime.place(pipe)
        return pipe

    def settings(self) -> dict:
        return {
            "mode": "video",
            "kind": self.kind,
            "model": str(self.model),
            "config": asdict(self.config),
            "window": self.window,
            "overlap": self.overlap,
            "precision": str(self.runtime.dtype()),
        }

    def prepare(self, portrait: np.ndarray, face: Face) -> None:
        height, width = portrait.shape[:2]
        multiple = self.pipe.vae_scale_factor_spatial * self.pipe.transformer.config.patch_size[1]
        self.size = generation_size(width, height, self.config.resolution, multiple)
        self.scale = self.size[0] / width  # uniform up to rounding
        self.portrait = portrait
        self.reference = to_pil(cv2.resize(portrait, self.size, interpolation=cv2.INTER_AREA))
        self.body = Body.estimate(face.landmarks)
        self.colour = ColourMatcher(portrait, self.config.colour_match)
        if self.kind == "animate":
            self.face_side = int(self.pipe.transformer.config.motion_encoder_size)
            self._last_crop = face_crop(portrait, face.landmarks, self.face_side)

    def _face_video(self, frames: Sequence[DrivingFrame]) -> list:
        crops = []
        for frame in frames:
            if frame.driving_face is not None:
                self._last_crop = face_crop(frame.driving_image, frame.driving_face.landmarks, self.face_side)
            crops.append(to_pil(self._last_crop))
        return crops

    def render(self, frames: Sequence[DrivingFrame]) -> list[np.ndarray]:
        import torch

        # 1. Pose video (and face crops) at the generation size, padded to a 4k+1 length.
        length = segment_length(len(frames))
        face_dots = self.kind == "vace"
        poses = [to_pil(draw_pose(f.target, self.body, self.size, self.scale, face_dots)) for f in frames]
        poses += [poses[-1]] * (length - len(poses))
        common = {
            "prompt": self.config.prompt,
            "negative_prompt": self.config.negative_prompt,
            "height": self.size[1],
            "width": self.size[0],
            "num_inference_steps": self.config.steps,
            "guidance_scale": self.guidance,
            "generator": torch.Generator("cpu").manual_seed(self.config.seed),
            "output_type": "np",
            "max_sequence_length": self.config.max_sequence_length,
        }
        # 2. One model call per segment.
        if self.kind == "animate":
            faces = self._face_video(frames)
            faces += [faces[-1]] * (length - len(faces))
            video = self.pipe(
                image=self.reference,
                pose_video=poses,
                face_video=faces,
                segment_frame_length=length,
                mode="animate",
                **common,
            ).frames[0]
        else:
            white = to_pil(np.full((self.size[1], self.size[0]), 255, np.uint8))
            video = self.pipe(
                video=poses,
                mask=[white] * length,
                reference_images=[self.reference],
                num_frames=length,
                **common,
            ).frames[0]
        # 3. Back to the portrait's size and colours.
        height, width = self.portrait.shape[:2]
        outputs = []
        for image in np.asarray(video)[: len(frames)]:
            outputs.append(self.colour.apply(from_unit(image, (width, height))))
        return outputs

    def close(self) -> None:
        pass
