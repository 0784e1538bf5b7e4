"""The lip closer squeezes what lies between a portrait's parted lips into the target's gap, and leaves an
opening mouth (and everything outside the lips) alone."""

import cv2
import numpy as np

from engines.landmarks import INNER_LIP_LOWER, INNER_LIP_UPPER
from engines.warp.lips import OUTER_LOWER, OUTER_UPPER, close_lips


def _mouth(gap_top: float, gap_bottom: float) -> np.ndarray:
    """478 landmarks with a mouth from x 20 to 100: outer lips at rows 30 and 70, inner lips as given."""
    points = np.zeros((478, 3), np.float32)
    for indices, y in ((OUTER_UPPER, 30.0), (OUTER_LOWER, 70.0), (INNER_LIP_UPPER, gap_top), (INNER_LIP_LOWER, gap_bottom)):
        xs = np.linspace(20, 100, len(indices))
        points[indices, 0] = xs
        points[indices, 1] = y
        points[indices[[0, -1]], 1] = 50.0  # the corners, where the lips meet
    return points


def _identity(height: int, width: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.dstack([xs, ys])


def _portrait() -> np.ndarray:
    image = np.full((100, 120, 3), 200, np.uint8)
    image[40:61, :] = (20, 10, 10)  # the dark gap between parted lips, rows 40..60
    return image


def test_parted_lips_close_where_the_target_closes_them():
    source = _mouth(40.0, 60.0)
    backward = _identity(100, 120)
    assert close_lips(backward, _mouth(50.0, 50.0), source)
    output = cv2.remap(_portrait(), backward, None, cv2.INTER_LINEAR)
    dark = (output[..., 0] < 110).sum(axis=0)  # rows of gap per column
    assert dark[55:66].max() <= 2  # mid-mouth: the 21-row gap is squeezed to a line
    assert dark[0:15].min() == 21 and dark[106:].min() == 21  # beyond the corners: untouched
    # Rows well above the upper lip and below the lower lip are not moved.
    assert np.allclose(backward[:15], _identity(100, 120)[:15])
    assert np.allclose(backward[85:], _identity(100, 120)[85:])


def test_an_opening_mouth_is_left_to_the_painter():
    source = _mouth(48.0, 52.0)
    backward = _identity(100, 120)
    assert not close_lips(backward, _mouth(40.0, 60.0), source)
    assert np.array_equal(backward, _identity(100, 120))
