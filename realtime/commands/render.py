"""`livepuppet render`: drive a portrait with a video file and write an mp4."""

from __future__ import annotations

import argparse
import importlib
import logging
from pathlib import Path

from engines.base import LivePuppetError
from realtime.commands.arguments import (
    add_body_argument, add_engine_arguments, engine_options, image_size, positive_int, unit_float,
)
from realtime.outputs import VIDEO_SUFFIXES, check_inputs, check_output, output_path

log = logging.getLogger(__name__)

MODES = ("engine", "diffusion", "video")
OFFLINE_MODES_MODULE = "realtime.commands.rerender"


def _offline_modes():
    """The offline diffusion/video modes module, or None when this build does not have it."""
    try:
        return importlib.import_module(OFFLINE_MODES_MODULE)
    except ImportError as exc:
        if not (
            isinstance(exc, ModuleNotFoundError) and exc.name and OFFLINE_MODES_MODULE.startswith(exc.name)
        ):
            log.warning("the offline diffusion modes cannot be loaded: %s", exc)
        return None


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "render",
        help="drive a portrait with a video file and write an mp4",
        description="Animate the face in a portrait with the head motion and expressions of a driving video. "
        "Writes an H.264 mp4 at the driving video's frame rate, keeping its audio.",
        epilog="example: livepuppet render --source me.jpg --driving talk.mp4 --out me_talking.mp4",
    )
    parser.add_argument(
        "--source",
        required=True,
        type=Path,
        metavar="IMG",
        help="the portrait to animate (jpg/png/webp/tiff...; one clearly visible face)",
    )
    parser.add_argument(
        "--driving",
        required=True,
        type=Path,
        metavar="VIDEO",
        help="the video whose face motion drives the portrait (mp4/mov/webm/mkv...)",
    )
    parser.add_argument(
        "--out",
        required=True,
        type=output_path,
        metavar="OUT.mp4",
        help=f"the video to write ({', '.join(VIDEO_SUFFIXES)}); an existing file is replaced only when the "
        "render succeeds, a stopped render keeps its frames in OUT.partial.mp4",
    )
    add_engine_arguments(parser)
    parser.add_argument(
        "--size",
        type=image_size,
        metavar="N",
        help="longest side of the output in pixels, at most 8192 (default: the portrait's own size, at most "
        "2048)",
    )
    parser.add_argument(
        "--smooth",
        type=unit_float,
        default=0.0,
        metavar="S",
        help="smoothing of the driving motion, 0 (off) to 1 (strong); helps a jittery "
        "driving video (default: %(default)s)",
    )
    parser.add_argument(
        "--timeline",
        type=Path,
        metavar="FILE",
        help="expression keyframes (JSON or YAML: times -> smile, blink, yaw, ...; see engines/timeline.py) "
        "added on top of the driving motion",
    )
    parser.add_argument(
        "--audio",
        type=Path,
        metavar="FILE",
        help="speech audio that drives the mouth; it also becomes the output's sound track",
    )
    parser.add_argument(
        "--voice", type=Path, metavar="FILE", help="voice templates for --audio (from `livepuppet voice calibrate`)"
    )
    add_body_argument(parser)
    parser.add_argument("--max-frames", type=positive_int, metavar="N", help="render only the first N frames")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    offline = _offline_modes()
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="engine",
        help="'engine' renders with --engine; 'diffusion' and 'video' re-render with offline "
        "diffusion models (GPU recommended; see their options below) (default: %(default)s)",
    )
    if offline is not None:
        offline.add_render_arguments(parser)
    parser.set_defaults(handler=run)


def voice_templates(path: Path | None):
    """The --voice templates, or None (the package's defaults)."""
    from realtime.audio.visemes import VoiceTemplates

    return VoiceTemplates.load(path) if path is not None else None


def motion_modifiers(args: argparse.Namespace) -> list:
    """The motion modifiers asked for on the command line: --timeline, then --audio (speech mouth)."""
    from engines.timeline import Timeline
    from realtime.audio import AudioMouth

    modifiers = []
    if args.timeline is not None:
        modifiers.append(Timeline.load(args.timeline))
    if args.audio is not None:
        modifiers.append(AudioMouth.from_file(args.audio, templates=voice_templates(args.voice)))
    return modifiers


def check_paths(args: argparse.Namespace) -> Path:
    """Every input exists and --out can be written without losing any of them; the path to write. Runs
    before any work starts, for every --mode."""
    inputs = check_inputs({"source image": args.source, "driving video": args.driving, "--audio": args.audio,
                           "--timeline": args.timeline, "--voice": args.voice})  # fmt: skip
    return check_output(args.out, inputs, suffixes=VIDEO_SUFFIXES)


def run(args: argparse.Namespace) -> int:
    check_paths(args)
    if args.mode != "engine":
        offline = _offline_modes()
        if offline is None:
            raise LivePuppetError(
                f"--mode {args.mode} needs the offline diffusion modes, which this build lacks"
            )
        return int(offline.run_render(args) or 0)

    from realtime.offline import render_video

    summary = render_video(render_request(args), modifiers=motion_modifiers(args))
    for line in summary.lines():
        print(line)
    return 0


def render_request(args: argparse.Namespace):
    """The :class:`realtime.offline.RenderRequest` of engine-mode arguments (after :func:`check_paths`)."""
    from realtime.offline import RenderRequest

    return RenderRequest(
        source=args.source,
        driving=args.driving,
        output=args.out,
        engine=args.engine,
        engine_options=engine_options(args, args.size),
        size=args.size,
        smoothing=args.smooth,
        audio=args.audio,
        max_frames=args.max_frames,
        progress=args.progress,
        body=args.body,
    )
