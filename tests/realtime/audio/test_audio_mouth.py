"""AudioMouth (file and live sources) and idle motion, on a real portrait's neutral face."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from engines.base import LivePuppetError, Motion
from engines.landmarks import mouth_opening, neutral_points
from realtime.audio import AudioBlock, AudioMouth, AudioMouthConfig, IdleMotion, load_audio
from tests.realtime.audio.signals import RATE, noise, vowel, vowel_bursts


@pytest.fixture(scope="module")
def neutral(data_dir) -> np.ndarray:
    import cv2

    from realtime.tracker import find_portrait_face

    image = cv2.cvtColor(cv2.imread(str(data_dir / "source" / "s42.jpg")), cv2.COLOR_BGR2RGB)
    face = find_portrait_face(image)
    return neutral_points(face.landmarks)


def write_wav(path, samples: np.ndarray, rate: int = RATE) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def test_load_audio_resamples_a_wav(tmp_path):
    path = tmp_path / "tone.wav"
    t = np.arange(44100) / 44100
    write_wav(path, 0.5 * np.sin(2 * np.pi * 440 * t), rate=44100)
    samples = load_audio(path, 16000)
    assert abs(len(samples) - 16000) < 200
    assert 0.3 < np.abs(samples).max() < 0.6
    with pytest.raises(LivePuppetError, match="not found"):
        load_audio(tmp_path / "missing.wav")


def test_file_mouth_opens_during_the_bursts_only(tmp_path, neutral):
    path = tmp_path / "bursts.wav"
    write_wav(path, vowel_bursts(on=0.4, off=0.4, count=2))
    mouth = AudioMouth.from_file(path)
    identity = Motion.identity(neutral)

    def opening(t: float) -> float:
        return mouth_opening(neutral + mouth.modify(identity, t).expression)

    closed = mouth_opening(neutral)
    assert opening(0.2) == pytest.approx(closed, abs=0.02)  # before the first burst
    assert opening(0.7) > closed + 0.1  # inside the first burst (0.4-0.8 s)
    assert opening(1.0) == pytest.approx(closed, abs=0.02)  # in the gap (the offline mouth leads by 0.1 s)
    assert opening(100.0) == pytest.approx(closed, abs=0.02)  # after the end


def test_replace_removes_the_cameras_mouth_and_mix_keeps_it(neutral):
    silent = AudioMouth(track=None, source=_LiveSource([]), config=AudioMouthConfig(mode="replace"))
    mixed = AudioMouth(track=None, source=_LiveSource([]), config=AudioMouthConfig(mode="mix"))
    camera_open = np.zeros_like(neutral)
    camera_open[[14, 17, 152], 1] = 0.2  # the driver's jaw open
    driven = Motion(np.eye(3, dtype=np.float32), 1.0, np.zeros(2, np.float32), camera_open, neutral)
    assert np.abs(silent.modify(driven, 0.0).expression[[14, 17, 152]]).max() < 0.02
    assert np.allclose(mixed.modify(driven, 0.0).expression, camera_open)


class _LiveSource:
    """A live source stand-in: each ``blocks()`` call returns what was 'captured' since the last one."""

    sample_rate = RATE

    def __init__(self, pending: list[np.ndarray]):
        self.pending = list(pending)
        self.closed = False

    def blocks(self):
        while self.pending:
            yield AudioBlock(self.pending.pop(0), 0.0)

    def close(self):
        self.closed = True


def test_live_mouth_follows_the_newest_audio(neutral):
    source = _LiveSource([])
    mouth = AudioMouth.from_source(source)
    identity = Motion.identity(neutral)
    source.pending = list(noise(0.3).reshape(-1, 160))
    quiet = mouth_opening(neutral + mouth.modify(identity, 0.0).expression)
    source.pending = list(vowel("a", 0.3)[: 30 * 160].reshape(-1, 160))
    talking = mouth_opening(neutral + mouth.modify(identity, 0.0).expression)
    assert talking > quiet + 0.1
    assert mouth.processing_seconds < 0.3  # 30 blocks of 10 ms: faster than real time
    mouth.close()
    assert source.closed


def test_idle_motion_sways_and_blinks_only_without_a_driving_face(neutral):
    idle = IdleMotion()
    times = np.arange(0, 30, 1 / 30)
    params = [idle.params_at(t) for t in times]
    blinks = np.array([p.blink for p in params])
    yaws = np.array([p.yaw for p in params])
    starts = np.flatnonzero((blinks[1:] > 0.5) & (blinks[:-1] <= 0.5))
    assert 4 <= len(starts) <= 15  # ~every 3.5 s
    assert np.diff(times[starts]).min() > 0.5
    assert (blinks > 0.5).mean() < 0.1  # eyes open most of the time
    assert 0.5 < np.abs(yaws).max() <= 2.5 and np.std(yaws) > 0.2
    identity = Motion.identity(neutral)  # no camera: full idle
    assert not np.allclose(idle.modify(identity, 5.0).rotation, np.eye(3))
    driven = Motion(
        np.eye(3, dtype=np.float32), 1.0, np.zeros(2, np.float32), np.zeros_like(neutral), neutral
    )
    assert idle.modify(driven, 5.0) is driven
