"""What several tabs share: the portrait picker, the engine pickers and the inline preview picture."""

from __future__ import annotations

import base64
import html

import cv2
import gradio as gr
import numpy as np

from realtime.studio.workspace import Workspace

ENGINES = ("warp", "liveportrait")
PREVIEW_QUALITY = (
    80  # JPEG quality of the previews (saved stills are PNG): fewer bytes for the page to take in
)


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


def preview_html(frame: np.ndarray | None, message: str = "Upload a portrait to see it here.") -> str:
    """The preview as an inline JPEG (no file written, no second request: the preview follows a drag)."""
    if frame is None:
        return f'<div class="lp-preview-empty">{html.escape(message)}</div>'
    _, data = cv2.imencode(
        ".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_QUALITY]
    )
    encoded = base64.b64encode(data.tobytes()).decode("ascii")
    return f'<img alt="preview" style="max-width:100%" src="data:image/jpeg;base64,{encoded}">'
