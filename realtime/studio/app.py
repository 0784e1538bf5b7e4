"""The studio page: four tabs on one work folder, served on the local machine only unless told otherwise.

Import this module only after :func:`prepare_environment` (the web framework reads its upload folder and
analytics switch from the environment when it is imported).
"""

from __future__ import annotations

import os

from realtime.studio.workspace import StudioConfig, Workspace

CACHE_SWEEP = (600, 3600)  # every 10 minutes, drop cached previews/uploads older than an hour


def prepare_environment(workspace: Workspace) -> None:
    """Uploads into the work folder, no analytics (the studio is local and may have no internet)."""
    os.environ["GRADIO_TEMP_DIR"] = str(workspace.uploads)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def build_app(workspace: Workspace):
    import gradio as gr

    from realtime.studio import ui_animate, ui_edit, ui_live, ui_rerender
    from realtime.studio.commands import Jobs
    from realtime.studio.editor import Editor
    from realtime.studio.live import LiveRunner

    editor = Editor(workspace)
    runner = LiveRunner(workspace)
    with gr.Blocks(title="LivePuppet Studio", delete_cache=CACHE_SWEEP, analytics_enabled=False) as app:
        gr.Markdown(f"## LivePuppet Studio\nEverything is saved in `{workspace.root}`.")
        with gr.Tabs():
            with gr.Tab("Animate", id="animate"):
                ui_animate.build(workspace, Jobs())
            with gr.Tab("Edit", id="edit"):
                ui_edit.build(editor)
            with gr.Tab("Live", id="live"):
                ui_live.build(runner, editor)
            with gr.Tab("Rerender", id="rerender"):
                ui_rerender.build(workspace)
    app.studio_runner = runner  # stopped by launch's caller (ends a running live session)
    app.studio_workspace = workspace
    return app


def launch(config: StudioConfig, block: bool = True):
    """Build and serve the studio; returns (app, local URL). ``block`` waits until Ctrl-C."""
    from engines.blas import limit_blas_threads

    workspace = Workspace(config)
    prepare_environment(workspace)
    # As in the live loop: OpenBLAS's spinning workers made each preview wait on descheduled threads (on
    # 2 busy cores most of a warp frame went to sched_yield); one thread serves an interactive page better.
    limit_blas_threads(1)
    app = build_app(workspace)
    app.queue(default_concurrency_limit=1)
    _, url, _ = app.launch(
        server_name=config.host,
        server_port=config.port,
        share=False,
        inbrowser=config.open_browser,
        max_file_size=f"{config.max_upload_mb}mb",
        allowed_paths=[str(workspace.outputs), str(workspace.examples)],
        prevent_thread_lock=not block,
        ssr_mode=False,
        mcp_server=False,
        run_history=False,  # the page would keep every preview (inline JPEGs) in localStorage
        quiet=not block,
    )
    return app, url
