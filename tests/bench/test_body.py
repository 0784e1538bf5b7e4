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
