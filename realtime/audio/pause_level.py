"""The loudness of a speaker's own pauses, where the speech mouth's loudness gate sits.

A fixed share of the floor-to-peak range cannot serve every speaker: one who falls silent between phrases
(a quiet room, a close microphone) speaks quietly well above his pauses, and a gate 30 % of the way up
shuts his mouth on that quiet speech, while speakers without clear pauses want it that high. The level
the sound reaches when nobody speaks says where speech starts, for each recording: the hops at least
``pause_away_s`` from any hop webrtcvad calls voiced (so no word's onset or tail counts) are the pauses,
and the ``pause_percentile`` of their loudness (breath, room noise, the microphone's hiss) is the gate.
Until ``pause_min_s`` of pauses has been heard (or in a recording without pauses) there is no pause
level and the mouth model falls back to its floor-to-peak share.

Offline (:func:`pause_level_of`) the pauses are taken both ways over the whole recording; live
(:class:`PauseLevel`) a hop counts once ``pause_away_s`` has passed since the last voiced hop, and the
level follows the last ``pause_memory_s`` of pauses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realtime.audio.features import HOP, SAMPLE_RATE

DIGITAL_SILENCE_DB = -100.0  # at or below: a fade-in or a muted input, no room to learn from


@dataclass(frozen=True, slots=True)
class PauseLevelConfig:
    away_s: float = 0.1  # a pause hop is at least this far from voiced audio
    percentile: float = 75.0  # of the pauses' loudness: the gate
    min_s: float = 0.2  # pauses needed before the level is used
    memory_s: float = 10.0  # live: the level follows this much of the latest pauses


def _hops(seconds: float) -> int:
    return max(1, round(seconds * SAMPLE_RATE / HOP))


def within(mask: np.ndarray, hops: int) -> np.ndarray:
    """True within ``hops`` of a True, both ways."""
    if hops <= 0 or not mask.any():
        return mask
    return np.convolve(mask.astype(float), np.ones(2 * hops + 1), mode="same") > 0


def pause_level_of(loudness_db: np.ndarray, voiced: np.ndarray, config: PauseLevelConfig) -> float | None:
    """The pause level (dB) of a whole recording's hops, or None with too little pause."""
    pause = ~within(np.asarray(voiced, bool), _hops(config.away_s))
    pause &= np.asarray(loudness_db) > DIGITAL_SILENCE_DB
    if pause.sum() < _hops(config.min_s):
        return None
    return float(np.percentile(loudness_db[pause], config.percentile))


class PauseLevel:
    """The pause level of a stream (causal), updated per hop."""

    def __init__(self, config: PauseLevelConfig):
        self.config = config
        self._away = _hops(config.away_s)
        self._needed = _hops(config.min_s)
        self._recent = np.empty(_hops(config.memory_s))
        self._count = 0  # pause hops heard so far (the ring holds the last len(_recent))
        self._since_voiced = 10**9
        self.level: float | None = None

    def update(self, loudness_db: float, voiced: bool) -> float | None:
        self._since_voiced = 0 if voiced else self._since_voiced + 1
        if self._since_voiced >= self._away and loudness_db > DIGITAL_SILENCE_DB:
            self._recent[self._count % len(self._recent)] = loudness_db
            self._count += 1
            if self._count >= self._needed:
                held = self._recent[: min(self._count, len(self._recent))]
                self.level = float(np.percentile(held, self.config.percentile))
        return self.level
