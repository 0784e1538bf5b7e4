"""The Live tab: camera (or a video standing in), virtual camera, presets, and a preview in the page."""

from __future__ import annotations

import gradio as gr

from engines.base import LivePuppetError
from realtime.presets import LOOK_AT_CAMERA_KEY, RELEASE_KEY
from realtime.studio.editor import Editor
from realtime.studio.live import VIDEO_AS_CAMERA, LiveRequest, LiveRunner, camera_choices, presets_for_buttons
from realtime.studio.ui_common import engine_pickers, portrait_input, preview_html
from realtime.studio.workspace import VIDEO_SUFFIXES

PREVIEW_SECONDS = 0.25  # how often the page polls the preview


def build(runner: LiveRunner, editor: Editor) -> None:
    with gr.Row():
        with gr.Column():
            portrait = portrait_input(runner.workspace, "live-portrait")
            with gr.Row():
                camera = gr.Dropdown([VIDEO_AS_CAMERA], value=VIDEO_AS_CAMERA, label="Camera", scale=3)
                refresh = gr.Button("Find cameras", scale=1, elem_id="live-find-cameras")
            cameras_note = gr.Markdown("", elem_id="live-cameras-note")
            driving = gr.File(
                label="Video standing in for the camera",
                file_types=list(VIDEO_SUFFIXES),
                elem_id="live-driving",
            )
            with gr.Accordion("Options", open=False, elem_id="live-options"):
                engine, weights = engine_pickers(runner.workspace)
                smooth = gr.Slider(0, 1, value=0.3, step=0.05, label="Smoothing")
                with gr.Row():
                    vcam = gr.Checkbox(False, label="Virtual camera", elem_id="live-vcam")
                    window = gr.Checkbox(False, label="Preview window (OpenCV)")
                    mirror = gr.Checkbox(True, label="Mirror the preview")
                    mic = gr.Checkbox(False, label="Mic lip sync")
        with gr.Column():
            preview = gr.HTML(preview_html(None, "The preview shows here once live."), elem_id="live-preview")
            readout = gr.Textbox(label="Status", lines=2, interactive=False, elem_id="live-readout")
            with gr.Row():
                start = gr.Button("Start", variant="primary", elem_id="live-start")
                stop = gr.Button("Stop", variant="stop", elem_id="live-stop")
                recalibrate = gr.Button("Recalibrate")
            gr.Markdown("Presets (click again to release)")
            with gr.Row():
                buttons = [
                    (gr.Button(label, size="sm", elem_id=f"live-preset-{key}"), key)
                    for label, key in presets_for_buttons({})
                ]
                buttons += [(gr.Button("0 release", size="sm"), RELEASE_KEY)]
                buttons += [(gr.Button("g look at camera", size="sm"), LOOK_AT_CAMERA_KEY)]
            with gr.Row():
                saved = gr.Dropdown([], label="Presets saved in Edit", scale=3)
                play_saved = gr.Button("Play", scale=1)
    timer = gr.Timer(PREVIEW_SECONDS, active=False)

    def find_cameras():
        labels, note = camera_choices()
        return gr.Dropdown(choices=labels, value=labels[0]), note

    refresh.click(find_cameras, None, [camera, cameras_note], api_name="cameras")

    def begin(portrait, camera, driving, engine, weights, smooth, vcam, window, mirror, mic):
        request = LiveRequest(
            portrait=portrait, camera=camera, driving=driving, engine=engine, weights=weights,
            smooth=float(smooth), vcam=bool(vcam), window=bool(window), mirror=bool(mirror), mic=bool(mic),
        )  # fmt: skip
        try:
            message = runner.start(request, editor.presets())
        except LivePuppetError as exc:
            return f"error: {exc}", gr.Timer(active=False)
        return message, gr.Timer(active=True)

    start.click(
        begin,
        [portrait, camera, driving, engine, weights, smooth, vcam, window, mirror, mic],
        [readout, timer],
        api_name="live_start",
    )

    def tick():
        frame = runner.preview()
        # Inline pictures: a file per poll would pile up in the upload cache during a long session.
        shown = preview_html(frame) if frame is not None else gr.skip()
        return shown, runner.readout(), gr.Timer(active=runner.running)

    timer.tick(tick, None, [preview, readout, timer], show_progress="hidden", api_name="live_status")
    stop.click(lambda: (runner.stop(), runner.readout())[1], None, readout, api_name="live_stop")
    recalibrate.click(runner.recalibrate, None, None, api_name="live_recalibrate")
    for button, key in buttons:
        button.click(lambda key=key: runner.preset(key), None, None, api_name=False)

    def list_saved():
        return gr.Dropdown(choices=list(editor.presets()))

    saved.focus(list_saved, None, saved, api_name=False)
    play_saved.click(
        lambda name: runner.preset(f"user:{name}") if name else None, saved, None, api_name=False
    )
