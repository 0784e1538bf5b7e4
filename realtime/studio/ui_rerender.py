"""The Rerender tab: ``livepuppet render --mode diffusion|video`` with its weights folders and main options."""

from __future__ import annotations

import contextlib
import io

import gradio as gr

from engines.base import LivePuppetError
from realtime.studio.commands import cli_args, rerender_commands
from realtime.studio.ui_common import portrait_input
from realtime.studio.workspace import VIDEO_SUFFIXES, Workspace

WEIGHTS = (  # (option, label)
    ("--model", "Model (diffusion: a Stable Diffusion 1.5 folder; video: Wan2.2-Animate / Wan2.1-VACE)"),
    ("--controlnet", "ControlNet (diffusion: the MediaPipe-face ControlNet)"),
    ("--ip-adapter", "IP-Adapter (diffusion: identity)"),
    ("--motion-adapter", "AnimateDiff motion adapter (diffusion, optional)"),
    ("--lcm-lora", "LCM-LoRA (diffusion, optional: few-step sampling)"),
)


def build(workspace: Workspace) -> None:
    if rerender_commands() is None:
        gr.Markdown("This build has no diffusion/video re-render modes.")
        return
    gr.Markdown(
        "Re-render a driven clip with diffusion or a video model (a GPU is strongly recommended). Nothing is "
        f"downloaded: put each weights folder in `{workspace.models}` and press *Refresh folders*; the "
        "README lists which weights each mode needs."
    )
    with gr.Row():
        with gr.Column():
            portrait = portrait_input(workspace, "rerender-portrait")
            driving = gr.File(
                label="Driving video", file_types=list(VIDEO_SUFFIXES), elem_id="rerender-driving", height=140
            )
            mode = gr.Radio(["diffusion", "video"], value="diffusion", label="Mode")
            folders = [gr.Dropdown([None, *workspace.model_folders()], value=None, label=label)
                       for _, label in WEIGHTS]  # fmt: skip
            refresh = gr.Button("Refresh folders")
        with gr.Column():
            prompt = gr.Textbox(label="Prompt (empty: the mode's neutral default)")
            with gr.Row():
                steps = gr.Number(value=0, precision=0, minimum=0, label="Steps (0: default)")
                seed = gr.Number(value=0, precision=0, label="Seed")
                max_frames = gr.Number(value=0, precision=0, minimum=0, label="Max frames (0 = all)")
            strength = gr.Slider(0.05, 1, value=0.45, step=0.05, label="Strength (diffusion)")
            render = gr.Button("Re-render", variant="primary", elem_id="rerender-run")
            result = gr.Video(label="Result", buttons=["download"])
            status = gr.Textbox(label="Status", lines=3, interactive=False, elem_id="rerender-status")

    refresh.click(
        lambda: [gr.Dropdown(choices=[None, *workspace.model_folders()]) for _ in WEIGHTS], None, folders,
        api_name=False,
    )  # fmt: skip

    def run(portrait, driving, mode, prompt, steps, seed, max_frames, strength, *picked,
            progress=gr.Progress(track_tqdm=True)):  # noqa: B008  (gradio's progress bar)  # fmt: skip
        try:
            out = workspace.output(f"rerender-{mode}", ".mp4")
            argv = ["render", "--mode", mode, "--out", out, "--seed", int(seed or 0), "--strength", strength]
            argv += ["--source", workspace.accept(portrait, "image", "portrait")]
            argv += ["--driving", workspace.accept(driving, "video", "driving video")]
            for (option, _), name in zip(WEIGHTS, picked):
                folder = workspace.model_folder(name)
                argv += [option, folder] if folder else []
            argv += ["--prompt", prompt] if prompt else []
            argv += ["--steps", int(steps)] if steps else []
            argv += ["--max-frames", int(max_frames)] if max_frames else []
            args = cli_args(*argv)
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):  # the command prints its summary
                args.handler(args)
        except LivePuppetError as exc:
            return None, f"error: {exc}"
        return str(out), printed.getvalue().strip()

    render.click(
        run,
        [portrait, driving, mode, prompt, steps, seed, max_frames, strength, *folders],
        [result, status],
        api_name="rerender",
        concurrency_limit=1,
        concurrency_id="render",
    )
