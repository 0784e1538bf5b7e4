"""A portrait that talks without a camera: subtle idle head motion and natural random blinks.

:class:`IdleMotion` is a motion modifier whose strength is ``1 - motion.driving_weight``: full when there
is no camera (``Motion.identity`` has weight 0) or the face is lost, nothing while a face drives. The sway
is a sum of slow sines with random phases (deterministic for a seed, so offline renders repeat); blinks come
at gamma-distributed intervals (mean ~3.5 s, rarely closer than 1 s) with a fast close and a slower opening.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.base import Motion
from engines.expressions import ExpressionParams, apply_expression


@dataclass(frozen=True, slots=True)
class IdleConfig:
    seed: int = 0
    sway_degrees: tuple[float, float, float] = (1.5, 2.5, 1.2)  # pitch, yaw, roll amplitudes
    blink_interval: float = 3.5  # mean seconds between blinks
    blink_close: float = 0.08  # seconds to close
    blink_hold: float = 0.04
    blink_open: float = 0.16


class IdleMotion:
    """Motion modifier adding idle sway and blinks (see the module docstring). Times must not run backwards
    by more than the blinks already scheduled (live and offline renders only go forwards)."""

    def __init__(self, config: IdleConfig = IdleConfig()):
        self.config = config
        rng = np.random.default_rng(config.seed)
        self._rng = rng
        self._freqs = rng.uniform(0.05, 0.3, size=(3, 3))  # (axis, component) Hz
        self._phases = rng.uniform(0, 2 * np.pi, size=(3, 3))
        self._blinks = [float(rng.uniform(0.5, config.blink_interval))]  # blink start times

    def _blink_starts_until(self, t: float) -> list[float]:
        shape = 3.0  # gamma shape: regular-ish, rarely very short gaps
        while self._blinks[-1] < t + 1.0:
            self._blinks.append(
                self._blinks[-1] + float(self._rng.gamma(shape, self.config.blink_interval / shape))
            )
        return self._blinks

    def blink_at(self, t: float) -> float:
        c = self.config
        starts = np.asarray(self._blink_starts_until(t))
        since = t - starts[starts <= t]
        if since.size == 0:
            return 0.0
        s = float(since.min())
        if s < c.blink_close:
            u = s / c.blink_close
        elif s < c.blink_close + c.blink_hold:
            u = 1.0
        elif s < c.blink_close + c.blink_hold + c.blink_open:
            u = 1.0 - (s - c.blink_close - c.blink_hold) / c.blink_open
        else:
            return 0.0
        return float(u * u * (3 - 2 * u))

    def params_at(self, t: float) -> ExpressionParams:
        # each axis: three sines whose amplitudes sum to 1, times the axis amplitude
        sway = (np.sin(2 * np.pi * self._freqs * t + self._phases) * np.array([0.5, 0.3, 0.2])).sum(axis=1)
        pitch, yaw, roll = sway * np.array(self.config.sway_degrees)
        return ExpressionParams(pitch=float(pitch), yaw=float(yaw), roll=float(roll), blink=self.blink_at(t))

    def modify(self, motion: Motion, timestamp: float) -> Motion:
        weight = 1.0 - float(np.clip(motion.driving_weight, 0.0, 1.0))
        if weight <= 0.0:
            return motion
        return apply_expression(motion, self.params_at(timestamp).scaled(weight))
