"""The live loop: named threads joined by newest-wins slots.

    capture --slot--> track --slot--> render --slot per sink--> sink:<name> (the preview on the caller's)

``capture`` reads the camera (or a paced video file) and reconnects with back-off when it fails;
``track`` runs the face tracker, the motion driver and the neutral calibration; ``render`` applies the
modifiers and renders (tracking frame N+1 overlaps rendering frame N); each ``sink:<name>`` thread
feeds one sink and re-sends the last frame when nothing new arrives, so every sink keeps its frame rate.
No queue can grow: each boundary holds at most one frame and stale ones are dropped (and counted).
Shutdown sets one event, wakes every waiter and joins each thread with a timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from engines.base import Engine, LivePuppetError, SourceState
from realtime.live.calibration import CalibrationConfig, StableCalibrator
from realtime.live.capture import CaptureThread, RetryPolicy
from realtime.live.controls import LiveControls
from realtime.live.render import RenderWorker, StallConfig
from realtime.live.sinkworker import Broadcast, SinkWorker
from realtime.live.slots import LatestSlot
from realtime.live.track import DrivenFrame, Driver, TrackWorker
from realtime.modifiers import MotionModifier
from realtime.stages import FrameSource, Sink, TimedFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LiveConfig:
    fps: float = 30.0  # output rate: every sink receives at least this many frames per second
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    stall: StallConfig = field(default_factory=StallConfig)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    join_timeout: float = 2.0  # seconds each thread gets to stop
    # numpy's OpenBLAS pool while the loop runs (its busy-waiting workers fight the loop's own threads);
    # None leaves it alone. Applied by LiveSession.
    blas_threads: int | None = 1


class LiveLoop:
    """Runs until Q/Esc (or ``controls.quit``), the end of a non-looping video, or ``duration`` seconds.

    The caller owns ``engine`` and ``driver`` (built, prepared and closed outside); the loop opens and
    closes the sinks. A sink that cannot be opened (no virtual camera, no display) is reported in one
    line and left out; the loop fails only when no sink at all could be opened.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        state: SourceState,
        driver: Driver,
        open_source: Callable[[], FrameSource],
        sinks: Mapping[str, Sink],
        modifiers: Sequence[MotionModifier] = (),
        controls: LiveControls | None = None,
        config: LiveConfig = LiveConfig(),
    ):
        self.config = config
        self.controls = controls or LiveControls()
        self._sinks = dict(sinks)
        self.capture_slot: LatestSlot[TimedFrame] = LatestSlot("capture")
        self.capture = CaptureThread(open_source, self.capture_slot, config.retry)
        self.driven_slot: LatestSlot[DrivenFrame] = LatestSlot("driven")
        self.workers: list[SinkWorker] = []
        self.unavailable: dict[str, str] = {}  # sink name -> why it could not be opened
        self._engine, self._state, self._driver, self._modifiers = engine, state, driver, modifiers
        self.track: TrackWorker | None = None
        self.render: RenderWorker | None = None
        self._started = False
        self._stopped = False
        self.started_at: float | None = None
        self.stopped_at: float | None = None

    @property
    def output_size(self) -> tuple[int, int]:
        height, width = self._state.image.shape[:2]
        return width, height

    def start(self) -> None:
        """Open the sinks (reporting those that fail) and start the threads."""
        if self._started:
            return
        self._open_sinks()
        poll = 1.0 / self.config.fps
        self.track = TrackWorker(
            driver=self._driver, calibrator=StableCalibrator(self._driver, self.config.calibration),
            source=self.capture_slot, output=self.driven_slot, controls=self.controls, poll=poll,
            source_ended=self._source_done,
        )  # fmt: skip
        self.render = RenderWorker(
            engine=self._engine, state=self._state, modifiers=self._modifiers, source=self.driven_slot,
            output=Broadcast(self.workers), controls=self.controls, fps=self.config.fps,
            source_done=self.track.done.is_set, calibrated=lambda: self.track.calibrated, stall=self.config.stall,
        )  # fmt: skip
        for worker in self.workers:  # every sink shows the neutral portrait until the first render
            worker.slot.put(self.render.neutral_frame)
        self.started_at = time.perf_counter()
        self.capture.start()
        self.track.thread.start()
        self.render.thread.start()
        for worker in self.workers:
            if not getattr(worker.sink, "main_thread", False):
                worker.start(self.controls.quit)
        self._started = True

    def _open_sinks(self) -> None:
        for name, sink in self._sinks.items():
            try:
                sink.open(self.output_size, self.config.fps)
            except Exception as exc:  # noqa: BLE001  (any sink failure is reported, then left out)
                reason = str(exc) if isinstance(exc, LivePuppetError) else f"{type(exc).__name__}: {exc}"
                self.unavailable[name] = reason
                continue
            self.workers.append(SinkWorker(name, sink, self.config.fps))
        if not self.workers:
            raise LivePuppetError(
                "no output could be opened: " + "; ".join(f"{k}: {v}" for k, v in self.unavailable.items())
            )
        for name, reason in self.unavailable.items():
            log.error("%s unavailable: %s", name, reason)
        log.info("live: sending to %s", ", ".join(worker.name for worker in self.workers))

    def _source_done(self) -> bool:
        return self.capture.ended.is_set() and self.capture_slot.depth == 0

    def run(self, duration: float | None = None) -> None:
        """Start (if needed), serve a main-thread sink (the preview) here, and stop when done."""
        self.start()
        deadline = None if duration is None else time.perf_counter() + duration
        main = next((w for w in self.workers if getattr(w.sink, "main_thread", False)), None)
        timer = None
        try:
            if main is not None:
                if deadline is not None:
                    timer = threading.Timer(duration, self.controls.quit.set)
                    timer.name = "live-timer"
                    timer.daemon = True
                    timer.start()
                main.run(self.controls.quit)
            else:
                while not self.controls.quit.is_set():
                    remaining = None if deadline is None else deadline - time.perf_counter()
                    if remaining is not None and remaining <= 0:
                        break
                    self.controls.quit.wait(0.2 if remaining is None else min(0.2, remaining))
        except KeyboardInterrupt:
            log.info("live: interrupted; stopping")
        finally:
            if timer is not None:
                timer.cancel()
            self.stop()

    def stop(self) -> None:
        """Stop every thread (bounded waits) and close the sinks whose threads have finished."""
        if self._stopped or not self._started:
            return
        self._stopped = True
        self.stopped_at = time.perf_counter()
        self.controls.quit.set()
        self.capture.stop()
        self.capture_slot.close()
        self.driven_slot.close()
        for worker in self.workers:
            worker.slot.close()
        timeout = self.config.join_timeout
        if not self.capture.join(timeout):
            log.warning("live: the capture thread did not stop within %.1f s (camera read blocked)", timeout)
        for worker in (self.track, self.render):
            if worker is not None:
                worker.thread.join(timeout)
                if worker.thread.is_alive():
                    log.warning("live: the %s thread did not stop within %.1f s", worker.thread.name, timeout)
        for worker in self.workers:
            if not worker.join(timeout):
                log.warning("live: sink %s did not stop within %.1f s; not closing it", worker.name, timeout)
                continue
            try:
                worker.sink.close()
            except Exception:
                log.exception("live: closing sink %s failed", worker.name)

    def summary(self) -> dict:
        """Counters and latency figures (JSON-ready)."""
        elapsed = ((self.stopped_at or time.perf_counter()) - self.started_at) if self.started_at else 0.0
        render, track = self.render, self.track
        return {
            "seconds": round(elapsed, 3),
            "captured": self.capture.captured,
            "capture_dropped": self.capture.dropped,
            "capture_failures": self.capture.failures,
            "capture_reconnects": self.capture.reconnects,
            "tracked": track.tracked if track else 0,
            "track_errors": track.errors if track else 0,
            "track_dropped": self.driven_slot.dropped,
            "rendered": render.rendered if render else 0,
            "synthesised": render.synthesised if render else 0,
            "render_errors": render.errors if render else 0,
            "render_fps": round(render.rendered / elapsed, 2) if render and elapsed else 0.0,
            "track_ms": track.time.summary_ms() if track else None,
            "render_ms": render.time.summary_ms() if render else None,
            "unavailable_sinks": dict(self.unavailable),
            "sinks": {
                worker.name: {
                    "sent": worker.sent,
                    "fresh": worker.fresh,
                    "dropped": worker.slot.dropped,
                    "errors": worker.errors,
                    "queue_depth": worker.slot.depth,
                    "fresh_fps": round(worker.fresh / elapsed, 2) if elapsed else 0.0,
                    "latency_ms": worker.latency.summary_ms(),
                }
                for worker in self.workers
            },
        }
