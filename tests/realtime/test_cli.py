import cv2
import numpy as np
import pytest

from realtime.cli import main
from realtime.video_io import VideoReader


def test_help_lists_render_and_demo(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "render" in text and "demo" in text


def test_render_help_documents_the_options(capsys):
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    text = capsys.readouterr().out
    for option in ("--source", "--driving", "--out", "--engine", "--size", "--smooth", "--timeline", "--audio",
                   "--mode", "--weights", "--runtime"):  # fmt: skip
        assert option in text


def test_render_source_without_face_is_one_line(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((120, 160, 3), 200, np.uint8))
    driving = tmp_path / "driving.mp4"
    driving.write_bytes(b"")  # never opened: the source is checked first
    code = main(
        ["render", "--source", str(blank), "--driving", str(driving), "--out", str(tmp_path / "o.mp4")]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "blank.png" in err and "frontal" in err


def test_render_missing_driving_video_is_one_line(tmp_path, capsys):
    source = tmp_path / "face.png"
    cv2.imwrite(str(source), np.zeros((8, 8, 3), np.uint8))
    code = main(
        ["render", "--source", str(source), "--driving", str(tmp_path / "nope.mp4"), "--out", "o.mp4"]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "nope.mp4" in err


def test_render_rejects_bad_option_values(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["render", "--source", "a.png", "--driving", "b.mp4", "--out", "c.mp4", "--smooth", "3"])
    assert exit_.value.code == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_demo_writes_a_video_and_says_where(tmp_path, capsys):
    output = tmp_path / "demo.mp4"
    assert main(["demo", "--out", str(output), "--seconds", "1.2"]) == 0
    assert str(output.resolve()) in capsys.readouterr().out
    with VideoReader(output) as reader:
        assert reader.size == (512, 512)
        frames = [frame.image for frame in reader]
    assert len(frames) == 30
    # The portrait moves: the script nods from 0.6 s on.
    difference = np.abs(frames[0].astype(int) - frames[-1]).mean()
    assert difference > 1.0


def _inputs(tmp_path):
    source, driving = tmp_path / "face.png", tmp_path / "drive.mp4"
    cv2.imwrite(str(source), np.zeros((8, 8, 3), np.uint8))
    driving.write_bytes(b"")
    return ["--source", str(source), "--driving", str(driving), "--out", str(tmp_path / "o.mp4")]


def test_render_bad_timeline_is_one_line(tmp_path, capsys):
    pytest.importorskip("engines.timeline")
    code = main(["render", *_inputs(tmp_path), "--timeline", str(tmp_path / "moves.json")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "moves.json" in err


def test_render_offline_modes_are_handed_to_their_runner(tmp_path, monkeypatch):
    offline = pytest.importorskip("realtime.commands.rerender")
    calls = []
    monkeypatch.setattr(offline, "run_render", lambda args: calls.append((args.mode, args.source)) or 0)
    assert main(["render", *_inputs(tmp_path), "--mode", "video"]) == 0
    assert calls == [("video", tmp_path / "face.png")]
