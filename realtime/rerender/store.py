"""The work folder of an offline render: one PNG per finished frame, so an interrupted render resumes.

Frames live in ``<work>/<key>/`` where ``key`` is a hash of everything that changes the pictures (inputs,
models, settings): rerunning the same command finds its frames and computes only the missing ones, while a
changed setting starts a fresh sub-folder instead of mixing frames. Each frame is written to a temporary
name and renamed, so a render killed mid-write never leaves a half-written frame behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import cv2
import numpy as np

from engines.base import LivePuppetError

log = logging.getLogger(__name__)


def settings_key(settings: dict) -> str:
    """A short stable hash of a JSON-able settings dict."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class FrameStore:
    """``save(i, rgb)``, ``load(i)``, ``has(i)`` for the frames of one render in ``folder``."""

    def __init__(self, work: Path, settings: dict):
        self.folder = Path(work) / settings_key(settings)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LivePuppetError(f"cannot create the work folder {self.folder}: {exc}") from exc
        manifest = self.folder / "settings.json"
        if not manifest.exists():
            manifest.write_text(json.dumps(settings, sort_keys=True, indent=1, default=str))
        done = self.done()
        if done:
            log.info("resuming: %d frames already rendered in %s", len(done), self.folder)

    def path(self, index: int) -> Path:
        return self.folder / f"frame_{index:06d}.png"

    def has(self, index: int) -> bool:
        return self.path(index).is_file()

    def done(self) -> set[int]:
        return {int(p.stem.split("_")[1]) for p in self.folder.glob("frame_*.png")}

    def save(self, index: int, rgb: np.ndarray) -> None:
        target = self.path(index)
        temporary = target.with_name(f".{target.name}.tmp.png")
        if not cv2.imwrite(str(temporary), np.ascontiguousarray(rgb[:, :, ::-1])):
            raise LivePuppetError(f"cannot write {temporary} (disk full or no permission?)")
        os.replace(temporary, target)

    def load(self, index: int) -> np.ndarray:
        image = cv2.imread(str(self.path(index)), cv2.IMREAD_COLOR)
        if image is None:
            raise LivePuppetError(
                f"cannot read the rendered frame {self.path(index)}; delete it to recompute it"
            )
        return np.ascontiguousarray(image[:, :, ::-1])
