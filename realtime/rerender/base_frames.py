"""The diffusion modes' img2img starting frames drawn by a realtime engine (warp or neural).

An :class:`~engines.offline.frames.InitFrames`: each driving frame's motion rendered by the engine through
the pipeline's robust :class:`~realtime.offline.FrameRenderer` (a failed frame repeats the previous one),
or the source portrait when there is no engine (``name=None``) or it cannot be built.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from engines.base import EngineOptions, Face, LivePuppetError, create_engine
from engines.offline.frames import DrivingFrame
from realtime.offline import FrameRenderer

log = logging.getLogger(__name__)


class BaseFrames:
    """The img2img starting frames: an engine's render of each frame's motion, or the source when there is
    no engine (``name=None``) or it cannot be built."""

    def __init__(self, name: str | None, options: EngineOptions | None = None):
        self.name, self.options = name, options or EngineOptions()
        self._renderer: FrameRenderer | None = None
        self._source: np.ndarray | None = None

    def prepare(self, portrait: np.ndarray, face: Face) -> None:
        """Start afresh for ``portrait`` (each segment of a render prepares again: a new engine state)."""
        self.close()
        self._source = portrait
        if self.name is None:
            return
        try:
            engine = create_engine(self.name, self.options)
            self._renderer = FrameRenderer(engine, engine.prepare(portrait, face))
        except (LivePuppetError, ImportError) as exc:
            log.warning(
                "the %s engine is not available (%s); img2img starts from the source image", self.name, exc
            )

    def frame(self, driving: DrivingFrame) -> np.ndarray:
        if self._renderer is None:
            return self._source
        frame = self._renderer.render(driving.motion, driving.timestamp)
        if frame.shape != self._source.shape:
            frame = cv2.resize(
                frame, (self._source.shape[1], self._source.shape[0]), interpolation=cv2.INTER_AREA
            )
        return frame.copy()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.engine.close()
            self._renderer = None
