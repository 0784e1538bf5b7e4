"""`livepuppet studio`: a local web app (Gradio) for everything the CLI does."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from engines.base import LivePuppetError
from realtime.commands.arguments import positive_int

DEFAULT_WORKDIR = Path("~/LivePuppetStudio")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "studio",
        help="open the studio: a local web app to animate, edit, go live and re-render",
        description="Serve the LivePuppet Studio on this machine and open it in the default browser. It "
        "listens on 127.0.0.1 only unless --host says otherwise and never shares a public link.",
        epilog="example: livepuppet studio",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=positive_int, default=7860, help="port (default: %(default)s)")
    parser.add_argument("--no-browser", dest="browser", action="store_false", help="do not open a browser")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        metavar="DIR",
        help="the one folder everything is written to (default: %(default)s)",
    )
    parser.add_argument(
        "--models",
        type=Path,
        metavar="DIR",
        help="folder whose subfolders the page offers as weights (default: WORKDIR/models)",
    )
    parser.add_argument(
        "--max-upload-mb",
        type=positive_int,
        default=200,
        metavar="N",
        help="upload size limit (default: 200)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("gradio") is None:
        raise LivePuppetError('the studio needs gradio: pip install "livepuppet[studio]"')
    from realtime.studio.app import launch
    from realtime.studio.workspace import StudioConfig

    config = StudioConfig(
        workdir=args.workdir, models=args.models, host=args.host, port=args.port,
        open_browser=args.browser, max_upload_mb=args.max_upload_mb,
    )  # fmt: skip
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: the studio listens on {args.host}: other machines on that network can use it")
    app, _ = launch(config, block=True)
    app.studio_runner.stop()
    return 0
