"""The studio's pieces without a browser: what the page may hand the server, the CLI parsing, saved
settings, camera labels and cancelling a render."""

from pathlib import Path

import pytest

from engines.base import LivePuppetError
from realtime.studio.workspace import StudioConfig, Workspace


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    return Workspace(StudioConfig(workdir=tmp_path / "work", max_upload_mb=1))


def test_uploads_are_checked_for_place_type_and_size(workspace, tmp_path):
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(b"x")
    with pytest.raises(LivePuppetError, match="must be uploaded through the page"):
        workspace.accept(str(outside), "image", "portrait")
    with pytest.raises(LivePuppetError, match="must be uploaded through the page"):
        workspace.accept(str(workspace.uploads / ".." / ".." / "elsewhere.png"), "image", "portrait")
    text = workspace.uploads / "notes.txt"
    text.write_text("hello")
    with pytest.raises(LivePuppetError, match="is not a video file"):
        workspace.accept(str(text), "video", "driving video")
    big = workspace.uploads / "big.mp4"
    big.write_bytes(b"\0" * (2 * 1024 * 1024))
    with pytest.raises(LivePuppetError, match="is 2 MB; the limit is 1 MB"):
        workspace.accept(str(big), "video", "driving video")
    with pytest.raises(LivePuppetError, match="no portrait"):
        workspace.accept(None, "image", "portrait")
    good = workspace.uploads / "clip.MP4"
    good.write_bytes(b"\0" * 10)
    assert workspace.accept(str(good), "video", "driving video") == good.resolve()


def test_weights_are_picked_by_name_among_the_models_folders(workspace):
    (workspace.models / "liveportrait").mkdir()
    assert workspace.model_folders() == ["liveportrait"]
    assert workspace.model_folder("liveportrait") == workspace.models / "liveportrait"
    assert workspace.model_folder(None) is None
    for name in ("../..", "/etc", "missing"):
        with pytest.raises(LivePuppetError, match="no weights folder"):
            workspace.model_folder(name)


def test_outputs_never_overwrite(workspace):
    first = workspace.output("still", ".png")
    first.write_bytes(b"x")
    second = workspace.output("still", ".png")
    assert first != second and second.parent == workspace.outputs


def test_settings_are_parsed_by_the_cli_parser_with_one_line_errors():
    from realtime.studio.commands import cli_args

    args = cli_args("render", "--source", "a.png", "--driving", "b.mp4", "--out", "c.mp4", "--smooth", 0.5)
    assert args.smooth == 0.5 and args.engine == "warp" and args.handler is not None
    with pytest.raises(LivePuppetError, match="must be between 0 and 1") as raised:
        cli_args("render", "--source", "a.png", "--driving", "b.mp4", "--out", "c.mp4", "--smooth", 3)
    assert "\n" not in str(raised.value)


def test_keyframes_make_a_timeline_the_cli_loads(workspace):
    from engines.expressions import ExpressionParams
    from engines.timeline import Timeline
    from realtime.studio.editor import Editor

    editor = Editor(workspace)
    editor.add_keyframe(1.0, ExpressionParams(smile=0.8))
    path, _ = editor.add_keyframe(0.0, ExpressionParams())
    editor.add_keyframe(1.0, ExpressionParams(smile=0.6, yaw=10))  # replaces the keyframe at 1 s
    timeline = Timeline.load(path)
    assert timeline.params_at(0.0).smile == 0.0
    assert timeline.params_at(1.0).smile == pytest.approx(0.6) and timeline.params_at(2.0).yaw == 10
    with pytest.raises(LivePuppetError, match="0 or more seconds"):
        editor.add_keyframe(-1.0, ExpressionParams())


def test_presets_saved_in_edit_become_live_buttons(workspace):
    from engines.expressions import ExpressionParams
    from realtime.studio.editor import Editor
    from realtime.studio.live import presets_for_buttons

    editor = Editor(workspace)
    saved = editor.save_preset(" grin ", ExpressionParams(smile=1.0, eee=0.4))
    assert saved == {"grin": ExpressionParams(smile=1.0, eee=0.4)}
    assert ("grin", "user:grin") in presets_for_buttons(editor.presets())
    with pytest.raises(LivePuppetError, match="give the preset a name"):
        editor.save_preset("  ", ExpressionParams())


def test_camera_labels_become_the_cli_camera_options():
    from realtime.live.capture import GrantedMode
    from realtime.studio.live import camera_argv

    label = f"camera 2: {GrantedMode(1280, 720, 30.0, 'MJPG', 'V4L2').describe()}"
    assert camera_argv(label) == ["--camera", 2, "--camera-size", "1280x720", "--fps", "30"]
    with pytest.raises(LivePuppetError, match="unknown camera"):
        camera_argv("a webcam")


def test_a_cancelled_render_keeps_a_playable_clip_of_the_frames_so_far(workspace):
    from realtime.studio.animate import AnimateRequest, animate
    from realtime.studio.commands import CancelToken
    from realtime.video_io import VideoReader

    token = CancelToken()

    def progress(done: int, total: int | None) -> None:
        if done == 5:
            token.cancel()

    request = AnimateRequest(portrait=str(workspace.example_portrait()), driving=None, max_frames=50)
    result = animate(workspace, request, token, progress)
    assert result.lines == (f"cancelled: kept the first 5 frames in {Path(result.video).name}",)
    with VideoReader(result.video) as reader:
        assert sum(1 for _ in reader) == 5


def test_the_studio_command_listens_locally_by_default():
    from realtime.cli import build_parser

    args = build_parser().parse_args(["studio"])
    assert (args.host, args.port, args.browser) == ("127.0.0.1", 7860, True)
    assert build_parser().parse_args(["studio", "--no-browser"]).browser is False
