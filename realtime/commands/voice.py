"""`livepuppet voice calibrate`: record your own vowels for the speech-driven mouth (``--voice FILE``)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "voice",
        help="tune the speech-driven mouth to your voice",
        description="Tools for the speech-driven mouth (render --audio, live --mic).",
    )
    commands = parser.add_subparsers(dest="voice_command", metavar="COMMAND", required=True)
    calibrate = commands.add_parser(
        "calibrate",
        help="record your A / I / U / E / O and silence; save templates for --voice",
        description="Prompts for a long 'aah', 'ee', 'oo', 'eh', 'oh' and a quiet moment, a few seconds each, "
        "and saves voice templates that `render --audio ... --voice FILE` and `live --mic --voice FILE` use.",
        epilog="example: livepuppet voice calibrate --mic 0 --out my_voice.json",
    )
    calibrate.add_argument(
        "--mic", nargs="?", const="", default="", metavar="DEVICE",
        help="microphone: a PortAudio device index or part of its name (default: the default input)",
    )  # fmt: skip
    calibrate.add_argument(
        "--from-file", type=Path, metavar="AUDIO",
        help="use a recording of the six takes in the prompt order instead of the microphone",
    )  # fmt: skip
    calibrate.add_argument(
        "--out", type=Path, default=Path("voice.json"), help="where to save (default: %(default)s)"
    )
    calibrate.add_argument(
        "--seconds", type=float, default=2.5, help="length of each take (default: %(default)s)"
    )
    calibrate.set_defaults(handler=run_calibrate)


def _prompt(viseme: str, text: str) -> None:
    print(f"\n>>> {viseme}: {text} ... now", flush=True)


def run_calibrate(args: argparse.Namespace) -> int:
    from engines.base import LivePuppetError
    from realtime.audio.calibrate import CalibrationConfig, record_takes, templates_from_takes

    if args.seconds < 1.0:
        raise LivePuppetError("--seconds must be at least 1")
    config = CalibrationConfig(take_s=args.seconds)
    if args.from_file is not None:
        from realtime.audio.source import FileAudioSource

        source = FileAudioSource(args.from_file)
        config = CalibrationConfig(take_s=args.seconds, no_audio_timeout_s=0.0)
        origin = f"voice calibration from {args.from_file.name}"
    else:
        from realtime.audio.mic import MicAudioSource

        device = None if args.mic == "" else int(args.mic) if args.mic.isdigit() else args.mic
        source = MicAudioSource(device, buffer_seconds=2 * (args.seconds + config.settle_s))
        origin = "voice calibration from the microphone"
        print(f"Each sound: start when prompted and hold it for {args.seconds:g} s.")
    try:
        takes = record_takes(source, _prompt, config)
    finally:
        source.close()
    templates = templates_from_takes(takes, origin)
    templates.save(args.out)
    print(f"saved {args.out}; use it with --voice {args.out}")
    return 0
