"""`livepuppet batch`: render many jobs (JSON or CSV), spread over the cores and GPUs of this machine or of
a Ray cluster."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from realtime.commands.arguments import positive_float, positive_int

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="render many jobs on this machine's cores/GPUs or on a Ray cluster",
        description="Render every job of JOBS (a JSON list of objects, or a CSV with a header row) with "
        "Ray: keys source, driving, out, and any `livepuppet render` option under its long name with _ for - "
        '(e.g. "engine": "warp", "mode": "diffusion", "max_frames": 60), plus segment_frames. Long jobs are '
        "cut into segments that run in parallel; finished segments are kept in each job's work folder, so "
        "rerunning the same command after a crash or Ctrl-C resumes. A bad job fails alone.",
        epilog="example: livepuppet batch jobs.json --workers 2   |   on a cluster: livepuppet batch "
        "jobs.json --address auto --gpus-per-worker 1",
    )
    parser.add_argument("jobs", type=Path, metavar="JOBS.json|JOBS.csv", help="the jobs file")
    parser.add_argument(
        "--address",
        metavar="ADDR",
        help="an existing Ray cluster ('auto', HOST:6379 or ray://HOST:10001); default: start Ray here",
    )
    parser.add_argument(
        "--workers", type=positive_int, metavar="N", help="workers to start (default: all cores/GPUs)"
    )
    parser.add_argument(
        "--cpus-per-worker",
        type=positive_float,
        default=1.0,
        metavar="C",
        help="cores per worker (default: 1)",
    )
    parser.add_argument(
        "--gpus-per-worker",
        type=float,
        default=0.0,
        metavar="G",
        help="GPUs per worker for the neural/diffusion/video modes (0.5 puts two workers on a GPU; "
        "default: 0, CPU only)",
    )
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide the progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from realtime.batch.jobs import load_jobs
    from realtime.batch.runner import ClusterOptions, run_batch

    jobs = load_jobs(args.jobs)
    options = ClusterOptions(
        address=args.address,
        workers=args.workers,
        cpus_per_worker=args.cpus_per_worker,
        gpus_per_worker=max(args.gpus_per_worker, 0.0),
        progress=args.progress,
        worker_logs=bool(getattr(args, "verbose", False)),
    )
    try:
        reports = run_batch(jobs, options).reports
    except KeyboardInterrupt:
        print("finished segments are kept in the jobs' work folders: run the same command again to resume")
        raise
    for report in reports:
        print(report.line())
    failed = sum(report.status == "failed" for report in reports)
    print(
        f"{len(reports) - failed} of {len(reports)} jobs rendered" + (f", {failed} failed" if failed else "")
    )
    return 1 if failed else 0
