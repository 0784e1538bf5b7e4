import threading
import time

import numpy as np

from realtime.live.render import RenderedFrame
from realtime.live.sinkworker import RESEND_IDLE, SinkWorker

FPS = 30.0


class SlowSink:
    """Takes 50 ms per frame (slower than the 33 ms frame period); remembers when each send ran."""

    def __init__(self):
        self.spans = []

    def open(self, size, fps):
        pass

    def send(self, frame, timestamp):
        started = time.perf_counter()
        time.sleep(0.05)
        self.spans.append((started, time.perf_counter(), timestamp))

    def close(self):
        pass


def frame(timestamp: float) -> RenderedFrame:
    return RenderedFrame(np.zeros((4, 4, 3), np.uint8), timestamp, 0, live=True, face_found=True)


def test_a_stalled_stream_is_re_sent_but_a_slow_sink_keeps_idle_time_between_repeats():
    sink = SlowSink()
    worker = SinkWorker("slow", sink, FPS)
    stop = threading.Event()
    worker.start(stop)
    worker.slot.put(frame(time.perf_counter()))
    time.sleep(0.6)
    stop.set()
    worker.slot.close()
    assert worker.join(2.0)
    assert worker.fresh == 1 and worker.sent >= 5  # the one frame, then repeats
    gaps = [b[0] - a[1] for a, b in zip(sink.spans, sink.spans[1:])]
    assert min(gaps) >= 0.8 * RESEND_IDLE / FPS


def test_fresh_frames_are_sent_as_soon_as_they_arrive():
    sink = SlowSink()
    worker = SinkWorker("slow", sink, FPS)
    stop = threading.Event()
    worker.start(stop)
    for _ in range(5):
        worker.slot.put(frame(time.perf_counter()))
        time.sleep(0.1)
    stop.set()
    worker.slot.close()
    assert worker.join(2.0)
    assert worker.fresh == 5 and worker.latency.count == 5
    # at worst a fresh frame waits for one repeat in progress (50 ms), never for the idle rule
    assert worker.latency.percentile(100) < 0.1
