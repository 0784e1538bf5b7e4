"""PresetController: easing in and out, crossfades, momentary presets, look-at-camera, threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from engines.base import Motion
from engines.expressions import ExpressionParams
from realtime.presets import DEFAULT_PRESETS, Preset, PresetController


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


PRESETS = {
    "1": Preset("smile", ExpressionParams(smile=1.0)),
    "2": Preset("surprise", ExpressionParams(eyebrow=1.0)),
    "4": Preset("wink", ExpressionParams(wink=1.0), hold=0.5),
}


@pytest.fixture
def controller():
    clock = FakeClock()
    return PresetController(PRESETS, ease_seconds=0.2, clock=clock), clock


def test_preset_eases_in_and_out(controller):
    ctl, clock = controller
    assert ctl.params().is_neutral()
    assert ctl.trigger("1")
    assert ctl.params().smile == 0.0  # starts from where it was
    clock.now += 0.05
    early = ctl.params().smile
    clock.now += 0.05
    assert ctl.params().smile == pytest.approx(0.5)  # half-way
    assert 0.0 < early < 0.25  # smoothstep: slow start
    clock.now += 0.2
    assert ctl.params().smile == pytest.approx(1.0)
    assert ctl.active == "1"
    ctl.trigger("1")  # the same key again eases it out
    clock.now += 0.1
    assert ctl.params().smile == pytest.approx(0.5)
    clock.now += 0.2
    assert ctl.params().is_neutral() and ctl.active is None


def test_another_preset_crossfades(controller):
    ctl, clock = controller
    ctl.trigger("1")
    clock.now += 1.0
    ctl.trigger("2")
    clock.now += 0.1
    mid = ctl.params()
    assert mid.smile == pytest.approx(0.5) and mid.eyebrow == pytest.approx(0.5)
    clock.now += 0.2
    done = ctl.params()
    assert done.smile == pytest.approx(0.0) and done.eyebrow == pytest.approx(1.0)


def test_momentary_preset_releases_itself(controller):
    ctl, clock = controller
    ctl.trigger("4")
    clock.now += 0.2 + 0.4
    assert ctl.params().wink == pytest.approx(1.0)  # eased in, holding
    clock.now += 0.2  # hold ended 0.1 s ago: half-way out
    assert ctl.params().wink == pytest.approx(0.5)
    clock.now += 0.2
    assert ctl.params().wink == pytest.approx(0.0)


def test_release_key_and_unknown_keys(controller):
    ctl, clock = controller
    ctl.trigger("1")
    clock.now += 1.0
    assert ctl.trigger("0")
    clock.now += 1.0
    assert ctl.params().is_neutral()
    assert not ctl.trigger("x")


def test_look_at_camera_toggles_and_eases(controller):
    ctl, clock = controller
    assert ctl.trigger("g") and ctl.look_at_camera
    clock.now += 0.1
    assert ctl.params().look_at_camera == pytest.approx(0.5)
    clock.now += 0.2
    assert ctl.params().look_at_camera == pytest.approx(1.0)
    ctl.set_look_at_camera(False)
    clock.now += 0.3
    assert ctl.params().look_at_camera == 0.0 and not ctl.look_at_camera


def test_sliders_settable_while_running(controller):
    ctl, clock = controller
    ctl.set(yaw=10.0, smile=0.4)
    clock.now += 0.1
    assert ctl.params().yaw == pytest.approx(5.0)
    clock.now += 0.2
    ctl.trigger("1")
    clock.now += 0.3
    assert ctl.params().smile == pytest.approx(1.4)  # base + preset (clipped when applied)
    ctl.set(yaw=0.0)
    clock.now += 0.3
    assert ctl.params().yaw == 0.0
    with pytest.raises(ValueError, match="grin"):
        ctl.set(grin=1.0)


def test_modify_applies_the_edit_and_survives_concurrent_keys():
    ctl = PresetController(DEFAULT_PRESETS, ease_seconds=0.01)
    neutral = np.zeros((478, 3), np.float32)
    neutral[:, 0] = np.linspace(-1, 1, 478)  # geometry does not matter for the rotation checked here
    ctl.set(yaw=20.0)
    stop = threading.Event()

    def press():
        keys = "1234567890g"
        k = 0
        while not stop.is_set():
            ctl.trigger(keys[k % len(keys)])
            k += 1

    thread = threading.Thread(target=press)
    thread.start()
    try:
        for _ in range(200):
            ctl.params()
    finally:
        stop.set()
        thread.join()
    ctl.trigger("0")
    ctl.set_look_at_camera(False)
    import time

    time.sleep(0.05)
    motion = ctl.modify(Motion.identity(neutral), 0.0)
    assert not np.allclose(motion.rotation, np.eye(3))


class MotionSpyEngine:
    """The live tests' fake engine, remembering each rendered motion's pitch and iris offsets."""

    def __init__(self):
        from tests.realtime.live.fakes import FakeEngine

        self.inner = FakeEngine()
        self.name = "spy"
        self.pitches: list[tuple[float, float]] = []  # (perf_counter, pitch degrees)
        self.irises: list[tuple[float, float]] = []  # (perf_counter, mean |iris offset|)

    def prepare(self, portrait, face):
        return self.inner.prepare(portrait, face)

    def render(self, state, motion):
        import time

        from engines.landmarks import LEFT_IRIS, RIGHT_IRIS, rotation_to_euler

        now = time.perf_counter()
        self.pitches.append((now, rotation_to_euler(motion.rotation)[0]))
        irises = np.concatenate([RIGHT_IRIS, LEFT_IRIS])
        self.irises.append((now, float(np.abs(motion.expression[irises, :2]).mean())))
        return self.inner.render(state, motion)

    def close(self):
        self.inner.close()


def test_presets_and_gaze_through_the_live_loop():
    """Key presses reach the controller through the live controls; the loop renders the eased edit."""
    import time

    from realtime.driver import DriverConfig, MotionDriver
    from realtime.live.controls import LiveControls
    from realtime.live.loop import LiveConfig, LiveLoop
    from tests.realtime.live.fakes import FakeTracker, RecordingSink, Scenario, portrait

    controller = PresetController({"1": Preset("nod", ExpressionParams(pitch=20.0))}, ease_seconds=0.1)
    controls = LiveControls(key_handler=controller.trigger)
    engine = MotionSpyEngine()
    image, face = portrait()
    loop = LiveLoop(
        engine=engine, state=engine.prepare(image, face),
        driver=MotionDriver(DriverConfig(), tracker=FakeTracker()), open_source=Scenario(30.0).open,
        sinks={"rec": RecordingSink()}, modifiers=[controller], controls=controls, config=LiveConfig(fps=30.0),
    )  # fmt: skip
    loop.start()
    try:
        time.sleep(0.5)
        pressed = time.perf_counter()
        controls.handle_key("1")
        time.sleep(0.5)
        controls.handle_key("g")
        looked = time.perf_counter()
        time.sleep(0.5)
        controls.handle_key("1")
        released = time.perf_counter()
        time.sleep(0.5)
    finally:
        loop.stop()
    pitches = np.array(engine.pitches)
    irises = np.array(engine.irises)
    before = pitches[pitches[:, 0] < pressed, 1]
    held = pitches[(pitches[:, 0] > pressed + 0.25) & (pitches[:, 0] < released), 1]
    after = pitches[pitches[:, 0] > released + 0.3, 1]
    assert before.size and held.size and after.size
    assert np.abs(before).max() < 2.0
    assert np.all(np.abs(held - 20.0) < 2.0)
    assert np.abs(after).max() < 2.0
    # looking at the camera moves the irises (nothing else in this scenario does)
    gaze_off = irises[irises[:, 0] < looked, 1]
    gaze_on = irises[irises[:, 0] > looked + 0.25, 1]
    assert gaze_off.max() < 1e-6 and gaze_on.min() > 1e-4
