"""Per-frame speed of an engine: the render alone, and tracking + motion + render.

    python -m bench.speed [--engine warp] [--size 512] [--frames 200] [--driving VIDEO] [--body on] [--json OUT.json]

1. render: ``engine.render`` on the bundled portrait at ``size``² with motions from the demo script,
   precomputed so only the engine is timed;
2. track+render: ``MotionDriver.update`` (MediaPipe tracking mode) + ``engine.render`` per driving frame,
   the frames decoded beforehand (from ``--driving``, else the render of step 1 used as driving video).

``--body on`` adds the upper body: the demo script's shrug and lean in step 1, MediaPipe pose tracking and
the body warp in step 2 (the portrait is the astronaut, who shows both shoulders), pose read as often as
live (``--body-reads``, per second of the frames' 25 FPS time; 0 = every frame), step 2 once more with the
pose read on its own thread as live (``track_and_render_pose_thread``: the face, motion and render path, the
pose model alongside on another core), and 3. ``pose_read``: one pose read alone on the same frames (what
each read adds to step 2).

Prints the figures and optionally writes them as JSON. Timings on a shared machine are noisy; benchmarks
measure, they assert nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from engines.base import EngineOptions, create_engine
from engines.body import PoseReader
from realtime.demo_script import script_motions
from realtime.driver import DriverConfig, MotionDriver
from realtime.live.session import LIVE_BODY_READS_PER_SECOND
from engines.images import fit_longest_side
from engines.landmarks import neutral_points
from realtime.stages import TimedFrame
from realtime.tracker import find_portrait_face
from realtime.video_io import VideoReader

WARMUP = 10
SCRIPT_FPS = 25.0


def timing(seconds: list[float]) -> dict:
    milliseconds = np.asarray(seconds) * 1e3
    mean = float(milliseconds.mean())
    return {
        "frames": len(seconds),
        "mean_ms": mean,
        "median_ms": float(np.median(milliseconds)),
        "p95_ms": float(np.percentile(milliseconds, 95)),
        "fps": 1e3 / mean if mean > 0 else None,
    }


def square_portrait(size: int) -> np.ndarray:
    from skimage import data

    return cv2.resize(data.astronaut(), (size, size), interpolation=cv2.INTER_AREA)


def driving_frames(path: Path | None, size: int, frames: int, fallback: list[np.ndarray]) -> list[np.ndarray]:
    if path is None:
        return fallback
    with VideoReader(path) as reader:
        decoded = [fit_longest_side(frame.image, size) for frame, _ in zip(reader, range(frames))]
    return decoded


def run(
    engine_name: str, size: int, frames: int, driving: Path | None, body: bool = False,
    body_reads: float = LIVE_BODY_READS_PER_SECOND,
) -> dict:
    portrait = square_portrait(size)
    face = find_portrait_face(portrait, name="the bundled portrait")
    engine = create_engine(engine_name, EngineOptions(output_size=size))
    try:
        # 1. Render alone.
        state = engine.prepare(portrait, face)
        motions = [
            motion for _, motion in script_motions(neutral_points(face.landmarks), SCRIPT_FPS, frames / SCRIPT_FPS, body=body)
        ]
        for motion in motions[:WARMUP]:
            engine.render(state, motion)
        rendered, seconds = [], []
        for motion in motions:
            started = time.perf_counter()
            frame = engine.render(state, motion)
            seconds.append(time.perf_counter() - started)
            rendered.append(frame.copy())
        render = timing(seconds)
        # 2. Tracking + motion + render, driving frames in memory; with the body also as live does it.
        inputs = driving_frames(driving, size, frames, rendered)
        config = DriverConfig(body=body, body_reads_per_second=body_reads)
        track_and_render = time_track_and_render(engine, state, inputs, config)
        live = time_track_and_render(engine, state, inputs, replace(config, body_in_background=True)) if body else None
        # 3. With the body: one pose read alone (tracking mode), the share of step 2 it takes per read.
        pose_read = time_pose_reads(inputs) if body else None
    finally:
        engine.close()
    return {
        "engine": engine_name,
        "body": body,
        "body_reads_per_second": body_reads if body else None,
        "size": size,
        "driving": str(driving) if driving else "engine output of the demo script",
        "render": render,
        "track_and_render": track_and_render,
        "track_and_render_pose_thread": live,
        "pose_read": pose_read,
    }


def time_track_and_render(engine, state, inputs: list[np.ndarray], config: DriverConfig) -> dict:
    """``MotionDriver.update`` + ``engine.render`` per frame, timed per frame after a warm-up."""
    driver = MotionDriver(config)
    seconds = []
    try:
        warmup = len(inputs[:WARMUP])
        for index, image in enumerate(inputs[:WARMUP] + inputs):
            timed = TimedFrame(image=image, timestamp=index / SCRIPT_FPS, index=index)
            started = time.perf_counter()
            motion = driver.update(timed)
            if motion is not None:
                engine.render(state, motion)
            if index >= warmup:
                seconds.append(time.perf_counter() - started)
    finally:
        driver.close()
    return timing(seconds)


def time_pose_reads(inputs: list[np.ndarray]) -> dict:
    """MediaPipe pose (tracking mode, as the body driver reads it) on each frame, timed per read."""
    seconds, warmup = [], len(inputs[:WARMUP])
    with PoseReader(static_image=False) as reader:
        for index, image in enumerate(inputs[:WARMUP] + inputs):
            started = time.perf_counter()
            reader.read(image)
            if index >= warmup:
                seconds.append(time.perf_counter() - started)
    return timing(seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.speed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="warp", help="engine to time (default: %(default)s)")
    parser.add_argument(
        "--size", type=int, default=512, help="portrait side in pixels (default: %(default)s)"
    )
    parser.add_argument(
        "--frames", type=int, default=200, help="timed frames per measurement (default: %(default)s)"
    )
    parser.add_argument(
        "--driving", type=Path, help="driving video for track+render (default: the demo render)"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="numpy BLAS threads, as the live loop sets them (0 = the library's default) (default: %(default)s)",
    )
    parser.add_argument("--body", choices=("on", "off"), default="off", help="time the upper body too (default: %(default)s)")
    parser.add_argument(
        "--body-reads", type=float, default=LIVE_BODY_READS_PER_SECOND,
        help="pose reads per second with --body on, as live (0 = every frame) (default: %(default)s)",
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.blas_threads:
        from engines.blas import limit_blas_threads

        limit_blas_threads(args.blas_threads)
    report = run(args.engine, args.size, args.frames, args.driving, body=args.body == "on", body_reads=args.body_reads)
    report["blas_threads"] = args.blas_threads or "default"
    for name in ("render", "track_and_render", "track_and_render_pose_thread", "pose_read"):
        figures = report[name]
        if figures is None:
            continue
        print(
            f"{name:>28}: {figures['fps']:7.1f} frames/s  (mean {figures['mean_ms']:.2f} ms, "
            f"median {figures['median_ms']:.2f} ms, p95 {figures['p95_ms']:.2f} ms, {figures['frames']} frames)"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
        print(f"report: {args.json}")


if __name__ == "__main__":
    main()
