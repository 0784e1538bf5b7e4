"""`livepuppet demo`: the bundled portrait (scikit-image's public-domain astronaut photo) performing the
built-in motion script (nod, turn, blink, talk, smile). Needs no download and no webcam."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from engines.base import LivePuppetError
from realtime.commands.arguments import (
    add_body_argument, add_engine_arguments, engine_options, image_size, positive_float,
)
from realtime.outputs import VIDEO_SUFFIXES, check_output, output_path
from realtime.demo_script import DURATION

DEMO_FPS = 25.0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="animate a bundled portrait with a built-in motion script (no webcam, no download)",
        description="Render the bundled portrait (the public-domain astronaut photo shipped with scikit-image) "
        "nodding, turning, blinking, talking and smiling, and write it to an mp4.",
    )
    parser.add_argument(
        "--out",
        type=output_path,
        default=Path("demo.mp4"),
        metavar="OUT.mp4",
        help=f"the video to write ({', '.join(VIDEO_SUFFIXES)}) (default: %(default)s)",
    )
    add_engine_arguments(parser)
    parser.add_argument(
        "--seconds",
        type=positive_float,
        default=DURATION,
        metavar="N",
        help="length of the video; the script is %(default)s s, shorter cuts it, longer loops it",
    )
    parser.add_argument(
        "--size",
        type=image_size,
        metavar="N",
        help="longest side of the output, at most 8192 (default: 512, the portrait's own)",
    )
    add_body_argument(parser, default="auto")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from skimage import data

    from engines.base import create_engine
    from engines.images import fit_longest_side
    from realtime.body_motion import body_tracking_wanted
    from realtime.tracker import find_portrait_face

    output = check_output(args.out, suffixes=VIDEO_SUFFIXES)
    portrait = data.astronaut()  # (512, 512, 3) uint8, bundled with scikit-image
    if args.size:
        portrait = fit_longest_side(portrait, args.size)
    face = find_portrait_face(portrait, name="the bundled astronaut portrait")
    body = body_tracking_wanted(args.body, portrait)
    engine = create_engine(args.engine, engine_options(args, args.size))
    started = time.perf_counter()
    try:
        writer = render_script(portrait, face, engine, output, args.seconds, body=body)
    finally:
        engine.close()
    seconds = time.perf_counter() - started
    print(f"wrote {args.out.resolve()}")
    print(f"{writer.frames_written} frames ({writer.duration:.1f} s of video) in {seconds:.1f} s")
    return 0


def render_script(portrait, face, engine, output: Path, seconds: float, body: bool = False, on_frame=None):
    """The built-in motion script performed by ``portrait`` (RGB uint8) with ``face``, rendered by ``engine``
    into the video ``output`` (already checked); returns the closed :class:`~realtime.video_io.VideoWriter`.
    ``on_frame(frames written, total)`` runs after each frame (it may raise to stop early)."""
    from engines.landmarks import neutral_points
    from realtime.demo_script import script_motions
    from realtime.offline import FrameRenderer
    from realtime.video_io import VideoWriter

    state = engine.prepare(portrait, face)
    renderer = FrameRenderer(engine, state)
    height, width = state.image.shape[:2]
    total = round(seconds * DEMO_FPS)
    with VideoWriter(output, (width, height), DEMO_FPS) as writer:
        for timestamp, motion in script_motions(neutral_points(face.landmarks), DEMO_FPS, seconds, body=body):
            writer.write(renderer.render(motion, timestamp), timestamp)
            if on_frame is not None:
                on_frame(writer.frames_written, total)
        if renderer.failures == writer.frames_written:
            writer.abandon(keep_partial=False)
            raise LivePuppetError(f"the {engine.name} engine failed on every frame; see the warnings above")
    return writer
