"""`livepuppet render`: drive a portrait with a video file and write an mp4."""

from __future__ import annotations

import argparse
import importlib
import logging
from pathlib import Path

from engines.base import LivePuppetError
from realtime.commands.arguments import add_engine_arguments, engine_options, positive_int, unit_float

log = logging.getLogger(__name__)

MODES = ("engine", "diffusion", "video")
OFFLINE_MODES_MODULE = "engines.offline.commands"




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
    parser.add_argument("--out", required=True, type=Path, metavar="OUT.mp4", help="the mp4 file to write")
    add_engine_arguments(parser)
    parser.add_argument(
        "--size",
        type=positive_int,
        metavar="N",
        help="longest side of the output in pixels (default: the portrait's own size, at most 2048)",
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
        help="expression keyframes (JSON: times -> smile, blink, yaw, ...; see engines/timeline.py) added on top of the driving motion",
    )
    parser.add_argument(
        "--audio",
        type=Path,
        metavar="FILE",
        help="speech audio that drives the mouth; it also becomes the output's sound track",
    )
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


def motion_modifiers(args: argparse.Namespace) -> list:
    """The motion modifiers asked for on the command line: --timeline, then --audio (speech mouth)."""
    from engines.timeline import Timeline
    from realtime.audio import AudioMouth

    modifiers = []
    if args.timeline is not None:
        modifiers.append(Timeline.load(args.timeline))
    if args.audio is not None:
        modifiers.append(AudioMouth.from_file(args.audio))
    return modifiers


def run(args: argparse.Namespace) -> int:
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
    """The :class:`realtime.offline.RenderRequest` of engine-mode arguments (inputs checked to exist)."""
    from realtime.offline import RenderRequest

    for path, what in ((args.source, "source image"), (args.driving, "driving video")):
        if not path.is_file():
            raise LivePuppetError(f"{what} not found: {path}")
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
    )
