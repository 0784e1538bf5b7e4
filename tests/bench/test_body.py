import numpy as np
import pytest

from bench.body import BodyScores, shoulder_angle
from engines.body import LEFT_ELBOW, LEFT_SHOULDER, Body


def body(points, visible) -> Body:
    return Body(points=np.asarray(points, np.float32), visible=np.asarray(visible, bool), image_size=(640, 480))


REAL = body([[400, 300], [200, 300], [420, 400], [180, 400], [430, 470], [170, 470], [380, 600], [220, 600]],
            [1, 1, 1, 0, 0, 0, 0, 0])  # fmt: skip


def test_error_counts_points_seen_in_both_over_the_shoulder_width():
    output = body(REAL.points + (10.0, 0.0), [1, 1, 0, 0, 0, 0, 0, 0])  # elbow not seen on the output
    output.points[LEFT_ELBOW] += 500.0  # so its (huge) error must not count
    scores = BodyScores()
    scores.add(REAL, output)
    assert scores.errors == [pytest.approx(10.0 / 200.0)]
    tilted = REAL.points.copy()
    tilted[LEFT_SHOULDER, 1] += 200 * np.tan(np.radians(5.0))
    assert shoulder_angle(body(tilted, REAL.visible)) == pytest.approx(5.0, abs=1e-4)


def test_frames_without_real_shoulders_are_not_scored():
    scores = BodyScores()
    no_shoulders = body(REAL.points, [0, 1, 1, 0, 0, 0, 0, 0])
    scores.add(no_shoulders, REAL)
    scores.add(REAL, None)
    assert scores.errors == [] and scores.frames_without_body == 1
    assert scores.summary()["body_error"] is None


def test_the_real_body_ceiling_takes_the_real_pixels_below_the_chin_and_beside_the_head():
    from types import SimpleNamespace

    from bench.body import _with_real_body

    angles = np.linspace(0, 2 * np.pi, 478, endpoint=False)
    landmarks = np.stack([320 + 60 * np.cos(angles), 200 + 60 * np.sin(angles), 0 * angles], axis=1)
    landmarks[[152, 10, 1]] = [[320, 260, 0], [320, 140, 0], [320, 200, 0]]  # chin, forehead, nose tip
    output, real = np.zeros((480, 640, 3), np.uint8), np.full((480, 640, 3), 255, np.uint8)
    mixed = _with_real_body(output, real, SimpleNamespace(landmarks=landmarks.astype(np.float32)))
    for x, y, from_real in ((320, 300, True), (320, 250, False), (100, 250, True), (100, 150, False)):
        assert (mixed[y, x] == 255).all() == from_real, (x, y)
    assert _with_real_body(output, real, None) is output
