"""The loudness of a speaker's pauses, where the speech mouth's gate sits."""

from __future__ import annotations

import numpy as np
import pytest

from realtime.audio.mouth_model import MouthConfig, analyse
from realtime.audio.pause_level import PauseLevel, PauseLevelConfig, pause_level_of
from tests.realtime.audio.signals import noise, vowel

CONFIG = PauseLevelConfig(away_s=0.1, percentile=50.0, min_s=0.2, memory_s=10.0)


def _phrases():
    """Hops: 1 s of pause at -60 dB, 1 s of voice at -30 dB whose first and last 50 ms (unvoiced edges of
    words, -40 dB) touch it, 1 s of pause at -70 dB."""
    loudness = np.concatenate([np.full(100, -60.0), np.full(100, -30.0), np.full(100, -70.0)])
    voiced = np.zeros(300, bool)
    voiced[105:195] = True
    loudness[100:105] = loudness[195:200] = -40.0
    return loudness, voiced


def test_the_pause_level_leaves_out_audio_near_the_voice():
    loudness, voiced = _phrases()
    # the -40 dB edges lie within 0.1 s of voiced hops: only the -60 and -70 dB pauses count
    assert pause_level_of(loudness, voiced, CONFIG) == pytest.approx(-65.0)
    edges_counted = PauseLevelConfig(away_s=0.01, percentile=50.0)
    assert pause_level_of(loudness, voiced, edges_counted) > -65.0  # the edges lift the median


def test_no_pause_level_without_enough_pause():
    loudness, voiced = np.full(300, -30.0), np.ones(300, bool)
    voiced[150:160] = False  # 0.1 s unvoiced, all of it near the voice
    assert pause_level_of(loudness, voiced, CONFIG) is None
    silent = np.full(300, -120.0)  # digital silence teaches nothing
    assert pause_level_of(silent, np.zeros(300, bool), CONFIG) is None


def test_the_live_pause_level_follows_the_pauses_heard_so_far():
    loudness, voiced = _phrases()
    live = PauseLevel(PauseLevelConfig(away_s=0.1, percentile=50.0, min_s=0.2, memory_s=1.0))
    levels = [live.update(level, v) for level, v in zip(loudness, voiced)]
    assert all(level is None for level in levels[:19])  # 0.2 s of pause needed first
    assert levels[99] == pytest.approx(-60.0)
    # causal: the hops after the voice count once 0.1 s has passed since the last voiced hop, and the last
    # 1 s of pauses (the -70 dB ones, after 0.04 s of the word's unvoiced onset) make the level
    assert levels[203] == pytest.approx(-60.0)
    assert levels[-1] == pytest.approx(-70.0)


@pytest.mark.parametrize("lookahead", [True, False])
def test_a_quiet_phrase_after_quiet_pauses_opens_the_mouth(lookahead):
    # a loud phrase, room noise, then the same vowel 23 dB quieter: above the pauses' level, yet below 30 %
    # of the floor-to-peak range, where a fixed-share gate would keep the mouth shut
    signal = np.concatenate(
        [
            noise(0.6, 3e-3, 1),
            vowel("a", 0.6),
            noise(0.6, 3e-3, 2),
            0.07 * vowel("a", 0.6),
            noise(0.6, 3e-3, 3),
        ]
    )
    quiet = {}
    for name, config in (("pauses", MouthConfig()), ("fixed share", MouthConfig(pauses=None))):
        track = analyse(signal, config, lookahead=lookahead)
        opening = track.values[:, 0]
        quiet[name] = opening[(track.times > 1.9) & (track.times < 2.3)].mean()
        assert opening[(track.times > 2.5) & (track.times < 2.9)].max() < 0.05  # the pause after: closed
        assert opening[(track.times > 0.05) & (track.times < 0.2)].max() < 0.05  # and before
    assert quiet["pauses"] > 0.08 and quiet["pauses"] > 2.5 * quiet["fixed share"], quiet
