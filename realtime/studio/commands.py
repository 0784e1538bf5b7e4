"""The studio speaks to the pipeline through the CLI's own commands: every action becomes the argument list
of a ``livepuppet`` subcommand, parsed by the CLI's parser (same options, defaults and checks), then handed
to that command's functions. Also the cancel token that render jobs poll between frames."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import threading

from engines.base import LivePuppetError

RERENDER_MODULE = "realtime.commands.rerender"


def cli_args(*argv: object) -> argparse.Namespace:
    """``livepuppet ARGV...`` parsed by the CLI's parser; a bad value is a one-line error, not an exit."""
    from realtime.cli import build_parser

    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return build_parser().parse_args([str(part) for part in argv])
    except SystemExit:
        lines = [line for line in errors.getvalue().strip().splitlines() if line]
        raise LivePuppetError(lines[-1] if lines else "invalid settings") from None


def rerender_commands():
    """The diffusion/video re-render modes' command module, or None when this build lacks them."""
    try:
        return importlib.import_module(RERENDER_MODULE)
    except ImportError:
        return None


class Cancelled(LivePuppetError):
    """The user pressed Cancel."""


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


class Jobs:
    """One cancel token per browser session (the page's Cancel stops that session's render)."""

    def __init__(self) -> None:
        self._tokens: dict[str, CancelToken] = {}
        self._lock = threading.Lock()

    def start(self, session: str) -> CancelToken:
        with self._lock:
            token = self._tokens[session] = CancelToken()
            return token

    def cancel(self, session: str) -> bool:
        with self._lock:
            token = self._tokens.pop(session, None)
        if token is not None:
            token.cancel()
        return token is not None

    def finish(self, session: str, token: CancelToken) -> None:
        with self._lock:
            if self._tokens.get(session) is token:
                del self._tokens[session]
