"""The body layer's neck takes the head layer's non-rigid motion just below the head (no seam at the cut),
and only there."""

import numpy as np

from engines.warp.compose import apply_affine, follow_head_detail, seam_weight


def _grid(box):
    x0, y0, x1, y1 = box
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    return np.dstack([xs, ys])


def test_the_neck_moves_like_the_head_where_its_weight_is_whole():
    inverse = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, 2.0]], np.float32)  # the head's rigid backward motion
    head_box, body_box = (0, 0, 40, 40), (0, 20, 40, 60)
    head = apply_affine(inverse, _grid(head_box))
    head[..., 0] += np.linspace(0, 5, 40)[None, :]  # a non-rigid part (the jaw moving sideways)
    body = apply_affine(inverse, _grid(body_box))  # the neck's rigid part, as neck_map gives it at share 1
    weight = np.zeros((80, 80), np.float32)
    weight[:35] = 1.0  # the neck's top follows the head wholly; below row 35 the body keeps still
    before = body.copy()
    follow_head_detail(body, body_box, weight, head, head_box, inverse)
    # Rows 20..31 (inside both boxes; their source rows 22..33 have weight 1): exactly the head's map.
    np.testing.assert_allclose(body[:12], head[20:32], atol=1e-4)
    # Below the head box the body map is untouched.
    assert np.array_equal(body[20:], before[20:])


def test_the_seam_weight_is_the_neck_core_just_below_the_head():
    head_alpha = np.zeros((60, 40), np.float32)
    head_alpha[:20] = 1.0  # the head layer ends at row 19
    neck = np.full((60, 40), 0.5, np.float32)
    neck[:, 15:25] = 1.0  # the neck's core
    weight = seam_weight(head_alpha, neck, reach=10.0)
    assert weight[19, 20] == 1.0 and weight[20, 20] > 0.85 and abs(weight[24, 20] - 0.5) < 1e-6  # fading below it
    assert weight[30:, :].max() == 0.0  # nothing beyond the reach
    assert weight[20, 5] < 0.2 * weight[20, 20]  # beside the neck's core (the collar, shoulders): little
