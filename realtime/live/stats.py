"""Constant-memory figures for the live loop: latency histograms (percentiles without keeping every
sample, so a ten-minute soak does not grow) and smoothed rates for the preview overlay."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

BIN_SECONDS = 0.0005  # 0.5 ms resolution
MAX_SECONDS = 2.0  # everything slower lands in the last bin


class LatencyHistogram:
    """Latency samples in seconds binned at 0.5 ms; thread-safe ``add`` and snapshot reads."""

    def __init__(self) -> None:
        self._counts = np.zeros(int(MAX_SECONDS / BIN_SECONDS) + 1, np.int64)
        self._lock = threading.Lock()
        self.count = 0
        self.total = 0.0
        self.maximum = 0.0

    def add(self, seconds: float) -> None:
        index = min(max(int(seconds / BIN_SECONDS), 0), len(self._counts) - 1)
        with self._lock:
            self._counts[index] += 1
            self.count += 1
            self.total += seconds
            self.maximum = max(self.maximum, seconds)

    def percentile(self, q: float) -> float | None:
        """Upper edge of the bin holding the ``q``-th percentile (0..100), in seconds; None when empty."""
        with self._lock:
            if self.count == 0:
                return None
            cumulative = np.cumsum(self._counts)
            index = int(np.searchsorted(cumulative, q / 100.0 * self.count, side="left"))
        return (index + 1) * BIN_SECONDS

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(bin lower edges in ms, counts) up to the last non-empty bin."""
        with self._lock:
            counts = self._counts.copy()
        last = int(np.nonzero(counts)[0].max()) + 1 if counts.any() else 0
        return np.arange(last) * BIN_SECONDS * 1000.0, counts[:last]

    def summary_ms(self) -> dict[str, float | int | None]:
        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000.0, 2)

        return {
            "count": self.count,
            "mean": ms(self.total / self.count) if self.count else None,
            "p50": ms(self.percentile(50)),
            "p95": ms(self.percentile(95)),
            "p99": ms(self.percentile(99)),
            "max": ms(self.maximum) if self.count else None,
        }


class RateMeter:
    """Events per second, exponentially smoothed over about ``window`` seconds (for the overlay)."""

    def __init__(self, window: float = 1.0) -> None:
        self._window = window
        self._last: float | None = None
        self._interval: float | None = None

    def tick(self, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        if self._last is not None:
            dt = max(now - self._last, 1e-6)
            alpha = min(1.0, dt / self._window)
            self._interval = dt if self._interval is None else (1 - alpha) * self._interval + alpha * dt
        self._last = now

    @property
    def rate(self) -> float:
        return 0.0 if not self._interval else 1.0 / self._interval


def log_failure(logger: logging.Logger, count: int, message: str, *args) -> None:
    """``logger.exception`` for the first failure and every 100th after: a broken device or engine fails
    on every frame and must not flood the log. Call from an ``except`` block."""
    if count == 1 or count % 100 == 0:
        logger.exception(message, *args)
