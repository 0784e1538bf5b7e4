"""bench.lipsync's measures on synthetic signals (the benchmark itself runs on real clips)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from bench.lipsync import band_energy_baseline, lag_scan, latency, width_correlation
from realtime.audio.mouth_model import MouthConfig, MouthTrack


def test_lag_scan_finds_a_known_delay():
    rng = np.random.default_rng(0)
    track_times = np.arange(0, 10, 0.01)
    predicted = np.convolve(rng.standard_normal(len(track_times)), np.ones(8) / 8, mode="same")
    frame_times = np.arange(0.5, 9.5, 0.04)
    measured = np.interp(frame_times - 0.12, track_times, predicted)  # the face moves 120 ms after the sound
    scan = lag_scan(track_times, predicted, frame_times, measured)
    assert scan["best_lag_ms"] == 120.0 and scan["r_best"] > 0.99 > scan["r_lag0"]


def test_baseline_energy_follows_a_tone_burst():
    rate = 16000
    samples = np.zeros(rate, np.float32)
    samples[6000:10000] = 0.3 * np.sin(2 * np.pi * 1000 * np.arange(4000) / rate)
    times, energy = band_energy_baseline(samples)
    assert energy[(times > 0.45) & (times < 0.55)].min() > energy[times < 0.25].max() + 10


def test_live_model_response_is_within_the_latency_budget():
    parts = latency(MouthConfig(), device=None)
    assert parts["block_ms"] == 10.0
    assert 0 < parts["model_response_ms"] <= 50.0  # hops counted on a synthesized onset, not wall time


def _speaking_clip(width: np.ndarray, frame_times: np.ndarray) -> SimpleNamespace:
    """A clip voiced throughout, with the given measured mouth width per frame."""
    hops = np.arange(0.01, frame_times[-1] + 0.5, 0.01)
    return SimpleNamespace(
        frame_times=frame_times, hop_times=hops, width=width,
        features=SimpleNamespace(voiced=np.ones(len(hops), bool)),
    )  # fmt: skip


def test_width_r_sees_the_vowel_shape_and_not_the_opening():
    rng = np.random.default_rng(2)
    frame_times = np.arange(0, 20, 0.04)
    smooth = lambda x: np.convolve(x, np.ones(5) / 5, mode="same")
    opening = 0.3 + 0.1 * smooth(rng.standard_normal(len(frame_times)))
    spread = smooth(rng.standard_normal(len(frame_times)))  # eee - woo the track predicts
    values = np.column_stack([opening, np.zeros_like(opening), spread.clip(0), (-spread).clip(0)])
    track = MouthTrack(frame_times, values)
    # the face widens with the predicted spread, and narrows as it opens: the opening's part is taken out
    width = 1.2 - 0.8 * opening + 0.05 * spread + 0.01 * rng.standard_normal(len(frame_times))
    assert width_correlation(_speaking_clip(width, frame_times), track, opening) > 0.9
    # a width that only follows the opening: a prediction of spread that tracks the opening scores nothing
    follows_opening = np.column_stack([opening, np.zeros_like(opening), opening, np.zeros_like(opening)])
    width = 1.2 - 0.8 * opening + 0.01 * rng.standard_normal(len(frame_times))
    r = width_correlation(
        _speaking_clip(width, frame_times), MouthTrack(frame_times, follows_opening), opening
    )
    assert abs(r) < 0.2
