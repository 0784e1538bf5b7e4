"""The `livepuppet` command. Each subcommand lives in its own module exposing
``register(subparsers)``; this file only assembles them and turns predictable failures
(:class:`engines.base.LivePuppetError`) into one-line messages instead of tracebacks."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# OpenCV's own warnings (e.g. every camera index it fails to open) would bury our one-line messages.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

from engines.base import LivePuppetError  # noqa: E402

# Modules that add subcommands, in the order `--help` lists them. A module missing here is a bug.
COMMAND_MODULES = (
    "realtime.commands.demo",
    "realtime.commands.render",
    "realtime.commands.live",
    "realtime.commands.cameras",
    "realtime.commands.edit",
    "realtime.commands.studio",
    "engines.liveportrait.commands",
    "export.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="livepuppet",
        description="Make a single portrait move like you: live from a webcam to a virtual camera, "
        "or offline from a driving video.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside an existing module
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "handler", None):
        parser.print_help()
        return 1
    try:
        return int(args.handler(args) or 0)
    except LivePuppetError as exc:
        print(f"livepuppet {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"livepuppet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
