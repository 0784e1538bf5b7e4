import time

import numpy as np
import pytest
import pyvirtualcam

from realtime.live.sinks import (
    LINUX_VCAM_FIX,
    FileSink,
    Letterbox,
    LetterboxCanvas,
    VirtualCameraConfig,
    VirtualCameraSink,
    VirtualCameraUnavailable,
    virtual_camera_fix,
)
from realtime.video_io import VideoReader
from tests.realtime.live.fakes import FakeVirtualCamera, MissingVirtualCamera


def halves(width=200, height=300) -> np.ndarray:
    """A portrait-shaped frame, left half red and right half blue."""
    frame = np.zeros((height, width, 3), np.uint8)
    frame[:, : width // 2] = (255, 0, 0)
    frame[:, width // 2 :] = (0, 0, 255)
    return frame


def test_letterbox_centres_and_keeps_the_aspect():
    box = Letterbox.fit((200, 300), (1280, 720))
    assert (box.width, box.height) == (480, 720) and box.x == 400 and box.y == 0
    box = Letterbox.fit((512, 256), (640, 480))
    assert (box.width, box.height) == (640, 320) and (box.x, box.y) == (0, 80)


def test_letterbox_canvas_reuses_its_buffer():
    canvas = LetterboxCanvas((200, 300), (1280, 720))
    first = canvas.draw(halves())
    second = canvas.draw(halves())
    assert first is second and first.shape == (720, 1280, 3)


def test_virtual_camera_gets_rgb_frames_of_its_size_unmirrored_and_paced():
    FakeVirtualCamera.instances.clear()
    pyvirtualcam.register_backend("fake-sink-test", FakeVirtualCamera)
    sink = VirtualCameraSink(VirtualCameraConfig(width=640, height=360, fps=30.0, backend="fake-sink-test"))
    sink.open((200, 300), 30.0)
    assert sink.device == "fake-vcam"
    started = time.perf_counter()
    for k in range(15):
        sink.send(halves(), float(k))
    elapsed = time.perf_counter() - started
    sink.close()
    (camera,) = FakeVirtualCamera.instances
    assert camera.closed and len(camera.times) == 15
    assert camera.fourcc == pyvirtualcam.util.encode_fourcc(pyvirtualcam.PixelFormat.RGB.value)
    frame = camera.frames[0].reshape(360, 640, 3)
    assert (frame[:, :100] == 0).all() and (frame[:, -100:] == 0).all()  # pillarboxed
    assert tuple(frame[180, 250]) == (255, 0, 0) and tuple(frame[180, 390]) == (0, 0, 255)  # not mirrored
    assert elapsed >= 14 / 30 * 0.9  # sleep_until_next_frame paces 30 fps


def test_missing_virtual_camera_driver_gives_one_line_with_the_fix():
    pyvirtualcam.register_backend("missing-sink-test", MissingVirtualCamera)
    sink = VirtualCameraSink(VirtualCameraConfig(backend="missing-sink-test"))
    with pytest.raises(VirtualCameraUnavailable) as caught:
        sink.open((200, 300), 30.0)
    message = str(caught.value)
    assert "\n" not in message and "v4l2 loopback" in message and virtual_camera_fix() in message
    sink.close()  # closing an unopened sink is harmless


def test_the_fix_names_the_right_tool_per_os():
    assert LINUX_VCAM_FIX in virtual_camera_fix("Linux")
    assert "devices=1 exclusive_caps=1 card_label=LivePuppet" in LINUX_VCAM_FIX
    assert "OBS" in virtual_camera_fix("Windows") and "OBS" in virtual_camera_fix("Darwin")


def test_file_sink_records_an_mp4(tmp_path):
    path = tmp_path / "live.mp4"
    sink = FileSink(path)
    sink.open((200, 300), 30.0)
    for k in range(10):
        sink.send(halves(), float(k))
    sink.close()
    assert sink.frames_written == 10
    with VideoReader(path) as reader:
        frames = list(reader)
    assert len(frames) == 10 and frames[0].image.shape == (300, 200, 3)
    assert frames[0].image[150, 50, 0] > 200 and frames[0].image[150, 150, 2] > 200


def test_a_full_disk_stops_the_recording_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEPUPPET_FAULT_ENOSPC_AFTER", "4")
    path = tmp_path / "live.mp4"
    path.write_bytes(b"yesterday's recording")
    sink = FileSink(path)
    sink.open((200, 300), 30.0)
    for k in range(10):
        sink.send(halves(), float(k))  # never raises: the live outputs carry on
    sink.close()
    assert not sink.finished and sink.frames_written == 4
    partial = tmp_path / "live.partial.mp4"
    assert sink.failure == (
        f"cannot write {path}: no space left on device; {path} is untouched; "
        f"the 4 frames written so far are in {partial}"
    )
    assert path.read_bytes() == b"yesterday's recording"
    with VideoReader(partial) as reader:
        assert len(list(reader)) == 4


def test_a_finished_recording_says_so(tmp_path):
    sink = FileSink(tmp_path / "ok.mp4")
    sink.open((200, 300), 30.0)
    sink.send(halves(), 0.0)
    assert not sink.finished
    sink.close()
    assert sink.finished and sink.failure is None
