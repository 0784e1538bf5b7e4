import dataclasses

import cv2
import numpy as np
import pytest

from engines.base import BodyMotion
from engines.body import (
    LEFT_ELBOW, LEFT_SHOULDER, LEFT_WRIST, RIGHT_ELBOW, RIGHT_SHOULDER, RIGHT_WRIST, Body, retarget_body,
)
from engines.warp.body import BodyWarp

SIZE = (480, 400)  # (width, height)


def half_body(arms: bool) -> Body:
    """A portrait cut at the chest: shoulders 200 px apart; with ``arms`` the left arm hangs in view."""
    points = np.array([
        [340, 260], [140, 260],  # left (image right), right shoulder
        [370, 360], [110, 360],  # elbows
        [380, 450], [100, 450],  # wrists (below the frame)
        [300, 520], [180, 520],  # hips (below the frame)
    ], np.float32)  # fmt: skip
    visible = np.zeros(8, bool)
    visible[[LEFT_SHOULDER, RIGHT_SHOULDER]] = True
    if arms:
        visible[LEFT_ELBOW] = True
    return Body(points=points, visible=visible, image_size=SIZE)


def read_at(backward: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Bilinear sample of the (H, W, 2) map at a px position."""
    x, y = point
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    fx, fy = x - x0, y - y0
    top = (1 - fx) * backward[y0, x0] + fx * backward[y0, x0 + 1]
    bottom = (1 - fx) * backward[y0 + 1, x0] + fx * backward[y0 + 1, x0 + 1]
    return (1 - fy) * top + fy * bottom


def backward_map(warp: BodyWarp, motion: BodyMotion) -> np.ndarray:
    box, backward = warp.layer_map(motion)
    assert box == (0, 0, *SIZE)
    return backward


def determinant(backward: np.ndarray) -> np.ndarray:
    dmx_dy, dmx_dx = np.gradient(backward[..., 0])
    dmy_dy, dmy_dx = np.gradient(backward[..., 1])
    return dmx_dx * dmy_dy - dmx_dy * dmy_dx


def test_no_motion_is_the_identity():
    warp = BodyWarp(half_body(arms=True), SIZE)
    ys, xs = np.mgrid[0 : SIZE[1], 0 : SIZE[0]]
    identity = np.stack([xs, ys], axis=-1)
    np.testing.assert_allclose(backward_map(warp, BodyMotion()), identity, atol=1e-3)


def test_shoulders_land_where_the_motion_puts_them():
    body = half_body(arms=False)
    warp = BodyWarp(body, SIZE)
    motion = BodyMotion(roll=np.radians(9.0), shift=np.array([0.08, -0.1], np.float32), width=0.93)
    backward = backward_map(warp, motion)
    target = retarget_body(body, motion)
    # The shoulder centre moved by the shift in the portrait's shoulder widths (200 px), the line turned.
    np.testing.assert_allclose(target[[0, 1]].mean(axis=0), (240 + 16, 260 - 20), atol=1e-3)
    line = target[LEFT_SHOULDER] - target[RIGHT_SHOULDER]
    assert np.degrees(np.arctan2(line[1], line[0])) == pytest.approx(9.0, abs=1e-3)
    for index in (LEFT_SHOULDER, RIGHT_SHOULDER):
        np.testing.assert_allclose(read_at(backward, target[index]), body.points[index], atol=1.0)
    assert determinant(backward).min() > 0


def test_a_visible_arm_turns_about_its_shoulder():
    body = half_body(arms=True)
    warp = BodyWarp(body, SIZE)
    angles = np.array([[np.radians(-30.0), 0.0], [0.0, 0.0]], np.float32)  # left upper arm swings out
    backward = backward_map(warp, BodyMotion(arm_angles=angles))
    target = retarget_body(body, BodyMotion(arm_angles=angles))
    bone = body.points[LEFT_ELBOW] - body.points[LEFT_SHOULDER]
    assert np.linalg.norm(target[LEFT_ELBOW] - target[LEFT_SHOULDER]) == pytest.approx(np.linalg.norm(bone), rel=1e-4)
    np.testing.assert_allclose(read_at(backward, target[LEFT_ELBOW]), body.points[LEFT_ELBOW], atol=1.5)


def test_arms_the_portrait_hides_are_not_invented():
    body = half_body(arms=False)
    warp = BodyWarp(body, SIZE)
    still = backward_map(warp, BodyMotion()).copy()
    swung = backward_map(warp, BodyMotion(arm_angles=np.full((2, 2), np.radians(40.0), np.float32)))
    np.testing.assert_allclose(swung, still, atol=1e-3)


def test_large_motions_never_fold():
    """Random motions over the range a person makes: shoulder roll ±14°, shifts of a quarter shoulder
    width, the shoulders ±20 % wide, arm bones turning ±70° and foreshortened to 70 %."""
    warp = BodyWarp(half_body(arms=True), SIZE)
    rng = np.random.default_rng(3)
    for _ in range(12):
        motion = BodyMotion(
            roll=float(rng.uniform(-0.25, 0.25)), shift=rng.uniform(-0.25, 0.25, 2).astype(np.float32),
            width=float(rng.uniform(0.8, 1.2)), hip_shift=rng.uniform(-0.15, 0.15, 2).astype(np.float32),
            arm_angles=rng.uniform(-1.2, 1.2, (2, 2)).astype(np.float32),
            arm_lengths=rng.uniform(0.7, 1.2, (2, 2)).astype(np.float32),
        )  # fmt: skip
        assert determinant(backward_map(warp, motion)).min() > 0


def test_a_portrait_without_shoulders_has_nothing_to_move():
    body = half_body(arms=True)
    hidden = Body(points=body.points, visible=np.zeros(8, bool), image_size=SIZE)
    for portrait in (hidden, None):
        assert not BodyWarp(portrait, SIZE).active


def test_wrist_follows_its_forearm():
    points = half_body(arms=True).points.copy()
    visible = np.zeros(8, bool)
    visible[[LEFT_SHOULDER, RIGHT_SHOULDER, RIGHT_ELBOW, RIGHT_WRIST]] = True
    points[RIGHT_ELBOW], points[RIGHT_WRIST] = (130, 320), (90, 360)  # well inside the frame
    body = Body(points=points, visible=visible, image_size=SIZE)
    angles = np.array([[0.0, 0.0], [0.0, np.radians(50.0)]], np.float32)
    target = retarget_body(body, BodyMotion(arm_angles=angles))
    np.testing.assert_allclose(target[RIGHT_ELBOW], points[RIGHT_ELBOW])  # the upper arm stays
    backward = backward_map(BodyWarp(body, SIZE), BodyMotion(arm_angles=angles))
    np.testing.assert_allclose(read_at(backward, target[RIGHT_WRIST]), points[RIGHT_WRIST], atol=1.5)
    assert not np.allclose(target[RIGHT_WRIST], points[RIGHT_WRIST], atol=5)


def test_the_engine_moves_the_body_layer_and_keeps_the_background(astronaut):
    from engines.base import EngineOptions, Motion
    from engines.landmarks import neutral_points
    from engines.warp.engine import WarpEngine

    image, face = astronaut
    engine = WarpEngine(EngineOptions())
    state = engine.prepare(image, face)
    still = Motion.identity(neutral_points(face.landmarks))
    step = np.array([0.1, 0.0], np.float32)
    lean = BodyMotion(shift=step, hip_shift=step)  # the whole torso steps aside
    off = engine.render(state, still).copy()
    on = engine.render(state, dataclasses.replace(still, body=lean)).copy()
    body = state.body.body
    assert state.body.active
    # The chest below each shoulder (clear of the neck) appears a tenth of a shoulder width to the right.
    step = round(0.1 * body.shoulder_width)
    chest = body.points[[LEFT_SHOULDER, RIGHT_SHOULDER]] + (0.0, 0.4 * body.shoulder_width)
    for x, y in np.round(chest).astype(int):
        source = image[y - 12 : y + 12, x - 12 : x + 12].astype(np.float32)
        moved = on[y - 12 : y + 12, x - 12 + step : x + 12 + step].astype(np.float32)
        stayed = on[y - 12 : y + 12, x - 12 : x + 12].astype(np.float32)
        assert np.abs(moved - source).mean() < 0.5 * np.abs(stayed - source).mean()
    # Without body motion the body stays; far from the person the background is the portrait's own.
    person = state.layers.person > 0.05
    far = ~cv2.dilate(person.astype(np.uint8), np.ones((61, 61), np.uint8)).astype(bool)
    assert far.sum() > 5000
    np.testing.assert_array_equal(on[far], image[far])
    np.testing.assert_array_equal(off[far], image[far])


def test_the_frame_edge_beside_a_shoulder_moves_with_it_and_the_bottom_corners_pull_nothing_in():
    """The side edge beside a shoulder slides with it (pinned, it held the shoulder's outer side still
    while the joint rose), and the edges' bottom corners never rise (nothing below the frame is known)."""
    points = half_body(arms=False).points.copy()
    points[[LEFT_SHOULDER, RIGHT_SHOULDER]] = [[440, 300], [240, 300]]  # the left one 39 px from the edge
    body = Body(points=points, visible=half_body(arms=False).visible, image_size=SIZE)
    motion = BodyMotion(roll=np.radians(-10.0))  # the left shoulder rises 17 px, the right one drops
    backward = backward_map(BodyWarp(body, SIZE), motion)
    target = retarget_body(body, motion)
    for index in (LEFT_SHOULDER, RIGHT_SHOULDER):
        np.testing.assert_allclose(read_at(backward, target[index]), body.points[index], atol=1.5)
    assert determinant(backward).min() > 0
    rise = body.points[LEFT_SHOULDER, 1] - target[LEFT_SHOULDER, 1]
    for x in (460, 478):  # the shoulder's outer side, up to the edge: where its pixels at y = 300 land
        landed = np.interp(300.0, backward[:, x, 1], np.arange(SIZE[1]))
        assert 300.0 - landed > 0.75 * rise
    for corner in ((0, SIZE[1] - 1), (SIZE[0] - 1, SIZE[1] - 1)):
        assert backward[corner[1], corner[0], 1] <= SIZE[1]  # within a pixel of the frame
