"""Speech -> mouth: a light, causal signal-processing model (no weights) that runs on one core in real time.

Per 10 ms hop, on the last 20 ms of pre-emphasised 16 kHz audio (Hann window, 512-point FFT):

1. **Opening**: the amplitude (root of the energy) in 400-2000 Hz, the F1/F2 region where open vowels are
   loud and closed-mouth sounds (m, n, humming) are weak, between an adaptive noise floor (follows drops at
   once, rises 1 dB/s) plus a 3 dB gate and an adaptive peak (jumps up, decays 1.5 dB/s), mapped to 0..1;
   then attack/release smoothing (15 ms open, 60 ms close) like a real jaw. Of the band choices and
   loudness measures tried on the talking clips of the lip-sync benchmark (dB level 150-4000 Hz,
   relative-to-recent-minimum levels, band balances), this one correlated best with the measured mouth.
2. **Vowel shape**: the energy split between three formant regions, chosen from vowel formant charts:
   low 150-600 Hz (F1 of closed vowels), mid 600-1400 Hz (F1 of open vowels /a/, F2 of back vowels /u/),
   high 1400-4000 Hz (F2/F3 of front vowels /i/). Open /a/ puts its energy in the mid band, /i/ in low and
   high with a gap in the middle, /u/ in low and mid with little high. A softmax over three scores gives the
   aaa / eee / woo weights, smoothed like the opening.

The model is streaming: :meth:`MouthModel.push` takes blocks of any size and returns the states of the
hops it completed; :func:`analyse` runs it over a whole recording.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000


@dataclass(frozen=True, slots=True)
class MouthConfig:
    sample_rate: int = SAMPLE_RATE
    hop: int = 160  # 10 ms
    window: int = 320  # 20 ms
    fft_size: int = 512
    speech_band: tuple[float, float] = (400.0, 2000.0)  # F1/F2 of open vowels: tracks the jaw best
    bands: tuple[float, float, float, float] = (150.0, 600.0, 1400.0, 4000.0)  # low | mid | high edges
    gate_db: float = 3.0  # the level above the noise floor where the mouth starts to open
    min_range_db: float = 20.0  # the peak is kept at least this far above the floor
    floor_rise_db_per_s: float = 1.0
    peak_decay_db_per_s: float = 1.5
    compression: float = 1.0  # exponent on the normalised amplitude (already a compressed measure)
    attack_s: float = 0.015  # opening time constant
    release_s: float = 0.06  # closing time constant
    shape_temperature_db: float = 4.0


@dataclass(frozen=True, slots=True)
class MouthState:
    """The mouth at one hop: ``opening`` 0..1 and vowel weights ``aaa + eee + woo = 1``."""

    opening: float = 0.0
    aaa: float = 1.0
    eee: float = 0.0
    woo: float = 0.0


def _smoothing(time_constant: float, hop_seconds: float) -> float:
    """One-pole coefficient: the fraction of the remaining distance covered per hop."""
    return float(1.0 - np.exp(-hop_seconds / max(time_constant, 1e-6)))


class MouthModel:
    """Streaming speech -> :class:`MouthState` model. Single-threaded."""

    def __init__(self, config: MouthConfig = MouthConfig()):
        self.config = config
        c = config
        freqs = np.fft.rfftfreq(c.fft_size, 1.0 / c.sample_rate)  # (F,)
        self._speech = (freqs >= c.speech_band[0]) & (freqs < c.speech_band[1])
        edges = c.bands
        self._band_masks = np.stack(
            [(freqs >= edges[k]) & (freqs < edges[k + 1]) for k in range(3)]
        )  # (3, F)
        self._window = np.hanning(c.window).astype(np.float32)
        hop_s = c.hop / c.sample_rate
        self._attack = _smoothing(c.attack_s, hop_s)
        self._release = _smoothing(c.release_s, hop_s)
        # per-hop factors on amplitudes (dB / 20 -> amplitude ratio)
        self._floor_rise = 10 ** (c.floor_rise_db_per_s * hop_s / 20)
        self._peak_decay = 10 ** (-c.peak_decay_db_per_s * hop_s / 20)
        self._gate = 10 ** (c.gate_db / 20)
        self._min_range = 10 ** (c.min_range_db / 20)
        self.reset()

    def reset(self) -> None:
        self._buffer = np.zeros(self.config.window, np.float32)  # the last window of pre-emphasised audio
        self._pending = np.zeros(0, np.float32)
        self._last_sample = 0.0
        self._floor: float | None = None
        self._peak = 0.0
        self._opening = 0.0
        self._shape = np.array([1.0, 0.0, 0.0])
        self.state = MouthState()

    def push(self, samples: np.ndarray) -> list[MouthState]:
        """Feed mono float32 samples (any length); return the states of the hops completed."""
        samples = np.asarray(samples, np.float32).reshape(-1)
        if samples.size == 0:
            return []
        # pre-emphasis (+6 dB/octave) flattens the voice's spectral tilt, so the bands compare fairly
        emphasised = samples - 0.95 * np.concatenate([[self._last_sample], samples[:-1]])
        self._last_sample = float(samples[-1])
        pending = np.concatenate([self._pending, emphasised.astype(np.float32)])
        hop = self.config.hop
        count = len(pending) // hop
        states = []
        for k in range(count):
            self._buffer = np.concatenate([self._buffer[hop:], pending[k * hop : (k + 1) * hop]])
            states.append(self._step(self._buffer))
        self._pending = pending[count * hop :]
        return states

    def _step(self, window: np.ndarray) -> MouthState:
        c = self.config
        spectrum = np.abs(np.fft.rfft(window * self._window, c.fft_size)) ** 2  # (F,)
        magnitude = float(np.sqrt(spectrum[self._speech].sum()))  # voice amplitude in the open-vowel band
        # 1. opening: the amplitude between the adaptive noise floor and the adaptive peak
        if self._floor is None:
            self._floor = magnitude
        self._floor = magnitude if magnitude < self._floor else self._floor * self._floor_rise
        gate = self._floor * self._gate
        self._peak = max(magnitude, self._peak * self._peak_decay, gate * self._min_range)
        target = float(np.clip((magnitude - gate) / max(self._peak - gate, 1e-9), 0.0, 1.0)) ** c.compression
        rate = self._attack if target > self._opening else self._release
        self._opening += rate * (target - self._opening)
        # 2. vowel shape from the three formant regions (dB relative to their mean)
        bands = 10.0 * np.log10(self._band_masks @ spectrum + 1e-10)
        low, mid, high = bands - bands.mean()
        scores = np.array([mid - low, high - mid, low - high]) / c.shape_temperature_db  # aaa, eee, woo
        weights = np.exp(scores - scores.max())
        weights /= weights.sum()
        if target > 0:  # only voiced, audible frames reshape the mouth
            self._shape += self._attack * (weights - self._shape)
        self.state = MouthState(float(self._opening), *(float(w) for w in self._shape))
        return self.state

    @property
    def hop_seconds(self) -> float:
        return self.config.hop / self.config.sample_rate


@dataclass(frozen=True, slots=True)
class MouthTrack:
    """The model's output over a recording: ``times`` (T,) seconds at the end of each hop and
    ``values`` (T, 4) = opening, aaa, eee, woo."""

    times: np.ndarray
    values: np.ndarray

    def at(self, t: float) -> MouthState:
        if len(self.times) == 0:
            return MouthState()
        values = [float(np.interp(t, self.times, self.values[:, k], left=0.0, right=0.0)) for k in range(4)]
        if t < self.times[0] or t > self.times[-1]:
            return MouthState()
        return MouthState(*values)


def analyse(samples: np.ndarray, config: MouthConfig = MouthConfig()) -> MouthTrack:
    """Run the streaming model over a whole mono recording at ``config.sample_rate``."""
    model = MouthModel(config)
    states = model.push(samples)
    times = (np.arange(len(states)) + 1) * model.hop_seconds
    values = np.array([(s.opening, s.aaa, s.eee, s.woo) for s in states], np.float32).reshape(-1, 4)
    return MouthTrack(times=times, values=values)
