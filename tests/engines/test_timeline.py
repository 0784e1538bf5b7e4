"""Keyframe timelines: per-parameter tracks, easing, holding before/after, file errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engines.base import LivePuppetError, Motion
from engines.landmarks import MOUTH_CORNERS
from engines.timeline import Timeline

SPEC = {
    "keyframes": [
        {"t": 2.0, "smile": 0},
        {"t": 3.0, "smile": 0.8, "yaw": 10},
        {"t": 4.0, "yaw": -10},
    ],
}


def test_tracks_hold_outside_their_keyframes_and_ease_between():
    timeline = Timeline.from_dict(SPEC)
    assert timeline.params_at(0.0).smile == 0.0
    assert timeline.params_at(10.0).smile == pytest.approx(0.8)
    assert timeline.params_at(2.5).smile == pytest.approx(0.4)  # smoothstep is symmetric about the middle
    quarter = timeline.params_at(2.25).smile
    assert 0.0 < quarter < 0.2  # eases in: slower than linear (0.2) at the start
    assert timeline.params_at(1.0).yaw == pytest.approx(10)  # yaw's own track starts at 3 s
    assert timeline.params_at(3.5).yaw == pytest.approx(0.0, abs=1e-9)
    assert timeline.params_at(3.5).blink == 0.0  # untouched parameters stay neutral


def test_linear_interpolation():
    timeline = Timeline.from_dict({**SPEC, "interpolation": "linear"})
    assert timeline.params_at(2.25).smile == pytest.approx(0.2)


def test_look_at_camera_throughout():
    timeline = Timeline.from_dict({"keyframes": [], "look_at_camera": True})
    assert timeline.params_at(0.0).look_at_camera == 1.0
    assert timeline.params_at(100.0).look_at_camera == 1.0


def test_timeline_modifies_motion_at_the_frame_time(data_dir):
    import cv2

    from engines.landmarks import neutral_points
    from realtime.tracker import find_portrait_face

    image = cv2.cvtColor(cv2.imread(str(data_dir / "source" / "s42.jpg")), cv2.COLOR_BGR2RGB)
    face = find_portrait_face(image)
    neutral = neutral_points(face.landmarks)
    timeline = Timeline.from_dict(SPEC)
    before = timeline.modify(Motion.identity(neutral), 1.0)
    during = timeline.modify(Motion.identity(neutral), 3.0)
    assert np.abs(before.expression[list(MOUTH_CORNERS)]).max() < 1e-6
    assert np.all(during.expression[list(MOUTH_CORNERS), 1] < -0.01)  # corners raised at 3 s


def test_load_reports_bad_files(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(SPEC))
    assert Timeline.load(good).params_at(3.0).smile == pytest.approx(0.8)
    with pytest.raises(LivePuppetError, match="not valid JSON"):
        bad = tmp_path / "bad.json"
        bad.write_text("{keyframes: [")
        Timeline.load(bad)
    with pytest.raises(LivePuppetError, match="unknown parameter 'grin'"):
        Timeline.from_dict({"keyframes": [{"t": 0, "grin": 1}]})
    with pytest.raises(LivePuppetError, match="needs a time"):
        Timeline.from_dict({"keyframes": [{"smile": 1}]})
    with pytest.raises(LivePuppetError, match="cannot read"):
        Timeline.load(tmp_path / "missing.json")
    binary = tmp_path / "photo.json"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(LivePuppetError, match="not a text file"):
        Timeline.load(binary)


def test_yaml_timelines_read_like_json(tmp_path):
    yaml_file = tmp_path / "moves.yaml"
    yaml_file.write_text("keyframes:\n  - {t: 2.0, smile: 0}\n  - {t: 2.5, smile: 0.8}\nlook_at_camera: true\n")
    timeline = Timeline.load(yaml_file)
    assert timeline.params_at(3.0).smile == pytest.approx(0.8) and timeline.look_at_camera
    unmarked = tmp_path / "moves.txt"  # not JSON, so read as YAML
    unmarked.write_text(yaml_file.read_text())
    assert Timeline.load(unmarked).params_at(0.0).smile == 0
    broken = tmp_path / "broken.yml"
    broken.write_text("keyframes: [ {t: 1\n")
    with pytest.raises(LivePuppetError, match="not valid YAML"):
        Timeline.load(broken)
