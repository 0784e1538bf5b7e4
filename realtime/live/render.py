"""Thread "render": newest driven frame -> motion modifiers -> engine -> every sink's slot.

Each output carries the capture timestamp of the frame it was rendered from, so the sinks can measure
capture-to-sink latency per frame. Faults never stop this thread: an exception while rendering one frame
is logged and the frame skipped (the sinks re-send the previous one); when no driven frame arrives (the
camera is gone) the last frame is held, then the motion eases back to the neutral portrait, rendered at
the output rate so modifiers (presets) keep playing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engines.base import Engine, Motion, SourceState
from realtime.driver import ease_motion, fade_weight
from realtime.live.controls import LiveControls, LiveStatus
from realtime.live.slots import LatestSlot
from realtime.live.stats import LatencyHistogram, log_failure
from realtime.live.track import DrivenFrame
from realtime.modifiers import MotionModifier, apply_modifiers
from engines.landmarks import neutral_points

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RenderedFrame:
    """One output frame. ``image`` is never written to once published (sinks only read it)."""

    image: np.ndarray  # RGB uint8 (H, W, 3) at the engine's output size
    timestamp: float  # perf_counter at capture (live frames) or when synthesised (held/neutral frames)
    index: int  # capture index; -1 for synthesised frames
    live: bool  # rendered from a freshly captured frame: counts for FPS and latency
    face_found: bool


class Output(Protocol):
    def put(self, item: RenderedFrame) -> None: ...


@dataclass(frozen=True, slots=True)
class StallConfig:
    """What to show when the camera stops delivering."""

    hold_seconds: float = 0.5  # keep showing the last frame this long
    ease_seconds: float = 1.0  # then ease the motion back to the neutral portrait over this long


class RenderWorker:
    def __init__(
        self,
        *,
        engine: Engine,
        state: SourceState,
        modifiers: Sequence[MotionModifier],
        source: LatestSlot[DrivenFrame],
        output: Output,
        controls: LiveControls,
        fps: float,
        source_done: Callable[[], bool],
        calibrated: Callable[[], bool],
        stall: StallConfig = StallConfig(),
    ):
        self._engine, self._state, self._modifiers = engine, state, list(modifiers)
        self._source, self._output, self._controls = source, output, controls
        self._period = 1.0 / fps
        self._source_done = source_done
        self._calibrated = calibrated
        self._stall = stall
        self._identity = Motion.identity(neutral_points(state.face.landmarks))
        self._last_motion: Motion | None = None
        self._last_arrival: float | None = None
        self._t0 = time.perf_counter()
        self.rendered = 0  # live frames rendered
        self.synthesised = 0  # held/eased/neutral frames rendered while the camera was quiet
        self.errors = 0
        self.time = LatencyHistogram()  # modifiers + engine per live frame
        self.thread = threading.Thread(target=self.run, name="render", daemon=True)

    @property
    def neutral_frame(self) -> RenderedFrame:
        return RenderedFrame(self._state.image, time.perf_counter(), -1, live=False, face_found=False)

    def run(self) -> None:
        stop = self._controls.quit
        while not stop.is_set():
            driven = self._source.get(timeout=self._period)
            if driven is not None:
                self._last_arrival = time.perf_counter()
                self._on_driven(driven)
            elif self._source_done() and self._source.depth == 0:
                log.info("render: the source ended; stopping")
                stop.set()
            elif not self._controls.paused:  # paused: the sinks keep re-sending the held frame
                self._on_quiet(time.perf_counter())

    def _on_driven(self, driven: DrivenFrame) -> None:
        started = time.perf_counter()
        self._last_motion = driven.motion
        image = self._render(driven.motion, driven.timestamp)
        self._report(driven.face_found)
        if image is None:
            return
        self.time.add(time.perf_counter() - started)
        self._output.put(RenderedFrame(image, driven.timestamp, driven.index, True, driven.face_found))
        self.rendered += 1

    def _on_quiet(self, now: float) -> None:
        """No driven frame within a frame period: hold, then ease to neutral, at the output rate."""
        quiet = now - (self._last_arrival if self._last_arrival is not None else self._t0)
        if quiet < self._stall.hold_seconds:
            return
        self._report(False, camera_failing=self._last_arrival is not None)
        weight = fade_weight(quiet, self._stall.hold_seconds, self._stall.ease_seconds)
        motion = None
        if self._last_motion is not None and weight > 0.0:
            motion = ease_motion(self._last_motion, weight)
        image = self._render(motion, now)
        if image is not None:
            self._output.put(RenderedFrame(image, now, -1, live=False, face_found=False))
            self.synthesised += 1

    def _render(self, motion: Motion | None, timestamp: float) -> np.ndarray | None:
        """The engine's frame for ``motion`` (None: the neutral portrait) after the modifiers; None on error."""
        try:
            base = motion if motion is not None else self._identity
            edited = apply_modifiers(self._modifiers, base, timestamp - self._t0)
            if edited is self._identity:
                return self._state.image  # nothing moves: the prepared portrait as it is
            # A copy, because engines may reuse their output buffer and sinks hold frames across threads.
            return np.array(self._engine.render(self._state, edited), dtype=np.uint8, copy=True)
        except Exception:  # one bad frame must not stop the loop
            self.errors += 1
            log_failure(log, self.errors, "render: a frame failed (%d so far); going on", self.errors)
            return None

    def _report(self, face_found: bool, camera_failing: bool = False) -> None:
        self._controls.status = LiveStatus(
            face_found=face_found,
            calibrated=self._calibrated(),
            render_errors=self.errors,
            camera_failing=camera_failing,
        )
