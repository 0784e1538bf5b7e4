"""`livepuppet batch` on a real Ray cluster of two nodes on this machine (a head and one more node, one core
each): warp jobs with a worker killed mid-segment, a bad job, a tiny-model diffusion job, and Ctrl-C then a
rerun. Every output is compared frame for frame with the single-process render of the same job."""

import json
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from realtime.batch.jobs import load_jobs
from realtime.batch.runner import ClusterOptions, run_batch
from realtime.cli import main
from realtime.video_io import VideoReader

pytestmark = [pytest.mark.slow, pytest.mark.data]

SIZE, FRAMES = "96", 40


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("ray")
    pytest.importorskip("psutil")  # comes with the diffusion extra (accelerate)
    from tests.realtime.batch.cluster import LocalCluster

    local = LocalCluster().start()
    yield local
    local.stop()


@pytest.fixture(scope="module")
def clips(data_dir):
    return data_dir / "source" / "s1.jpg", [
        data_dir / "driving" / name for name in ("d0.mp4", "d10.mp4", "d6.mp4")
    ]


def _frames(path):
    with VideoReader(path) as reader:
        return [frame.image for frame in reader]


def _same_video(a, b) -> bool:
    first, second = _frames(a), _frames(b)
    return len(first) == len(second) > 0 and all(np.array_equal(x, y) for x, y in zip(first, second))


def _jobs_file(folder, rows):
    path = folder / "jobs.json"
    path.write_text(json.dumps(rows))
    return path


def _options(cluster, **changes):
    return ClusterOptions(address=cluster.address, workers=2, progress=False, **changes)


def test_killed_worker_bad_job_and_outputs_identical_to_render(tmp_path, cluster, clips):
    portrait, drivings = clips
    black = tmp_path / "black.png"
    import cv2

    cv2.imwrite(str(black), np.zeros((64, 64, 3), np.uint8))
    rows = [
        {
            "source": str(portrait),
            "driving": str(d),
            "out": f"warp{i}.mp4",
            "size": SIZE,
            "max_frames": FRAMES,
        }
        for i, d in enumerate(drivings)
    ]
    rows.insert(1, {"source": str(black), "driving": str(drivings[0]), "out": "faceless.mp4"})
    jobs = load_jobs(_jobs_file(tmp_path, rows))
    reports = []
    runner = threading.Thread(target=lambda: reports.extend(run_batch(jobs, _options(cluster)).reports))
    runner.start()
    # Kill a worker process while it renders a segment (each warp job is one segment: mid-job).
    deadline, victim = time.monotonic() + 120, None
    while victim is None and runner.is_alive() and time.monotonic() < deadline:
        victim = cluster.busy_worker("BatchWorker.render")
        time.sleep(0.05)
    assert victim is not None, "no worker was seen rendering"
    time.sleep(0.1)  # inside the segment
    victim.kill()
    runner.join(timeout=300)
    assert not runner.is_alive()
    by_out = {report.name: report for report in reports}
    assert [r.status for r in reports] == ["done", "failed", "done", "done"]
    assert "face" in reports[1].reason and "\n" not in reports[1].reason
    assert sum(r.retries for r in reports) >= 1, by_out
    # Complete, and frame for frame what `livepuppet render` writes for the same job.
    for i, driving in enumerate(drivings):
        reference = tmp_path / f"ref{i}.mp4"
        args = ["render", "--source", str(portrait), "--driving", str(driving), "--out", str(reference)]
        assert main([*args, "--size", SIZE, "--max-frames", str(FRAMES), "--no-progress"]) == 0
        assert reports[[0, 2, 3][i]].frames == FRAMES
        assert _same_video(tmp_path / f"warp{i}.mp4", reference), (
            f"job {i} differs from the single-process render"
        )


def test_tiny_diffusion_job_matches_the_single_process_render(tmp_path, cluster, clips, tiny_models):
    import torch

    from realtime.batch.jobs import render_parser
    from realtime.commands.rerender import build_renderer, offline_job
    from realtime.rerender.job import run_job

    portrait, drivings = clips
    row = {
        "source": str(portrait), "driving": str(drivings[1]), "out": "diffusion.mp4", "mode": "diffusion",
        "model": str(tiny_models["sd15"]), "controlnet": str(tiny_models["controlnet"]), "size": "64",
        "resolution": "64", "steps": "3", "max_frames": 5, "segment_frames": 2,
    }  # fmt: skip
    jobs = load_jobs(_jobs_file(tmp_path, [row]))
    (report,) = run_batch(jobs, _options(cluster)).reports
    assert report.status == "done" and report.frames == 5 and report.segments == 3, report
    # The same job in this process, one thread like each worker, segment by segment.
    torch.set_num_threads(1)
    argv = ["--source", row["source"], "--driving", row["driving"], "--out", str(tmp_path / "single.mp4")]
    argv += [f"--{k}" if v is True else f"--{k.replace('_', '-')}={v}" for k, v in row.items()
             if k not in ("source", "driving", "out", "segment_frames")]  # fmt: skip
    args = render_parser().parse_args(argv)
    renderer = build_renderer(args)
    try:
        run_job(replace(offline_job(args, segment_frames=2), progress=False), renderer)
    finally:
        renderer.close()
    assert _same_video(tmp_path / "diffusion.mp4", tmp_path / "single.mp4")


def test_ctrl_c_then_rerun_recomputes_nothing_finished(tmp_path, cluster, clips):
    portrait, drivings = clips
    rows = [
        {"source": str(portrait), "driving": str(d), "out": f"long{i}.mp4", "size": SIZE, "max_frames": 30,
         "segment_frames": 5}
        for i, d in enumerate(drivings[:2])
    ]  # fmt: skip
    path = _jobs_file(tmp_path, rows)
    batch = subprocess.Popen(
        [sys.executable, "-m", "realtime.cli", "batch", str(path), "--address", cluster.address, "--no-progress"],
        env=cluster.env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip

    def windows():
        return sorted(tmp_path.glob("long*.work/*/window_*.png"))

    deadline = time.monotonic() + 120
    while len(windows()) < 12 and batch.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    batch.send_signal(signal.SIGINT)
    output, _ = batch.communicate(timeout=120)
    assert batch.returncode == 130, output
    time.sleep(1.0)  # the killed workers are gone
    assert "resume" in output and not list(tmp_path.glob("long*.mp4"))
    stored = {p: p.stat().st_mtime_ns for p in windows()}
    # Segments finished before Ctrl-C: all five of their windows are there.
    finished = {}
    for p in stored:
        finished.setdefault((p.parent, int(p.name.split("_")[1]) // 5), []).append(p)
    finished = {k: v for k, v in finished.items() if len(v) == 5}
    assert finished, "no segment finished before the interrupt"
    reports = run_batch(load_jobs(path), _options(cluster)).reports
    assert [r.status for r in reports] == ["done", "done"]
    assert sum(r.computed for r in reports) == 60 - 5 * len(finished)
    assert sum(r.segments_done for r in reports) == 12
    for i, driving in enumerate(drivings[:2]):
        assert len(_frames(tmp_path / f"long{i}.mp4")) == 30
