import numpy as np
import pytest

from engines.base import LivePuppetError
from realtime.live.controls import LiveControls
from realtime.live.preview import HeadlessWindow, OpenCVWindow, PreviewSink, key_name
from tests.realtime.live.test_sinks import halves


def preview(**kw):
    controls = LiveControls(key_handler=kw.pop("key_handler", None))
    window = HeadlessWindow()
    sink = PreviewSink(controls, window=window, **kw)
    sink.open((200, 300), 30.0)
    return sink, window, controls


def test_preview_is_mirrored_bgr_by_default_with_an_overlay():
    sink, window, _ = preview()
    sink.send(halves(), 0.0)
    (shown,) = window.shown
    assert shown.shape == (300, 200, 3)
    # mirrored: the red half is now on the right; BGR: red is channel 2
    assert tuple(shown[250, 150]) == (0, 0, 255) and tuple(shown[250, 50]) == (255, 0, 0)
    assert not np.array_equal(shown[:40], halves()[:40, ::-1, ::-1])  # the overlay text is drawn at the top


def test_m_toggles_the_mirror_and_never_touches_the_input():
    sink, window, _ = preview()
    frame = halves()
    original = frame.copy()
    window.press("m")
    sink.send(frame, 0.0)  # shown mirrored, then M is read
    sink.send(frame, 1.0)
    assert tuple(window.shown[-1][250, 50]) == (0, 0, 255)  # unmirrored now: red on the left
    assert np.array_equal(frame, original)


def test_hotkeys_reach_the_controls_and_the_key_handler():
    pressed = []
    sink, window, controls = preview(key_handler=pressed.append)
    for key in ("c", "p", "1", "q"):
        window.press(key)
        sink.send(halves(), 0.0)
    assert controls.take_recalibration() and not controls.take_recalibration()
    assert controls.paused and controls.quit.is_set()
    assert pressed == ["1"]


def test_escape_quits():
    sink, window, controls = preview()
    window.press(27)
    sink.send(halves(), 0.0)
    assert controls.quit.is_set()


def test_key_names():
    assert key_name(-1) is None and key_name(27) == "esc" and key_name(ord("C")) == "c"
    assert key_name(ord("5")) == "5"


def test_without_a_display_the_window_refuses_cleanly(monkeypatch):
    monkeypatch.setattr("realtime.live.preview.platform.system", lambda: "Linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(LivePuppetError, match="display"):
        OpenCVWindow().open((200, 300))


def test_overlay_can_be_turned_off():
    sink, window, _ = preview(overlay=False, mirror=False)
    sink.send(halves(), 0.0)
    assert np.array_equal(window.shown[-1], halves()[:, :, ::-1])  # exactly the frame, as BGR
