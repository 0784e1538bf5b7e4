import numpy as np
import pytest
from skimage import data

from engines.base import LivePuppetError
from realtime.tracker import FaceTracker, find_portrait_face


def test_finds_478_landmarks_inside_the_face():
    image = np.ascontiguousarray(data.astronaut())
    face = find_portrait_face(image)
    assert face.landmarks.shape == (478, 3) and face.image_size == (512, 512)
    x0, y0, x1, y1 = face.box
    assert 150 < x0 < x1 < 300 and 40 < y0 < y1 < 220  # the astronaut's face, top centre


def test_no_face_is_a_clear_error_naming_the_file():
    with pytest.raises(LivePuppetError, match="blank.png"):
        find_portrait_face(np.full((200, 200, 3), 128, np.uint8), name="blank.png")


def _square_face(cx, cy, size):
    points = np.zeros((478, 3), np.float32)
    points[:, 0] = cx + np.linspace(-size / 2, size / 2, 478)
    points[:, 1] = cy + np.linspace(-size / 2, size / 2, 478)[::-1]
    return points


def test_picks_the_largest_face_then_the_same_one_over_time():
    small_central = _square_face(320, 240, 60)
    large_corner = _square_face(80, 80, 120)
    similar_central = _square_face(320, 240, 115)
    with FaceTracker(static_image=True) as tracker:
        assert tracker._choose([small_central, large_corner], 640, 480) is large_corner
        # two faces of about the same size: the more central one wins
        assert tracker._choose([large_corner, similar_central], 640, 480) is similar_central
        # once a face is tracked, the one nearest to it is kept even when another is larger
        tracker._previous_centre = small_central[:, :2].mean(axis=0)
        assert tracker._choose([large_corner, small_central], 640, 480) is small_central


def test_a_portrait_is_read_like_a_video_frame():
    # A driving video's frames (its neutral included) are read in tracking mode from a settled crop; the
    # portrait is read the same way, so a video driving its own first frame compares like with like.
    from engines.landmarks import inter_ocular

    image = np.ascontiguousarray(data.astronaut())
    portrait = find_portrait_face(image).landmarks
    with FaceTracker(static_image=False) as video:
        settled = video.settle(image).landmarks
    with FaceTracker(static_image=True) as still:
        detected = still.track(image).landmarks
    iod = inter_ocular(portrait)
    assert np.abs(portrait - settled)[:, :2].max() / iod < 1e-3
    assert np.linalg.norm(portrait[:, :2] - detected[:, :2], axis=1).mean() / iod > 2e-3

