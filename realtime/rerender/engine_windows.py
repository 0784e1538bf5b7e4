"""A realtime engine (warp, liveportrait) as a :class:`~engines.offline.frames.WindowRenderer`.

One frame per window, no overlap: each driving frame's motion (modifiers already applied by the driving
sequence) goes through the same :class:`~realtime.offline.FrameRenderer` as ``livepuppet render``, so a job
rendered in one segment gives that command's frames exactly. Each segment prepares the engine afresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from engines.base import Engine, EngineOptions, Face, create_engine
from engines.offline.frames import DrivingFrame
from realtime.offline import FrameRenderer


class EngineWindows:
    window = 1
    overlap = 0

    def __init__(self, name: str, options: EngineOptions):
        self.name, self.options = name, options
        self.engine: Engine = create_engine(name, options)
        self._renderer: FrameRenderer | None = None

    def settings(self) -> dict:
        options = {key: str(value) for key, value in asdict(self.options).items()}
        return {"mode": "engine", "engine": self.name, "options": options}

    def prepare(self, portrait: np.ndarray, face: Face) -> None:
        self._renderer = FrameRenderer(self.engine, self.engine.prepare(portrait, face))

    def render(self, frames: Sequence[DrivingFrame]) -> list[np.ndarray]:
        return [self._renderer.render(frame.motion, frame.timestamp).copy() for frame in frames]

    def close(self) -> None:
        self.engine.close()
