import numpy as np
import pytest
from skimage import data

from engines.landmarks import mouth_opening, rotation_to_euler
from realtime.demo_script import DURATION, motion_at, pose_at, script_motions
from engines.landmarks import neutral_points
from realtime.tracker import find_portrait_face

TIMES = np.arange(0, DURATION, 0.02)


def test_script_covers_nod_turn_blink_talk_smile():
    poses = [pose_at(t) for t in TIMES]
    pitch = np.array([p.pitch for p in poses])
    yaw = np.array([p.yaw for p in poses])
    assert pitch.max() > 8 and pitch.min() < -8  # nods both ways
    assert yaw.max() > 20 and yaw.min() < -20  # turns to both sides
    assert max(p.blink for p in poses) > 0.95
    assert max(p.aaa for p in poses) > 0.5
    assert max(p.smile for p in poses) > 0.95
    # Starts and ends at rest, so a looped demo has no jump.
    for t in (0.0, DURATION - 0.02):
        pose = pose_at(t)
        assert max(abs(pose.pitch), abs(pose.yaw), abs(pose.roll), pose.aaa, pose.smile) < 0.5


def test_script_is_smooth():
    poses = [pose_at(t) for t in TIMES]
    for name in ("pitch", "yaw", "roll"):
        values = np.array([getattr(p, name) for p in poses])
        assert np.abs(np.diff(values)).max() < 2.5  # degrees per 20 ms: a brisk nod, no jumps


def test_motion_carries_the_head_pose():
    neutral = np.random.default_rng(0).normal(size=(478, 3)).astype(np.float32)
    pose = pose_at(3.0)  # mid-turn
    motion = motion_at(neutral, pose)
    pitch, yaw, roll = rotation_to_euler(motion.rotation)
    assert (pitch, yaw, roll) == pytest.approx((pose.pitch, pose.yaw, pose.roll), abs=1e-3)
    assert motion.face_found and not motion.expression.any()


@pytest.fixture(scope="module")
def neutral():
    """The bundled portrait's own landmarks in its face frame (478, 3)."""
    return neutral_points(find_portrait_face(data.astronaut()).landmarks)


def test_expressions_open_the_mouth_when_available(neutral):
    pytest.importorskip("engines.expressions")
    talking_time = max(TIMES, key=lambda t: pose_at(t).aaa)
    motion = motion_at(neutral, pose_at(talking_time))
    assert mouth_opening(neutral + motion.expression) > mouth_opening(neutral) + 0.15


def test_seconds_sets_the_length(neutral):
    assert len(list(script_motions(neutral, fps=25, seconds=0.4))) == 10
    timestamps = [t for t, _ in script_motions(neutral, fps=10, seconds=DURATION * 2)]
    assert len(timestamps) == round(DURATION * 20) and timestamps[1] == pytest.approx(0.1)


def test_body_script_shrugs_and_leans_and_rests_at_both_ends():
    from realtime.demo_script import body_at

    bodies = [body_at(t) for t in TIMES]
    height = np.array([b.shift[1] for b in bodies])
    lean = np.array([b.shift[0] for b in bodies])
    roll = np.array([b.roll for b in bodies])
    assert height.min() < -0.1  # both shoulders up (y points down)
    assert lean.max() > 0.1 and np.degrees(roll).max() > 5
    for t in (0.0, DURATION - 0.02):
        body = body_at(t)
        assert max(abs(body.roll), *np.abs(body.shift)) < 1e-3
    motions = dict(script_motions(np.zeros((478, 3), np.float32), fps=10, body=True))
    assert all(m.body is not None for m in motions.values())
    assert all(m.body is None for _, m in script_motions(np.zeros((478, 3), np.float32), fps=10))
