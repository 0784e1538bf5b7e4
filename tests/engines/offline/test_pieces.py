"""The small pieces of the offline modes: pose drawing, face crops, colour matching, sizes."""

import cv2
import numpy as np

from engines.offline.colour import ColourMatcher, lab_statistics
from engines.offline.images import generation_size
from engines.offline.pose import MEDIAPIPE_HEAD, NOSE, OPENPOSE_COLOURS, Body, draw_pose, face_crop
from engines.offline.video import segment_length


def _face(centre=(100.0, 90.0), size=60.0):
    """A crude synthetic face: 478 points spread in a box, with the points the pose uses placed sensibly."""
    rng = np.random.default_rng(1)
    cx, cy = centre
    points = np.zeros((478, 3), np.float32)
    points[:, 0] = rng.uniform(cx - size / 2, cx + size / 2, 478)
    points[:, 1] = rng.uniform(cy - size / 2, cy + size / 2, 478)
    points[10] = (cx, cy - size / 2, 0)  # forehead
    points[152] = (cx, cy + size / 2, 0)  # chin
    points[168] = (cx, cy - size / 6, 0)  # between the eyes
    points[1] = (cx, cy, 0)  # nose tip
    points[234], points[454] = (cx - size / 2, cy, 0), (cx + size / 2, cy, 0)
    points[468], points[473] = (cx - size / 5, cy - size / 6, 0), (cx + size / 5, cy - size / 6, 0)
    return points


def test_pose_draws_openpose_keypoint_colours_at_the_head_points():
    face = _face()
    body = Body.estimate(face)
    assert body.neck[1] > face[152, 1] and body.right_shoulder[0] < body.neck[0] < body.left_shoulder[0]
    pose = draw_pose(face, body, (256, 256))
    x, y = face[MEDIAPIPE_HEAD[NOSE], :2].astype(int)
    assert tuple(pose[y, x]) == OPENPOSE_COLOURS[NOSE]
    assert pose.any(axis=2).mean() < 0.2  # a skeleton on black
    scaled = draw_pose(face, body, (512, 512), scale=2.0)
    assert tuple(scaled[2 * y, 2 * x]) == OPENPOSE_COLOURS[NOSE]
    with_dots = draw_pose(face, body, (256, 256), face_dots=True)
    assert (with_dots == 255).all(axis=2).sum() > 50  # white DWPose-like face dots


def test_face_crop_is_centred_and_square():
    image = np.zeros((200, 300, 3), np.uint8)
    cv2.circle(image, (120, 80), 20, (255, 0, 0), -1)
    landmarks = np.array([[100, 60], [140, 100], [120, 80]], np.float32)
    crop = face_crop(image, landmarks, 64, margin=1.5)
    assert crop.shape == (64, 64, 3)
    assert crop[32, 32, 0] == 255 and crop[2, 2, 0] == 0


def test_colour_matcher_moves_statistics_to_the_reference():
    rng = np.random.default_rng(0)
    reference = rng.integers(60, 200, size=(64, 64, 3), dtype=np.uint8)
    frame = np.clip(reference.astype(int) * 0.6 + 70, 0, 255).astype(np.uint8)[:, :, ::-1].copy()
    matched = ColourMatcher(reference).apply(frame)
    ref_mean, ref_std = lab_statistics(reference)
    new_mean, new_std = lab_statistics(matched)
    old_mean, _ = lab_statistics(frame)
    assert np.abs(new_mean - ref_mean).max() < 2.0 < np.abs(old_mean - ref_mean).max()
    assert np.abs(new_std - ref_std).max() < 3.0
    assert ColourMatcher(reference, strength=0.0).apply(frame) is frame


def test_sizes():
    assert generation_size(1000, 1500, 512, 64) == (320, 512)
    assert generation_size(100, 100, 64, 8) == (64, 64)
    assert [segment_length(n) for n in (1, 2, 5, 6, 77)] == [1, 5, 5, 9, 77]
