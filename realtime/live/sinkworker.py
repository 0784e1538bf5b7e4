"""Threads "sink:<name>": each sink is fed from its own newest-wins slot, so a slow sink (a file encoder,
a window) never delays the others. A sink that receives nothing new within a frame period gets the last
frame again, so a virtual camera keeps its frame rate while the renderer is stalled, paused or failing.
Re-sends only fill idle time: a sink slower than the frame rate (an encoder on a busy machine) is not
kept busy with repeats back to back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from realtime.live.priority import lower_thread_priority
from realtime.live.render import RenderedFrame
from realtime.live.slots import LatestSlot
from realtime.live.stats import LatencyHistogram, log_failure
from realtime.stages import Sink

log = logging.getLogger(__name__)

# After a fresh frame, wait this many periods for the next before re-sending (absorbs capture jitter).
RESEND_GRACE = 1.5
# A re-send also waits this many periods after the previous send returned (sinks marked ``paces = True``
# sleep inside ``send`` to keep their rate; that sleep is not work and does not count).
RESEND_IDLE = 0.25


class SinkWorker:
    """Feeds one sink. ``run`` is the thread body; a sink that must live on the main thread (a preview
    window on macOS) is served by calling ``run`` there instead of ``start``."""

    def __init__(self, name: str, sink: Sink, fps: float):
        self.name = name
        self.sink = sink
        self.slot: LatestSlot[RenderedFrame] = LatestSlot(f"sink:{name}")
        self._period = 1.0 / fps
        self.latency = LatencyHistogram()  # capture -> hand-off to the sink, fresh live frames only
        self.sent = 0  # every send, re-sends included
        self.fresh = 0  # live frames sent for the first time
        self.errors = 0
        self.thread: threading.Thread | None = None

    def start(self, stop: threading.Event) -> None:
        self.thread = threading.Thread(target=self.run, args=(stop,), name=f"sink:{self.name}", daemon=True)
        self.thread.start()

    def run(self, stop: threading.Event) -> None:
        if getattr(self.sink, "background", False) and self.thread is threading.current_thread():
            lower_thread_priority()  # a file encoder: the encoder's own threads start from this one
        paces = getattr(self.sink, "paces", False)
        last: RenderedFrame | None = None
        last_was_new = False
        sent_at = time.perf_counter()
        while not stop.is_set():
            deadline = sent_at + self._period * (RESEND_GRACE if last_was_new else 1.0)
            if not paces:
                deadline = max(deadline, time.perf_counter() + RESEND_IDLE * self._period)
            item = self.slot.get(
                timeout=self._period if last is None else max(deadline - time.perf_counter(), 0.0)
            )
            if stop.is_set():
                break
            is_new = item is not None
            if item is None:
                if last is None:
                    continue
                item = last
            sent_at = self._send(item, fresh=is_new and item.live)
            last, last_was_new = item, is_new

    def _send(self, item: RenderedFrame, fresh: bool) -> float:
        now = time.perf_counter()
        if fresh:
            self.latency.add(now - item.timestamp)
            self.fresh += 1
        try:
            self.sink.send(item.image, item.timestamp)
        except Exception:
            self.errors += 1
            log_failure(log, self.errors, "sink %s: sending a frame failed (%d so far)", self.name, self.errors)
        self.sent += 1
        return now

    def join(self, timeout: float) -> bool:
        if self.thread is None:
            return True
        self.thread.join(timeout)
        return not self.thread.is_alive()


class Broadcast:
    """The render thread's output: puts each frame into every sink worker's slot."""

    def __init__(self, workers: Sequence[SinkWorker]):
        self._slots = [worker.slot for worker in workers]

    def put(self, item: RenderedFrame) -> None:
        for slot in self._slots:
            slot.put(item)
