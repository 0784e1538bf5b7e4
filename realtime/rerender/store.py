"""The work folder of a render: one PNG per finished window, so an interrupted render resumes.

Windows live in ``<work>/<key>/`` where ``key`` is a hash of everything that changes the pictures (inputs,
models, settings): rerunning the same render finds its windows and computes only the missing ones, while a
changed setting starts a fresh sub-folder instead of mixing frames. A window's frames are stacked top to
bottom in one PNG written atomically (:func:`realtime.outputs.write_bytes_atomic`), so a render killed
mid-write never leaves a half-written window, and two workers finishing the same window leave one.
The folder must be shared by every machine that renders into it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from pathlib import Path

import cv2
import numpy as np

from engines.base import LivePuppetError
from realtime.outputs import write_bytes_atomic, write_text_atomic
from realtime.rerender.plan import Window

log = logging.getLogger(__name__)

PNG_SPEED = [cv2.IMWRITE_PNG_COMPRESSION, 1]  # lossless either way; level 1 writes several times faster
WINDOW_NAME = re.compile(r"window_(\d{6})_(\d{4})\.png")
END_FILE = "end.json"


def settings_key(settings: dict) -> str:
    """A short stable hash of a JSON-able settings dict."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class WindowStore:
    """``save(window, frames)``, ``load(window)``, ``has(window)`` for the windows of one render."""

    def __init__(self, work: Path, settings: dict):
        self.folder = Path(work) / settings_key(settings)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LivePuppetError(f"cannot create the work folder {self.folder}: {exc}") from exc
        manifest = self.folder / "settings.json"
        if not manifest.exists():
            write_text_atomic(manifest, json.dumps(settings, sort_keys=True, indent=1, default=str))

    def path(self, window: Window) -> Path:
        return self.folder / f"window_{window.start:06d}_{len(window):04d}.png"

    def has(self, window: Window) -> bool:
        return self.path(window).is_file()

    def done(self) -> set[Window]:
        found = (WINDOW_NAME.fullmatch(p.name) for p in self.folder.glob("window_*.png"))
        return {Window(int(m[1]), int(m[1]) + int(m[2])) for m in found if m}

    def save(self, window: Window, frames: list[np.ndarray]) -> None:
        """Store the window's RGB frames (all one size) as one PNG strip."""
        strip = np.concatenate(frames, axis=0)[:, :, ::-1]
        ok, encoded = cv2.imencode(".png", np.ascontiguousarray(strip), PNG_SPEED)
        if not ok:
            raise LivePuppetError(f"cannot encode the frames of {self.path(window)}")
        write_bytes_atomic(self.path(window), encoded.tobytes())

    def load(self, window: Window) -> list[np.ndarray]:
        strip = cv2.imread(str(self.path(window)), cv2.IMREAD_COLOR)
        if strip is None or strip.shape[0] % len(window):
            raise LivePuppetError(
                f"cannot read the rendered frames {self.path(window)}; delete it to recompute them"
            )
        return [np.ascontiguousarray(f[:, :, ::-1]) for f in np.split(strip, len(window), axis=0)]

    def record_end(self, frames: int) -> None:
        """The driving video stopped decoding after ``frames`` frames (fewer than its header said)."""
        write_text_atomic(self.folder / END_FILE, json.dumps({"frames": frames}))

    def recorded_end(self) -> int | None:
        path = self.folder / END_FILE
        return json.loads(path.read_text())["frames"] if path.is_file() else None

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
