"""The Edit tab: ``livepuppet edit``'s parameters as sliders, with a preview that follows the drag."""

from __future__ import annotations

import gradio as gr

from engines.base import LivePuppetError
from engines.expressions import RANGES, ExpressionParams
from realtime.commands.edit import HELP
from realtime.studio.editor import Editor
from realtime.studio.ui_common import engine_pickers, portrait_input, preview_html

LABELS = {"pupil_x": "gaze x", "pupil_y": "gaze y", "look_at_camera": "look at camera"}
HELP_TEXT = {**HELP, "look_at_camera": "turn the eyes to the camera, 0..1"}


def build(editor: Editor) -> None:
    names = ExpressionParams.names()
    with gr.Row():
        with gr.Column(scale=1):
            portrait = portrait_input(editor.workspace, "edit-portrait")
            engine, weights = engine_pickers(editor.workspace)
        with gr.Column(scale=1):
            sliders = []
            for name in names:
                low, high = RANGES[name]
                step = 0.5 if high > 1 else 0.01
                sliders.append(
                    gr.Slider(
                        low,
                        high,
                        value=0.0,
                        step=step,
                        label=LABELS.get(name, name),
                        info=HELP_TEXT[name],
                        elem_id=f"edit-{name}",
                    )
                )
            reset = gr.Button("Reset sliders")
        with gr.Column(scale=1):
            preview = gr.HTML(preview_html(None), label="Preview", elem_id="edit-preview")
            status = gr.Textbox(label="Status", interactive=False, elem_id="edit-status")
            with gr.Row():
                save = gr.Button("Save still", elem_id="edit-save")
                still = gr.File(label="Still", interactive=False)
            with gr.Row():
                when = gr.Number(value=0.0, minimum=0, label="Keyframe time (s)")
                keyframe = gr.Button("Add timeline keyframe")
            timeline = gr.Code(label="timeline.json (for --timeline)", language="json", interactive=False)
            with gr.Row():
                preset_name = gr.Textbox(label="Preset name", placeholder="e.g. my smile")
                preset = gr.Button("Save as live preset")

    def params(values) -> ExpressionParams:
        return editor.params(dict(zip(names, values)))

    # The preview event carries only the sliders (and a server-side state naming the prepared portrait):
    # the fewer components an event touches, the less the page redraws per slider step.
    selected = gr.State(None)  # (portrait, engine, weights) once prepared without error

    def prepare(portrait, engine, weights, *values):
        if not portrait:
            return None, preview_html(None), ""
        try:
            frame = editor.prepared(portrait, engine, weights).render(params(values))
        except LivePuppetError as exc:
            return None, preview_html(None), f"error: {exc}"
        return (portrait, engine, weights), preview_html(frame), ""

    def show(selection, *values):
        if selection is None:
            return preview_html(None)
        try:
            return preview_html(editor.prepared(*selection).render(params(values)))
        except LivePuppetError as exc:
            return preview_html(None, f"error: {exc}")

    gr.on(
        [slider.input for slider in sliders],
        show,
        [selected, *sliders],
        preview,
        trigger_mode="always_last",
        show_progress="hidden",
        queue=False,
        api_name="preview",
        concurrency_limit=1,
        concurrency_id="edit-preview",
    )
    gr.on(
        [portrait.change, engine.change, weights.change],
        prepare,
        [portrait, engine, weights, *sliders],
        [selected, preview, status],
        show_progress="minimal",
        api_name="prepare",
        concurrency_limit=1,
        concurrency_id="edit-preview",
    )
    reset.click(lambda: [0.0] * len(sliders), None, sliders, api_name=False).then(
        show, [selected, *sliders], preview, api_name=False
    )

    def save_still(selection, *values):
        if selection is None:
            return None, "error: no portrait: upload one first"
        try:
            path = editor.save_still(editor.prepared(*selection).render(params(values)))
        except LivePuppetError as exc:
            return None, f"error: {exc}"
        return str(path), f"saved {path.name}"

    save.click(save_still, [selected, *sliders], [still, status], api_name="save_still")

    def add_keyframe(t, *values):
        try:
            path, text = editor.add_keyframe(float(t or 0.0), params(values))
        except LivePuppetError as exc:
            return gr.skip(), f"error: {exc}"
        return text, f"keyframe at {float(t or 0):g} s added to {path}"

    keyframe.click(add_keyframe, [when, *sliders], [timeline, status], api_name="keyframe")

    def save_preset(name, *values):
        try:
            saved = editor.save_preset(name, params(values))
        except LivePuppetError as exc:
            return f"error: {exc}"
        return f"preset {name.strip()!r} saved ({len(saved)} in the Live tab's list)"

    preset.click(save_preset, [preset_name, *sliders], status, api_name="save_preset")
