import numpy as np

from engines.base import Face, Motion
from realtime.live.calibration import CalibrationConfig, StableCalibrator
from tests.realtime.live.fakes import face_template


class StubDriver:
    def __init__(self):
        self.recalibrations = 0

    def recalibrate(self):
        self.recalibrations += 1


def motion(landmarks, calibration_id, face_found=True):
    neutral = np.zeros((478, 3), np.float32)
    base = Motion.identity(neutral)
    return Motion(
        rotation=base.rotation, scale=1.0, translation=base.translation, expression=base.expression,
        neutral=neutral, face_found=face_found, driving_face=Face(landmarks, (100, 100)),
        calibration_id=calibration_id,
    )  # fmt: skip


def test_waits_for_a_still_face_then_recalibrates_once():
    driver = StubDriver()
    calibrator = StableCalibrator(
        driver, CalibrationConfig(stable_frames=4, max_motion=0.02, timeout_seconds=10)
    )
    template = face_template()
    t = 0.0
    for k in range(8):  # moving: the head sways by a lot each frame
        assert calibrator.process(motion(template + 5.0 * (k % 2), 1), t) is None
        t += 1 / 30
    assert driver.recalibrations == 0
    for _ in range(4):  # still
        assert calibrator.process(motion(template, 1), t) is None
        t += 1 / 30
    assert driver.recalibrations == 1 and not calibrator.calibrated
    moved = motion(template, 2)  # the driver's next motion, relative to the new neutral
    assert calibrator.process(moved, t) is moved and calibrator.calibrated
    for _ in range(10):
        calibrator.process(motion(template, 2), t)
    assert driver.recalibrations == 1


def test_never_still_face_calibrates_after_the_timeout():
    driver = StubDriver()
    calibrator = StableCalibrator(driver, CalibrationConfig(stable_frames=4, timeout_seconds=0.5))
    template = face_template()
    for k in range(20):
        calibrator.process(motion(template + 5.0 * (k % 2), 1), k / 30)
    assert driver.recalibrations == 1


def test_request_keeps_the_old_neutral_until_a_new_stable_face():
    driver = StubDriver()
    calibrator = StableCalibrator(driver, CalibrationConfig(stable_frames=2, timeout_seconds=10))
    template = face_template()
    calibrator.process(motion(template, 1), 0.0)
    calibrator.process(motion(template, 1), 0.1)
    calibrator.process(motion(template, 2), 0.2)
    assert calibrator.calibrated and driver.recalibrations == 1
    calibrator.request()
    current = motion(template + 5.0, 2)
    assert calibrator.process(current, 0.3) is current  # still driving with the old neutral
    calibrator.process(motion(template + 5.0, 2), 0.4)
    assert driver.recalibrations == 2


def test_no_face_means_no_motion_and_resets_stillness():
    driver = StubDriver()
    calibrator = StableCalibrator(driver, CalibrationConfig(stable_frames=3, timeout_seconds=10))
    template = face_template()
    assert calibrator.process(None, 0.0) is None
    calibrator.process(motion(template, 1), 0.0)
    calibrator.process(motion(template, 1), 0.05)
    calibrator.process(motion(template, 1, face_found=False), 0.1)
    calibrator.process(motion(template, 1), 0.2)  # would be the third still frame without the gap
    assert driver.recalibrations == 0
    calibrator.process(motion(template, 1), 0.25)
    calibrator.process(motion(template, 1), 0.3)
    assert driver.recalibrations == 1
