"""`livepuppet live`: the portrait follows your face in real time, into a virtual camera, a preview
window and/or a recording."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from engines.base import LivePuppetError
from realtime.commands.arguments import (
    MAX_SIZE,
    add_body_argument,
    add_engine_arguments,
    engine_options,
    frame_rate,
    image_size,
    non_negative_int,
    positive_float,
    unit_float,
)
from realtime.outputs import VIDEO_SUFFIXES, check_inputs, check_output, output_path

log = logging.getLogger(__name__)


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}") from None
    if not (0 < width <= MAX_SIZE and 0 < height <= MAX_SIZE):
        raise argparse.ArgumentTypeError(f"each side must be between 1 and {MAX_SIZE} pixels, got {text!r}")
    return width, height


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "live",
        help="drive the portrait live from a webcam into a virtual camera / preview window",
        description="The portrait moves with your face in real time. Output goes to a virtual camera (for "
        "video calls and OBS), a preview window and/or a recording; with none of --vcam/--preview/--record "
        "both the virtual camera and the preview are used. Preview hotkeys: C recalibrate the neutral "
        "face, P pause/hold, M mirror the preview, Q or Esc quit, 1-9 expression presets (0 releases), "
        "G look at the camera.",
        epilog="example: livepuppet live --source me.jpg --vcam --preview",
    )
    add = parser.add_argument
    add("--source", required=True, type=Path, metavar="IMG", help="the portrait to animate")
    driving = parser.add_mutually_exclusive_group()
    driving.add_argument(
        "--camera",
        type=non_negative_int,
        default=0,
        metavar="INDEX",
        help="webcam index (see `livepuppet cameras`) (default: %(default)s)",
    )
    driving.add_argument(
        "--driving",
        type=Path,
        metavar="VIDEO",
        help="play this video at its own frame rate instead of using a webcam",
    )
    add("--loop", action="store_true", help="with --driving: start the video over at its end")
    add("--vcam", action="store_true", help="send the output to a virtual camera")
    add("--vcam-device", metavar="NAME", help="a specific virtual camera (e.g. /dev/video10)")
    add("--preview", action="store_true", help="show a preview window (mirrored; M toggles)")
    add("--no-mirror", dest="mirror", action="store_false", help="start the preview unmirrored")
    add(
        "--no-overlay",
        dest="overlay",
        action="store_false",
        help="no FPS/latency text on the preview (for capturing the window in OBS)",
    )
    add(
        "--record",
        type=output_path,
        metavar="OUT.mp4",
        help=f"also record the output to this video ({', '.join(VIDEO_SUFFIXES)}); an existing file is replaced "
        "only when the recording ends well",
    )
    add_engine_arguments(parser)
    add(
        "--size",
        type=parse_size,
        default=(1280, 720),
        metavar="WxH",
        help="virtual camera frame size; the portrait is centred in it (default: 1280x720)",
    )
    add(
        "--fps",
        type=frame_rate,
        default=30.0,
        metavar="N",
        help="output frame rate, also asked of the webcam (default: %(default)s)",
    )
    add(
        "--render-size",
        type=image_size,
        default=512,
        metavar="N",
        help="longest side the portrait is rendered at, at most 8192 (default: %(default)s)",
    )
    add(
        "--camera-size",
        type=parse_size,
        default=(640, 480),
        metavar="WxH",
        help="resolution asked of the webcam (default: 640x480)",
    )
    add(
        "--smooth",
        type=unit_float,
        default=0.3,
        metavar="S",
        help="smoothing of the tracked motion, 0 (off) to 1 (strong) (default: %(default)s)",
    )
    add(
        "--timeline",
        type=Path,
        metavar="FILE",
        help="expression keyframes (JSON/YAML) played on top of the live motion, from the start",
    )
    add(
        "--mic",
        nargs="?",
        const="",
        default=None,
        metavar="DEVICE",
        help="lip sync from the microphone (optionally a device index or name)",
    )
    add("--voice", type=Path, metavar="FILE", help="voice templates for --mic (from `livepuppet voice calibrate`)")
    add_body_argument(parser)
    add("--duration", type=positive_float, metavar="SECONDS", help="stop after this many seconds")
    parser.set_defaults(handler=run)


def build_sinks(args: argparse.Namespace, controls, fallback: bool = True) -> dict:
    """The sinks the arguments ask for; with none asked and ``fallback``, the virtual camera and preview."""
    from realtime.live import FileSink, PreviewSink, VirtualCameraConfig, VirtualCameraSink

    use_vcam, use_preview = args.vcam, args.preview
    if fallback and not (args.vcam or args.preview or args.record):
        use_vcam = use_preview = True
    sinks = {}
    if use_vcam:
        width, height = args.size
        config = VirtualCameraConfig(width=width, height=height, fps=args.fps, device=args.vcam_device)
        sinks["vcam"] = VirtualCameraSink(config)
    if use_preview:
        sinks["preview"] = PreviewSink(controls, mirror=args.mirror, overlay=args.overlay)
    if args.record:
        sinks["record"] = FileSink(args.record)
    return sinks


def optional_modifiers(args: argparse.Namespace) -> list:
    """The modifiers asked for on the command line, in the order they apply: with --mic, idle head motion
    and blinks (only while no face drives) and the speech mouth; then the --timeline."""
    modifiers = []
    if args.mic is not None:
        from realtime.audio import AudioMouth, IdleMotion

        # "" (plain --mic): the default input; digits: a device index (0 included); else part of a name
        device = None if args.mic == "" else int(args.mic) if args.mic.isdigit() else args.mic
        from realtime.commands.render import voice_templates

        modifiers += [IdleMotion(), AudioMouth.from_mic(device, templates=voice_templates(args.voice))]
    if args.timeline is not None:
        from engines.timeline import Timeline

        modifiers.append(Timeline.load(args.timeline))
    return modifiers


def run(args: argparse.Namespace, modifiers=(), key_handler=None, controls=None, sinks=None) -> int:
    """Run the live loop. ``modifiers`` edit the motion each frame (presets, lip sync); ``key_handler``
    receives the preview's other key presses. By default the number keys trigger the expression presets
    (:class:`realtime.presets.PresetController`), applied after every other modifier. ``controls`` (a
    :class:`realtime.live.LiveControls`) and ``sinks`` (name -> sink, instead of :func:`build_sinks`'s)
    let another front end (the studio) steer the loop and receive its frames."""
    from realtime.live import CameraRequest, LiveConfig, LiveControls
    from realtime.live.session import LiveSession, camera_opener, video_opener
    from realtime.presets import PresetController

    if key_handler is None:
        presets = PresetController()
        modifiers, key_handler = [*modifiers, presets], presets.trigger

    if args.loop and args.driving is None:
        raise LivePuppetError("--loop only applies to --driving VIDEO")
    inputs = check_inputs({"source image": args.source, "--driving": args.driving, "--timeline": args.timeline,
                           "--voice": args.voice})  # fmt: skip
    if args.record is not None:
        args.record = check_output(args.record, inputs, suffixes=VIDEO_SUFFIXES, option="--record")
    if args.driving is not None:
        open_source = video_opener(args.driving, args.loop)
    else:
        width, height = args.camera_size
        open_source = camera_opener(
            CameraRequest(index=args.camera, width=width, height=height, fps=args.fps)
        )
    if controls is None:
        controls = LiveControls(key_handler=key_handler)
    options = engine_options(args, args.render_size)
    extra = optional_modifiers(args)
    if sinks is None:
        sinks = build_sinks(args, controls)
    try:
        with LiveSession(
            portrait=args.source, engine=args.engine, options=options, open_source=open_source,
            sinks=sinks, smoothing=args.smooth, modifiers=[*extra, *modifiers],
            controls=controls, config=LiveConfig(fps=args.fps), body=args.body,
        ) as session:  # fmt: skip
            summary = session.run(args.duration)
    finally:
        for modifier in extra:
            close = getattr(modifier, "close", None)
            if close is not None:
                close()
    log.info(
        "live: %d frames rendered in %.1f s (%.1f FPS), %d dropped at capture, %d render errors",
        summary["rendered"], summary["seconds"], summary["render_fps"], summary["capture_dropped"],
        summary["render_errors"],
    )  # fmt: skip
    check_recording(sinks.get("record"), summary)
    return 0


def check_recording(record, summary: dict) -> None:
    """A recording that could not be opened, failed midway or could not be finished is an error (exit 2),
    even though the live outputs ran."""
    if record is None:
        return
    reason = summary["unavailable_sinks"].get("record") or record.failure
    if not reason and not record.finished:
        reason = f"the recorder did not stop in time; {record.path} was not written"
    if reason:
        raise LivePuppetError(f"the recording failed: {reason}")
