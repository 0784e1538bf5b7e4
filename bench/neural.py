"""Speed of the LivePortrait-compatible networks on this machine.

    python -m bench.neural --weights DIR --json OUT.json [--synthetic] [--repeats N] [--threads N]
                           [--device cuda [--precision fp16]]

Times each network on its real input shape (F, M, W, G, the stitching MLP) and the whole per-frame path
of the engine after ``prepare`` (M on the driving crop, keypoint composition with stitching, W, G and the
conversion to uint8), batch 1. Synthetic weights cost the same as the real ones: with ``--synthetic`` an
empty ``DIR`` is filled with them (official layout) first. Prints a table and writes JSON (median and
minimum seconds per call, torch thread count, device); asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import time
from pathlib import Path

log = logging.getLogger("bench.neural")


def time_calls(function, repeats: int, warmup: int) -> dict:
    for _ in range(warmup):
        function()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return {"median_s": statistics.median(seconds), "min_s": min(seconds), "runs": seconds}


def benchmark(weights: Path, repeats: int, warmup: int, device: str, precision: str) -> dict:
    import torch

    from engines.liveportrait.checkpoints import load_networks
    from engines.liveportrait.pipeline import LivePortraitPipeline

    torch_device = torch.device(device)
    start = time.perf_counter()
    networks = load_networks(weights, torch_device)
    load_s = time.perf_counter() - start
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision)
    pipeline = LivePortraitPipeline(networks, torch_device, autocast_dtype=dtype)
    generator = torch.Generator().manual_seed(0)
    source_image = torch.rand(1, 3, 256, 256, generator=generator).to(torch_device)
    driving_image = torch.rand(1, 3, 256, 256, generator=generator).to(torch_device)

    with torch.no_grad(), pipeline.autocast():
        source = pipeline.source(source_image)
        reference = pipeline.reference(source, pipeline.motion_info(source_image))
        x_d = pipeline.driving_keypoints(source, pipeline.motion_info(driving_image), reference)
        warped = networks.warping(source.feature, source.keypoints, x_d)
        stitch_input = torch.cat([source.keypoints.reshape(1, -1), x_d.reshape(1, -1)], dim=1)

        def synchronised(function):
            def run():
                with pipeline.autocast():
                    function()
                if torch_device.type == "cuda":
                    torch.cuda.synchronize()

            return run

        def whole_frame():
            info = pipeline.motion_info(driving_image)
            keypoints = pipeline.driving_keypoints(source, info, reference)
            pipeline.to_uint8(pipeline.decode(source, keypoints))

        cases = {
            "F appearance_feature_extractor": lambda: networks.appearance(source_image),
            "M motion_extractor": lambda: networks.motion(driving_image),
            "W warping_module": lambda: networks.warping(source.feature, source.keypoints, x_d),
            "G spade_generator": lambda: networks.generator(warped.features),
            "S stitching": lambda: networks.stitching(stitch_input),
            "frame (M + composition + W + G + uint8)": whole_frame,
        }
        results = {}
        for name, function in cases.items():
            results[name] = time_calls(synchronised(function), repeats, warmup)
            log.info("%-42s median %.3f s", name, results[name]["median_s"])
    return {"load_s": load_s, "timings": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.neural", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--weights", type=Path, required=True, metavar="DIR", help="LivePortrait weights folder"
    )
    parser.add_argument("--json", type=Path, required=True, metavar="OUT.json")
    parser.add_argument(
        "--synthetic", action="store_true", help="write synthetic weights to DIR if it is empty"
    )
    parser.add_argument("--repeats", type=int, default=2, help="timed calls per case (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls first (default: %(default)s)")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "bf16"),
                        help="fp16/bf16: CUDA autocast as the official app (default: %(default)s)")  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda":  # fp32 as the reference vectors: no TF32
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    if args.synthetic and not (args.weights.is_dir() and any(args.weights.iterdir())):
        from engines.liveportrait.synthetic import write_synthetic_checkpoints

        write_synthetic_checkpoints(args.weights)
    report = {
        "device": args.device if args.device == "cpu" else torch.cuda.get_device_name(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1min_before": os.getloadavg()[0],  # other processes skew CPU timings
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "repeats": args.repeats,
        "warmup": args.warmup,
        "weights": str(args.weights),
        "synthetic": args.synthetic,
        "precision": args.precision if args.device == "cuda" else "fp32",
    }
    report |= benchmark(args.weights, args.repeats, args.warmup, args.device, args.precision)
    report["load_average_1min_after"] = os.getloadavg()[0]
    print(f"LivePortrait networks on {report['device']} ({report['torch_threads']} torch threads, load average "
          f"{report['load_average_1min_before']:.1f}), batch 1:")  # fmt: skip
    for name, timing in report["timings"].items():
        print(
            f"  {name:42s} median {timing['median_s'] * 1000:9.1f} ms   min {timing['min_s'] * 1000:9.1f} ms"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
