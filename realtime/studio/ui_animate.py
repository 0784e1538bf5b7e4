"""The Animate tab: portrait + driving video (or the built-in motion) -> a video that plays in the page."""

from __future__ import annotations

import time

import gradio as gr

from engines.base import LivePuppetError
from realtime.commands.arguments import BODY_MODES
from realtime.studio.animate import AnimateRequest, animate
from realtime.studio.commands import Jobs
from realtime.studio.ui_common import ENGINES, engine_pickers, portrait_input
from realtime.studio.workspace import AUDIO_SUFFIXES, VIDEO_SUFFIXES, Workspace

PROGRESS_SECONDS = 0.2  # progress bar updates at most this often


def build(workspace: Workspace, jobs: Jobs) -> None:
    with gr.Row():
        with gr.Column():
            portrait = portrait_input(workspace, "animate-portrait")
            driving = gr.File(
                label="Driving video (leave empty for the built-in demo motion)",
                file_types=list(VIDEO_SUFFIXES),
                elem_id="animate-driving",
                height=140,
            )
            with gr.Accordion("Options", open=False, elem_id="animate-options"):
                engine, weights = engine_pickers(workspace)
                size = gr.Slider(0, 2048, value=0, step=16, label="Size (longest side; 0 = the portrait's)")
                smooth = gr.Slider(0, 1, value=0, step=0.05, label="Smoothing of the driving motion")
                body = gr.Radio(list(BODY_MODES), value="off", label="Upper body follows the driver")
                audio = gr.File(
                    label="Speech audio (drives the mouth)", file_types=list(AUDIO_SUFFIXES), height=120
                )
                max_frames = gr.Number(
                    value=0,
                    precision=0,
                    minimum=0,
                    label="Max frames (0 = all)",
                    elem_id="animate-max-frames",
                )
        with gr.Column():
            with gr.Row():
                render = gr.Button("Render", variant="primary", elem_id="animate-render")
                cancel = gr.Button("Cancel", variant="stop", elem_id="animate-cancel")
            result = gr.Video(label="Result", elem_id="animate-result", buttons=["download"], autoplay=False)
            status = gr.Textbox(label="Status", lines=3, interactive=False, elem_id="animate-status")

    def run(portrait, driving, engine, weights, size, smooth, audio, max_frames, body, request: gr.Request,
            progress=gr.Progress()):  # noqa: B008  (gradio's way to ask for a progress bar)  # fmt: skip
        token = jobs.start(request.session_hash)
        progress(0, desc="preparing")

        shown = [0.0]

        def report(done: int, total: int | None) -> None:
            now = time.monotonic()
            if now - shown[0] >= PROGRESS_SECONDS or done == total:  # the bar needs no more than this
                shown[0] = now
                progress((done, total), unit="frames", desc="rendering")

        try:
            outcome = animate(
                workspace,
                AnimateRequest(
                    portrait=portrait, driving=driving, engine=engine or ENGINES[0], weights=weights,
                    size=int(size) or None, smooth=float(smooth), audio=audio,
                    max_frames=int(max_frames or 0) or None, body=body or "off",
                ),
                token,
                report,
            )  # fmt: skip
        except LivePuppetError as exc:
            return None, f"error: {exc}"
        finally:
            jobs.finish(request.session_hash, token)
        return (str(outcome.video) if outcome.video else None), "\n".join(outcome.lines)

    render.click(
        run,
        [portrait, driving, engine, weights, size, smooth, audio, max_frames, body],
        [result, status],
        api_name="animate",
        concurrency_limit=1,
        concurrency_id="render",
    )

    def stop(request: gr.Request) -> str:
        return "cancelling…" if jobs.cancel(request.session_hash) else "nothing is rendering"

    cancel.click(stop, None, status, api_name="cancel", queue=False)
