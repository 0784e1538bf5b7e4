"""The speech front end shared by the mouth model, the voice calibration and the template derivation: per
10 ms hop of 16 kHz audio, the speech-band loudness, 12 MFCCs and a voice-activity flag.

Per hop (``push`` is streaming and causal: each hop's features use only samples up to its end):

1. **Loudness**: the level in dB of the pre-emphasised speech band (400-2000 Hz, where open vowels are
   loud and room rumble and hiss are not) over the last 32 ms (Hann window, so a voice onset shows within ~20 ms).
2. **MFCCs**: c1..c12 of 26 mel bands (80-7600 Hz) over the last 64 ms of pre-emphasised audio, the usual
   vowel-colour feature of VTuber lip sync (uLipSync). c0 (overall level) is left out: loudness has it.
3. **Voice activity**: webrtcvad (its model is in the wheel) on the last 30 ms, after an automatic gain
   that keeps the recent peak near -6 dBFS: webrtcvad misses quiet voices (a recording peaking at
   -24 dBFS is mostly "unvoiced" raw) and the gain fixes that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
HOP = 160  # 10 ms
MFCC_WINDOW = 1024  # 64 ms
LOUDNESS_WINDOW = 512  # 32 ms
SILENT_DB = -120.0  # the loudness of digital silence (and of the start-up hops)
VAD_WINDOW = 480  # 30 ms, webrtcvad's steadiest frame length
MEL_BANDS = 26
MFCC_COUNT = 12


@dataclass(frozen=True, slots=True)
class FrontEndConfig:
    # F1/F2 of open vowels; on the dev clips as good as 300-3000 Hz for speech and far better for singing
    speech_band: tuple[float, float] = (400.0, 2000.0)
    mel_range: tuple[float, float] = (80.0, 7600.0)
    vad_aggressiveness: int = 3  # webrtcvad 0 (keeps most) .. 3 (strictest)
    vad_target_peak: float = 0.5  # the automatic gain brings the recent peak here (-6 dBFS)
    vad_peak_decay_db_per_s: float = 1.0
    vad_min_peak: float = (
        0.02  # the gain stops at target / this (+28 dB): noise alone is not lifted to speech
    )
    pre_emphasis: float = 0.97


@dataclass(frozen=True, slots=True)
class HopFeatures:
    """Features of a run of hops: ``loudness_db`` (T,), ``mfcc`` (T, 12), ``voiced`` (T,) bool; hop k ends
    at ``(k + 1) * HOP`` samples from the start of the stream."""

    loudness_db: np.ndarray
    mfcc: np.ndarray
    voiced: np.ndarray

    def __len__(self) -> int:
        return len(self.loudness_db)

    @staticmethod
    def concatenate(parts: list[HopFeatures]) -> HopFeatures:
        if not parts:
            return HopFeatures(np.zeros(0), np.zeros((0, MFCC_COUNT)), np.zeros(0, bool))
        return HopFeatures(
            np.concatenate([p.loudness_db for p in parts]),
            np.concatenate([p.mfcc for p in parts]),
            np.concatenate([p.voiced for p in parts]),
        )


def mel_filterbank(bands: int, low: float, high: float, fft_size: int, rate: int) -> np.ndarray:
    """Triangular mel filters (bands, fft_size // 2 + 1)."""

    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    edges = 700.0 * (10 ** (np.linspace(mel(low), mel(high), bands + 2) / 2595.0) - 1.0)
    freqs = np.fft.rfftfreq(fft_size, 1.0 / rate)
    rising = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    falling = (edges[2:, None] - freqs[None, :]) / (edges[2:, None] - edges[1:-1, None])
    return np.clip(np.minimum(rising, falling), 0.0, None)


def _dct_matrix(count: int, bands: int) -> np.ndarray:
    """DCT-II rows 1..count (c0 left out) over ``bands`` log energies, (count, bands)."""
    k = np.arange(1, count + 1)[:, None]
    return np.cos(np.pi / bands * (np.arange(bands)[None, :] + 0.5) * k)


def _new_vad(aggressiveness: int):
    import webrtcvad

    return webrtcvad.Vad(aggressiveness)


class SpeechFrontEnd:
    """Streaming features (see the module docstring). Single-threaded; ``push`` takes any block size."""

    def __init__(self, config: FrontEndConfig = FrontEndConfig()):
        self.config = config
        self._mel = mel_filterbank(MEL_BANDS, *config.mel_range, MFCC_WINDOW, SAMPLE_RATE)  # (26, 513)
        self._dct = _dct_matrix(MFCC_COUNT, MEL_BANDS)  # (12, 26)
        self._mfcc_window = np.hanning(MFCC_WINDOW)
        self._loud_window = np.hanning(LOUDNESS_WINDOW)
        freqs = np.fft.rfftfreq(LOUDNESS_WINDOW, 1.0 / SAMPLE_RATE)
        self._speech = (freqs >= config.speech_band[0]) & (freqs < config.speech_band[1])
        # loudness in dB re full scale: a full-scale sine in the band reads ~0 dB
        self._loud_scale = 1.0 / (self._loud_window.sum() ** 2 / 4)
        self._peak_decay = 10 ** (-config.vad_peak_decay_db_per_s * HOP / SAMPLE_RATE / 20)
        self.reset()

    def reset(self) -> None:
        self._emphasised = np.zeros(MFCC_WINDOW)  # the last 64 ms, pre-emphasised
        self._raw = np.zeros(0, np.float32)  # samples not yet making a whole hop
        self._last_sample = 0.0
        self._vad = _new_vad(self.config.vad_aggressiveness)
        self._vad_peak = self.config.vad_min_peak
        self._hops_seen = 0
        self._vad_recent = np.zeros(VAD_WINDOW, np.float32)  # the last 30 ms, gain applied

    def push(self, samples: np.ndarray) -> HopFeatures:
        """Feed mono float32 samples at 16 kHz; the features of the hops they completed."""
        samples = np.asarray(samples, np.float32).reshape(-1)
        pending = np.concatenate([self._raw, samples])
        count = len(pending) // HOP
        loudness = np.empty(count)
        mfcc = np.empty((count, MFCC_COUNT))
        voiced = np.zeros(count, bool)
        for k in range(count):
            hop = pending[k * HOP : (k + 1) * HOP]
            loudness[k], mfcc[k] = self._spectral(hop)
            voiced[k] = self._voiced(hop)
        self._raw = pending[count * HOP :]
        return HopFeatures(loudness, mfcc, voiced)

    def _spectral(self, hop: np.ndarray) -> tuple[float, np.ndarray]:
        emphasised = hop - self.config.pre_emphasis * np.concatenate([[self._last_sample], hop[:-1]])
        self._last_sample = float(hop[-1])
        self._emphasised = np.concatenate([self._emphasised[HOP:], emphasised])
        # 1. loudness of the speech band over the last 32 ms (pre-emphasised: vowel formants count evenly)
        recent = self._emphasised[-LOUDNESS_WINDOW:] * self._loud_window
        band = np.abs(np.fft.rfft(recent)[self._speech]) ** 2
        loudness = 10.0 * np.log10(band.sum() * self._loud_scale + 1e-12)
        self._hops_seen += 1
        if self._hops_seen * HOP < LOUDNESS_WINDOW:  # the window is not full yet: no level to judge
            loudness = SILENT_DB
        # 2. MFCCs of the last 64 ms
        spectrum = np.abs(np.fft.rfft(self._emphasised * self._mfcc_window)) ** 2  # (513,)
        mfcc = self._dct @ np.log(self._mel @ spectrum + 1e-10)
        return loudness, mfcc

    def _voiced(self, hop: np.ndarray) -> bool:
        # 3. webrtcvad after the automatic gain
        self._vad_peak = max(
            float(np.abs(hop).max()), self._vad_peak * self._peak_decay, self.config.vad_min_peak
        )
        gain = self.config.vad_target_peak / self._vad_peak
        self._vad_recent = np.concatenate([self._vad_recent[HOP:], np.clip(hop * gain, -1.0, 1.0)])
        pcm = (self._vad_recent * 32767).astype("<i2").tobytes()
        return bool(self._vad.is_speech(pcm, SAMPLE_RATE))


def features_of(samples: np.ndarray, config: FrontEndConfig = FrontEndConfig()) -> HopFeatures:
    """The features of a whole recording (16 kHz mono)."""
    return SpeechFrontEnd(config).push(samples)
