"""Expression parameters move the landmarks they should, measured on the retargeted landmarks of a real
portrait (s42; skipped without the development data)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engines.base import Face, Motion
from engines.expressions import (
    ExpressionModifier,
    ExpressionParams,
    apply_expression,
    expression_field,
    rig_for,
)
from engines.landmarks import (
    LEFT_BROW,
    LEFT_IRIS,
    MOUTH_CORNERS,
    RIGHT_BROW,
    RIGHT_IRIS,
    eye_openings,
    mouth_opening,
    neutral_points,
    rotation_to_euler,
)  # fmt: skip
from engines.retarget import Retargeter


@pytest.fixture(scope="module")
def portrait_face(data_dir) -> Face:
    import cv2

    from realtime.tracker import find_portrait_face

    image = cv2.cvtColor(cv2.imread(str(data_dir / "source" / "s42.jpg")), cv2.COLOR_BGR2RGB)
    return find_portrait_face(image)


@pytest.fixture(scope="module")
def neutral(portrait_face) -> np.ndarray:
    return neutral_points(portrait_face.landmarks)


def _target(face: Face, neutral: np.ndarray, **params) -> np.ndarray:
    motion = apply_expression(Motion.identity(neutral), ExpressionParams(**params))
    return Retargeter(face).retarget(motion)


def test_neutral_params_change_nothing(neutral):
    motion = Motion.identity(neutral)
    assert apply_expression(motion, ExpressionParams()) is motion


def test_blink_closes_both_lid_gaps(portrait_face, neutral):
    open_eyes = eye_openings(_target(portrait_face, neutral))
    closed = eye_openings(_target(portrait_face, neutral, blink=1.0))
    half = eye_openings(_target(portrait_face, neutral, blink=0.5))
    wide = eye_openings(_target(portrait_face, neutral, blink=-1.0))
    assert np.all(open_eyes > 0.2)
    assert np.all(closed < 0.15 * open_eyes)
    assert np.all((half < 0.7 * open_eyes) & (half > closed))
    assert np.all(wide > 1.3 * open_eyes)


def test_blink_on_an_already_half_closed_eye_does_not_overshoot(portrait_face, neutral):
    half = apply_expression(Motion.identity(neutral), ExpressionParams(blink=0.6))
    again = apply_expression(half, ExpressionParams(blink=1.0))
    openings = eye_openings(Retargeter(portrait_face).retarget(again))
    assert np.all(openings >= 0) and np.all(openings < 0.05)


def test_wink_closes_only_the_eye_on_the_images_right(portrait_face, neutral):
    before = eye_openings(_target(portrait_face, neutral))
    after = eye_openings(_target(portrait_face, neutral, wink=1.0))
    # index 1 is the subject's left eye, which is on the image's right
    assert after[1] < 0.15 * before[1]
    assert after[0] == pytest.approx(before[0], abs=1e-3)


def test_smile_raises_and_widens_the_mouth_corners(portrait_face, neutral):
    base = _target(portrait_face, neutral)
    smile = _target(portrait_face, neutral, smile=1.0)
    frown = _target(portrait_face, neutral, smile=-1.0)
    corners = list(MOUTH_CORNERS)
    assert np.all(smile[corners, 1] < base[corners, 1] - 1.0)  # up (y down in pixels)
    assert np.ptp(smile[corners, 0]) > 1.05 * np.ptp(base[corners, 0])
    assert np.all(frown[corners, 1] > base[corners, 1] + 1.0)


def test_pupil_x_moves_the_irises_only(neutral):
    motion = apply_expression(Motion.identity(neutral), ExpressionParams(pupil_x=1.0))
    moved = np.flatnonzero(np.abs(motion.expression).sum(axis=1) > 0)
    assert set(moved) == set(RIGHT_IRIS) | set(LEFT_IRIS)
    assert np.all(motion.expression[moved, 0] > 0)  # towards the image's right


def test_mouth_shapes(portrait_face, neutral):
    base = _target(portrait_face, neutral)
    aaa = _target(portrait_face, neutral, aaa=1.0)
    eee = _target(portrait_face, neutral, eee=1.0)
    woo = _target(portrait_face, neutral, woo=1.0)
    width = lambda p: np.ptp(p[list(MOUTH_CORNERS), 0])
    assert mouth_opening(aaa) > mouth_opening(base) + 0.3
    assert width(eee) > 1.1 * width(base)
    assert width(woo) < 0.8 * width(base)
    # the chin drops with the jaw, the nose stays
    assert aaa[152, 1] > base[152, 1] + 5 and abs(aaa[4, 1] - base[4, 1]) < 0.5


def test_eyebrow_raises_and_lowers_the_brows(neutral):
    up = apply_expression(Motion.identity(neutral), ExpressionParams(eyebrow=1.0)).expression
    down = apply_expression(Motion.identity(neutral), ExpressionParams(eyebrow=-1.0)).expression
    brows = np.concatenate([RIGHT_BROW, LEFT_BROW])
    assert np.all(up[brows, 1] < -0.02) and np.all(down[brows, 1] > 0.01)
    assert np.abs(up[list(MOUTH_CORNERS)]).max() < 1e-4


def test_head_angles_compose_with_the_driven_rotation(neutral):
    from engines.landmarks import euler_to_rotation

    driven = dataclasses.replace(Motion.identity(neutral), rotation=euler_to_rotation(0, 10, 0))
    edited = apply_expression(driven, ExpressionParams(yaw=15, pitch=-5))
    pitch, yaw, _ = rotation_to_euler(edited.rotation)
    assert yaw == pytest.approx(25, abs=0.5) and pitch == pytest.approx(-5, abs=0.5)
    assert np.allclose(edited.expression, 0)


def test_look_at_camera_centres_the_irises(neutral):
    rig = rig_for(neutral)
    averted = apply_expression(Motion.identity(neutral), ExpressionParams(pupil_x=1.0))
    current = neutral + averted.expression
    field = expression_field(rig, current, ExpressionParams(look_at_camera=1.0), np.eye(3, dtype=np.float32))
    irises = (current + field)[[RIGHT_IRIS[0], LEFT_IRIS[0]], :2]
    assert np.allclose(irises, rig.eye_centres(current), atol=1e-4)


def test_modifier_applies_fixed_params(neutral):
    modifier = ExpressionModifier(ExpressionParams(aaa=1.0))
    motion = modifier.modify(Motion.identity(neutral), 0.0)
    assert motion.expression[152, 1] > 0.1
