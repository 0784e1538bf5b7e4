"""Throughput of ``livepuppet batch`` with 1 and 2 Ray workers, and what Ray adds per segment.

    python -m bench.batch --json OUT.json [--jobs 6] [--frames 48] [--segment-frames 24] [--size 192]

The same batch of warp jobs (real portraits and driving clips from the test data) runs three ways, each into
fresh work folders:

1. a plain in-process loop: one :class:`~realtime.batch.worker.BatchWorker` in this process (no Ray), the
   reference for a segment's own cost;
2. Ray on this machine with 1 worker, then 3. with 2 workers (one core each).

Throughput is frames per second of the working phase (from every worker being up to the last job written);
starting the workers (processes, imports) is reported apart, as is the wall time including it. Ray's
overhead per segment is the time the driver sees for a segment beyond the worker's own time for it
(scheduling, argument and result transfer), against the mean segment time. Prints and writes figures;
asserts nothing. The machine's other load shows in the figures: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench.batch")


def _data() -> Path:
    root = Path(os.environ.get("LIVEPUPPET_TEST_DATA", REPO.parent / "shared" / "data"))
    return root / "liveportrait_examples"


def _jobs_file(folder: Path, count: int, frames: int, size: int, segment_frames: int) -> Path:
    data = _data()
    sources = sorted((data / "source").glob("*.jpg"))
    drivings = sorted((data / "driving").glob("*.mp4"))
    rows = [
        {
            "source": str(sources[i % len(sources)]),
            "driving": str(drivings[i % len(drivings)]),
            "out": f"job{i}.mp4",
            "size": size,
            "max_frames": frames,
            "segment_frames": segment_frames,
        }
        for i in range(count)
    ]
    path = folder / "jobs.json"
    path.write_text(json.dumps(rows))
    return path


def in_process(jobs_path: Path) -> dict:
    """Every job through one BatchWorker in this process: plan, segments, encode."""
    from realtime.batch.jobs import load_jobs
    from realtime.batch.worker import BatchWorker

    worker = BatchWorker(threads=1)
    segment_seconds, frames = [], 0
    started = time.perf_counter()
    for job in load_jobs(jobs_path):
        plan = worker.plan(job)
        for number in range(plan.segments):
            outcome = worker.render(job, number)
            segment_seconds.append(outcome.seconds)
            frames += outcome.frames
        worker.encode(job)
    seconds = time.perf_counter() - started
    worker.close()
    return {
        "seconds": seconds,
        "frames": frames,
        "frames_per_second": frames / seconds,
        "segments": len(segment_seconds),
        "mean_segment_seconds": statistics.mean(segment_seconds),
    }


def on_ray(jobs_path: Path, workers: int) -> dict:
    from realtime.batch.jobs import load_jobs
    from realtime.batch.runner import ClusterOptions, run_batch

    started = time.perf_counter()
    run = run_batch(load_jobs(jobs_path), ClusterOptions(workers=workers, progress=False))
    wall = time.perf_counter() - started
    frames = sum(report.computed for report in run.reports)
    segments = sum(report.segments for report in run.reports)
    worker_seconds = sum(report.seconds for report in run.reports)
    overhead = sum(report.overhead for report in run.reports)
    failed = [report.line() for report in run.reports if report.status != "done"]
    return {
        "workers": workers,
        "startup_seconds": run.startup_seconds,
        "working_seconds": run.working_seconds,
        "wall_seconds_with_startup": wall,
        "frames": frames,
        "frames_per_second": frames / run.working_seconds,
        "frames_per_second_with_startup": frames / wall,
        "segments": segments,
        "mean_segment_seconds_on_worker": worker_seconds / max(segments, 1),
        "ray_overhead_per_segment_seconds": overhead / max(segments, 1),
        "failed": failed,
    }


def run(args) -> dict:
    import ray

    figures: dict = {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "batch": {
            "jobs": args.jobs,
            "frames": args.frames,
            "size": args.size,
            "segment_frames": args.segment_frames,
        },
    }
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as folder:
        for name in ("in_process", "ray_1", "ray_2"):
            (Path(folder) / name).mkdir()
        paths = {
            name: _jobs_file(Path(folder) / name, args.jobs, args.frames, args.size, args.segment_frames)
            for name in ("in_process", "ray_1", "ray_2")
        }
        figures["in_process"] = in_process(paths["in_process"])
        ray.init(
            num_cpus=args.cpus, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False
        )
        try:
            figures["ray_1"] = on_ray(paths["ray_1"], 1)
            figures["ray_2"] = on_ray(paths["ray_2"], 2)
        finally:
            ray.shutdown()
    one, two = figures["ray_1"], figures["ray_2"]
    figures["speedup_2_over_1"] = two["frames_per_second"] / one["frames_per_second"]
    figures["speedup_2_over_1_with_startup"] = (
        two["frames_per_second_with_startup"] / one["frames_per_second_with_startup"]
    )
    figures["ray_overhead_fraction_of_segment"] = (
        one["ray_overhead_per_segment_seconds"] / figures["in_process"]["mean_segment_seconds"]
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--frames", type=int, default=48, help="driving frames per job")
    parser.add_argument("--segment-frames", type=int, default=24)
    parser.add_argument("--size", type=int, default=192, help="longest output side")
    parser.add_argument("--cpus", type=int, default=2, help="cores Ray may use on this machine")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    figures = run(args)
    text = json.dumps(figures, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
