"""Latency benchmark of the real live loop.

    python -m bench.latency --source IMG --driving VIDEO [--seconds N] [--soak] --json OUT.json

Plays the driving video at its own frame rate (looped) through the live loop (capture, render and sink
threads, exactly as `livepuppet live --driving VIDEO`) into a null sink and a file sink, and reports the
achieved FPS, capture -> sink latency percentiles, dropped frames, queue depths, CPU use and RSS. Writes
the figures as JSON and a latency histogram PNG next to it. ``--soak`` runs ten minutes and records RSS
over time. Prints and writes figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

from engines.base import EngineOptions
from realtime.commands.arguments import add_body_argument
from realtime.live.loop import LiveConfig
from realtime.live.session import LiveSession, video_opener
from realtime.live.sinks import FileSink
from realtime.stages import NullSink

log = logging.getLogger("bench.latency")

SOAK_SECONDS = 600.0
TARGETS = {"fps": 30.0, "p95_ms": 40.0, "soak_rss_growth_mb": 50.0}


class ResourceMonitor:
    """Thread "bench-monitor": samples RSS, CPU time and the loop's queue depths every ``interval`` s."""

    def __init__(self, loop, interval: float):
        import psutil

        self._process = psutil.Process()
        self._loop = loop
        self._interval = interval
        self._stop = threading.Event()
        self.samples: list[dict] = []
        self.max_queue_depth = 0
        self._thread = threading.Thread(target=self._run, name="bench-monitor", daemon=True)
        self._t0 = time.perf_counter()

    def rss_mb(self) -> float:
        return self._process.memory_info().rss / 2**20

    def cpu_seconds(self) -> float:
        times = self._process.cpu_times()
        return times.user + times.system

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)

    def _run(self) -> None:
        next_sample = self._t0
        while not self._stop.is_set():
            slots = [self._loop.capture_slot, self._loop.driven_slot] + [
                worker.slot for worker in self._loop.workers
            ]
            self.max_queue_depth = max(self.max_queue_depth, *(slot.depth for slot in slots))
            now = time.perf_counter()
            if now >= next_sample:
                self.samples.append({"t": round(now - self._t0, 2), "rss_mb": round(self.rss_mb(), 1)})
                next_sample += self._interval
            self._stop.wait(0.05)


def write_histogram(loop, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.5), dpi=100)
    for worker in loop.workers:
        edges, counts = worker.latency.counts()
        if len(counts):
            axis.step(
                edges,
                counts,
                where="post",
                label=f"{worker.name} (p95 {worker.latency.percentile(95) * 1e3:.1f} ms)",
            )
    axis.axvline(TARGETS["p95_ms"], color="red", linestyle="--", linewidth=1, label="p95 target")
    axis.set_xlabel("capture -> sink latency (ms)")
    axis.set_ylabel("frames")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def run(args: argparse.Namespace) -> dict:
    seconds = SOAK_SECONDS if args.soak else args.seconds
    record = args.record or Path(tempfile.mkdtemp(prefix="livepuppet-bench-")) / "latency.mp4"
    sinks = {"null": NullSink(), "file": FileSink(record)} if args.file_sink else {"null": NullSink()}
    options = EngineOptions(weights=args.weights, output_size=args.render_size)
    with LiveSession(
        portrait=args.source, engine=args.engine, options=options, open_source=video_opener(args.driving, loop=True),
        sinks=sinks, smoothing=args.smooth, config=LiveConfig(fps=args.fps, blas_threads=args.blas_threads or None),
        body=args.body,
    ) as session:  # fmt: skip
        loop = session.loop
        monitor = ResourceMonitor(loop, interval=10.0 if args.soak else 1.0)
        rss_start = monitor.rss_mb()
        cpu_start, wall_start = monitor.cpu_seconds(), time.perf_counter()
        monitor.start()
        loop.run(seconds)
        cpu_used, wall = monitor.cpu_seconds() - cpu_start, time.perf_counter() - wall_start
        monitor.stop()
        rss_end = monitor.rss_mb()
        summary = loop.summary()
        histogram = args.json.with_suffix(".png") if args.json else Path("latency.png")
        write_histogram(loop, histogram)
    null = summary["sinks"]["null"]
    warm = next((s["rss_mb"] for s in monitor.samples if s["t"] >= 10.0), rss_start)
    return {
        "command": " ".join([Path(sys.executable).name, "-m", "bench.latency", *sys.argv[1:]]),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "source": str(args.source),
        "driving": str(args.driving),
        "engine": args.engine,
        "body": args.body,
        "render_size": args.render_size,
        "fps_target": args.fps,
        "blas_threads": args.blas_threads or "default",
        "seconds": summary["seconds"],
        "achieved_fps": null["fresh_fps"],
        "render_fps": summary["render_fps"],
        "latency_ms": null["latency_ms"],
        "file_latency_ms": summary["sinks"]["file"]["latency_ms"] if args.file_sink else None,
        "captured": summary["captured"],
        "dropped": {
            "capture": summary["capture_dropped"],
            "track": summary["track_dropped"],
            **{f"sink:{name}": sink["dropped"] for name, sink in summary["sinks"].items()},
        },
        "max_queue_depth": monitor.max_queue_depth,
        "render_errors": summary["render_errors"],
        "stage_ms": {"track": summary["track_ms"], "render": summary["render_ms"]},
        "cpu_percent": round(100.0 * cpu_used / wall, 1),  # of one core; the machine has os.cpu_count()
        "rss_mb": {"start": round(rss_start, 1), "after_10s": warm, "end": round(rss_end, 1)},
        "rss_growth_mb": round(rss_end - warm, 1),
        "rss_over_time": monitor.samples,
        "histogram_png": str(histogram),
        "recording": str(record),
        "targets": TARGETS,
        "summary": summary,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, type=Path, metavar="IMG")
    parser.add_argument("--driving", required=True, type=Path, metavar="VIDEO")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long to run (default: %(default)s)")
    parser.add_argument(
        "--soak", action="store_true", help=f"run {SOAK_SECONDS / 60:g} minutes and track RSS"
    )
    parser.add_argument("--engine", default="warp")
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--render-size", type=int, default=512)
    parser.add_argument("--fps", type=float, default=30.0, help="output rate of the sinks")
    parser.add_argument("--smooth", type=float, default=0.3)
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="numpy's OpenBLAS pool size during the run; 0 leaves it alone (default: %(default)s)",
    )
    parser.add_argument(
        "--no-file",
        dest="file_sink",
        action="store_false",
        help="diagnostics: the null sink only (no encoding)",
    )
    parser.add_argument("--record", type=Path, help="keep the file sink's mp4 here (default: a temp file)")
    add_body_argument(parser)
    parser.add_argument("--json", type=Path, metavar="OUT.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = run(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    latency = result["latency_ms"]
    print(
        f"{result['engine']} {result['render_size']}px, {result['seconds']:.0f} s: {result['achieved_fps']:.1f} FPS "
        f"(render {result['render_fps']:.1f}), latency p50 {latency['p50']} / p95 {latency['p95']} / p99 "
        f"{latency['p99']} ms, dropped {result['dropped']}, max queue depth {result['max_queue_depth']}, "
        f"CPU {result['cpu_percent']}% of one core ({result['machine']['cpus']} cores), RSS "
        f"{result['rss_mb']['start']} -> {result['rss_mb']['end']} MB (growth after warm-up "
        f"{result['rss_growth_mb']} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
