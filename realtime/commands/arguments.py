"""Command-line pieces shared by the subcommands: argument types, and the engine options every command
that renders takes (--engine, --weights, --runtime, --device, --precision)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from engines.base import EngineOptions


# The largest image side any command accepts: OpenCV's resize stops at 32767, x264 at 16384, and a 8192 px
# portrait is already 200 MB per float frame.
MAX_SIZE = 8192
MAX_FPS = 240.0


def _number(text: str, kind: type) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {'a whole number' if kind is int else 'a number'}, got {text!r}"
        ) from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def positive_int(text: str) -> int:
    value = _number(text, int)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def image_size(text: str) -> int:
    """A side length in pixels: 1 .. MAX_SIZE."""
    value = _number(text, int)
    if not 1 <= value <= MAX_SIZE:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_SIZE} pixels, got {text}")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def frame_rate(text: str) -> float:
    value = _number(text, float)
    if not 0 < value <= MAX_FPS:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most {MAX_FPS:g} frames/s, got {text}")
    return value


def unit_float(text: str) -> float:
    value = _number(text, float)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def finite_float(text: str) -> float:
    return _number(text, float)


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("engine")
    group.add_argument(
        "--engine",
        default="warp",
        help="renderer: 'warp' (no weights, fast on a CPU) or 'liveportrait' (neural, needs --weights) "
        "(default: %(default)s)",
    )
    group.add_argument("--weights", type=Path, metavar="DIR", help="model weights folder (neural engine)")
    group.add_argument(
        "--runtime",
        default="torch",
        choices=("torch", "onnx", "trt", "auto"),
        help="inference runtime of the neural engine; auto picks TensorRT, then onnxruntime-CUDA, then torch "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where the neural engine runs: CUDA when present unless told (default: %(default)s)",
    )
    group.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "fp16", "bf16"),
        help="model precision: fp16 on CUDA as the official app, bf16 on CPUs with bf16 units; auto is fp32 "
        "for the neural engine and fp16 on CUDA for the diffusion/video modes (default: %(default)s)",
    )


def engine_options(args: argparse.Namespace, output_size: int | None = None) -> EngineOptions:
    return EngineOptions(
        weights=args.weights,
        device=args.device,
        runtime=args.runtime,
        precision="fp32" if args.precision == "auto" else args.precision,
        output_size=output_size,
    )


BODY_MODES = ("on", "off", "auto")


def add_body_argument(parser: argparse.ArgumentParser, default: str = "off") -> None:
    parser.add_argument(
        "--body",
        choices=BODY_MODES,
        default=default,
        help="upper-body motion: the portrait's shoulders, torso and arms follow the driver's; auto turns it "
        "on when the portrait shows both shoulders (default: %(default)s)",
    )
