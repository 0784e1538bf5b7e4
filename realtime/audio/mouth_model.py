"""Speech -> mouth: a viseme model in the style of VTuber lip sync (uLipSync, VTube Studio), no network.

Per 10 ms hop of 16 kHz audio (features from :mod:`realtime.audio.features`):

1. **Loudness gate**: the speech-band level in dB between a gate and a peak, mapped to 0..1. The gate is
   the loudness of the speaker's own pauses (:mod:`realtime.audio.pause_level`: what breath and the room
   reach away from voiced audio), never below the noise floor; before any pause has been heard,
   ``gate_fraction`` of the way up from the floor to the peak. Floor and peak adapt (the floor follows
   drops at once and rises 1 dB/s, the peak jumps up and decays 1.5 dB/s); offline they start from the
   recording's percentiles and the pause level is the whole recording's.
2. **Pauses**: the mouth may open only within ``vad_hold_s`` of a hop webrtcvad calls voiced, so breath,
   clicks and background noise between phrases leave it closed. Offline the hold reaches both ways.
3. **Timbre**: the MFCCs, less their running mean over voiced hops (cepstral mean normalisation). The
   opening is loudness x gate x (1 - ``timbre_share`` + ``timbre_share`` x the openness that the opening
   codebook, :mod:`realtime.audio.opening`, learned from talking faces, gives this hop's timbre); the shape
   (aaa / eee / woo) is the lip shape of the A / I / U / E / O / silence templates
   (:class:`~realtime.audio.visemes.VoiceTemplates`) the MFCCs score against, smoothed over about a
   vowel's length (``shape_s``).
4. **Smoothing and timing**: live, one-pole attack/release like a jaw (causal; its delay is measured by
   ``bench.lipsync``). Offline (:func:`analyse`), zero-phase smoothing and a look-ahead of ``lead_s``:
   real mouths move 100-300 ms before the sound they make.

:class:`MouthModel` is the live, streaming form (``push`` blocks of any size, get the states of the hops
completed); :func:`analyse` the offline form over a whole recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from realtime.audio.features import HOP, SAMPLE_RATE, FrontEndConfig, HopFeatures, SpeechFrontEnd, features_of
from realtime.audio.pause_level import (
    DIGITAL_SILENCE_DB,
    PauseLevel,
    PauseLevelConfig,
    pause_level_of,
    within,
)
from realtime.audio.visemes import SHAPES, VISEMES, VoiceTemplates

__all__ = ["SAMPLE_RATE", "MouthConfig", "MouthModel", "MouthState", "MouthTrack", "analyse"]


@dataclass(frozen=True, slots=True)
class MouthConfig:
    sample_rate: int = SAMPLE_RATE  # the front end works at 16 kHz; sources are resampled to it
    # the mouth starts to open at the loudness of the speaker's pauses (None: always at gate_fraction)
    pauses: PauseLevelConfig | None = field(default_factory=PauseLevelConfig)
    gate_fraction: float = 0.3  # without a pause level: this far from the floor towards the peak
    min_range_db: float = 20.0  # the peak is kept at least this far above the floor
    floor_rise_db_per_s: float = 1.0
    peak_decay_db_per_s: float = 1.5
    offline_levels: tuple[float, float] = (3.0, 97.0)  # percentiles taken as floor and peak offline
    vad_hold_s: float = 0.2
    cmn_seconds: float = 3.0  # live: time constant of the running MFCC mean
    # the share of the opening that follows the timbre (codebook), the rest follows loudness alone: at a voice
    # onset the 64 ms MFCC window still holds the silence before it, so a full share delays the live mouth
    timbre_share: float = 0.8
    shape_s: float = 0.1  # smoothing of the lip shape (a vowel lasts ~100 ms; hop-to-hop scores flicker)
    attack_s: float = 0.015  # live opening time constant
    release_s: float = 0.05  # live closing time constant
    offline_smooth_s: float = 0.05  # offline: sigma of the zero-phase smoothing
    lead_s: float = 0.1  # offline: the mouth leads the sound by this much
    frontend: FrontEndConfig = field(default_factory=FrontEndConfig)


@dataclass(frozen=True, slots=True)
class MouthState:
    """The mouth at one hop: ``opening`` 0..1 and lip-shape weights ``aaa + eee + woo = 1``."""

    opening: float = 0.0
    aaa: float = 1.0
    eee: float = 0.0
    woo: float = 0.0


def _smoothing(time_constant: float, seconds: float) -> float:
    """One-pole coefficient: the fraction of the remaining distance covered per hop."""
    return float(1.0 - np.exp(-seconds / max(time_constant, 1e-6)))


def _lip_shape(weights: np.ndarray) -> np.ndarray:
    """(…, 3) aaa / eee / woo shares from viseme weights (…, 6); all jaw (aaa) when only silence scores."""
    shape = weights @ SHAPES
    total = shape.sum(axis=-1, keepdims=True)
    return np.where(total > 1e-6, shape / np.maximum(total, 1e-6), np.array([1.0, 0.0, 0.0]))


class LevelTracker:
    """The adaptive noise floor and peak of a loudness (dB) stream: the floor follows drops at once and
    rises slowly, the peak jumps up and decays slowly, and stays ``min_range_db`` above the floor."""

    def __init__(self, config: MouthConfig, floor_db: float | None = None, peak_db: float = -200.0):
        hop_s = HOP / SAMPLE_RATE
        self._rise = config.floor_rise_db_per_s * hop_s
        self._decay = config.peak_decay_db_per_s * hop_s
        self._min_range = config.min_range_db
        self.floor, self.peak = floor_db, peak_db

    def update(self, loudness_db: float) -> tuple[float, float]:
        if (
            loudness_db <= DIGITAL_SILENCE_DB
        ):  # digital silence (a fade-in, a muted input): closed, learn nothing
            return loudness_db, loudness_db + self._min_range
        floor = self.floor
        self.floor = loudness_db if floor is None or loudness_db < floor else floor + self._rise
        self.peak = max(loudness_db, self.peak - self._decay, self.floor + self._min_range)
        return self.floor, self.peak


def _timbre_factor(openness, config: MouthConfig):
    return (1.0 - config.timbre_share) + config.timbre_share * openness


def _gate_level(loudness_db, floor_db, peak_db, config: MouthConfig, pause_db: float | None = None):
    """0..1 from the gate (the pause level, at least the floor; else ``gate_fraction`` up) to the peak."""
    if pause_db is None:
        gate = floor_db + config.gate_fraction * (peak_db - floor_db)
    else:
        gate = np.maximum(floor_db, pause_db)
    span = np.maximum(peak_db - gate, 1e-6)
    return np.clip((loudness_db - gate) / span, 0.0, 1.0)


class MouthModel:
    """Streaming speech -> :class:`MouthState` model (causal). Single-threaded."""

    def __init__(self, config: MouthConfig = MouthConfig(), templates: VoiceTemplates | None = None):
        self.config = config
        self.templates = templates if templates is not None else VoiceTemplates.default()
        self._front = SpeechFrontEnd(config.frontend)
        hop_s = self.hop_seconds
        self._attack = _smoothing(config.attack_s, hop_s)
        self._release = _smoothing(config.release_s, hop_s)
        self._shape_rate = _smoothing(config.shape_s, hop_s)
        self._cmn_rate = _smoothing(config.cmn_seconds, hop_s)
        self._hold_hops = round(config.vad_hold_s / hop_s)
        self.reset()

    def reset(self) -> None:
        self._front.reset()
        self._levels = LevelTracker(self.config)
        self._pauses = PauseLevel(self.config.pauses) if self.config.pauses is not None else None
        self._since_voiced = 10**9
        self._cmn_mean = np.zeros_like(self.templates.mfcc[0])
        self._cmn_count = 0
        self._weights = np.eye(len(VISEMES))[-1]  # silence
        self._opening = 0.0
        self.state = MouthState()

    @property
    def hop_seconds(self) -> float:
        return HOP / SAMPLE_RATE

    def push(self, samples: np.ndarray) -> list[MouthState]:
        """Feed mono float32 samples at 16 kHz (any length); return the states of the hops completed."""
        features = self._front.push(samples)
        return [self._step(features, k) for k in range(len(features))]

    def _step(self, features: HopFeatures, k: int) -> MouthState:
        c = self.config
        loudness, mfcc, voiced = features.loudness_db[k], features.mfcc[k], features.voiced[k]
        # 1. loudness between the gate (the recent pauses' level) and the adaptive peak
        pause_db = self._pauses.update(loudness, voiced) if self._pauses is not None else None
        level = float(_gate_level(loudness, *self._levels.update(loudness), c, pause_db))
        # 2. pauses: open only within the hold after a voiced hop
        self._since_voiced = 0 if voiced else self._since_voiced + 1
        free = self._since_voiced <= self._hold_hops
        # 3. opening and lip shape from the mean-normalised MFCCs (the mean learns from voiced hops only)
        if voiced:
            self._cmn_count += 1
            rate = max(1.0 / self._cmn_count, self._cmn_rate)
            self._cmn_mean += rate * (mfcc - self._cmn_mean)
        target = 0.0
        if level > 0 and free:
            timbre = mfcc - self._cmn_mean
            weights = self.templates.weights(timbre)[0]
            self._weights += self._shape_rate * (weights - self._weights)
            # the opening takes this hop's timbre (the jaw's own attack smooths it); the lip shape the
            # smoothed visemes, which would otherwise delay every voice onset by the shape smoothing
            target = level * _timbre_factor(self.templates.opening.opening(timbre)[0], c)
        # 4. jaw-like attack and release
        rate = self._attack if target > self._opening else self._release
        self._opening += rate * (target - self._opening)
        self.state = MouthState(float(self._opening), *(float(v) for v in _lip_shape(self._weights)))
        return self.state


@dataclass(frozen=True, slots=True)
class MouthTrack:
    """The model's output over a recording: ``times`` (T,) seconds (increasing) and ``values`` (T, 4) =
    opening, aaa, eee, woo."""

    times: np.ndarray
    values: np.ndarray

    def at(self, t: float) -> MouthState:
        if len(self.times) == 0 or t < self.times[0] or t > self.times[-1]:
            return MouthState()
        return MouthState(*(float(np.interp(t, self.times, self.values[:, k])) for k in range(4)))


def _gaussian_smooth(values: np.ndarray, sigma_hops: float) -> np.ndarray:
    if sigma_hops <= 0:
        return values
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(values, sigma_hops, axis=0, mode="nearest")


def analyse(
    samples: np.ndarray,
    config: MouthConfig = MouthConfig(),
    templates: VoiceTemplates | None = None,
    lookahead: bool = True,
) -> MouthTrack:
    """The mouth over a whole mono recording at 16 kHz. ``lookahead=True`` is the offline model (steps 1-4
    non-causal, see the module docstring); ``False`` runs the live model, for comparison."""
    templates = templates if templates is not None else VoiceTemplates.default()
    hop_s = HOP / SAMPLE_RATE
    if not lookahead:
        model = MouthModel(config, templates)
        states = model.push(samples)
        values = np.array([(s.opening, s.aaa, s.eee, s.woo) for s in states], np.float32).reshape(-1, 4)
        return MouthTrack(times=(np.arange(len(states)) + 1) * hop_s, values=values)
    features = features_of(samples, config.frontend)
    count = len(features)
    if count == 0:
        return MouthTrack(times=np.zeros(0), values=np.zeros((0, 4), np.float32))
    # 1. loudness between the adaptive floor and peak, started at the recording's percentiles (digital
    #    silence, e.g. a fade-in, left out) instead of learning them from the first syllables
    loudness = features.loudness_db
    audible = loudness[loudness > DIGITAL_SILENCE_DB]
    floor, peak = np.percentile(audible if audible.size else loudness, config.offline_levels)
    tracker = LevelTracker(config, floor, peak)
    levels = np.array([tracker.update(value) for value in loudness])  # (T, 2) floor, peak
    pause_db = pause_level_of(loudness, features.voiced, config.pauses) if config.pauses is not None else None
    level = _gate_level(loudness, levels[:, 0], levels[:, 1], config, pause_db)
    # 2. pauses: the hold reaches both ways
    free = within(features.voiced, round(config.vad_hold_s / hop_s))
    # 3. opening and visemes from the MFCCs less the mean over the voiced hops
    voiced = features.mfcc[features.voiced] if features.voiced.any() else features.mfcc
    timbre = features.mfcc - voiced.mean(axis=0)
    weights = templates.weights(timbre)  # (T, 6)
    target = level * _timbre_factor(templates.opening.opening(timbre), config) * free
    # 4. zero-phase smoothing; the states move ``lead_s`` earlier than the sound they come from
    opening = _gaussian_smooth(target, config.offline_smooth_s / hop_s)
    # the lip shape from the weights smoothed over a vowel's length, as live (hop-to-hop scores flicker)
    shape = _lip_shape(_gaussian_smooth(weights, config.shape_s / hop_s))
    values = np.column_stack([opening, shape]).astype(np.float32)
    centres = (np.arange(count) + 1) * hop_s - 0.016  # the middle of each hop's 32 ms loudness window
    return MouthTrack(times=centres - config.lead_s, values=values)
