"""A closing lid (engines/warp/eyes.py): the eye is covered by the portrait's own skin, wiped down from
above, never a see-through blend over the eye and never a dark patch where lashes and liner were."""

import numpy as np
import pytest

from engines.landmarks import LEFT_EYE_CONTOUR, LEFT_EYE_UPPER
from engines.warp.eyes import lid_texture, paint_lid

SKIN_TOP = np.array([200, 150, 120], np.float32)  # lid skin above the eye
SKIN_BOTTOM = np.array([180, 130, 110], np.float32)  # cheek below it
EYE = np.array([240, 240, 235], np.uint8)  # the white
LASHES = np.array([20, 15, 15], np.uint8)
IDENTITY = np.array([[1, 0, 0], [0, 1, 0]], np.float32)


@pytest.fixture()
def eye_image():
    """A 200 x 120 image: a skin gradient, an almond eye 100 px wide at (100, 60) with thick dark lashes
    and liner along its upper lid; the (478, 2) points with that eye's contour filled in."""
    rows = np.linspace(0.0, 1.0, 120, dtype=np.float32)[:, None, None]
    image = (SKIN_TOP * (1 - rows) + SKIN_BOTTOM * rows).repeat(200, axis=1).astype(np.uint8)
    points = np.zeros((478, 2), np.float32)
    angles = np.linspace(np.pi, 0.0, 9)  # contour[0..8]: the upper lid, corner to corner
    upper = np.stack([100 + 50 * np.cos(angles), 60 - 18 * np.sin(angles)], axis=1)
    lower = np.stack([100 + 50 * np.cos(-angles[1:-1][::-1]), 60 + 14 * np.sin(angles[1:-1][::-1])], axis=1)
    contour = np.concatenate([upper, lower])
    points[LEFT_EYE_CONTOUR] = contour
    import cv2

    cv2.fillPoly(image, [np.round(contour).astype(np.int32)], EYE.tolist())
    cv2.polylines(image, [np.round(upper).astype(np.int32)], False, LASHES.tolist(), 6)  # lashes and liner
    return image, points


def _upper_lid(points):
    return points[LEFT_EYE_CONTOUR[:9]]


def test_the_filled_in_lid_is_skin_not_lashes_or_eye(eye_image):
    image, points = eye_image
    lid = lid_texture(image, points, LEFT_EYE_CONTOUR, LEFT_EYE_CONTOUR[:9])
    x0, y0 = lid.cover_origin.astype(int)
    centre = lid.cover[60 - y0, 100 - x0]
    on_the_lashes = lid.cover[int(_upper_lid(points)[4, 1]) - y0, 100 - x0]
    for colour in (centre, on_the_lashes):
        assert np.abs(colour - (SKIN_TOP + SKIN_BOTTOM) / 2).max() < 25


def test_a_shut_lid_covers_the_whole_eye_with_skin(eye_image):
    image, points = eye_image
    lid = lid_texture(image, points, LEFT_EYE_CONTOUR, LEFT_EYE_CONTOUR[:9])
    target = points.copy()
    target[LEFT_EYE_CONTOUR[1:8], 1] = points[LEFT_EYE_CONTOUR[9:][::-1], 1] - 1  # upper lid on the lower
    out = image.copy()
    paint_lid(out, target, points[LEFT_EYE_CONTOUR], LEFT_EYE_CONTOUR[:9], lid, IDENTITY, 1.0)
    white = (np.abs(image.astype(int) - EYE.astype(int)).max(axis=2) < 10) & (np.abs(out.astype(int) - EYE.astype(int)).max(axis=2) < 60)
    assert white.sum() == 0  # no eye white left anywhere
    upper_half = out[50, 70:130].astype(np.float32)
    assert np.abs(upper_half - (SKIN_TOP + SKIN_BOTTOM) / 2).max() < 30  # skin, not a dark patch


def test_a_half_shut_lid_wipes_down_and_leaves_the_eye_below_it(eye_image):
    """Half closed: skin above the target lid line, the eye itself below it, untouched (not blended)."""
    image, points = eye_image
    lid = lid_texture(image, points, LEFT_EYE_CONTOUR, LEFT_EYE_CONTOUR[:9])
    target = points.copy()
    target[LEFT_EYE_UPPER, 1] = 58.0  # the lid line comes down to y = 58, the eye's middle
    target[LEFT_EYE_CONTOUR[1:8], 1] = 58.0
    out = image.copy()
    paint_lid(out, target, points[LEFT_EYE_CONTOUR], LEFT_EYE_CONTOUR[:9], lid, IDENTITY, 0.5)
    below = np.s_[65:72, 85:115]  # inside the eye, below the lid line and its lashes
    assert np.array_equal(out[below], image[below])
    above = out[47:52, 85:115].astype(np.float32)  # where the white was, above the lid line
    assert np.abs(above - (SKIN_TOP + SKIN_BOTTOM) / 2).max(axis=2).mean() < 30
