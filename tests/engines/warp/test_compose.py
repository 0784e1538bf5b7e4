"""The body layer's neck takes the head layer's non-rigid motion just below the head (no seam at the cut),
and only there. Layers are remapped and blended into the frame in place, as a plain float-map remap would."""

import cv2
import numpy as np

from engines.warp.compose import (
    Layer, affine_of_box, apply_affine, blend_over, follow_head_detail, seam_weight, upsample, warp_layer,
)


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


def test_a_layer_is_remapped_as_by_its_float_map_and_blended_into_a_view_of_the_frame():
    rng = np.random.default_rng(3)
    colour = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    alpha = (rng.integers(0, 256, (60, 80)) / 255.0).astype(np.float32)  # a layer's alpha: steps of 1/255
    backward = (_grid((5, 7, 45, 37)) + rng.normal(0, 2.0, (30, 40, 2))).astype(np.float32)  # a wobbly map
    warped = warp_layer(Layer.of(colour, alpha), backward)

    def by_float_map(image):
        return cv2.remap(image, backward, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    np.testing.assert_array_equal(warped[0], by_float_map(colour))  # the colour exactly
    assert warped[1].dtype == np.float32
    assert np.abs(warped[1] - by_float_map(alpha)).max() <= 0.5 / 255 + 1e-6  # alpha within half a step
    assert np.abs(warped[1] - by_float_map(alpha)).max() > 0  # (it is read from the packed 8-bit image)
    frame = np.zeros((50, 60, 3), np.uint8)
    under = np.full((30, 40, 3), 40, np.uint8)
    blend_over(frame[10:40, 15:55], warped, under)  # a view: rows of the frame, not contiguous
    expected = warped[0] * warped[1][..., None] + under * (1.0 - warped[1][..., None])
    assert np.abs(frame[10:40, 15:55] - expected).max() <= 1.0
    assert not frame[:10].any() and not frame[:, :15].any()  # nothing outside the view


def test_upsampled_maps_of_changing_boxes_keep_the_identity_and_fill_a_given_buffer():
    for box in ((0, 0, 300, 280), (13, 7, 90, 61), (100, 50, 611, 333)):
        grid = _grid(box)[::8, ::8]  # an identity map on a coarse grid (not at resize's positions: any)
        identity = upsample(grid, grid, box)
        np.testing.assert_allclose(identity, _grid(box), atol=1e-4)
    buffer = np.zeros((10, 12, 2), np.float32)
    shifted = upsample(np.ones((3, 3, 2), np.float32), np.zeros((3, 3, 2), np.float32), (0, 0, 12, 10), out=buffer)
    assert shifted is buffer and np.allclose(buffer, _grid((1, 1, 13, 11)))


def test_an_affine_of_a_box_is_the_affine_of_each_of_its_pixels():
    matrix = np.array([[1.05, -0.12, 3.25], [0.08, 0.97, -5.5]])
    for box in ((0, 0, 7, 5), (37, 120, 450, 290)):
        pixels = _grid(box)
        moved = affine_of_box(box, matrix)
        assert moved.shape == pixels.shape and moved.dtype == np.float32
        np.testing.assert_allclose(moved, apply_affine(matrix, pixels.astype(np.float64)), atol=1e-3)
