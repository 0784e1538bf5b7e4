"""The `livepuppet` command. Each subcommand lives in its own module exposing
``register(subparsers)``; this file only assembles them and turns every predictable failure into one line
on stderr instead of a traceback:

* :class:`engines.base.LivePuppetError` (bad input, refused output) -> exit 2;
* a bad option (argparse) -> exit 2, one line naming the option and pointing at ``--help``;
* Ctrl-C -> exit 130; SIGTERM and SIGHUP are handled the same way (exit 143 / 129), so a killed render
  keeps the old output and its playable part (see :mod:`realtime.outputs`);
* an OSError that escaped (a full disk, a vanished folder) -> exit 1 with the path.

Notes attached to the exception (``exc.add_note``: "out.mp4 is untouched; the 40 frames written so far are
in out.partial.mp4") are printed on the same line. Only the standard library is imported before ``main``
runs, so even a Ctrl-C during start-up ends in one line.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading

# OpenCV's own warnings (e.g. every camera index it fails to open) would bury our one-line messages.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

# Modules that add subcommands, in the order `--help` lists them. A module missing here is a bug.
COMMAND_MODULES = (
    "realtime.commands.demo",
    "realtime.commands.render",
    "realtime.commands.batch",
    "realtime.commands.live",
    "realtime.commands.cameras",
    "realtime.commands.edit",
    "realtime.commands.voice",
    "realtime.commands.models",
    "realtime.commands.studio",
    "export.commands",
)
# Signals that stop a command the way Ctrl-C does (SIGHUP: the terminal closed; SIGTERM: `kill`, `timeout`).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread like Ctrl-C's KeyboardInterrupt (so every ``except
    KeyboardInterrupt`` that stops cleanly covers it too)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad option is one line (``livepuppet render: error: argument --size: ...``) instead
    of the whole usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("livepuppet")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="livepuppet",
        description="Make a single portrait move like you: live from a webcam to a virtual camera, "
        "or offline from a driving video.",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log more detail, including the native libraries' logs"
    )
    parser.add_argument("--version", action="version", version=f"livepuppet {package_version()}")
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


def _raise_stopped(signum, frame) -> None:
    raise Stopped(signum)


def _one_line(exc: BaseException, text: str) -> str:
    """``text`` followed by the exception's notes, on one line."""
    return "; ".join([text, *(str(note) for note in getattr(exc, "__notes__", ()))]).replace("\n", " ")


def _stopped_line(exc: KeyboardInterrupt) -> tuple[str, int]:
    if isinstance(exc, Stopped):
        return _one_line(exc, f"stopped by {signal.Signals(exc.signum).name}"), 128 + exc.signum
    return _one_line(exc, "interrupted"), 130


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: this process's) and return its exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    from engines.openmp import prefer_passive_waiting

    prefer_passive_waiting()  # before anything imports torch
    log_filter = None
    if not ({"-v", "--verbose"} & set(arguments)):
        from realtime.native_logs import filter_native_stderr

        log_filter = filter_native_stderr()  # before anything imports MediaPipe
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {signum: signal.signal(signum, _raise_stopped) for signum in STOP_SIGNALS}
    try:
        return _run(arguments)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if log_filter is not None:
            # The process ends next: keep filtering, as MediaPipe's threads may log while it exits (after a
            # Ctrl-C their graph is still running). Called in-process (tests), put stderr back.
            log_filter.drain() if argv is None else log_filter.stop()


def _run(arguments: list[str]) -> int:
    name = "livepuppet"
    try:
        from engines.base import LivePuppetError

        parser = build_parser()
        args = parser.parse_args(arguments)
        name = f"livepuppet {args.command}" if args.command else name
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
        )
        if not getattr(args, "handler", None):
            parser.print_help()
            return 1
        try:
            return int(args.handler(args) or 0)
        except LivePuppetError as exc:
            print(f"{name}: error: {_one_line(exc, str(exc))}", file=sys.stderr)
            return 2
    except KeyboardInterrupt as exc:
        line, code = _stopped_line(exc)
        print(f"{name}: {line}", file=sys.stderr)
        return code
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"{name}: error: {_one_line(exc, (exc.strerror or str(exc)) + where)}", file=sys.stderr)
        return 1
    except MemoryError as exc:
        print(f"{name}: error: {_one_line(exc, 'out of memory; try a smaller --size')}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
