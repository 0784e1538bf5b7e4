"""Crop geometry from MediaPipe landmarks, openness ratios and the procedural paste-back mask."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engines.liveportrait import crop


@pytest.fixture(scope="module")
def portrait(data_dir):
    from realtime.tracker import find_portrait_face

    image = cv2.cvtColor(cv2.imread(str(data_dir / "source" / "s1.jpg")), cv2.COLOR_BGR2RGB)
    return image, find_portrait_face(image)


def rotate_points(points: np.ndarray, degrees: float, center) -> np.ndarray:
    matrix = cv2.getRotationMatrix2D(tuple(map(float, center)), degrees, 1.0)  # counter-clockwise on screen
    out = points.copy()
    out[:, :2] = points[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    return out


def test_source_crop_is_roll_compensated_and_centred(portrait):
    image, face = portrait
    small, to_crop = crop.source_crop(image, face.landmarks)
    assert small.shape == (256, 256, 3) and small.dtype == np.uint8
    eyes = np.c_[face.landmarks[list(crop.EYE_CENTRES), :2], np.ones(2)] @ to_crop.T  # (2, 2) crop px
    assert abs(eyes[0, 1] - eyes[1, 1]) < 1.0  # level eyes after the roll compensation
    assert abs(eyes.mean(axis=0)[0] - 256) < 40  # horizontally centred on the face
    rect = crop.face_rect(face.landmarks, crop.SOURCE_CROP)
    assert abs(rect.angle) > 0.02  # s1 has a visible roll: the test above is not trivially true


def test_rect_follows_a_rotated_face(portrait):
    _, face = portrait
    base = crop.face_rect(face.landmarks, crop.SOURCE_CROP)
    turned = crop.face_rect(rotate_points(face.landmarks, 20.0, base.center), crop.SOURCE_CROP)
    # cv2's positive angle turns counter-clockwise on screen (y down): the face's x axis angle decreases.
    assert turned.angle == pytest.approx(base.angle - np.radians(20.0), abs=1e-6)
    assert turned.size == pytest.approx(base.size, rel=1e-6)
    np.testing.assert_allclose(turned.center, base.center, atol=1e-6)
    driving = crop.face_rect(face.landmarks, crop.DRIVING_CROP)
    assert driving.angle == 0.0 and driving.size == pytest.approx(base.size * 2.2 / 2.3, rel=1e-9)


def test_driving_cropper_is_causal_and_smooth(portrait):
    image, face = portrait
    cropper = crop.DrivingCropper(alpha=0.5)
    first = cropper.crop(image, face.landmarks)
    shifted = face.landmarks.copy()
    shifted[:, 0] += 8.0
    cropper.crop(image, shifted)
    rect = crop.face_rect(face.landmarks, crop.DRIVING_CROP)
    assert cropper._center[0] == pytest.approx(rect.center[0] + 4.0)  # half way: smoothed, not averaged ahead
    far = face.landmarks.copy()
    far[:, 0] += 0.5 * rect.size
    cropper.crop(image, far)
    assert cropper._center[0] == pytest.approx(rect.center[0] + 0.5 * rect.size)  # a jump restarts
    assert first.shape == (256, 256, 3)


def test_openness_ratios(portrait):
    _, face = portrait
    left, right, lip = crop.openness_ratios(face.landmarks)
    assert 0.15 < left < 0.5 and 0.15 < right < 0.5  # open eyes
    closed = face.landmarks.copy()
    closed[159] = closed[145]
    closed[13] = closed[14] + [0.0, -40.0, 0.0]
    c_left, c_right, c_lip = crop.openness_ratios(closed)
    assert c_left < 1e-6 and c_right == right and c_lip > lip + 0.1


def test_paste_mask_resembles_the_official_template(data_dir):
    mask = crop.paste_mask()
    template = cv2.imread(str(data_dir / "resources" / "mask_template.png"), cv2.IMREAD_GRAYSCALE) / 255.0
    assert mask.shape == template.shape and mask.dtype == np.float32
    assert mask[256, 256] == 1.0 and mask[0, 0] == 0.0 and mask[0, 256] == 0.0
    assert np.abs(mask - template).mean() < 0.01
    assert np.abs(mask - template).max() < 0.2
