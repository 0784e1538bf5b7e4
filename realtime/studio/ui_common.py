"""Inputs several tabs share: the portrait picker and the engine pickers."""

from __future__ import annotations

import gradio as gr

from realtime.studio.workspace import Workspace

ENGINES = ("warp", "liveportrait")


def portrait_input(workspace: Workspace, elem_id: str) -> gr.Image:
    """An image input (upload, webcam snapshot, clipboard) with the bundled portrait as an example."""
    image = gr.Image(
        label="Portrait",
        type="filepath",
        sources=["upload", "webcam", "clipboard"],
        elem_id=elem_id,
        height=320,
    )
    gr.Examples([[str(workspace.example_portrait())]], inputs=[image], label="Bundled portrait")
    return image


def engine_pickers(workspace: Workspace) -> tuple[gr.Dropdown, gr.Dropdown]:
    """The engine and, for the neural one, its weights folder (one of the work folder's models)."""
    engine = gr.Dropdown(list(ENGINES), value=ENGINES[0], label="Engine")
    weights = gr.Dropdown(
        [None, *workspace.model_folders()],
        value=None,
        label=f"Weights folder (neural engine; folders in {workspace.models})",
    )
    return engine, weights
