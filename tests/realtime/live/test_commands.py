"""`livepuppet live` and `livepuppet cameras` through the real CLI."""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np
import pytest

from realtime.cli import main
from realtime.video_io import VideoReader


class FakeCapture:
    """cv2.VideoCapture stand-in: index 0 exists and grants MJPG 640x480 and 1280x720 at 30 fps only."""

    GRANTABLE: ClassVar[set[tuple[int, int]]] = {(640, 480), (1280, 720)}

    def __init__(self, index, api=None):
        self.index = index
        self.props = {cv2.CAP_PROP_FRAME_WIDTH: 640, cv2.CAP_PROP_FRAME_HEIGHT: 480, cv2.CAP_PROP_FPS: 30.0}
        self.props[cv2.CAP_PROP_FOURCC] = cv2.VideoWriter_fourcc(*"YUYV")

    def isOpened(self):
        return self.index == 0

    def set(self, prop, value):
        self.props.setdefault("asked", {})[prop] = value
        asked = self.props["asked"]
        size = (int(asked.get(cv2.CAP_PROP_FRAME_WIDTH, 640)), int(asked.get(cv2.CAP_PROP_FRAME_HEIGHT, 480)))
        if size in self.GRANTABLE:
            self.props[cv2.CAP_PROP_FRAME_WIDTH], self.props[cv2.CAP_PROP_FRAME_HEIGHT] = size
        if prop == cv2.CAP_PROP_FOURCC and value == cv2.VideoWriter_fourcc(*"MJPG"):
            self.props[cv2.CAP_PROP_FOURCC] = value
        return True

    def get(self, prop):
        return float(self.props.get(prop, 0.0))

    def read(self):
        return True, np.zeros((int(self.get(4)), int(self.get(3)), 3), np.uint8)

    def getBackendName(self):
        return "FAKE"

    def release(self):
        pass


def test_cameras_lists_the_camera_and_the_modes_it_grants(monkeypatch, capsys):
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    assert main(["cameras", "--max-index", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("camera 0: 640x480 @ 30 fps, YUYV")
    modes = [line.strip() for line in out[1:]]
    assert modes == [
        f"{size} @ 30 fps, {fourcc} (FAKE)" for fourcc in ("MJPG", "YUYV") for size in ("640x480", "1280x720")
    ]


def test_cameras_says_when_there_is_none(monkeypatch, capsys):
    monkeypatch.setattr(cv2, "VideoCapture", lambda *a: FakeCapture(99))
    assert main(["cameras", "--max-index", "2", "--no-modes"]) == 1
    assert "no camera found" in capsys.readouterr().out


def test_live_rejects_loop_without_a_driving_video(tmp_path, capsys):
    source = tmp_path / "me.jpg"
    source.write_bytes(b"x")
    assert main(["live", "--source", str(source), "--loop", "--record", str(tmp_path / "o.mp4")]) == 2
    assert "--loop" in capsys.readouterr().err


def test_live_missing_camera_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    source = tmp_path / "me.jpg"
    source.write_bytes(b"x")
    assert main(["live", "--source", str(source), "--camera", "5", "--record", str(tmp_path / "o.mp4")]) == 2
    err = capsys.readouterr().err
    assert "camera 5" in err and "livepuppet cameras" in err and len(err.strip().splitlines()) == 1


@pytest.mark.data
def test_live_from_a_driving_video_records_the_warp_engine_output(data_dir, tmp_path):
    out = tmp_path / "live.mp4"
    argv = [
        "live", "--source", str(data_dir / "source" / "s42.jpg"),
        "--driving", str(data_dir / "driving" / "d10.mp4"),
        "--record", str(out), "--render-size", "256", "--duration", "3",
    ]  # fmt: skip
    assert main(argv) == 0
    with VideoReader(out) as reader:
        frames = list(reader)
        fps = reader.fps
    assert fps == pytest.approx(30.0) and frames[0].image.shape == (256, 256, 3)
    assert len(frames) >= 30  # fed at the output rate for most of the 3 s (loose: shared machine)
    # the portrait moves: later frames differ from the neutral first frame
    assert max(np.abs(f.image.astype(int) - frames[0].image).mean() for f in frames[-20:]) > 1.0
