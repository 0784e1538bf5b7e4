"""One batch worker: plans jobs, renders segments and encodes finished jobs, keeping its model loaded.

A plain class (the Ray actor of :mod:`realtime.batch.runner` wraps it; tests and the benchmark also call it
directly). It keeps one renderer, rebuilt only when a job needs different models or engine options, so a
worker loads each model once however many segments it renders. All state a segment needs lives in the
shared work folder; any worker can render any segment, in any order, any number of times.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from engines.base import LivePuppetError
from realtime.batch.jobs import BatchJob
from realtime.outputs import write_text_atomic
from realtime.rerender.job import DrivingRead, PreparedJob, prepare_job, render_segments, write_video

log = logging.getLogger(__name__)

# Options that change the renderer itself (models, engine settings); the rest are per job.
PER_JOB = {"source", "driving", "out", "audio", "timeline", "smooth", "max_frames", "progress", "work_dir",
           "keep_work", "handler", "command"}  # fmt: skip
KEEP_PREPARED = 8  # jobs whose portrait and plan a worker keeps at hand
KEEP_READS = 2  # driving videos a worker keeps open (decoder and tracker state) for the next segment
MIN_SEGMENT_FRAMES = 8  # offline modes: about this many frames (whole windows) per unit of work


@dataclass(frozen=True, slots=True)
class JobPlan:
    """What the scheduler needs to know about a job (small; sent back to the driver)."""

    segments: int
    done: tuple[int, ...]  # segments already in the work folder
    frames: int
    finished: bool  # the output is already written (a rerun skips the job)


@dataclass(frozen=True, slots=True)
class Outcome:
    frames: int  # segment: frames generated now; encode: frames written
    seconds: float
    pid: int  # the worker process that did it


def renderer_key(job: BatchJob) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in vars(job.args).items() if k not in PER_JOB))


def default_segment_frames(job: BatchJob, window: int) -> int | None:
    """A job's frames per segment: as asked, else one segment for the realtime engines (their frames then
    match ``livepuppet render`` exactly) and whole windows of at least MIN_SEGMENT_FRAMES for the offline
    modes."""
    if job.segment_frames is not None:
        return job.segment_frames
    return None if job.args.mode == "engine" else max(window, MIN_SEGMENT_FRAMES)


class BatchWorker:
    """``plan(job)``, ``render(job, segment)``, ``encode(job)``; ``threads`` caps OpenCV's and torch's
    thread pools (a worker is given that many cores)."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        if threads:
            import cv2

            cv2.setNumThreads(threads)
        self._renderer = None
        self._renderer_key: tuple | None = None
        self._jobs: dict[tuple, tuple[PreparedJob, list]] = {}  # (job number, out) -> prepared, modifiers
        self._reads: dict[tuple, DrivingRead] = {}  # job -> its driving read, where the last segment ended

    def pid(self) -> int:
        return os.getpid()

    def plan(self, job: BatchJob) -> JobPlan:
        prepared, _ = self._prepared(job)
        if _finished(prepared):
            return JobPlan(len(prepared.segments), (), prepared.frames, finished=True)
        done = tuple(s.number for s in prepared.segments if prepared.segment_done(s))
        return JobPlan(len(prepared.segments), done, prepared.frames, finished=False)

    def render(self, job: BatchJob, number: int) -> Outcome:
        """Render one segment. The driving read of the job's previous segment is continued when this
        segment follows it (its frames are not read and tracked again); frames are the same either way."""
        started = time.perf_counter()
        prepared, modifiers = self._prepared(job)
        segment = prepared.segments[number]
        key = _job_key(job)
        read = self._reads.pop(key, None)
        if read is not None and not read.continues_at(segment):
            read.close()
            read = None
        if read is None:
            read = DrivingRead(prepared, modifiers)
        try:
            computed = render_segments(
                prepared, [segment], self._renderer_for(job), modifiers, resume_windows=False, read=read
            )
        except BaseException:
            read.close()
            raise
        self._keep_read(key, read)
        return Outcome(computed, time.perf_counter() - started, os.getpid())

    def encode(self, job: BatchJob) -> Outcome:
        started = time.perf_counter()
        prepared, _ = self._prepared(job)
        self._drop_read(_job_key(job))
        frames = write_video(prepared)
        _mark_finished(prepared)
        self._jobs.pop(_job_key(job), None)
        return Outcome(frames, time.perf_counter() - started, os.getpid())

    def close(self) -> None:
        for key in list(self._reads):
            self._drop_read(key)
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = self._renderer_key = None

    def _keep_read(self, key: tuple, read: DrivingRead) -> None:
        if read.feed.ended_at is not None:
            read.close()
            return
        self._reads[key] = read
        while len(self._reads) > KEEP_READS:
            self._drop_read(next(iter(self._reads)))

    def _drop_read(self, key: tuple) -> None:
        read = self._reads.pop(key, None)
        if read is not None:
            read.close()

    def _renderer_for(self, job: BatchJob):
        from realtime.commands.rerender import build_window_renderer

        key = renderer_key(job)
        if self._renderer_key != key:
            self.close()
            self._renderer = build_window_renderer(job.args)
            self._renderer_key = key
            if self.threads and "torch" in sys.modules:
                sys.modules["torch"].set_num_threads(self.threads)
        return self._renderer

    def _prepared(self, job: BatchJob) -> tuple[PreparedJob, list]:
        from realtime.commands.render import motion_modifiers
        from realtime.commands.rerender import offline_job

        key = _job_key(job)
        if key not in self._jobs:
            renderer = self._renderer_for(job)
            offline = offline_job(job.args, default_segment_frames(job, renderer.window))
            modifiers = motion_modifiers(job.args)
            self._jobs[key] = (prepare_job(offline, renderer, modifiers), modifiers)
            while len(self._jobs) > KEEP_PREPARED:
                evicted = next(iter(self._jobs))
                del self._jobs[evicted]
                self._drop_read(evicted)
        return self._jobs[key]


def _job_key(job: BatchJob) -> tuple:
    return (job.number, str(job.args.out))


def _marker(prepared: PreparedJob) -> Path:
    return prepared.store.folder.with_name(prepared.store.folder.name + ".done.json")


def _output_stamp(output: Path) -> dict:
    stat = Path(output).stat()
    return {"output": str(Path(output).resolve()), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _mark_finished(prepared: PreparedJob) -> None:
    """Remember that this work folder's render is written (a rerun of the batch then skips it)."""
    write_text_atomic(_marker(prepared), json.dumps(_output_stamp(prepared.job.output)))


def _finished(prepared: PreparedJob) -> bool:
    marker = _marker(prepared)
    try:
        return json.loads(marker.read_text()) == _output_stamp(prepared.job.output)
    except (OSError, ValueError, LivePuppetError):
        return False
