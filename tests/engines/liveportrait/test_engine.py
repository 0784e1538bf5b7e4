"""The registered ``liveportrait`` engine through the Engine protocol, on real portraits and driving
frames with synthetic weights (one rendered frame: each costs seconds on CPU; the rest is checked at keypoint level or with a
stub decoder)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from engines.base import Engine, EngineOptions, LivePuppetError, Motion, create_engine
from tests.conftest import REPO


def read_frames(path, indices):
    capture = cv2.VideoCapture(str(path))
    frames, index = {}, 0
    while len(frames) < len(indices):
        ok, frame = capture.read()
        assert ok, f"{path} ended before frame {max(indices)}"
        if index in indices:
            frames[index] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        index += 1
    capture.release()
    return [frames[i] for i in indices]


@pytest.fixture(scope="module")
def scene(data_dir):
    from realtime.tracker import find_portrait_face

    portrait = cv2.cvtColor(cv2.imread(str(data_dir / "source" / "s1.jpg")), cv2.COLOR_BGR2RGB)
    reference, driving = read_frames(data_dir / "driving" / "d0.mp4", [0, 40])
    return {
        "portrait": portrait,
        "face": find_portrait_face(portrait),
        "reference": reference,
        "reference_face": find_portrait_face(reference, "frame 0"),
        "driving": driving,
        "driving_face": find_portrait_face(driving, "frame 40"),
    }


@pytest.fixture(scope="module")
def engine(synthetic_weights):
    engine = create_engine("liveportrait", EngineOptions(weights=synthetic_weights, device="cpu"))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def state(engine, scene):
    return engine.prepare(scene["portrait"], scene["face"])


def driving_motion(scene, driving_key="driving", weight=1.0, calibration_id=1) -> Motion:
    neutral = np.zeros((478, 3), np.float32)
    return dataclasses.replace(
        Motion.identity(neutral),
        face_found=True,
        driving_weight=weight,
        driving_image=scene[driving_key],
        driving_face=scene[f"{driving_key}_face"],
        reference_image=scene["reference"],
        reference_face=scene["reference_face"],
        calibration_id=calibration_id,
    )


def test_engine_module_imports_without_torch():
    code = "import sys, engines.liveportrait.engine; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_options_errors(tmp_path):
    with pytest.raises(LivePuppetError, match="--weights"):
        create_engine("liveportrait", EngineOptions())
    with pytest.raises(LivePuppetError, match="no LivePortrait weights"):
        create_engine("liveportrait", EngineOptions(weights=tmp_path))


def test_prepare(engine, state, scene):
    assert isinstance(engine, Engine) and engine.name == "liveportrait"
    assert state.features.feature.shape == (1, 32, 16, 64, 64)
    assert state.features.keypoints.shape == (1, 21, 3)
    assert state.image is scene["portrait"]
    x0, y0, x1, y1 = state.paste.region
    height, width = scene["portrait"].shape[:2]
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    fx0, fy0, fx1, fy1 = scene["face"].box
    assert x0 < fx0 and fx1 < x1 and y0 < fy0 and fy1 < y1  # the pasted square holds the whole face


def test_still_driver_gives_the_rest_pose(engine, state, scene):
    """Driving frame == reference frame: the keypoints of the source at rest (no W/G run here)."""
    motion = driving_motion(scene, driving_key="reference")
    x_d = engine._driving_keypoints(state, motion)
    torch.testing.assert_close(x_d, engine.pipeline.rest_keypoints(state.features), atol=1e-5, rtol=0)
    moving = engine._driving_keypoints(state, driving_motion(scene))
    assert float((moving - x_d).abs().max()) > 1e-3
    lost = dataclasses.replace(driving_motion(scene), driving_face=None, driving_weight=0.0)
    lost = engine._driving_keypoints(state, lost)
    torch.testing.assert_close(lost, x_d, atol=1e-5, rtol=0)  # eased fully back to rest
    assert engine._scripted_keypoints(state, Motion.identity(np.zeros((478, 3), np.float32))) is None


def test_crop_and_paste_back_round_trip(engine, state, scene, monkeypatch):
    """With a decoder that returns the source crop itself, the composited frame is the portrait again:
    the crop and paste-back transforms agree (no network runs here)."""
    from engines.liveportrait import crop

    portrait = scene["portrait"]
    crop512, _ = crop.crop_to_input(portrait, crop.invert_affine(state.crop_to_full), cv2.INTER_AREA)
    as_output = torch.from_numpy(crop512).permute(2, 0, 1)[None].float() / 255
    monkeypatch.setattr(engine.pipeline, "decode", lambda _features, _x_d: as_output)
    turn, _ = cv2.Rodrigues(np.array([0.0, 0.2, 0.0]))
    scripted = dataclasses.replace(
        Motion.identity(np.zeros((478, 3), np.float32)), rotation=turn.astype(np.float32)
    )
    frame = engine.render(state, scripted)
    x0, y0, x1, y1 = state.paste.region
    difference = np.abs(frame[y0:y1, x0:x1].astype(int) - portrait[y0:y1, x0:x1])
    assert difference.mean() < 3.0
    shifted = np.abs(frame[y0:y1, x0 + 8 : x1].astype(int) - portrait[y0:y1, x0 : x1 - 8]).mean()
    assert shifted > 3 * difference.mean()  # the check can tell an 8-pixel misplacement


def test_scripted_motion_turns_the_source(engine, state, monkeypatch):
    """No driving pixels: the source keypoints turned by the motion's rotation (keypoint level, stitching
    off so that opposite turns cancel to first order)."""
    monkeypatch.setattr(
        engine.pipeline, "options", dataclasses.replace(engine.pipeline.options, stitching=False)
    )
    rest = engine.pipeline.rest_keypoints(state.features)
    torch.testing.assert_close(rest, state.features.keypoints)
    turn, _ = cv2.Rodrigues(np.array([0.0, 0.3, 0.0]))
    scripted = dataclasses.replace(
        Motion.identity(np.zeros((478, 3), np.float32)), rotation=turn.astype(np.float32)
    )
    x_d = engine._scripted_keypoints(state, scripted)
    assert float((x_d - rest).abs().max()) > 0.05
    back = dataclasses.replace(scripted, rotation=turn.T.astype(np.float32))
    mirrored = engine._scripted_keypoints(state, back)
    assert float(((x_d - rest) + (mirrored - rest)).abs().max()) < 0.5 * float((x_d - rest).abs().max())


def test_render_a_driven_frame(engine, state, scene):
    """One full frame through the protocol: reference frame 0, driving frame 40 of d0.mp4."""
    portrait = scene["portrait"]
    x0, y0, x1, y1 = state.paste.region
    outside = np.ones(portrait.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    frame = engine.render(state, driving_motion(scene))
    assert frame.shape == portrait.shape and frame.dtype == np.uint8
    assert np.array_equal(frame[outside], portrait[outside])  # nothing outside the paste region moves
    assert (
        np.abs(frame[y0:y1, x0:x1].astype(int) - portrait[y0:y1, x0:x1]).mean() > 1
    )  # the crop was replaced


def test_expression_edits_reach_the_keypoints_through_the_basis(engine, state, scene, tmp_path):
    """A still-portrait edit (Motion.edit) moves the engine's keypoints by the measured basis: with a
    zero basis the same edit changes nothing but what the basis would add."""
    from engines.expressions import ExpressionParams, apply_expression
    from engines.landmarks import neutral_points
    from engines.liveportrait_expressions import KeypointBasis

    face = scene["face"]
    neutral = Motion.identity(neutral_points(face.landmarks))
    smiling = apply_expression(neutral, ExpressionParams(smile=1.0))
    assert engine._scripted_keypoints(state, neutral) is None  # identity: the cached neutral frame
    offsets = np.zeros((21, 3), np.float32)
    offsets[[3, 11], 1] = 0.05
    for name, basis in (("zero", KeypointBasis({"smile": np.zeros((21, 3), np.float32)}, {})),
                        ("moving", KeypointBasis({"smile": offsets}, {}))):  # fmt: skip
        path = tmp_path / f"{name}.json"
        basis.save(path)
        engine._basis_path, engine._basis = path, None
        keypoints = engine._scripted_keypoints(state, smiling)
        rest = engine.pipeline.rest_keypoints(state.features, state.lip_delta)
        moved = (keypoints - rest).abs().max().item()
        if name == "zero":
            assert moved < 1e-6
        else:
            assert moved > 1e-3
    engine._basis_path, engine._basis = None, None
