"""The control surface shared by the hotkeys (preview thread), the render thread and the loop.

Hotkeys: C recalibrate the neutral face, P pause/hold the current frame, Q or Esc quit; the preview
handles M (mirror) itself; any other key goes to ``key_handler`` (presets plug in there).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

QUIT_KEYS = frozenset({"q", "esc"})


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """What the render thread last reported (replaced as a whole, so readers need no lock)."""

    face_found: bool = False
    calibrated: bool = False  # a stable neutral face has been taken
    render_errors: int = 0
    camera_failing: bool = False


class LiveControls:
    def __init__(self, key_handler: Callable[[str], None] | None = None):
        self.key_handler = key_handler
        self.quit = threading.Event()
        self._recalibrate = threading.Event()
        self._paused = threading.Event()
        self.status = LiveStatus()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def toggle_pause(self) -> None:
        if self._paused.is_set():
            self._paused.clear()
        else:
            self._paused.set()
        log.info("live: %s", "paused (holding the current frame)" if self.paused else "resumed")

    def request_recalibration(self) -> None:
        self._recalibrate.set()

    def take_recalibration(self) -> bool:
        """True once per request (the render thread polls this)."""
        if self._recalibrate.is_set():
            self._recalibrate.clear()
            return True
        return False

    def handle_key(self, key: str) -> None:
        """Dispatch one key press: ``key`` is a lower-case character or a name such as ``"esc"``."""
        if key in QUIT_KEYS:
            self.quit.set()
        elif key == "c":
            log.info("live: recalibrating: hold still with a neutral face")
            self.request_recalibration()
        elif key == "p":
            self.toggle_pause()
        elif self.key_handler is not None:
            try:
                self.key_handler(key)
            except Exception:  # a preset bug must not stop the show
                log.exception("live: key handler failed for %r", key)
