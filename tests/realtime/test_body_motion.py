import platform

import numpy as np
import pytest

from engines.base import BodyMotion
from engines.body import (
    HIPS, LEFT_ELBOW, LEFT_SHOULDER, LEFT_WRIST, RIGHT_SHOULDER, SHOULDERS, Body, rotate, retarget_body,
)
from realtime.body_motion import BodyDriver, BodyDriverConfig, body_parameters, motion_from_parameters
from realtime.stages import TimedFrame

SIZE = (640, 480)


def driver_body(visible_arm: bool = True) -> Body:
    points = np.array([
        [420, 300], [220, 300], [450, 400], [190, 400], [460, 470], [180, 470], [380, 560], [260, 560],
    ], np.float32)  # fmt: skip
    visible = np.zeros(8, bool)
    visible[SHOULDERS] = True
    visible[[LEFT_ELBOW, LEFT_WRIST]] = visible_arm
    return Body(points=points, visible=visible, image_size=SIZE)


def moved(body: Body, roll: float, shift, width: float, elbow_turn: float = 0.0, visible_arm: bool = True) -> Body:
    """``body`` with its shoulder line turned, shifted (px) and scaled, the left upper arm turned."""
    points = body.points.copy()
    centre = points[SHOULDERS].mean(axis=0)
    half = rotate(0.5 * (points[LEFT_SHOULDER] - points[RIGHT_SHOULDER]), roll) * width
    new_centre = centre + np.asarray(shift, np.float32)
    points[LEFT_SHOULDER], points[RIGHT_SHOULDER] = new_centre + half, new_centre - half
    arm = rotate(body.points[LEFT_ELBOW] - body.points[LEFT_SHOULDER], elbow_turn)
    points[LEFT_ELBOW] = points[LEFT_SHOULDER] + arm
    points[LEFT_WRIST] = points[LEFT_ELBOW] + rotate(body.points[LEFT_WRIST] - body.points[LEFT_ELBOW], elbow_turn)
    visible = body.visible.copy()
    visible[[LEFT_ELBOW, LEFT_WRIST]] = visible_arm
    return Body(points=points, visible=visible, image_size=SIZE)


def test_parameters_measure_a_known_shrug_tilt_and_arm_swing():
    neutral = driver_body()
    body = moved(neutral, roll=np.radians(7.0), shift=(20.0, -30.0), width=0.9, elbow_turn=np.radians(-25.0))
    values, seen = body_parameters(neutral, body)
    motion = motion_from_parameters(values, hip_weight=0.0, hip_follow=0.3)
    assert np.degrees(motion.roll) == pytest.approx(7.0, abs=1e-3)
    np.testing.assert_allclose(motion.shift, (0.1, -0.15), atol=1e-5)  # shoulder widths (200 px)
    assert motion.width == pytest.approx(0.9, abs=1e-5)
    assert np.degrees(motion.arm_angles[0]) == pytest.approx((-25.0, -25.0), abs=1e-3)
    np.testing.assert_allclose(motion.hip_shift, 0.3 * motion.shift)  # hips unseen: they follow a little
    assert not seen[4:6].any() and not seen[10:].any()  # hips and the right arm are not in view


def test_retargeting_onto_the_driver_itself_reproduces_its_points():
    neutral = driver_body()
    body = moved(neutral, roll=np.radians(-5.0), shift=(-12.0, 8.0), width=1.08, elbow_turn=np.radians(30.0))
    values, _ = body_parameters(neutral, body)
    target = retarget_body(neutral, motion_from_parameters(values, 0.0, 0.3))
    for index in (LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_ELBOW, LEFT_WRIST):
        np.testing.assert_allclose(target[index], body.points[index], atol=1e-3)


def test_retargeting_keeps_the_portraits_proportions():
    neutral = driver_body()
    body = moved(neutral, roll=0.0, shift=(40.0, 0.0), width=1.0)
    motion = motion_from_parameters(body_parameters(neutral, body)[0], 0.0, 0.3)
    portrait = Body(points=neutral.points * 0.5, visible=neutral.visible, image_size=SIZE)  # half the size
    target = retarget_body(portrait, motion)
    np.testing.assert_allclose(target[SHOULDERS] - portrait.points[SHOULDERS], [[20.0, 0.0], [20.0, 0.0]], atol=1e-3)


class FakeReader:
    """The prepared body of each frame (its index is the image's value; see ``run``), however often read."""

    def __init__(self, bodies):
        self.bodies = list(bodies)

    def read(self, rgb):
        return self.bodies[int(rgb[0, 0, 0])]

    def close(self):
        pass


def run(driver: BodyDriver, count: int, fps: float = 10.0) -> list[BodyMotion | None]:
    return [driver.update(TimedFrame(np.full((1, 1, 3), index, np.uint8), index / fps, index)) for index in range(count)]


def test_an_arm_that_leaves_the_frame_holds_then_eases_back():
    neutral = driver_body()
    swung = moved(neutral, 0.0, (0.0, 0.0), 1.0, elbow_turn=np.radians(-40.0))
    gone = moved(neutral, 0.0, (10.0, 0.0), 1.0, visible_arm=False)  # the shoulders still move
    reader = FakeReader([neutral, swung] + [gone] * 15)
    config = BodyDriverConfig(hold_seconds=0.5, ease_seconds=0.5)
    motions = run(BodyDriver(config, reader=reader), 17)
    arm = np.degrees([m.arm_angles[0, 0] for m in motions])
    assert arm[1] == pytest.approx(-40.0, abs=1e-3)
    np.testing.assert_allclose(arm[2:7], -40.0, atol=1e-3)  # held for 0.5 s
    assert -40.0 < arm[8] < 0.0  # easing back
    np.testing.assert_allclose(arm[13:], 0.0, atol=1e-6)  # back to the portrait's own arm
    np.testing.assert_allclose([m.shift[0] for m in motions[2:]], 0.05, atol=1e-5)  # shoulders live


def test_no_motion_until_a_body_shows_both_shoulders():
    neutral = driver_body()
    one_shoulder = Body(points=neutral.points, visible=np.eye(8, dtype=bool)[LEFT_SHOULDER], image_size=SIZE)
    later = moved(neutral, 0.0, (20.0, 0.0), 1.0)
    motions = run(BodyDriver(reader=FakeReader([None, one_shoulder, neutral, later])), 4)
    assert motions[0] is None and motions[1] is None
    assert motions[2].shift == pytest.approx((0.0, 0.0))  # the neutral
    assert motions[3].shift[0] == pytest.approx(0.1)


def test_smoothing_steadies_a_jittery_shoulder_line():
    neutral = driver_body()
    rng = np.random.default_rng(1)
    jitter = [moved(neutral, float(rng.normal(0, 0.03)), (0.0, 0.0), 1.0) for _ in range(30)]
    raw = run(BodyDriver(reader=FakeReader([neutral] + jitter)), 31, fps=30)
    smooth = run(BodyDriver(BodyDriverConfig(smoothing=0.8), reader=FakeReader([neutral] + jitter)), 31, fps=30)
    assert np.std([m.roll for m in smooth[10:]]) < 0.5 * np.std([m.roll for m in raw[10:]])


def test_seen_hips_carry_their_own_shift():
    neutral = driver_body()
    neutral.visible[HIPS] = True
    body = moved(neutral, 0.0, (30.0, 0.0), 1.0)
    body.points[HIPS] += (10.0, 0.0)
    motion = run(BodyDriver(reader=FakeReader([neutral, body])), 2)[1]
    np.testing.assert_allclose(motion.hip_shift, (0.05, 0.0), atol=1e-5)


def test_the_motion_driver_carries_the_body_of_a_half_body_video(data_dir):
    from realtime.driver import DriverConfig, MotionDriver
    from realtime.video_io import VideoReader

    path = data_dir.parent / "dev_media" / "driving" / "t04_speech_man_webcam_home.mp4"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    face_only, with_body = MotionDriver(), MotionDriver(DriverConfig(body=True))
    try:
        with VideoReader(path) as reader:
            frames = [frame for frame, _ in zip(reader, range(8))]
        plain = [face_only.update(frame) for frame in frames]
        motions = [with_body.update(frame) for frame in frames]
    finally:
        face_only.close()
        with_body.close()
    assert all(m.body is None for m in plain)
    assert all(m.body is not None for m in motions)
    first = motions[0].body  # the neutral itself, read from the settled crop
    assert abs(first.roll) < 1e-6 and np.abs(first.shift).max() < 1e-6
    assert max(abs(m.body.roll) for m in motions) < np.radians(5)  # a person talking: small, not noise


def test_background_reader_hands_back_the_newest_body_without_waiting():
    import threading
    import time

    from realtime.body_motion import SETTLE_READS, BackgroundPoseReader

    neutral = driver_body()
    seen = []
    busy, release = threading.Event(), threading.Event()

    class SlowReader(FakeReader):
        def read(self, rgb):
            busy.set()
            release.wait(2.0)  # the pose model "thinks" until released
            seen.append(int(rgb[0, 0, 0]))
            return super().read(rgb)

    reader = BackgroundPoseReader(lambda: SlowReader([neutral, moved(neutral, 0.0, (20.0, 0.0), 1.0)]))
    try:
        frame = lambda index: np.full((1, 1, 3), index, np.uint8)  # noqa: E731
        started = time.perf_counter()
        assert reader.read(frame(0)) is None  # nothing read yet, and no waiting for it
        assert time.perf_counter() - started < 0.5
        assert busy.wait(2.0)  # the pose thread has taken frame 0
        release.set()
        deadline = time.perf_counter() + 2.0
        while reader.read(frame(1)) is None and time.perf_counter() < deadline:
            time.sleep(0.01)
        while seen.count(1) == 0 and time.perf_counter() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        assert seen[:SETTLE_READS] == [0] * SETTLE_READS  # the first frame is read until it settles
        assert reader.read(frame(1)).points[0, 0] == pytest.approx(neutral.points[0, 0] + 20.0)
    finally:
        reader.close()


def test_a_read_rate_reads_every_other_frame_at_twice_that_rate_and_holds_between():
    neutral = driver_body()
    bodies = [neutral] + [moved(neutral, 0.0, (2.0 * index, 0.0), 1.0) for index in range(1, 12)]
    reader = FakeReader(bodies)
    reads = []
    read = reader.read
    reader.read = lambda rgb: reads.append(int(rgb[0, 0, 0])) or read(rgb)
    motions = run(BodyDriver(BodyDriverConfig(reads_per_second=15.0), reader=reader), 12, fps=30)
    assert set(reads[:-5]) == {0} and reads[-5:] == [2, 4, 6, 8, 10]  # the neutral (settled), then 1 in 2
    shifts = [m.shift[0] * 200.0 for m in motions]  # px (the neutral's shoulders are 200 px apart)
    np.testing.assert_allclose(shifts, [0, 0, 4, 4, 8, 8, 12, 12, 16, 16, 20, 20], atol=1e-4)


@pytest.mark.skipif(platform.system() != "Linux", reason="thread niceness is per thread on Linux only")
def test_background_reader_runs_the_pose_model_nicer_than_the_caller_its_own_threads_too():
    import os
    import threading

    from realtime.body_motion import BackgroundPoseReader
    from realtime.live.priority import BACKGROUND_NICENESS

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    caller = niceness()
    seen = {}

    class GraphReader(FakeReader):
        """Starts a worker thread when opened, as MediaPipe's graph does."""

        def __init__(self, bodies):
            super().__init__(bodies)
            seen["opened on"] = niceness()
            worker = threading.Thread(target=lambda: seen.setdefault("worker", niceness()))
            worker.start()
            worker.join()

    reader = BackgroundPoseReader(lambda: GraphReader([driver_body()]))
    reader.close()
    expected = min(caller + BACKGROUND_NICENESS, 19)
    assert seen == {"opened on": expected, "worker": expected}
    assert niceness() == caller  # the caller's own thread is left as it was


def test_background_reader_that_cannot_open_raises_on_the_callers_thread():
    from engines.base import LivePuppetError
    from realtime.body_motion import BackgroundPoseReader

    def broken():
        raise LivePuppetError("MediaPipe pose is not available")

    with pytest.raises(LivePuppetError, match="not available"):
        BackgroundPoseReader(broken)
