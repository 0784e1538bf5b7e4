"""The offline modes' part of ``livepuppet render``: ``--mode diffusion`` and ``--mode video``.

The render command (realtime/commands/render.py) owns ``--source``, ``--driving``, ``--out``, ``--engine``,
``--size``, ``--smooth``, ``--timeline``, ``--audio``, ``--max-frames`` and ``--no-progress``; it calls
:func:`add_render_arguments` to add the options below and :func:`run_render` when ``--mode`` is not
``engine``. Heavy imports (torch, diffusers) happen only when a render runs.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from engines.base import EngineOptions, LivePuppetError

log = logging.getLogger(__name__)

SCHEDULER_NAMES = ("ddim", "pndm", "euler", "euler-a", "dpm++", "unipc", "lcm")


def add_render_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the diffusion/video options to the render command's parser."""
    weights = parser.add_argument_group(
        "offline modes: weights (--mode diffusion|video; nothing is downloaded, see the README)"
    )
    weights.add_argument(
        "--model",
        type=Path,
        metavar="DIR",
        help="diffusion: a Stable Diffusion 1.5 pipeline folder; video: a Wan2.2-Animate or "
        "Wan2.1-VACE diffusers folder",
    )
    weights.add_argument(
        "--controlnet",
        type=Path,
        metavar="DIR",
        help="diffusion: the MediaPipe-face ControlNet (CrucibleAI/ControlNetMediaPipeFace)",
    )
    weights.add_argument(
        "--ip-adapter",
        type=Path,
        metavar="DIR",
        help="diffusion: an h94/IP-Adapter folder (with models/) for the source's identity",
    )
    weights.add_argument(
        "--ip-adapter-weight",
        default="ip-adapter-plus-face_sd15.safetensors",
        metavar="FILE",
        help="the IP-Adapter file inside models/ (default: %(default)s)",
    )
    weights.add_argument(
        "--motion-adapter",
        type=Path,
        metavar="DIR",
        help="diffusion: an AnimateDiff motion adapter; frames are then generated in windows",
    )
    weights.add_argument(
        "--lcm-lora",
        type=Path,
        metavar="DIR",
        help="diffusion: LCM-LoRA weights for few-step sampling (use with --scheduler lcm; "
        "needs the peft package)",
    )
    sampling = parser.add_argument_group("offline modes: sampling")
    sampling.add_argument("--prompt", help="text prompt (each mode has a neutral default)")
    sampling.add_argument("--negative-prompt", help="negative text prompt")
    sampling.add_argument("--steps", type=int, help="denoising steps (diffusion 20, video 20; lcm: 4-8)")
    sampling.add_argument(
        "--strength",
        type=float,
        default=0.45,
        help="diffusion: how much of the engine frame is redrawn, 0..1 (default: %(default)s)",
    )
    sampling.add_argument(
        "--guidance",
        type=float,
        help="classifier-free guidance (diffusion 5, lcm 1.5, Wan-Animate 1, VACE 5)",
    )
    sampling.add_argument("--controlnet-scale", type=float, default=1.0, help="diffusion: ControlNet weight")
    sampling.add_argument("--ip-adapter-scale", type=float, default=0.6, help="diffusion: identity weight")
    sampling.add_argument(
        "--scheduler",
        choices=SCHEDULER_NAMES,
        help="diffusion sampler (default dpm++; 'lcm' for LCM models/LoRA)",
    )
    sampling.add_argument("--seed", type=int, default=0, help="noise seed, shared by all frames (default: 0)")
    sampling.add_argument(
        "--resolution",
        type=int,
        metavar="PX",
        help="longest side of the generation (diffusion 512, video 832)",
    )
    sampling.add_argument(
        "--window",
        type=int,
        metavar="N",
        help="frames per AnimateDiff window (16) or video segment (77, rounded to 4k+1)",
    )
    sampling.add_argument(
        "--overlap", type=int, metavar="N", help="frames shared by consecutive windows (4 / 8)"
    )
    sampling.add_argument(
        "--colour-match",
        type=float,
        default=1.0,
        metavar="S",
        help="match the source's colours, 0 (off) .. 1 (default: %(default)s)",
    )
    sampling.add_argument(
        "--blend",
        choices=("face", "full"),
        default="face",
        help="diffusion: paste only the regenerated face into the engine frame, or the whole "
        "image (default: %(default)s)",
    )
    # --device and --precision are the shared engine options (realtime.commands.arguments).
    runtime = parser.add_argument_group("offline modes: memory and resuming")
    runtime.add_argument(
        "--offload",
        choices=("none", "model", "sequential"),
        default="none",
        help="CPU offload of idle model parts (CUDA only): 'model' saves memory at little cost, "
        "'sequential' saves most and is slow",
    )
    runtime.add_argument(
        "--attention-slicing", action="store_true", help="compute attention in slices (less memory)"
    )
    runtime.add_argument(
        "--vae-tiling", action="store_true", help="decode in tiles (less memory at large sizes)"
    )
    runtime.add_argument(
        "--work-dir",
        type=Path,
        metavar="DIR",
        help="where finished frames are kept so an interrupted render resumes "
        "(default: OUT.work next to the output)",
    )
    runtime.add_argument(
        "--keep-work", action="store_true", help="keep the frames after the video is written"
    )


def _runtime(args):
    from engines.offline.weights import RuntimeOptions

    return RuntimeOptions(
        device=args.device,
        precision=args.precision,
        offload=args.offload,
        attention_slicing=args.attention_slicing,
        vae_tiling=args.vae_tiling,
    )


def _given(args, **names) -> dict:
    """{field: value} for the options the user set (None means: keep the config's default)."""
    return {
        field: getattr(args, option) for field, option in names.items() if getattr(args, option) is not None
    }


def build_renderer(args):
    """The diffusion or video-model renderer the arguments describe (loads the models)."""
    shared = _given(
        args,
        prompt="prompt",
        negative_prompt="negative_prompt",
        steps="steps",
        guidance="guidance",
        resolution="resolution",
        window="window",
        overlap="overlap",
    )
    shared.update(seed=args.seed, colour_match=args.colour_match)
    if args.mode == "diffusion":
        from engines.offline.diffusion import DiffusionConfig, DiffusionRenderer, DiffusionWeights
        from realtime.rerender.base_frames import BaseFrames

        if args.scheduler == "lcm" or args.lcm_lora is not None:
            shared.setdefault("steps", 6)
            shared.setdefault("guidance", 1.5)
        config = DiffusionConfig(
            scheduler=args.scheduler or ("lcm" if args.lcm_lora else "dpm++"),
            strength=args.strength,
            controlnet_scale=args.controlnet_scale,
            ip_adapter_scale=args.ip_adapter_scale,
            blend=args.blend,
            **shared,
        )
        weights = DiffusionWeights(
            model=args.model,
            controlnet=args.controlnet,
            ip_adapter=args.ip_adapter,
            ip_adapter_weight=args.ip_adapter_weight,
            motion_adapter=args.motion_adapter,
            lcm_lora=args.lcm_lora,
        )
        base = BaseFrames(args.engine, EngineOptions(weights=args.weights, runtime=args.runtime))
        return DiffusionRenderer(weights, config, _runtime(args), base)
    if args.mode == "video":
        from engines.offline.video import VideoConfig, VideoModelRenderer

        return VideoModelRenderer(args.model, VideoConfig(**shared), _runtime(args))
    raise LivePuppetError(f"unknown offline mode {args.mode!r}")


def build_window_renderer(args):
    """Any render's renderer as a WindowRenderer: the offline modes', or ``--engine`` for ``--mode engine``."""
    if args.mode == "engine":
        from realtime.commands.arguments import engine_options
        from realtime.rerender.engine_windows import EngineWindows

        return EngineWindows(args.engine, engine_options(args, args.size))
    return build_renderer(args)


def offline_job(args, segment_frames: int | None = None):
    """The :class:`~realtime.rerender.job.OfflineJob` the render arguments describe."""
    from realtime.commands.render import check_paths
    from realtime.rerender.job import OfflineJob

    check_paths(args)
    return OfflineJob(
        source=Path(args.source),
        driving=Path(args.driving),
        output=Path(args.out),
        work=args.work_dir or Path(args.out).with_suffix(".work"),
        size=args.size,
        smoothing=args.smooth,
        audio=args.audio,
        max_frames=args.max_frames,
        progress=args.progress,
        keep_work=args.keep_work,
        segment_frames=segment_frames,
    )


def run_render(args) -> int:
    """``livepuppet render --mode diffusion|video``: render, print a summary, return the exit code."""
    from realtime.commands.render import motion_modifiers
    from realtime.rerender.job import run_job

    job = offline_job(args)
    modifiers = motion_modifiers(args)
    renderer = build_renderer(args)
    try:
        summary = run_job(job, renderer, modifiers)
    finally:
        renderer.close()
    for line in summary.lines():
        print(line)
    return 0
