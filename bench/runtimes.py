"""Runtime benchmark of the neural engine: torch eager vs onnxruntime (vs CUDA / TensorRT where present).

    python -m bench.runtimes --weights DIR --json OUT.json [--repeats N] [--threads N] [--bf16 auto|on|off]

For each configuration (runtime x device x precision) it runs the engine's own per-frame path
(``LivePortraitPipeline``: M on the driving crop, keypoint maths + stitching MLP, W, G) on the reference
composition inputs through runner-backed networks, and reports:

* whole-frame latency (median of ``--repeats`` after one warm-up) and each graph's share, with achieved
  GFLOP/s from the reference README §7 FLOP counts, against the measured fp32 / bf16 matmul peaks;
* the largest difference of each configuration's 512x512 image from torch fp32 (max abs, PSNR);
* the plugin-free 5-D grid sample against onnxruntime's native 5-D GridSample on W's two shapes.

Prints figures and writes JSON; asserts nothing. The bf16 CPU path only runs by default on CPUs with bf16
units (``avx512_bf16`` / ``amx_bf16``): elsewhere bf16 is emulated and a frame takes minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from engines.base import LivePuppetError
from export.graphs import FRAME_GRAPHS, GRAPHS
from export.networks import REDUCED_GRAPHS, RuntimeChoice, build_runners, cpu_has_bf16, runtime_networks
from export.runners import Runner, default_threads

log = logging.getLogger("bench.runtimes")
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "liveportrait"


class TimedRunner(Runner):
    """Forwards to a runner and records each call's wall time (CUDA-synchronised)."""

    def __init__(self, inner: Runner):
        self.inner, self.name, self.device = inner, inner.name, inner.device
        self.input_names, self.output_names = inner.input_names, inner.output_names
        self.reuses_outputs = inner.reuses_outputs
        self.times: list[float] = []

    def infer(self, feed):
        start = time.perf_counter()
        out = self.inner.infer(feed)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.times.append(time.perf_counter() - start)
        return out

    def close(self):
        self.inner.close()


def matmul_peak(dtype: torch.dtype, device: str, size: int = 2048, repeats: int = 5) -> float:
    """Best-of GFLOP/s of a square matmul."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    best = math.inf
    for _ in range(repeats + 1):
        start = time.perf_counter()
        a @ b
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def reference_images(device: str) -> dict[str, torch.Tensor]:
    """Source and two driving frames (1, 3, 256, 256) from the reference composition, else synthetic."""
    path = REFERENCE / "vectors_composition.npz"
    if path.is_file():
        with np.load(path) as data:
            names = ("in_source_image", "in_driving_frame0", "in_driving_frame1")
            return {n: torch.from_numpy(data[n]).to(device) for n in names}
    gen = torch.Generator().manual_seed(0)
    return {
        n: torch.rand(1, 3, 256, 256, generator=gen).to(device)
        for n in ("in_source_image", "in_driving_frame0", "in_driving_frame1")
    }


def run_config(weights: Path, choice: RuntimeChoice, repeats: int, cache: Path) -> dict:
    """Whole-frame and per-graph latency of one configuration, and its last output image."""
    from engines.liveportrait.pipeline import LivePortraitPipeline

    if choice.device == "cuda":  # fp32 means fp32: no TF32 in convs or matmuls
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    start = time.perf_counter()
    runners = {k: TimedRunner(r) for k, r in build_runners(weights, choice, cache).items()}
    setup = time.perf_counter() - start
    pipeline = LivePortraitPipeline(runtime_networks(runners, choice.device), torch.device(choice.device))
    images = reference_images(choice.device)
    source = pipeline.source(images["in_source_image"])
    reference = pipeline.reference(source, pipeline.motion_info(images["in_driving_frame0"]))
    for runner in runners.values():
        runner.times.clear()
    frames, image = [], None
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        info = pipeline.motion_info(images["in_driving_frame1"])
        x_d = pipeline.driving_keypoints(source, info, reference)
        image = pipeline.decode(source, x_d)
        if choice.device == "cuda":
            torch.cuda.synchronize()
        if i:  # the first frame warms up
            frames.append(time.perf_counter() - t0)
        log.info("%s frame %d: %.2f s", label(choice), i, time.perf_counter() - t0)
    graphs = {}
    for name in FRAME_GRAPHS:
        times = runners[name].times[1:]  # after the warm-up call
        median = statistics.median(times)
        graphs[name] = {"ms": median * 1e3, "gflops_per_s": GRAPHS[name].gflops / median}
    for runner in runners.values():
        runner.close()
    frame = statistics.median(frames)
    frame_gflop = sum(GRAPHS[n].gflops for n in ("motion", "warping", "generator"))
    return {
        "setup_s": setup,
        "frame_ms": frame * 1e3,
        "frame_ms_all": [t * 1e3 for t in frames],
        "frame_gflops_per_s": frame_gflop / frame,
        "graphs": graphs,
        "image": image.float().cpu(),
    }


def label(choice: RuntimeChoice) -> str:
    name = f"{choice.runtime}-{choice.device}-{choice.precision}"
    if choice.reduced_graphs is not None:
        name += ":" + ",".join(choice.reduced_graphs)
    return name


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.clamp(0, 1) - b.clamp(0, 1)) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def grid_sample_costs(repeats: int, threads: int) -> dict:
    """onnxruntime time of W's two 5-D samplings: native GridSample (opset 20) vs the plugin-free graph.

    The two variants run interleaved and the minimum is the headline figure (robust on a shared machine)."""
    import torch.nn.functional as F

    from export.grid_sample import exportable
    from export.runners import OnnxRuntimeRunner

    class Sample(torch.nn.Module):
        def forward(self, volume, grid):
            return F.grid_sample(volume, grid, align_corners=False)

    shapes = {"dense_motion_22x4": (22, 4), "final_warp_1x32": (1, 32)}
    variants = {"native": False, "plugin_free": True}
    out: dict = {}
    gen = torch.Generator().manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        for label_, (n, c) in shapes.items():
            volume = torch.randn(n, c, 16, 64, 64, generator=gen)
            grid = torch.rand(n, 16, 64, 64, 3, generator=gen) * 2.2 - 1.1
            feed = {"volume": volume.numpy(), "grid": grid.numpy()}
            runners = {}
            for variant, plugin_free in variants.items():
                path = Path(tmp) / f"{label_}-{variant}.onnx"
                with exportable(plugin_free), torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    program = torch.onnx.export(Sample(), (volume, grid), input_names=["volume", "grid"],
                                                output_names=["out"], opset_version=20, dynamo=True, verbose=False)  # fmt: skip
                program.save(str(path))
                runners[variant] = OnnxRuntimeRunner(path, threads=threads)
                runners[variant].infer(feed)
            times: dict[str, list[float]] = {v: [] for v in variants}
            for _ in range(max(5, 2 * repeats)):
                for variant, runner in runners.items():
                    t0 = time.perf_counter()
                    runner.infer(feed)
                    times[variant].append(time.perf_counter() - t0)
            for variant, runner in runners.items():
                runner.close()
                out.setdefault(label_, {})[variant + "_ms"] = min(times[variant]) * 1e3
                out[label_][variant + "_median_ms"] = statistics.median(times[variant]) * 1e3
    total = {v: sum(s[v + "_ms"] for s in out.values()) for v in variants}
    out["both_calls"] = {
        **{k + "_ms": v for k, v in total.items()},
        "ratio": total["plugin_free"] / total["native"],
    }
    return out


def configurations(bf16: str, bf16_sets: list[str]) -> list[RuntimeChoice]:
    configs = [RuntimeChoice("torch", "cpu", "fp32"), RuntimeChoice("onnx", "cpu", "fp32")]
    if bf16 == "on" or (bf16 == "auto" and cpu_has_bf16()):
        for graphs in bf16_sets:
            reduced = (
                None
                if graphs == "default"
                else REDUCED_GRAPHS
                if graphs == "all"
                else tuple(graphs.split(","))
            )
            configs.append(RuntimeChoice("torch", "cpu", "bf16", reduced))
    if torch.cuda.is_available():
        configs += [RuntimeChoice("torch", "cuda", "fp32"), RuntimeChoice("torch", "cuda", "fp16")]
        with contextlib.suppress(ImportError):
            import onnxruntime as ort

            if "CUDAExecutionProvider" in ort.get_available_providers():
                configs.append(RuntimeChoice("onnx", "cuda", "fp32"))
        with contextlib.suppress(ImportError):
            import tensorrt  # noqa: F401

            configs += [RuntimeChoice("trt", "cuda", "fp32"), RuntimeChoice("trt", "cuda", "fp16")]
    return configs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.runtimes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, required=True, metavar="DIR")
    parser.add_argument("--json", type=Path, required=True, metavar="OUT.json")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed frames per configuration (after one warm-up)"
    )
    parser.add_argument(
        "--threads", type=int, default=default_threads(), help="CPU threads (torch and onnxruntime)"
    )
    parser.add_argument("--bf16", choices=("auto", "on", "off"), default="auto", help="run the bf16 CPU path")
    parser.add_argument(
        "--only", nargs="*", metavar="RUNTIME-DEVICE-PRECISION", help="run only these configurations"
    )
    parser.add_argument(
        "--bf16-graphs", nargs="+", default=["default"], metavar="SET",
        help="bf16 variants: 'default' (the runtime's choice), 'all', or comma-separated graphs run in bf16",
    )  # fmt: skip
    parser.add_argument("--cache", type=Path, help="ONNX/engine cache folder (default: the user cache)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("torch", "onnxscript", "torch.onnx", "torch.export"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    from export.engine_cache import default_cache_dir

    cache = args.cache or default_cache_dir()
    result: dict = {
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "threads": args.threads,
                    "cpu_bf16_units": cpu_has_bf16(), "load_average": os.getloadavg(),
                    "torch": torch.__version__,
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "peaks_gflops_per_s": {"cpu_fp32_matmul": matmul_peak(torch.float32, "cpu")},
        "configs": {},
    }  # fmt: skip
    if cpu_has_bf16():
        result["peaks_gflops_per_s"]["cpu_bf16_matmul"] = matmul_peak(torch.bfloat16, "cpu")
    if torch.cuda.is_available():
        result["peaks_gflops_per_s"]["cuda_fp32_matmul"] = matmul_peak(torch.float32, "cuda", 8192)
        result["peaks_gflops_per_s"]["cuda_fp16_matmul"] = matmul_peak(torch.float16, "cuda", 8192)
    log.info("matmul peaks: %s", result["peaks_gflops_per_s"])
    images = {}
    for choice in configurations(args.bf16, args.bf16_graphs):
        name = label(choice)
        if args.only and name not in args.only:
            continue
        try:
            figures = run_config(args.weights, choice, args.repeats, cache)
        except LivePuppetError as exc:
            log.warning("%s skipped: %s", name, exc)
            result["configs"][name] = {"skipped": str(exc)}
            continue
        images[name] = figures.pop("image")
        result["configs"][name] = figures
        log.info("%s: %.0f ms/frame (%.0f GFLOP/s)", name, figures["frame_ms"], figures["frame_gflops_per_s"])
    baseline = images.get("torch-cpu-fp32")
    if baseline is not None:
        torch_ms = result["configs"]["torch-cpu-fp32"]["frame_ms"]
        for name, image in images.items():
            entry = result["configs"][name]
            entry["max_abs_diff_vs_torch_fp32"] = float((image - baseline).abs().max())
            entry["psnr_vs_torch_fp32_db"] = psnr(image, baseline)
            entry["speedup_vs_torch_cpu_fp32"] = torch_ms / entry["frame_ms"]
        result["largest_runtime_difference"] = max(
            ((n, result["configs"][n]["max_abs_diff_vs_torch_fp32"]) for n in images), key=lambda x: x[1]
        )
    result["grid_sample_onnxruntime"] = grid_sample_costs(args.repeats, args.threads)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, default=str))
    print(summary(result))
    return 0


def summary(result: dict) -> str:
    lines = [f"matmul peaks (GFLOP/s): {result['peaks_gflops_per_s']}"]
    for name, c in result["configs"].items():
        if "skipped" in c:
            lines.append(f"{name:22s} skipped: {c['skipped']}")
            continue
        graphs = ", ".join(f"{g} {v['ms']:.0f} ms" for g, v in c["graphs"].items())
        lines.append(
            f"{name:22s} frame {c['frame_ms']:8.0f} ms  {c['frame_gflops_per_s']:6.0f} GFLOP/s  "
            f"x{c.get('speedup_vs_torch_cpu_fp32', float('nan')):.2f} vs torch fp32  "
            f"PSNR {c.get('psnr_vs_torch_fp32_db', float('nan')):.1f} dB  max|d| {c.get('max_abs_diff_vs_torch_fp32', float('nan')):.2g}  ({graphs})"
        )
    gs = result["grid_sample_onnxruntime"]["both_calls"]
    lines.append(
        f"5-D grid sample in onnxruntime: native {gs['native_ms']:.0f} ms, plugin-free {gs['plugin_free_ms']:.0f} ms (x{gs['ratio']:.2f})"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
