"""Live expression presets on number keys, a "look at the camera" switch and sliders settable while running.

:class:`PresetController` is a thread-safe :class:`~realtime.modifiers.MotionModifier`: the preview thread
calls :meth:`~PresetController.trigger` with key presses and anything may call :meth:`~PresetController.set`,
while the render thread calls :meth:`~PresetController.modify` each frame. Every change eases (smoothstep
over ``ease_seconds``) instead of jumping.

Keys (the defaults): ``1``-``9`` toggle a preset (pressing another crossfades, pressing the same one eases
it out; momentary presets such as the wink ease out by themselves), ``0`` releases all, ``g`` toggles
looking at the camera.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from engines.base import Motion
from engines.expressions import RANGES, ExpressionParams, apply_expression


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    params: ExpressionParams
    hold: float | None = None  # momentary: eases out by itself after holding this many seconds


DEFAULT_PRESETS: dict[str, Preset] = {
    "1": Preset("smile", ExpressionParams(smile=0.8, eyebrow=0.1)),
    "2": Preset("laugh", ExpressionParams(smile=1.0, aaa=0.45, eee=0.3, blink=0.35, pitch=-4)),
    "3": Preset("surprise", ExpressionParams(eyebrow=1.0, blink=-0.6, aaa=0.6, woo=0.3)),
    "4": Preset("wink", ExpressionParams(wink=1.0, smile=0.5, eyebrow=-0.1), hold=0.35),
    "5": Preset("sad", ExpressionParams(smile=-0.8, eyebrow=-0.3, blink=0.25, pitch=6)),
    "6": Preset("angry", ExpressionParams(eyebrow=-1.0, smile=-0.4, blink=0.15)),
    "7": Preset("kiss", ExpressionParams(woo=1.0, blink=0.3)),
    "8": Preset("eyes closed", ExpressionParams(blink=1.0)),
    "9": Preset("look away", ExpressionParams(pupil_x=0.8, pupil_y=0.2, yaw=-6)),
}
RELEASE_KEY = "0"
LOOK_AT_CAMERA_KEY = "g"


def _smoothstep(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


@dataclass(slots=True)
class _Ease:
    """A value easing from ``start`` to ``target`` over ``seconds`` from ``since``."""

    start: float = 0.0
    target: float = 0.0
    since: float = 0.0

    def at(self, now: float, seconds: float) -> float:
        return self.start + (self.target - self.start) * _smoothstep((now - self.since) / max(seconds, 1e-6))

    def to(self, target: float, now: float, seconds: float) -> None:
        self.start, self.target, self.since = self.at(now, seconds), target, now


class PresetController:
    """Presets, look-at-camera and base sliders as one motion modifier (see the module docstring).

    ``clock`` gives the easing time (``time.perf_counter`` by default; tests pass a fake). Key presses and
    frames may come from different threads: all state is behind one lock.
    """

    def __init__(
        self,
        presets: Mapping[str, Preset] = DEFAULT_PRESETS,
        ease_seconds: float = 0.25,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.presets = dict(presets)
        self.ease_seconds = ease_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._weights = {key: _Ease() for key in self.presets}
        self._holds: dict[str, float] = {}  # key -> time the momentary preset starts easing out
        self._gaze = _Ease()
        self._base_from = ExpressionParams()
        self._base_to = ExpressionParams()
        self._base_since = 0.0

    # ---- controls (any thread) ----------------------------------------------------------------------
    def trigger(self, key: str) -> bool:
        """Handle a key press; True if the key means something here."""
        key = key.lower()
        with self._lock:
            now = self._clock()
            if key == RELEASE_KEY:
                for ease in self._weights.values():
                    ease.to(0.0, now, self.ease_seconds)
                self._holds.clear()
                return True
            if key == LOOK_AT_CAMERA_KEY:
                self._gaze.to(0.0 if self._gaze.target else 1.0, now, self.ease_seconds)
                return True
            if key not in self.presets:
                return False
            turning_on = self._weights[key].target == 0.0
            for other, ease in self._weights.items():  # one preset at a time: crossfade
                ease.to(1.0 if (other == key and turning_on) else 0.0, now, self.ease_seconds)
            self._holds.clear()
            hold = self.presets[key].hold
            if turning_on and hold is not None:
                self._holds[key] = now + self.ease_seconds + hold
            return True

    def set(self, **params: float) -> None:
        """Change base sliders (names of :class:`ExpressionParams`), easing from their current values."""
        unknown = set(params) - set(RANGES)
        if unknown:
            raise ValueError(f"unknown expression parameters: {', '.join(sorted(unknown))}")
        with self._lock:
            now = self._clock()
            current = self._base_at(now)
            self._base_from = current
            self._base_to = ExpressionParams(**{**self._base_to.as_dict(), **params})
            self._base_since = now

    def set_look_at_camera(self, on: bool) -> None:
        with self._lock:
            self._gaze.to(1.0 if on else 0.0, self._clock(), self.ease_seconds)

    @property
    def look_at_camera(self) -> bool:
        with self._lock:
            return self._gaze.target > 0.0

    @property
    def active(self) -> str | None:
        """The key of the preset easing in or on, if any."""
        with self._lock:
            return next((key for key, ease in self._weights.items() if ease.target > 0.0), None)

    # ---- per frame (render thread) -------------------------------------------------------------------
    def params(self) -> ExpressionParams:
        """The combined edit now: base sliders + weighted presets + look-at-camera."""
        with self._lock:
            now = self._clock()
            for key, release_at in list(self._holds.items()):
                if now >= release_at:
                    self._weights[key].to(0.0, release_at, self.ease_seconds)
                    del self._holds[key]
            total = self._base_at(now)
            for key, ease in self._weights.items():
                weight = ease.at(now, self.ease_seconds)
                if weight > 0.0:
                    total = total + self.presets[key].params.scaled(weight)
            gaze = float(np.clip(total.look_at_camera + self._gaze.at(now, self.ease_seconds), 0.0, 1.0))
        return ExpressionParams(**{**total.as_dict(), "look_at_camera": gaze})

    def modify(self, motion: Motion, timestamp: float) -> Motion:
        return apply_expression(motion, self.params())

    def _base_at(self, now: float) -> ExpressionParams:
        u = _smoothstep((now - self._base_since) / max(self.ease_seconds, 1e-6))
        return ExpressionParams.lerp(self._base_from, self._base_to, u)
