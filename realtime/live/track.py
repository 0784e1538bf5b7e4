"""Thread "track": newest captured frame -> motion driver (face tracker + motion) -> stable calibration.

Hands a :class:`DrivenFrame` (the motion and the frame's capture timestamp) to the render thread through
a newest-wins slot, so tracking frame N+1 overlaps rendering frame N. Recalibration requests (C) are
served here, where the driver lives; while paused (P) captured frames are dropped. An exception while
tracking one frame is logged and the frame skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from engines.base import Motion
from realtime.live.calibration import StableCalibrator
from realtime.live.controls import LiveControls
from realtime.live.slots import LatestSlot
from realtime.live.stats import LatencyHistogram, log_failure
from realtime.stages import TimedFrame

log = logging.getLogger(__name__)


class Driver(Protocol):
    def update(self, frame: TimedFrame) -> Motion | None: ...

    def recalibrate(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DrivenFrame:
    motion: Motion | None  # None: no stable neutral yet (render the neutral portrait)
    timestamp: float  # perf_counter at capture
    index: int
    face_found: bool


class TrackWorker:
    def __init__(
        self,
        *,
        driver: Driver,
        calibrator: StableCalibrator,
        source: LatestSlot[TimedFrame],
        output: LatestSlot[DrivenFrame],
        controls: LiveControls,
        poll: float,
        source_ended: Callable[[], bool],
    ):
        self._driver, self._calibrator = driver, calibrator
        self._source, self._output, self._controls = source, output, controls
        self._poll = poll
        self._source_ended = source_ended
        self.done = threading.Event()  # the source ended and every frame has been tracked
        self.tracked = 0
        self.errors = 0
        self.time = LatencyHistogram()  # tracker + driver + calibration per frame
        self.thread = threading.Thread(target=self.run, name="track", daemon=True)

    def run(self) -> None:
        stop = self._controls.quit
        try:
            while not stop.is_set():
                frame = self._source.get(timeout=self._poll)
                if self._controls.take_recalibration():
                    self._calibrator.request()
                if frame is None:
                    if self._source_ended():
                        return
                    continue
                if not self._controls.paused:
                    self._track(frame)
        finally:
            self.done.set()

    def _track(self, frame: TimedFrame) -> None:
        started = time.perf_counter()
        try:
            raw = self._driver.update(frame)
            motion = self._calibrator.process(raw, frame.timestamp)
        except Exception:  # one bad frame must not stop the loop
            self.errors += 1
            log_failure(log, self.errors, "track: a frame failed (%d so far); going on", self.errors)
            return
        self.time.add(time.perf_counter() - started)
        self.tracked += 1
        face_found = raw is not None and raw.face_found
        self._output.put(DrivenFrame(motion, frame.timestamp, frame.index, face_found))

    @property
    def calibrated(self) -> bool:
        return self._calibrator.calibrated
