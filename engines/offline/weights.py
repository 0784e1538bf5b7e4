"""The offline modes' weights: what each folder must hold, where to get it, and how pipelines are placed.

Nothing is ever downloaded. Before loading anything, :func:`check_weights` looks at the folders the user
gave and raises one :class:`LivePuppetError` that names every missing file or sub-folder and the Hugging Face
repositories that provide them (as text, for the user to fetch, e.g. with ``huggingface-cli download REPO
--local-dir DIR``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engines.base import LivePuppetError

log = logging.getLogger(__name__)

DIFFUSERS_WEIGHTS = ("diffusion_pytorch_model*.safetensors", "diffusion_pytorch_model*.bin")
TRANSFORMERS_WEIGHTS = ("model*.safetensors", "pytorch_model*.bin")
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "spiece.model")


@dataclass(frozen=True, slots=True)
class Part:
    """One thing a weights folder must hold: ``label`` for messages, any ``patterns`` glob present."""

    label: str
    patterns: tuple[str, ...]

    def present(self, folder: Path) -> bool:
        return any(next(folder.glob(pattern), None) is not None for pattern in self.patterns)


def _model(sub: str, weights: tuple[str, ...], config: str = "config.json") -> tuple[Part, ...]:
    prefix = f"{sub}/" if sub else ""
    return (
        Part(f"{prefix}{config}", (f"{prefix}{config}",)),
        Part(f"{prefix}{weights[0].replace('*', '')} (or sharded/.bin)", tuple(prefix + w for w in weights)),
    )


def _tokenizer(sub: str) -> tuple[Part, ...]:
    return (
        Part(
            f"{sub}/ (tokenizer.json, vocab.json or spiece.model)",
            tuple(f"{sub}/{f}" for f in TOKENIZER_FILES),
        ),
    )


@dataclass(frozen=True, slots=True)
class WeightSpec:
    """What one command-line folder option must point at."""

    what: str  # human name, e.g. "Stable Diffusion 1.5 (diffusers format)"
    repos: tuple[str, ...]  # Hugging Face repositories that have it in this layout
    parts: tuple[Part, ...]

    def missing(self, folder: Path) -> list[str]:
        return [part.label for part in self.parts if not part.present(folder)]


SD15 = WeightSpec(
    "Stable Diffusion 1.5 pipeline (diffusers format; any SD-1.5 fine-tune in that layout works)",
    ("stable-diffusion-v1-5/stable-diffusion-v1-5",),
    (
        Part("model_index.json", ("model_index.json",)),
        *_model("unet", DIFFUSERS_WEIGHTS),
        *_model("vae", DIFFUSERS_WEIGHTS),
        *_model("text_encoder", TRANSFORMERS_WEIGHTS),
        *_tokenizer("tokenizer"),
        Part("scheduler/scheduler_config.json", ("scheduler/scheduler_config.json",)),
    ),
)
CONTROLNET = WeightSpec(
    "MediaPipe-face ControlNet for SD 1.5 (the repository's diffusion_sd15/ folder, or the repository)",
    ("CrucibleAI/ControlNetMediaPipeFace",),
    _model("", DIFFUSERS_WEIGHTS),
)
MOTION_ADAPTER = WeightSpec(
    "AnimateDiff motion adapter for SD 1.5",
    ("guoyww/animatediff-motion-adapter-v1-5-3",),
    _model("", DIFFUSERS_WEIGHTS),
)
LCM_LORA = WeightSpec(
    "LCM-LoRA for SD 1.5",
    ("latent-consistency/lcm-lora-sdv1-5",),
    (Part("pytorch_lora_weights.safetensors", ("*.safetensors",)),),
)


def ip_adapter_spec(weight_name: str) -> WeightSpec:
    return WeightSpec(
        f"IP-Adapter for SD 1.5 ({weight_name} and its CLIP image encoder)",
        ("h94/IP-Adapter",),
        (
            Part(f"models/{weight_name}", (f"models/{weight_name}",)),
            *_model("models/image_encoder", TRANSFORMERS_WEIGHTS),
        ),
    )


_WAN_COMMON = (
    Part("model_index.json", ("model_index.json",)),
    *_model("transformer", DIFFUSERS_WEIGHTS),
    *_model("vae", DIFFUSERS_WEIGHTS),
    *_model("text_encoder", TRANSFORMERS_WEIGHTS),
    *_tokenizer("tokenizer"),
    Part("scheduler/scheduler_config.json", ("scheduler/scheduler_config.json",)),
)
WAN_ANIMATE = WeightSpec(
    "Wan2.2-Animate 14B (diffusers format)",
    ("Wan-AI/Wan2.2-Animate-14B-Diffusers",),
    (
        *_WAN_COMMON,
        *_model("image_encoder", TRANSFORMERS_WEIGHTS),
        Part("image_processor/preprocessor_config.json", ("image_processor/preprocessor_config.json",)),
    ),
)
WAN_VACE = WeightSpec(
    "Wan2.1-VACE (diffusers format; 1.3B for consumer GPUs, 14B for quality)",
    ("Wan-AI/Wan2.1-VACE-1.3B-diffusers", "Wan-AI/Wan2.1-VACE-14B-diffusers"),
    _WAN_COMMON,
)
# An unrecognised --model folder for the video mode: say what either model needs.
WAN_EITHER = WeightSpec(
    "Wan2.2-Animate or Wan2.1-VACE pipeline (diffusers format; the list is Wan-Animate's, VACE lacks "
    "image_encoder/ and image_processor/)",
    WAN_ANIMATE.repos + WAN_VACE.repos,
    WAN_ANIMATE.parts,
)


def check_weights(needed: list[tuple[str, WeightSpec, Path | None]]) -> None:
    """``needed`` is (option, spec, folder or None). Raises one error listing every problem, else returns."""
    problems = []
    for option, spec, folder in needed:
        where = f"get it from https://huggingface.co/{' or https://huggingface.co/'.join(spec.repos)}"
        if folder is None:
            problems.append(f"{option} DIR is required: the {spec.what}; {where}")
        elif not Path(folder).is_dir():
            problems.append(f"{option} {folder} is not a folder: it must hold the {spec.what}; {where}")
        else:
            missing = spec.missing(Path(folder))
            if missing:
                problems.append(f"{option} {folder} lacks {', '.join(missing)} (the {spec.what}); {where}")
    if problems:
        raise LivePuppetError("missing weights: " + " | ".join(problems))


def controlnet_folder(folder: Path) -> Path:
    """CrucibleAI's repository keeps the SD-1.5 diffusers ControlNet in ``diffusion_sd15/``: accept both."""
    nested = Path(folder) / "diffusion_sd15"
    return nested if (nested / "config.json").is_file() else Path(folder)


def pipeline_class_name(folder: Path) -> str | None:
    """The ``_class_name`` in a pipeline folder's ``model_index.json`` (None when unreadable)."""
    try:
        return json.loads((Path(folder) / "model_index.json").read_text())["_class_name"]
    except (OSError, ValueError, KeyError):
        return None


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    """Where and how the pipelines run (memory options)."""

    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "fp16", "bf16"] = "auto"  # auto: fp16 on CUDA, fp32 on CPU
    offload: Literal["none", "model", "sequential"] = "none"  # CPU offload of idle parts (CUDA only)
    attention_slicing: bool = False
    vae_tiling: bool = False

    def resolved_device(self) -> str:
        import torch

        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cuda" and not torch.cuda.is_available():
            raise LivePuppetError("--device cuda was asked for but torch sees no CUDA GPU")
        return self.device

    def dtype(self):
        import torch

        device = self.resolved_device()
        precision = self.precision if self.precision != "auto" else ("fp16" if device == "cuda" else "fp32")
        if precision == "fp16" and device == "cpu":
            raise LivePuppetError("--precision fp16 needs a GPU; use fp32 or bf16 on the CPU")
        return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]

    def place(self, pipe) -> None:
        """Move ``pipe`` to the device, or set up CPU offload; apply slicing/tiling."""
        device = self.resolved_device()
        if self.offload != "none":
            if device != "cuda":
                raise LivePuppetError("--offload moves idle model parts off the GPU: it needs a CUDA GPU")
            if self.offload == "model":
                pipe.enable_model_cpu_offload()
            else:
                pipe.enable_sequential_cpu_offload()
        else:
            pipe.to(device)
        if self.attention_slicing:
            try:
                pipe.enable_attention_slicing()
            except (AttributeError, NotImplementedError, ValueError) as exc:
                log.warning("attention slicing is not available for %s (%s)", type(pipe).__name__, exc)
        if self.vae_tiling:
            vae = getattr(pipe, "vae", None)
            if vae is not None and hasattr(vae, "enable_tiling"):
                vae.enable_tiling()
        pipe.set_progress_bar_config(disable=True)
