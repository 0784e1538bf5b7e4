"""The preview sink: an OpenCV window showing the output, mirrored by default (like a mirror, which is
what people expect of themselves), with an overlay (FPS, latency, face found) and the hotkeys.

The window is behind the small :class:`PreviewWindow` interface so the sink runs headless in tests
(:class:`HeadlessWindow`) and never needs a display there. OpenCV windows must be driven from one thread
(the main thread on macOS): the loop serves this sink from its calling thread (``main_thread = True``).
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections import deque
from typing import Protocol

import cv2
import numpy as np

from engines.base import LivePuppetError
from realtime.live.controls import LiveControls
from realtime.live.stats import RateMeter

log = logging.getLogger(__name__)

KEY_NAMES = {27: "esc", 13: "enter", 32: "space", 9: "tab"}


class PreviewWindow(Protocol):
    def open(self, size: tuple[int, int]) -> None: ...

    def show(self, bgr: np.ndarray) -> None: ...

    def poll_key(self) -> int:
        """The key pressed since the last call as OpenCV reports it, or -1."""
        ...

    def closed_by_user(self) -> bool: ...

    def close(self) -> None: ...


class OpenCVWindow:
    def __init__(self, title: str = "LivePuppet preview"):
        self.title = title

    def open(self, size: tuple[int, int]) -> None:
        if platform.system() == "Linux" and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        ):
            raise LivePuppetError("no display for the preview window (DISPLAY is not set)")
        cv2.namedWindow(self.title, cv2.WINDOW_AUTOSIZE)

    def show(self, bgr: np.ndarray) -> None:
        cv2.imshow(self.title, bgr)

    def poll_key(self) -> int:
        return cv2.waitKey(1)

    def closed_by_user(self) -> bool:
        return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1

    def close(self) -> None:
        cv2.destroyWindow(self.title)
        cv2.waitKey(1)


class HeadlessWindow:
    """No window: keeps what would be shown and plays back queued key presses (tests, servers)."""

    def __init__(self, keep: int = 1):
        self.shown: deque[np.ndarray] = deque(maxlen=keep)
        self.frames_shown = 0
        self.keys: deque[int] = deque()
        self.size: tuple[int, int] | None = None
        self.closed = False

    def press(self, key: str | int) -> None:
        self.keys.append(ord(key) if isinstance(key, str) else key)

    def open(self, size: tuple[int, int]) -> None:
        self.size = size

    def show(self, bgr: np.ndarray) -> None:
        self.shown.append(bgr.copy())
        self.frames_shown += 1

    def poll_key(self) -> int:
        return self.keys.popleft() if self.keys else -1

    def closed_by_user(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


def key_name(code: int) -> str | None:
    if code < 0:
        return None
    code &= 0xFF
    if code in KEY_NAMES:
        return KEY_NAMES[code]
    return chr(code).lower() if 33 <= code <= 126 else None


class PreviewSink:
    main_thread = True  # OpenCV windows want the main thread (macOS insists)

    def __init__(
        self,
        controls: LiveControls,
        window: PreviewWindow | None = None,
        mirror: bool = True,
        overlay: bool = True,
    ):
        self.controls = controls
        self.window = window or OpenCVWindow()
        self.mirror = mirror
        self.overlay = overlay  # off: a clean picture (for a window capture in OBS)
        self._bgr: np.ndarray | None = None
        self._flipped: np.ndarray | None = None
        self._rate = RateMeter()
        self._latency_ms: float | None = None
        self._last_timestamp: float | None = None

    @property
    def fps(self) -> float:
        """New frames per second shown, smoothed over about a second (what the overlay prints)."""
        return self._rate.rate

    @property
    def latency_ms(self) -> float | None:
        """Capture-to-preview latency in ms, smoothed (what the overlay prints); None before a frame."""
        return self._latency_ms

    def open(self, size: tuple[int, int], fps: float) -> None:
        self.window.open(size)
        self._bgr = np.empty((size[1], size[0], 3), np.uint8)
        self._flipped = np.empty_like(self._bgr)

    def send(self, frame: np.ndarray, timestamp: float) -> None:
        now = time.perf_counter()
        if timestamp != self._last_timestamp:  # a new frame, not a re-send of the held one
            self._last_timestamp = timestamp
            self._rate.tick(now)
            latency = (now - timestamp) * 1000.0
            self._latency_ms = latency if self._latency_ms is None else 0.9 * self._latency_ms + 0.1 * latency
        source = frame
        if self.mirror:
            source = cv2.flip(frame, 1, dst=self._flipped)
        bgr = cv2.cvtColor(source, cv2.COLOR_RGB2BGR, dst=self._bgr)
        if self.overlay:
            self._draw_overlay(bgr)
        self.window.show(bgr)
        self._handle_keys()

    def _handle_keys(self) -> None:
        if self.window.closed_by_user():
            self.controls.handle_key("esc")
            return
        name = key_name(self.window.poll_key())
        if name == "m":
            self.mirror = not self.mirror
        elif name is not None:
            self.controls.handle_key(name)

    def _draw_overlay(self, bgr: np.ndarray) -> None:
        status = self.controls.status
        latency = "-" if self._latency_ms is None else f"{self._latency_ms:.0f} ms"
        lines = [(f"{self._rate.rate:4.1f} FPS  latency {latency}", (255, 255, 255))]
        if status.camera_failing:
            lines.append(("camera lost: retrying", (0, 0, 255)))
        else:
            lines.append(
                (
                    "face found" if status.face_found else "no face",
                    (0, 255, 0) if status.face_found else (0, 165, 255),
                )
            )
        if self.controls.paused:
            lines.append(("PAUSED (P)", (0, 255, 255)))
        if not status.calibrated:
            lines.append(("hold still: calibrating", (0, 255, 255)))
        scale = max(0.4, bgr.shape[0] / 900)
        for row, (text, colour) in enumerate(lines):
            y = int((row + 1) * 26 * scale) + 4
            cv2.putText(bgr, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(bgr, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)

    def close(self) -> None:
        self.window.close()
