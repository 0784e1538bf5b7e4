"""The live loop end to end with fakes: rates, latency bookkeeping, the faults it must survive
(camera outage, face lost, missing virtual camera, an engine exception) and clean shutdown."""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
import pytest
import pyvirtualcam

from engines.base import LivePuppetError
from realtime.driver import DriverConfig, MotionDriver
from realtime.live.calibration import CalibrationConfig
from realtime.live.capture import RetryPolicy, VideoFileSource
from realtime.live.controls import LiveControls
from realtime.live.loop import LiveConfig, LiveLoop
from realtime.live.preview import HeadlessWindow, PreviewSink
from realtime.live.render import StallConfig
from realtime.live.sinks import VirtualCameraConfig, VirtualCameraSink, virtual_camera_fix
from tests.realtime.live.fakes import (
    ENGINE_MARK,
    FakeEngine,
    FakeTracker,
    FakeVirtualCamera,
    MissingVirtualCamera,
    RecordingSink,
    Scenario,
    intervals,
    portrait,
)

FPS = 30.0
NEUTRAL_MARK = tuple(int(v) for v in portrait()[0][1, 1])
# The machine running the tests is shared: rates are checked against half the target, gaps loosely.
MIN_RATE_FRACTION = 0.5
MAX_GAP = 0.4


def make_loop(open_source, sinks, engine=None, controls=None, modifiers=()) -> tuple[LiveLoop, FakeEngine]:
    engine = engine or FakeEngine()
    image, face = portrait()
    state = engine.prepare(image, face)
    driver = MotionDriver(DriverConfig(hold_seconds=0.3, ease_seconds=0.3), tracker=FakeTracker())
    config = LiveConfig(
        fps=FPS,
        calibration=CalibrationConfig(stable_frames=3, timeout_seconds=0.5),
        stall=StallConfig(hold_seconds=0.3, ease_seconds=0.3),
        retry=RetryPolicy(first_delay=0.05, max_delay=0.2),
    )
    loop = LiveLoop(
        engine=engine, state=state, driver=driver, open_source=open_source, sinks=sinks,
        modifiers=modifiers, controls=controls, config=config,
    )  # fmt: skip
    return loop, engine


def assert_fed(sink: RecordingSink, start: float, end: float) -> None:
    expected = FPS * (end - start)
    assert sink.sends_between(start, end) >= MIN_RATE_FRACTION * expected
    assert sink.max_gap(start, end) < MAX_GAP


def assert_stopped(loop: LiveLoop) -> None:
    assert not loop.capture.thread.is_alive()
    assert not loop.track.thread.is_alive() and not loop.render.thread.is_alive()
    assert all(worker.thread is None or not worker.thread.is_alive() for worker in loop.workers)


def test_frames_flow_with_their_capture_timestamps_and_shut_down_cleanly():
    scenario = Scenario(FPS)
    sink = RecordingSink()
    loop, engine = make_loop(scenario.open, {"rec": sink})
    loop.run(1.5)
    assert_stopped(loop)
    assert sink.opened == (portrait()[0].shape[1::-1], FPS) and sink.closed
    assert sink.shapes == {portrait()[0].shape}
    assert_fed(sink, scenario.start + 0.2, scenario.start + 1.4)
    assert ENGINE_MARK in sink.marks  # calibrated and rendering
    # every live frame reaches the sink after it was captured, latency is recorded per fresh frame
    worker = loop.workers[0]
    assert worker.fresh > 0.5 * FPS * 1.2 and worker.latency.count == worker.fresh
    assert all(arrived >= stamp for arrived, stamp in zip(sink.times, sink.timestamps))
    assert loop.summary()["rendered"] >= engine.calls > 0  # frames before calibration skip the engine


def test_camera_that_stops_and_comes_back():
    outage = (0.6, 1.6)
    scenario = Scenario(FPS, down=intervals([outage]))
    sink = RecordingSink()
    loop, engine = make_loop(scenario.open, {"rec": sink})
    loop.run(2.8)
    start = scenario.start
    assert loop.capture.failures >= 2 and loop.capture.reconnects >= 1
    assert_fed(sink, start + outage[0], start + outage[1])  # fed during the outage
    # held, then eased back to the neutral portrait while the camera was gone
    during = [m for t, m in zip(sink.times, sink.marks) if start + outage[0] + 0.8 <= t < start + outage[1]]
    assert during and set(during) == {NEUTRAL_MARK}
    assert min(engine.weights) < 1.0  # the easing went through the engine
    # live frames again after it came back
    fresh_after = [s for s in sink.timestamps if s > start + outage[1]]
    assert len(fresh_after) > 5
    assert_fed(sink, start + outage[1] + 0.5, start + 2.7)
    assert_stopped(loop)


def test_no_face_for_two_seconds():
    gap = (0.5, 2.5)
    scenario = Scenario(FPS, face=lambda t: not (gap[0] <= t < gap[1]))
    sink = RecordingSink()
    controls = LiveControls()
    loop, engine = make_loop(scenario.open, {"rec": sink}, controls=controls)
    loop.run(3.2)
    start = scenario.start
    assert_fed(sink, start + gap[0], start + gap[1])
    assert False in engine.face_found  # the driver held, then eased...
    assert min(engine.weights) == pytest.approx(0.0)  # ...all the way to neutral
    assert engine.face_found[-1] is True  # and follows the face again
    assert loop.render.errors == 0 and controls.status.face_found


def test_engine_exception_on_one_frame(caplog):
    scenario = Scenario(FPS)
    sink = RecordingSink()
    loop, engine = make_loop(scenario.open, {"rec": sink}, engine=FakeEngine(fail_on=(5,)))
    with caplog.at_level(logging.ERROR, logger="realtime.live.render"):
        loop.run(1.5)
    assert loop.render.errors == 1
    assert engine.calls > 15  # went on rendering after the failure
    assert_fed(sink, scenario.start + 0.2, scenario.start + 1.4)
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None


def test_missing_virtual_camera_reports_the_fix_once_and_the_preview_goes_on(caplog):
    pyvirtualcam.register_backend("missing-live-test", MissingVirtualCamera)
    controls = LiveControls()
    window = HeadlessWindow()
    sinks = {
        "vcam": VirtualCameraSink(VirtualCameraConfig(backend="missing-live-test")),
        "preview": PreviewSink(controls, window=window),
    }
    scenario = Scenario(FPS)
    loop, _ = make_loop(scenario.open, sinks, controls=controls)
    with caplog.at_level(logging.ERROR):
        loop.run(1.5)
    assert "vcam" in loop.unavailable and virtual_camera_fix() in loop.unavailable["vcam"]
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(messages) == 1 and virtual_camera_fix() in messages[0]
    assert [w.name for w in loop.workers] == ["preview"]
    assert window.frames_shown >= MIN_RATE_FRACTION * FPS * 1.5


def test_no_sink_at_all_is_an_error():
    pyvirtualcam.register_backend("missing-live-test", MissingVirtualCamera)
    loop, _ = make_loop(
        Scenario(FPS).open, {"vcam": VirtualCameraSink(VirtualCameraConfig(backend="missing-live-test"))}
    )
    with pytest.raises(LivePuppetError, match="no output"):
        loop.start()


def test_virtual_camera_receives_letterboxed_frames_at_its_rate():
    FakeVirtualCamera.instances.clear()
    pyvirtualcam.register_backend("fake-live-test", FakeVirtualCamera)
    sink = VirtualCameraSink(VirtualCameraConfig(width=320, height=180, fps=FPS, backend="fake-live-test"))
    loop, _ = make_loop(Scenario(FPS).open, {"vcam": sink})
    loop.run(1.5)
    (camera,) = FakeVirtualCamera.instances
    assert camera.closed and (camera.width, camera.height, camera.fps) == (320, 180, FPS)
    assert camera.fourcc == pyvirtualcam.util.encode_fourcc(pyvirtualcam.PixelFormat.RGB.value)
    assert all(frame.shape == (180 * 320 * 3,) and frame.dtype == np.uint8 for frame in camera.frames)
    elapsed = camera.times[-1] - camera.times[0]
    rate = (len(camera.times) - 1) / elapsed
    assert MIN_RATE_FRACTION * FPS <= rate <= 1.15 * FPS  # paced: no bursts above the target rate


class DoubleScale:
    """A motion modifier (like a preset): doubles the head scale, remembers the timestamps it saw."""

    def __init__(self):
        self.timestamps = []

    def modify(self, motion, timestamp):
        self.timestamps.append(timestamp)
        return dataclasses.replace(motion, scale=2.0 * motion.scale)


def test_modifiers_apply_after_the_driver_even_while_the_camera_is_gone():
    outage = (0.7, 1.5)
    scenario = Scenario(FPS, down=intervals([outage]))
    modifier = DoubleScale()
    sink = RecordingSink()
    loop, engine = make_loop(scenario.open, {"rec": sink}, modifiers=[modifier])
    loop.run(1.8)
    assert engine.scales and min(engine.scales) > 1.5  # every rendered motion went through the modifier
    assert modifier.timestamps[0] < 0.5 and modifier.timestamps == sorted(modifier.timestamps)
    # with the camera gone the neutral portrait is still rendered through the engine (the modifier moves it)
    during = [m for t, m in zip(sink.times, sink.marks) if scenario.start + 1.2 <= t < scenario.start + 1.5]
    assert during and set(during) == {ENGINE_MARK}


def test_pause_holds_the_current_frame():
    scenario = Scenario(FPS)
    sink = RecordingSink()
    controls = LiveControls()
    loop, _ = make_loop(scenario.open, {"rec": sink}, controls=controls)
    loop.start()
    time.sleep(0.6)
    controls.handle_key("p")
    paused_at = time.perf_counter()
    time.sleep(0.8)
    controls.handle_key("p")
    time.sleep(0.5)
    loop.stop()
    held = [s for t, s in zip(sink.times, sink.timestamps) if paused_at + 0.2 <= t < paused_at + 0.8]
    assert len(held) >= MIN_RATE_FRACTION * FPS * 0.6 and len(set(held)) == 1  # the same frame, re-sent
    assert max(sink.timestamps) > paused_at + 0.8  # live again after resuming


def test_recalibration_key_takes_a_new_neutral():
    scenario = Scenario(FPS)
    controls = LiveControls()
    loop, engine = make_loop(scenario.open, {"rec": RecordingSink()}, controls=controls)
    loop.start()
    time.sleep(0.6)
    before = max(engine.calibration_ids)
    controls.handle_key("c")
    time.sleep(0.6)
    loop.stop()
    assert max(engine.calibration_ids) == before + 1


def test_quit_key_in_the_preview_stops_the_loop():
    controls = LiveControls()
    window = HeadlessWindow()
    for _ in range(10):
        window.press(-1)
    window.press("q")
    loop, _ = make_loop(
        Scenario(FPS).open, {"preview": PreviewSink(controls, window=window)}, controls=controls
    )
    started = time.perf_counter()
    loop.run(10.0)
    assert time.perf_counter() - started < 5.0
    assert window.closed and window.frames_shown >= 11
    assert_stopped(loop)


def test_the_loop_ends_with_a_non_looping_video(tiny_video):
    sink = RecordingSink()
    loop, _ = make_loop(lambda: VideoFileSource(tiny_video, loop=False), {"rec": sink})
    started = time.perf_counter()
    loop.run(10.0)
    assert time.perf_counter() - started < 5.0
    assert loop.capture.ended.is_set() and loop.capture.captured == 15
    assert_stopped(loop)


def test_preset_keys_and_look_at_camera_reach_the_engine_through_the_loop():
    from realtime.presets import PresetController

    presets = PresetController()
    controls = LiveControls(key_handler=presets.trigger)
    loop, engine = make_loop(Scenario(FPS).open, {"rec": RecordingSink()}, controls=controls, modifiers=[presets])
    loop.start()
    time.sleep(0.6)
    assert not any(edit and edit.get("smile") for edit in engine.edits)  # nothing before a key
    controls.handle_key("1")  # the smile preset eases in
    controls.handle_key("g")  # look at the camera
    time.sleep(1.0)
    loop.stop()
    latest = engine.edits[-1]
    assert latest is not None and latest["smile"] > 0.5 and latest["look_at_camera"] > 0.9
