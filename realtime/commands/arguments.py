"""Command-line pieces shared by the subcommands: argument types, and the engine options every command
that renders takes (--engine, --weights, --runtime, --device, --precision)."""

from __future__ import annotations

import argparse
from pathlib import Path

from engines.base import EngineOptions


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def unit_float(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


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
