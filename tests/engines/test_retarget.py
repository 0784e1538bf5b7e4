import dataclasses

import numpy as np
import pytest
from skimage import data

from engines.base import Face, Motion
from engines.landmarks import (
    LEFT_EYE_LOWER, LEFT_EYE_UPPER, LIPS, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER, FaceFrame, eye_openings, mouth_opening,
)  # fmt: skip
from engines.retarget import Retargeter
from realtime.tracker import find_portrait_face


@pytest.fixture(scope="module")
def face():
    return find_portrait_face(np.ascontiguousarray(data.astronaut()))


def _with_eyes_scaled(points: np.ndarray, factor: float) -> np.ndarray:
    """A face whose eyes are ``factor`` times as open (lids moved about the eye centre line, along the
    face's own vertical)."""
    frame = FaceFrame.of(points)
    out = frame.normalise(points)
    for upper, lower in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
        middle = 0.5 * (out[upper, 1] + out[lower, 1])
        out[upper, 1] = middle + (out[upper, 1] - middle) * factor
        out[lower, 1] = middle + (out[lower, 1] - middle) * factor
    return frame.denormalise(out).astype(np.float32)


def test_identity_motion_gives_the_source_landmarks(face):
    neutral = FaceFrame.of(face.landmarks).normalise(face.landmarks)
    target = Retargeter(face).retarget(Motion.identity(neutral.astype(np.float32)))
    np.testing.assert_allclose(target, face.landmarks, atol=1e-3)


def test_a_small_eyed_source_closes_fully_when_a_big_eyed_driver_blinks(face):
    small = Face(_with_eyes_scaled(face.landmarks, 0.5), face.image_size)
    big_neutral = _with_eyes_scaled(face.landmarks, 1.4)
    frame = FaceFrame.of(big_neutral)
    driver_neutral = frame.normalise(big_neutral).astype(np.float32)
    driver_blink = frame.normalise(_with_eyes_scaled(big_neutral, 0.0)).astype(np.float32)
    motion = dataclasses.replace(Motion.identity(driver_neutral), expression=driver_blink - driver_neutral)
    target = Retargeter(small).retarget(motion)
    assert eye_openings(small.landmarks).mean() > 0.1
    assert eye_openings(target).mean() < 0.02  # closed, not over-closed or half-open


def test_mouth_opening_scales_with_the_source_mouth(face):
    driver = face.landmarks.copy()
    centre = driver[LIPS, :2].mean(axis=0)
    driver[LIPS, :2] = centre + (driver[LIPS, :2] - centre) * 0.7  # the driver has a smaller mouth
    frame = FaceFrame.of(driver)
    neutral = frame.normalise(driver).astype(np.float32)
    opened = driver.copy()
    opened[[14, 87, 317, 178, 402, 17], 1] += 10.0
    motion = dataclasses.replace(Motion.identity(neutral), expression=frame.normalise(opened) - neutral)
    target = Retargeter(face).retarget(motion)
    # the same opening relative to mouth width as the driver showed
    assert mouth_opening(target) == pytest.approx(mouth_opening(opened), rel=0.15)


def _motion(neutral_landmarks: np.ndarray, now_landmarks: np.ndarray) -> Motion:
    """The motion of a driver whose reference frame is ``neutral_landmarks`` and who now shows ``now_landmarks``
    (image px, the same head pose)."""
    frame = FaceFrame.of(neutral_landmarks)
    neutral = frame.normalise(neutral_landmarks).astype(np.float32)
    return dataclasses.replace(Motion.identity(neutral), expression=frame.normalise(now_landmarks) - neutral)


def test_a_driver_whose_reference_frame_has_shut_eyes_gives_its_open_eyes_not_wide_ones(face):
    """A clip starting with closed eyes (b01, b02, v03): its open eyes afterwards are the portrait's open
    eyes, not eyes opened by the whole closed-to-open distance again (googly painted eyes)."""
    shut = _with_eyes_scaled(face.landmarks, 0.0)
    retargeter = Retargeter(face)
    portrait = eye_openings(face.landmarks)
    open_now = eye_openings(retargeter.retarget(_motion(shut, face.landmarks)))
    np.testing.assert_allclose(open_now, portrait, rtol=0.35)  # was about 2× (opening 0.3 → 0.6+) before
    shut_now = eye_openings(retargeter.retarget(_motion(shut, shut)))
    assert shut_now.max() < 0.08  # and shut eyes are shut (open: about 0.3)


def test_a_shut_eyed_portrait_keeps_its_look_follows_a_driver_that_starts_shut_and_itself_exactly(face):
    shut = Face(_with_eyes_scaled(face.landmarks, 0.0), face.image_size)
    retargeter = Retargeter(shut)
    at_rest = eye_openings(retargeter.retarget(_motion(face.landmarks, face.landmarks)))  # a relaxed driver
    assert at_rest.max() < 0.05  # its look (a blink photo, a laugh) is kept; the driver's blinks close it
    driver_shut = _with_eyes_scaled(face.landmarks, 0.0)
    opening = eye_openings(retargeter.retarget(_motion(driver_shut, face.landmarks)))
    assert opening.min() > 0.2  # a driver that starts shut and opens: the portrait opens with it (b01)
    itself = retargeter.retarget(Motion.identity(retargeter.source_points))
    np.testing.assert_allclose(itself, shut.landmarks, atol=1e-3)


def test_a_driver_squinting_in_its_reference_frame_gives_its_ordinary_eyes_not_wide_ones(face):
    """v01's first frame is narrowed (0.16 against 0.22 after): its ordinary eyes were 1.4× the portrait's."""
    narrowed = _with_eyes_scaled(face.landmarks, 0.45)
    assert 0.1 < eye_openings(narrowed).mean() < 0.2
    retargeter = Retargeter(face)
    now = _with_eyes_scaled(face.landmarks, 0.65)  # the driver's ordinary open eye, a little wider
    ratio = eye_openings(retargeter.retarget(_motion(narrowed, now))) / eye_openings(face.landmarks)
    assert ratio.max() < 1.25  # was 0.65 / 0.45 ≈ 1.44
    # a squinting portrait driven by itself stays exactly as it is
    squinting = Face(narrowed, face.image_size)
    itself = Retargeter(squinting)
    np.testing.assert_allclose(itself.retarget(Motion.identity(itself.source_points)), narrowed, atol=1e-3)
