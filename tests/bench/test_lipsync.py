"""bench.lipsync's measures on synthetic signals (the benchmark itself runs on real clips)."""

from __future__ import annotations

import numpy as np

from bench.lipsync import band_energy_baseline, lag_scan, latency
from realtime.audio.mouth_model import MouthConfig


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
