"""The speech -> mouth model on synthesized signals."""

from __future__ import annotations

import numpy as np
import pytest

from realtime.audio.mouth_model import MouthModel, analyse
from tests.realtime.audio.signals import RATE, noise, tone_bursts, vowel


def test_silence_keeps_the_mouth_closed():
    for signal in (np.zeros(RATE, np.float32), noise(1.0), noise(1.0, level=0.05)):
        track = analyse(signal)
        assert track.values[:, 0].max() < 0.05


def test_tone_bursts_open_and_close_the_mouth():
    on, off = 0.3, 0.3
    track = analyse(tone_bursts(on, off, count=3))
    opening = track.values[:, 0]
    times = track.times
    for k in range(3):
        start = off + k * (on + off)
        during = opening[(times > start + 0.05) & (times < start + on)]
        after = opening[(times > start + on + 0.2) & (times < start + on + off)]
        assert during.mean() > 0.7, k
        assert after.max() < 0.1, k


@pytest.mark.parametrize("name, shape", [("a", 1), ("i", 2), ("u", 3)])
@pytest.mark.parametrize("f0", [110.0, 210.0])
def test_vowels_give_their_mouth_shapes(name, shape, f0):
    signal = np.concatenate([noise(0.2), vowel(name, f0=f0)])
    values = analyse(signal).values[-40:].mean(axis=0)  # the last 0.4 s: settled
    assert values[0] > 0.5  # open while voiced
    assert values[shape] > 0.7, values  # aaa / eee / woo in that column order
    assert values[1:].sum() == pytest.approx(1.0, abs=1e-4)


def test_streaming_blocks_of_any_size_give_the_same_states():
    signal = np.concatenate([noise(0.3), vowel("a", 0.5), noise(0.3)])
    whole = analyse(signal).values
    model = MouthModel()
    states = []
    rng = np.random.default_rng(1)
    start = 0
    while start < len(signal):
        size = int(rng.integers(1, 700))
        states.extend(model.push(signal[start : start + size]))
        start += size
    pieces = np.array([(s.opening, s.aaa, s.eee, s.woo) for s in states])
    assert pieces.shape == whole.shape
    assert np.allclose(pieces, whole, atol=1e-5)


def test_voice_onset_opens_the_mouth_within_40_ms():
    signal = np.concatenate([noise(1.0), vowel("a", 0.5)])
    track = analyse(signal)
    after = track.times > 1.0
    plateau = np.median(track.values[after, 0][20:])
    first = track.times[after][np.argmax(track.values[after, 0] >= 0.5 * plateau)]
    assert first - 1.0 <= 0.04
