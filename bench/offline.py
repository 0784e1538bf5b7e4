"""Speed and memory of the offline rerender modes.

    python -m bench.offline --json OUT.json [--frames N] [--modes diffusion,animatediff,wan_animate,wan_vace]

By default every mode runs with the tiny random models (:mod:`engines.offline.tiny`, built into a temporary
folder) on a real driving clip: the figures measure the pipeline plumbing (tracking, conditioning drawing,
scheduler loop, VAE, writing frames), not the real models. With real weights (``--sd15``, ``--controlnet``,
``--ip-adapter``, ``--motion-adapter``, ``--wan-animate``, ``--wan-vace``) the same code measures them.
Each mode runs in its own process so its peak memory is its own: peak RSS (all modes) and peak CUDA memory
allocated by torch (on a GPU). Seconds per frame exclude loading the models; the first window (warm-up) is
reported apart. Prints and writes figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

log = logging.getLogger("bench.offline")

REPO = Path(__file__).resolve().parents[1]
MODES = ("diffusion", "animatediff", "wan_animate", "wan_vace")


def _data() -> Path:
    root = Path(os.environ.get("LIVEPUPPET_TEST_DATA", REPO.parent / "shared" / "data"))
    return root / "liveportrait_examples"


def _renderer(mode: str, models: dict, args):
    from engines.offline.diffusion import DiffusionConfig, DiffusionRenderer, DiffusionWeights
    from engines.offline.video import VideoConfig, VideoModelRenderer
    from engines.offline.weights import RuntimeOptions
    from realtime.rerender.base_frames import BaseFrames

    runtime = RuntimeOptions(device=args.device, precision=args.precision, offload=args.offload)
    tiny = models.get("tiny", False)
    if mode in ("diffusion", "animatediff"):
        weights = DiffusionWeights(
            model=Path(models["sd15"]),
            controlnet=Path(models["controlnet"]),
            ip_adapter=Path(models["ip_adapter"]) if models.get("ip_adapter") else None,
            ip_adapter_weight=models.get("ip_adapter_weight", "ip-adapter-plus-face_sd15.safetensors"),
            motion_adapter=Path(models["motion_adapter"]) if mode == "animatediff" else None,
        )
        config = DiffusionConfig(
            steps=args.steps or (4 if tiny else 20),
            resolution=args.resolution or (64 if tiny else 512),
            window=4 if tiny else 16,
            overlap=1 if tiny else 4,
        )
        return DiffusionRenderer(weights, config, runtime, BaseFrames(None))
    config = VideoConfig(
        steps=args.steps or (2 if tiny else 20),
        resolution=args.resolution or (32 if tiny else 832),
        window=5 if tiny else 77,
        overlap=1 if tiny else 8,
    )
    return VideoModelRenderer(Path(models[mode]), config, runtime)


def run_one(mode: str, models: dict, args) -> dict:
    """Load and run one mode in this process; its figures."""
    import torch

    from realtime.rerender.job import OfflineJob, run_job

    cuda = torch.cuda.is_available() and args.device != "cpu"
    started = time.perf_counter()
    renderer = _renderer(mode, models, args)
    load_seconds = time.perf_counter() - started
    calls: list[tuple[int, float]] = []  # (frames, seconds) per model call
    render = renderer.render

    def timed(frames):
        begun = time.perf_counter()
        outputs = render(frames)
        calls.append((len(frames), time.perf_counter() - begun))
        return outputs

    renderer.render = timed
    with tempfile.TemporaryDirectory() as work:
        job = OfflineJob(
            source=Path(args.source),
            driving=Path(args.driving),
            output=Path(work) / "out.mp4",
            work=Path(work) / "frames",
            size=args.size,
            max_frames=args.frames,
            progress=False,
        )
        summary = run_job(job, renderer)
    renderer.close()
    generation = sum(seconds for _, seconds in calls)
    return {
        "mode": mode,
        "models": "tiny random" if models.get("tiny") else "real",
        "kind": getattr(renderer, "kind", "sd15"),
        "device": "cuda" if cuda else "cpu",
        "precision": str(renderer.runtime.dtype()),
        "generation_size": list(renderer.size),
        "frames": summary.frames,
        "window": renderer.window,
        "overlap": renderer.overlap,
        "load_seconds": round(load_seconds, 2),
        "calls": [{"frames": frames, "seconds": round(seconds, 3)} for frames, seconds in calls],
        "generation_seconds_per_frame": round(generation / max(summary.computed, 1), 3),
        "total_seconds_per_frame": round(summary.seconds / max(summary.computed, 1), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_cuda_allocated_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else None,
    }


def _models(args, scratch: Path) -> dict:
    given = {
        "sd15": args.sd15,
        "controlnet": args.controlnet,
        "ip_adapter": args.ip_adapter,
        "motion_adapter": args.motion_adapter,
        "wan_animate": args.wan_animate,
        "wan_vace": args.wan_vace,
    }
    if any(given.values()):
        return {key: str(value) for key, value in given.items() if value}
    from engines.offline.tiny import IP_ADAPTER_WEIGHT, build_all

    folders = build_all(scratch / "tiny")
    return {
        **{key: str(value) for key, value in folders.items()},
        "tiny": True,
        "ip_adapter_weight": IP_ADAPTER_WEIGHT,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: " + ", ".join(MODES))
    parser.add_argument(
        "--frames", type=int, default=9, help="driving frames per mode (default: %(default)s)"
    )
    parser.add_argument("--source", type=Path, default=_data() / "source" / "s1.jpg")
    parser.add_argument("--driving", type=Path, default=_data() / "driving" / "d10.mp4")
    parser.add_argument("--size", type=int, default=128, help="longest output side (default: %(default)s)")
    parser.add_argument("--resolution", type=int, help="generation size (tiny: 64 / 32; real: 512 / 832)")
    parser.add_argument("--steps", type=int, help="denoising steps (tiny: 4 / 2; real: 20)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "fp16", "bf16"))
    parser.add_argument("--offload", default="none", choices=("none", "model", "sequential"))
    for name in ("sd15", "controlnet", "ip-adapter", "motion-adapter", "wan-animate", "wan-vace"):
        parser.add_argument(
            f"--{name}", type=Path, metavar="DIR", help=f"real {name} weights (default: tiny)"
        )
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one mode, print its JSON
    parser.add_argument("--models-json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.one:
        print("RESULT " + json.dumps(run_one(args.one, json.loads(args.models_json), args)), flush=True)
        return 0
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        models = _models(args, Path(scratch))
        passthrough = [a for a in (argv if argv is not None else sys.argv[1:]) if not a.startswith("--json")]
        if args.json is not None and str(args.json) in passthrough:
            passthrough.remove(str(args.json))
        for mode in args.modes.split(","):
            if mode not in models and mode in ("wan_animate", "wan_vace"):
                log.warning("skipping %s: no weights given", mode)
                continue
            command = [
                sys.executable,
                "-m",
                "bench.offline",
                *passthrough,
                "--one",
                mode,
                "--models-json",
                json.dumps(models),
            ]
            done = subprocess.run(command, check=False, cwd=REPO, capture_output=True, text=True)
            lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
            if done.returncode != 0 or not lines:
                results.append({"mode": mode, "error": done.stderr.strip().splitlines()[-1:] or ["failed"]})
            else:
                results.append(json.loads(lines[-1][len("RESULT ") :]))
            print(json.dumps(results[-1]))
    report = {
        "benchmark": "offline rerender modes",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "frames": args.frames,
        "results": results,
    }
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
