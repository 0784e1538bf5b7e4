"""Synthesized test signals: silence, tone bursts and vowel-like formant synthesis (published average formant
frequencies of adult speakers, Peterson & Barney 1952)."""

from __future__ import annotations

import numpy as np

RATE = 16000
VOWELS = {  # (frequency, bandwidth) of F1, F2, F3 in Hz
    "a": ((730, 90), (1090, 110), (2440, 170)),
    "i": ((270, 60), (2290, 100), (3010, 170)),
    "u": ((300, 60), (870, 80), (2240, 170)),
}


def noise(seconds: float, level: float = 1e-3, seed: int = 0) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * RATE))).astype(np.float32)


def tone_bursts(on: float, off: float, count: int, freq: float = 800.0, amplitude: float = 0.3) -> np.ndarray:
    """``count`` tone bursts of ``on`` seconds, each after ``off`` seconds of quiet noise, then quiet again."""
    t = np.arange(int(on * RATE)) / RATE
    burst = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    gap = np.zeros(int(off * RATE), np.float32)
    signal = np.concatenate([np.concatenate([gap, burst]) for _ in range(count)] + [gap])
    return signal + noise(len(signal) / RATE)[: len(signal)]


def vowel(name: str, seconds: float = 0.8, f0: float = 120.0) -> np.ndarray:
    """A glottal pulse train through three two-pole formant resonators."""
    from scipy.signal import lfilter

    n = int(seconds * RATE)
    out = np.zeros(n)
    out[:: int(RATE / f0)] = 1.0
    for freq, bandwidth in VOWELS[name]:
        r = np.exp(-np.pi * bandwidth / RATE)
        theta = 2 * np.pi * freq / RATE
        out = lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], out)
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def vowel_bursts(on: float, off: float, count: int, name: str = "a") -> np.ndarray:
    """``count`` vowels of ``on`` seconds, each after ``off`` seconds of quiet noise, then quiet again."""
    gap = np.zeros(int(off * RATE), np.float32)
    signal = np.concatenate([np.concatenate([gap, vowel(name, on)]) for _ in range(count)] + [gap])
    return signal + noise(len(signal) / RATE)[: len(signal)]
