"""Windows and segments: the plan, and that splitting a render into segments rendered anywhere, in any
order, interrupted or not, gives the pictures of the same render done in one process."""

import numpy as np
import pytest

from engines.base import LivePuppetError
from realtime.rerender.job import DrivingRead, OfflineJob, prepare_job, render_segments, run_job, write_video
from realtime.rerender.plan import Window, plan_segments, plan_windows, windows_per_segment
from realtime.video_io import VideoReader


class StatefulRenderer:
    """Each frame's grey level counts the windows rendered since ``prepare`` (state carried across windows,
    like the warp engine's warm start), plus the frame's index: any change of state shows in the pictures."""

    def __init__(self, window: int, overlap: int):
        self.window, self.overlap = window, overlap
        self.since_prepare = 0

    def settings(self):
        return {"stateful": [self.window, self.overlap]}

    def prepare(self, portrait, face):
        self.shape, self.since_prepare = portrait.shape, 0

    def render(self, frames):
        self.since_prepare += 1
        return [np.full(self.shape, 20 * self.since_prepare + 3 * f.index, np.uint8) for f in frames]

    def close(self):
        pass


def _frames(path):
    with VideoReader(path) as reader:
        return [frame.image for frame in reader]


def _job(tmp_path, portrait, driving, name, segment_frames, frames=9):
    return OfflineJob(
        source=portrait, driving=driving, output=tmp_path / f"{name}.mp4", work=tmp_path / f"{name}.work",
        size=96, max_frames=frames, progress=False, segment_frames=segment_frames,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("frames", "window", "overlap", "expected"),
    [
        (7, 4, 2, [(0, 4), (2, 6), (4, 7)]),
        (6, 4, 2, [(0, 4), (2, 6)]),  # a last window of shared frames only is not rendered
        (3, 4, 2, [(0, 3)]),
        (3, 1, 0, [(0, 1), (1, 2), (2, 3)]),
        (0, 4, 1, []),
    ],
)
def test_windows(frames, window, overlap, expected):
    assert [(w.start, w.stop) for w in plan_windows(frames, window, overlap)] == expected


def test_bad_overlap_is_one_line():
    with pytest.raises(LivePuppetError, match="overlap"):
        plan_windows(10, 4, 4)


def test_segments_are_whole_consecutive_windows():
    windows = plan_windows(20, 4, 1)
    per_segment = windows_per_segment(8, 4, 1)
    segments = plan_segments(windows, per_segment)
    assert per_segment == 2 and [s.number for s in segments] == list(range(len(segments)))
    assert [w for s in segments for w in s.windows] == windows
    assert all(len(s.windows) == 2 for s in segments[:-1])
    assert plan_segments(windows, None)[0].windows == tuple(windows)
    assert windows_per_segment(8, 1, 0) == 8 and windows_per_segment(3, 16, 4) == 1


def test_segments_rendered_apart_match_one_process(tmp_path, portrait, driving_with_audio):
    # One process, in order.
    reference = _job(tmp_path, portrait, driving_with_audio, "one", segment_frames=3)
    run_job(reference, StatefulRenderer(window=3, overlap=1))
    # The same segments by separate renderers ("workers"), last first, then assembled.
    split = _job(tmp_path, portrait, driving_with_audio, "split", segment_frames=3)
    prepared = prepare_job(split, StatefulRenderer(window=3, overlap=1))
    assert len(prepared.segments) > 2
    for segment in reversed(prepared.segments):
        worker = StatefulRenderer(window=3, overlap=1)
        render_segments(prepared, [segment], worker, resume_windows=False)
    write_video(prepared)
    expected, got = _frames(reference.output), _frames(split.output)
    assert len(got) == len(expected) == 9
    assert all(np.array_equal(a, b) for a, b in zip(expected, got))
    # The state really differs between segments, so the check above could fail.
    whole = _job(tmp_path, portrait, driving_with_audio, "whole", segment_frames=None)
    run_job(whole, StatefulRenderer(window=3, overlap=1))
    assert not all(np.array_equal(a, b) for a, b in zip(expected, _frames(whole.output)))


class MotionRenderer(StatefulRenderer):
    """Frames that show the (smoothed) motion: a read that lost or re-read motion history would differ."""

    def render(self, frames):
        return [np.full(self.shape, int(f.target[:, :2].sum() * 7) % 251, np.uint8) for f in frames]


def test_a_continued_driving_read_gives_the_frames_of_fresh_reads(tmp_path, portrait, driving_with_audio):
    def job(name):
        from dataclasses import replace

        return replace(_job(tmp_path, portrait, driving_with_audio, name, segment_frames=3), smoothing=0.8)

    fresh = prepare_job(job("fresh"), MotionRenderer(1, 0))
    for segment in reversed(fresh.segments):  # each segment reads the video from its start
        render_segments(fresh, [segment], MotionRenderer(1, 0), resume_windows=False)
    continued = prepare_job(job("continued"), MotionRenderer(1, 0))
    read = DrivingRead(continued)
    decoded = []
    read.feed._frames = (decoded.append(f.index) or f for f in read.feed._frames)
    try:
        for segment in continued.segments:
            assert read.continues_at(segment)
            render_segments(continued, [segment], MotionRenderer(1, 0), resume_windows=False, read=read)
        assert not read.continues_at(continued.segments[0])  # its frames are gone: a new read is needed
    finally:
        read.close()
    assert decoded == list(range(9))  # every frame tracked once
    write_video(fresh)
    write_video(continued)
    expected, got = _frames(fresh.job.output), _frames(continued.job.output)
    assert len(got) == len(expected) == 9 and len({int(a[0, 0, 0]) for a in expected}) > 3
    assert all(np.array_equal(a, b) for a, b in zip(expected, got))


class Killed(Exception):
    pass


def test_a_cut_short_segment_is_rendered_again_from_its_start(tmp_path, portrait, driving_with_audio):
    reference = _job(tmp_path, portrait, driving_with_audio, "ref", segment_frames=4, frames=8)
    run_job(reference, StatefulRenderer(window=1, overlap=0))
    job = _job(tmp_path, portrait, driving_with_audio, "cut", segment_frames=4, frames=8)
    prepared = prepare_job(job, StatefulRenderer(window=1, overlap=0))
    first, second = prepared.segments

    def die_at_frame_5(index):
        if index == 5:
            raise Killed

    render_segments(prepared, [first], StatefulRenderer(1, 0), resume_windows=False)
    with pytest.raises(Killed):
        render_segments(
            prepared, [second], StatefulRenderer(1, 0), on_frame=die_at_frame_5, resume_windows=False
        )
    assert prepared.segment_done(first) and not prepared.segment_done(second)
    stored = prepared.store.path(Window(0, 1)).stat().st_mtime_ns
    # A rerun: the finished segment is not touched, the cut one is rendered whole from a fresh state.
    assert render_segments(prepared, [first], StatefulRenderer(1, 0), resume_windows=False) == 0
    assert render_segments(prepared, [second], StatefulRenderer(1, 0), resume_windows=False) == 4
    assert prepared.store.path(Window(0, 1)).stat().st_mtime_ns == stored
    write_video(prepared)
    assert all(np.array_equal(a, b) for a, b in zip(_frames(reference.output), _frames(job.output)))
