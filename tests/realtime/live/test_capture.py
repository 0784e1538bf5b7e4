import threading
import time

import numpy as np
import pytest

from engines.base import LivePuppetError
from realtime.live.capture import CaptureThread, RetryPolicy, VideoFileSource, decode_fourcc
from realtime.live.slots import LatestSlot
from tests.realtime.live.fakes import Scenario, intervals


def test_video_file_plays_at_its_own_rate_as_rgb(tiny_video):
    source = VideoFileSource(tiny_video)
    assert source.fps == pytest.approx(30.0) and source.size == (64, 48)
    frames = list(source.frames())
    source.close()
    assert len(frames) == 15 and frames[0].image.shape == (48, 64, 3)
    stamps = np.array([f.timestamp for f in frames])
    assert np.diff(stamps).mean() == pytest.approx(1 / 30, rel=0.3)  # paced, not as fast as decoding
    assert frames[3].image.mean() < frames[10].image.mean()  # in order


def test_looping_video_starts_over(tiny_video):
    source = VideoFileSource(tiny_video, loop=True, realtime=False)
    frames = [f for _, f in zip(range(40), source.frames())]
    source.close()
    assert [f.index for f in frames] == list(range(40))
    assert abs(float(frames[15].image.mean()) - float(frames[0].image.mean())) < 3  # back at the first frame


def test_missing_video_is_a_clear_error(tmp_path):
    with pytest.raises(LivePuppetError, match="not found"):
        VideoFileSource(tmp_path / "nope.mp4")


def test_capture_thread_drops_stale_frames_when_nobody_takes_them(tiny_video):
    slot = LatestSlot("capture")
    capture = CaptureThread(lambda: VideoFileSource(tiny_video, realtime=False), slot)
    capture.start()
    assert capture.ended.wait(5.0)
    assert capture.join(2.0)
    assert capture.captured == 15 and slot.dropped == 14
    assert slot.get(timeout=0).index == 14  # the newest one is what is left


def test_capture_thread_reconnects_with_back_off():
    scenario = Scenario(30.0, down=intervals([(0.3, 0.9)]))
    slot = LatestSlot("capture")
    capture = CaptureThread(scenario.open, slot, RetryPolicy(first_delay=0.05, max_delay=0.2))
    taken = []
    stop = threading.Event()

    def consume():
        while not stop.is_set():
            frame = slot.get(timeout=0.05)
            if frame is not None:
                taken.append(frame)

    consumer = threading.Thread(target=consume)
    capture.start()
    consumer.start()
    time.sleep(1.5)
    capture.stop()
    stop.set()
    assert capture.join(2.0)
    consumer.join(2.0)
    assert capture.failures >= 2 and capture.reconnects == 1 and scenario.opens == 2
    # back-off: a handful of attempts during 0.6 s, not a busy loop
    assert 2 <= scenario.open_failures <= 8
    indices = [f.index for f in taken]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)  # renumbered across reconnects
    assert max(f.timestamp for f in taken) > scenario.start + 0.9


def test_fourcc_decoding():
    code = ord("M") | ord("J") << 8 | ord("P") << 16 | ord("G") << 24
    assert decode_fourcc(float(code)) == "MJPG"
    assert decode_fourcc(0.0) == ""
