"""Animate: a portrait driven by an uploaded video (``livepuppet render``) or by the built-in motion
script (``livepuppet demo``'s), with progress and cancel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from realtime.outputs import partial_path
from realtime.studio.commands import Cancelled, CancelToken, cli_args
from realtime.studio.workspace import Workspace

ProgressCallback = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class AnimateRequest:
    portrait: str | None  # upload path
    driving: str | None  # upload path; None: the built-in motion script
    engine: str = "warp"
    weights: str | None = None  # a folder name under the workspace's models
    size: int | None = None  # longest output side; None: the portrait's own
    smooth: float = 0.0
    audio: str | None = None  # upload path: speech drives the mouth and becomes the sound track
    max_frames: int | None = None
    body: str = "off"  # upper-body motion: off, on or auto (the CLI's --body)


@dataclass(frozen=True, slots=True)
class AnimateResult:
    video: Path | None  # None when nothing was written
    lines: tuple[str, ...]  # what the CLI prints for the same render


def engine_argv(workspace: Workspace, engine: str, weights: str | None) -> list[str]:
    argv = ["--engine", engine]
    folder = workspace.model_folder(weights)
    return argv + (["--weights", str(folder)] if folder else [])


def animate(
    workspace: Workspace,
    request: AnimateRequest,
    token: CancelToken,
    progress: ProgressCallback | None = None,
) -> AnimateResult:
    """Render ``request`` into a new mp4 under the work folder. Cancelling keeps the frames so far."""
    portrait = workspace.accept(request.portrait, "image", "portrait")
    out = workspace.output("animate", ".mp4")
    written = [0]

    def on_frame(done: int, total: int | None) -> None:
        written[0] = done
        if progress is not None:
            progress(done, total)
        token.check()

    try:
        if request.driving is None:
            lines = _demo_motion(workspace, request, portrait, out, on_frame)
        else:
            lines = _driven(workspace, request, portrait, out, on_frame)
    except Cancelled:
        kept = partial_path(out)  # the writer keeps a cut-short render there, when it is playable
        if written[0] == 0 or not kept.is_file():
            return AnimateResult(None, ("cancelled before the first frame",))
        return AnimateResult(kept, (f"cancelled: kept the first {written[0]} frames in {kept.name}",))
    return AnimateResult(out, tuple(lines))


def _driven(workspace, request: AnimateRequest, portrait: Path, out: Path, on_frame) -> list[str]:
    from realtime.commands.render import check_paths, motion_modifiers, render_request
    from realtime.offline import render_video

    driving = workspace.accept(request.driving, "video", "driving video")
    argv = ["render", "--source", portrait, "--driving", driving, "--out", out, "--no-progress"]
    argv += engine_argv(workspace, request.engine, request.weights) + ["--smooth", request.smooth]
    argv += ["--body", request.body]
    if request.size:
        argv += ["--size", request.size]
    if request.max_frames:
        argv += ["--max-frames", request.max_frames]
    if request.audio:
        argv += ["--audio", workspace.accept(request.audio, "audio", "speech audio")]
    args = cli_args(*argv)
    check_paths(args)
    summary = render_video(render_request(args), modifiers=motion_modifiers(args), on_frame=on_frame)
    return summary.lines()


def _demo_motion(workspace, request: AnimateRequest, portrait: Path, out: Path, on_frame) -> list[str]:
    import time

    from engines.base import create_engine
    from realtime.body_motion import body_tracking_wanted
    from realtime.commands.arguments import engine_options
    from realtime.commands.demo import DEMO_FPS, render_script
    from realtime.offline import load_portrait
    from realtime.outputs import VIDEO_SUFFIXES, check_output

    argv = [
        "demo",
        "--out",
        out,
        "--body",
        request.body,
        *engine_argv(workspace, request.engine, request.weights),
    ]
    if request.size:
        argv += ["--size", request.size]
    if request.max_frames:
        argv += ["--seconds", request.max_frames / DEMO_FPS]
    args = cli_args(*argv)
    output = check_output(args.out, suffixes=VIDEO_SUFFIXES)  # as `demo` checks its --out
    image, face = load_portrait(portrait, args.size)
    engine = create_engine(args.engine, engine_options(args, args.size))
    started = time.perf_counter()
    try:
        body = body_tracking_wanted(args.body, image)
        writer = render_script(image, face, engine, output, args.seconds, body=body, on_frame=on_frame)
    finally:
        engine.close()
    seconds = time.perf_counter() - started
    return [
        f"wrote {out.name}",
        f"{writer.frames_written} frames in {seconds:.1f} s ({writer.frames_written / seconds:.1f} frames/s)",
    ]
