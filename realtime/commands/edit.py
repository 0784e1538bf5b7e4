"""`livepuppet edit`: change the expression of a still portrait (head angles, eyes, gaze, mouth, smile).

    livepuppet edit --source portrait.jpg --smile 0.6 --yaw 10 --out smiling.png

The portrait's own face is the neutral (``Motion.identity``); the parameters of
:class:`engines.expressions.ExpressionParams` are added to it and the engine renders one frame.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from engines.base import LivePuppetError, Motion, create_engine
from realtime.commands.arguments import add_engine_arguments, engine_options, finite_float, image_size
from realtime.outputs import IMAGE_SUFFIXES, check_inputs, check_output, output_path, write_bytes_atomic
from engines.expressions import RANGES, ExpressionParams, apply_expression

log = logging.getLogger(__name__)

HELP = {
    "pitch": "head nod in degrees; > 0 turns the nose down",
    "yaw": "head turn in degrees; > 0 turns the nose towards the image's left",
    "roll": "head tilt in degrees; > 0 turns the face clockwise on screen",
    "blink": "1 closes both eyes; < 0 opens them wider",
    "wink": "closes one eye: > 0 the one on the image's right, < 0 the one on the left",
    "eyebrow": "> 0 raises the brows, < 0 lowers them (frown)",
    "pupil_x": "gaze: > 0 looks towards the image's right",
    "pupil_y": "gaze: > 0 looks down",
    "aaa": "open jaw, 'aah'",
    "eee": "wide flat mouth, 'eee'",
    "woo": "rounded lips, 'ooh'",
    "smile": "> 0 smiles, < 0 turns the mouth corners down",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "edit",
        help="edit the expression of a still portrait",
        description="Change the head angle, eyes, gaze, mouth or smile of a still portrait and save the "
        "result. Every parameter is 0 (unchanged) unless given.",
    )
    parser.add_argument("--source", type=Path, required=True, metavar="IMAGE", help="the portrait to edit")
    parser.add_argument("--out", type=output_path, required=True, metavar="IMAGE",
                        help=f"output image ({', '.join(IMAGE_SUFFIXES)})")  # fmt: skip
    parser.add_argument("--size", type=image_size, metavar="N", help="longest side of the output in pixels (max 8192)")
    add_engine_arguments(parser)
    sliders = parser.add_argument_group("expression parameters")
    for name, text in HELP.items():
        low, high = RANGES[name]
        sliders.add_argument(f"--{name.replace('_', '-')}", dest=name, type=finite_float, default=0.0,
                             metavar="V", help=f"{text} ({low:g}..{high:g})")  # fmt: skip
    sliders.add_argument("--look-at-camera", dest="look_at_camera", action="store_const", const=1.0,
                         default=0.0, help="turn the eyes to the camera")  # fmt: skip
    parser.set_defaults(handler=run)


def params_from_args(args: argparse.Namespace) -> ExpressionParams:
    values = {name: float(getattr(args, name)) for name in ExpressionParams.names()}
    for name, value in values.items():
        low, high = RANGES[name]
        if not (low <= value <= high) or not np.isfinite(value):
            raise LivePuppetError(
                f"--{name.replace('_', '-')} {value:g} is outside its range {low:g}..{high:g}"
            )
    return ExpressionParams(**values)


def edit_image(image: np.ndarray, face, params: ExpressionParams, engine) -> np.ndarray:
    """The portrait ``image`` (RGB uint8) with its face edited by ``params``, rendered by ``engine``."""
    return render_edit(engine, engine.prepare(image, face), params)


def neutral_motion(state) -> Motion:
    """The motion that renders the prepared portrait ``state`` as it is (its own face is the neutral)."""
    from engines.landmarks import neutral_points

    return Motion.identity(neutral_points(state.face.landmarks))


def render_edit(engine, state, params: ExpressionParams, neutral: Motion | None = None) -> np.ndarray:
    """One frame of the prepared portrait ``state`` with its own face edited by ``params``. Passing the same
    ``neutral`` (:func:`neutral_motion`) for every edit of one portrait reuses its face rig (~15 ms)."""
    return engine.render(state, apply_expression(neutral or neutral_motion(state), params))


def save_image(output: Path, frame: np.ndarray) -> None:
    """Write ``frame`` (RGB uint8) to the checked path ``output`` (the format follows its suffix), atomically."""
    import cv2

    encoded, data = cv2.imencode(output.suffix, cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
    if not encoded:
        raise LivePuppetError(f"cannot encode the edited image as {output.suffix}")
    write_bytes_atomic(output, data.tobytes())


def run(args: argparse.Namespace) -> int:
    from realtime.offline import load_portrait

    params = params_from_args(args)
    output = check_output(args.out, check_inputs({"source image": args.source}), suffixes=IMAGE_SUFFIXES)
    if args.engine != "warp" and any(
        getattr(params, name) for name in ExpressionParams.names() if name not in ("pitch", "yaw", "roll")
    ):
        log.warning("the %s engine may apply only the head angles of this edit (it does not read landmark "
                    "expressions)", args.engine)  # fmt: skip
    image, face = load_portrait(args.source, args.size)
    engine = create_engine(args.engine, engine_options(args, args.size))
    try:
        frame = edit_image(image, face, params, engine)
    finally:
        engine.close()
    save_image(output, frame)
    log.info("wrote %s (%dx%d)", args.out, frame.shape[1], frame.shape[0])
    return 0
