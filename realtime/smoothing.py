"""One-Euro filter (Casiez et al., CHI 2012) over arrays: little lag on fast motion, strong smoothing
when still. Vectorised: one call filters all 478x3 landmark coordinates at once."""

from __future__ import annotations

import math

import numpy as np


class OneEuroFilter:
    """``filter(values, t) -> smoothed`` for arrays of a fixed shape; ``t`` in seconds, increasing.

    ``min_cutoff`` (Hz) sets the smoothing at rest (lower = smoother), ``beta`` how quickly the cutoff
    rises with speed (higher = less lag on fast moves), in units of the values per second.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, derivative_cutoff: float = 1.0):
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.derivative_cutoff = derivative_cutoff
        self._value: np.ndarray | None = None
        self._derivative: np.ndarray | None = None
        self._time: float | None = None

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def reset(self) -> None:
        self._value = self._derivative = self._time = None

    def filter(self, values: np.ndarray, t: float) -> np.ndarray:
        values = np.asarray(values, np.float32)
        if self._value is None or self._time is None or t <= self._time:
            self._value = values.copy()
            self._derivative = np.zeros_like(values)
            self._time = t
            return self._value
        dt = t - self._time
        self._time = t
        derivative = (values - self._value) / dt
        a_d = self._alpha(self.derivative_cutoff, dt)
        self._derivative += a_d * (derivative - self._derivative)
        cutoff = self.min_cutoff + self.beta * np.abs(self._derivative)
        a = self._alpha(cutoff, dt)
        self._value += a * (values - self._value)
        return self._value
