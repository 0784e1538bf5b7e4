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
import dataclasses
import json
import logging
import math
import os
import platform
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines.openmp import prefer_passive_waiting

prefer_passive_waiting()  # before torch loads OpenMP (what the livepuppet command does too)
import numpy as np
import torch

from engines.base import LivePuppetError
from export.graphs import FRAME_GRAPHS, GRAPHS
from export.networks import (
    REDUCED_GRAPHS,
    RuntimeChoice,
    build_runners,
    cpu_has_bf16,
    resolve_runtime,
    runtime_networks,
)
from export.precision import CPU_BF16_GRAPHS, GraphTiming, read_cpu_features, select_reduced_graphs
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


def reference_crops() -> dict[str, np.ndarray]:
    """Source and two driving crops (256, 256, 3) uint8 from the reference composition, else random."""
    names = ("in_source_image", "in_driving_frame0", "in_driving_frame1")
    path = REFERENCE / "vectors_composition.npz"
    if path.is_file():
        with np.load(path) as data:
            images = {n: data[n][0] for n in names}
    else:
        rng = np.random.default_rng(0)
        images = {n: rng.random((3, 256, 256)) for n in names}
    return {n: np.ascontiguousarray((np.clip(v, 0, 1) * 255).round().astype(np.uint8).transpose(1, 2, 0))
            for n, v in images.items()}  # fmt: skip


@dataclass
class ConfigRun:
    """One configuration's pipeline, built once, so that configurations can run interleaved frame by frame
    (on a shared machine the load changes by the minute: alternating keeps the ratios fair)."""

    name: str
    choice: RuntimeChoice
    pipeline: Any
    runners: dict[str, TimedRunner]
    crops: dict[str, np.ndarray]
    setup_s: float
    warmup_s: float = math.nan  # the untimed first frame (torch.compile compiles in it)
    source: Any = None
    reference: Any = None
    frames: list[float] = field(default_factory=list)
    frames_cpu: list[float] = field(default_factory=list)  # process CPU time (all threads) per frame
    image: torch.Tensor | None = None

    def start(self) -> None:
        """F and M on the source, M on the neutral driving frame (outside the timed frames)."""
        pipe = self.pipeline
        self.source = pipe.source(pipe.to_input(self.crops["in_source_image"]))
        self.reference = pipe.reference(self.source, pipe.motion_info(pipe.to_input(self.crops["in_driving_frame0"])))
        for runner in self.runners.values():
            runner.times.clear()

    def frame(self, timed: bool = True) -> float:
        """The engine's per-frame path: crop upload, M, keypoints + stitching, W, G, uint8 download."""
        pipe, start, cpu_start = self.pipeline, time.perf_counter(), time.process_time()
        info = pipe.motion_info(pipe.to_input(self.crops["in_driving_frame1"]))
        image = pipe.decode(self.source, pipe.driving_keypoints(self.source, info, self.reference))
        pipe.to_uint8(image)
        if self.choice.device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
        self.image = image.float().cpu()
        if timed:
            self.frames.append(seconds)
            self.frames_cpu.append(cpu_seconds)
        else:  # warm-up: forget its graph times
            for runner in self.runners.values():
                runner.times.clear()
        return seconds

    def graph_ms(self, name: str) -> float:
        return statistics.median(self.runners[name].times) * 1e3

    def figures(self, peaks: dict[str, float]) -> dict:
        graphs = {}
        for name in FRAME_GRAPHS:
            ms = self.graph_ms(name)
            rate = GRAPHS[name].gflops / ms * 1e3
            graphs[name] = {"ms": ms, "gflops_per_s": rate, "precision": self.graph_precision(name)}
            peak = peaks.get(f"{self.choice.device}_{graphs[name]['precision']}_matmul")
            if peak and GRAPHS[name].gflops > 1:
                graphs[name]["of_matmul_peak"] = rate / peak
        frame = statistics.median(self.frames)
        frame_gflop = sum(GRAPHS[n].gflops for n in ("motion", "warping", "generator"))
        return {
            "device": self.choice.device,
            "choice": {"precision": self.choice.precision, "reduced": list(self.choice.reduced),
                       "static_graphs": self.choice.static, "compile": self.choice.compile,
                       "reason": self.choice.reason},
            "setup_s": self.setup_s,
            "warmup_s": self.warmup_s,
            "frame_ms": frame * 1e3,
            "frame_ms_all": [t * 1e3 for t in self.frames],
            # CPU time of the process per frame: less sensitive than wall time to other processes taking turns
            # on a shared machine (not to their use of caches and memory bandwidth)
            "frame_cpu_ms": statistics.median(self.frames_cpu) * 1e3,
            "frame_cpu_ms_all": [t * 1e3 for t in self.frames_cpu],
            "frame_gflops_per_s": frame_gflop / frame,
            "graphs": graphs,
        }  # fmt: skip

    def graph_precision(self, name: str) -> str:
        return self.choice.precision if name in self.choice.reduced else "fp32"

    def close(self) -> None:
        for runner in self.runners.values():
            runner.close()


def open_config(name: str, weights: Path, choice: RuntimeChoice, cache: Path) -> ConfigRun:
    from engines.liveportrait.pipeline import LivePortraitPipeline

    start = time.perf_counter()
    runners = {k: TimedRunner(r) for k, r in build_runners(weights, choice, cache).items()}
    pipeline = LivePortraitPipeline(runtime_networks(runners, choice.device), torch.device(choice.device))
    run = ConfigRun(name, choice, pipeline, runners, reference_crops(), time.perf_counter() - start)
    run.start()
    return run


def run_interleaved(runs: list[ConfigRun], repeats: int) -> None:
    """One warm-up frame each, then ``repeats`` rounds of one frame per configuration."""
    for run in runs:
        run.warmup_s = run.frame(timed=False)
        log.info("warm-up %s: %.1f s", run.name, run.warmup_s)
    for round_ in range(repeats):
        for run in runs:
            seconds = run.frame()
            log.info("round %d %s: %.3f s (load %.1f)", round_, run.name, seconds, os.getloadavg()[0])


def select_bf16(weights: Path, cache: Path, fp32: ConfigRun, bf16_all: ConfigRun) -> dict:
    """Per-graph choice of the bf16 set (export.precision.select_reduced_graphs): timings from the
    interleaved fp32 and all-bf16 runs, frame PSNR of each candidate set from one frame against fp32."""
    timings = {
        n: GraphTiming(fp32.graph_ms(n), bf16_all.graph_ms(n)) for n in REDUCED_GRAPHS if n in FRAME_GRAPHS
    }
    tried: dict[str, float] = {}

    def frame_psnr(graphs: tuple[str, ...]) -> float:
        run = open_config("select", weights, RuntimeChoice("torch", "cpu", "bf16", graphs), cache)
        run.frame(timed=False)
        run.close()
        tried[",".join(graphs)] = value = psnr(run.image, fp32.image)
        log.info("bf16 on %s: %.1f dB", ",".join(graphs), value)
        return value

    selection = select_reduced_graphs(timings, frame_psnr)
    return {"graphs": list(selection.graphs), "verdicts": selection.verdicts, "psnr_of_sets_db": tried,
            "timings_ms": {n: [t.fp32_ms, t.reduced_ms] for n, t in timings.items()},
            "current_default": list(CPU_BF16_GRAPHS)}  # fmt: skip


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


def configurations(bf16: str, bf16_sets: list[str], compile: bool) -> dict[str, RuntimeChoice]:
    """name -> choice. ``torch-cpu-auto`` is what ``--precision auto`` picks on this CPU; on CUDA, fp16 runs
    eagerly and with CUDA-graph replay (and compiled with ``compile``)."""
    configs = {"torch-cpu-fp32": RuntimeChoice("torch", "cpu", "fp32")}
    auto = resolve_runtime("torch", "cpu", "auto")
    if auto.precision != "fp32":
        configs["torch-cpu-auto"] = auto
        if compile:
            configs["torch-cpu-auto-compiled"] = dataclasses.replace(auto, compile=True)
    if bf16 == "on" or (bf16 == "auto" and cpu_has_bf16()):
        for graphs in bf16_sets:
            named = {"default": None, "all": REDUCED_GRAPHS}
            reduced = named[graphs] if graphs in named else tuple(graphs.split(","))
            configs[f"torch-cpu-bf16:{graphs}"] = RuntimeChoice("torch", "cpu", "bf16", reduced)
    configs["onnx-cpu-fp32"] = RuntimeChoice("onnx", "cpu", "fp32")
    if torch.cuda.is_available():
        configs["torch-cuda-fp32"] = RuntimeChoice("torch", "cuda", "fp32")
        configs["torch-cuda-fp16-eager"] = RuntimeChoice("torch", "cuda", "fp16", static_graphs=False)
        configs["torch-cuda-fp16"] = RuntimeChoice("torch", "cuda", "fp16")
        if compile:
            configs["torch-cuda-fp16-compiled"] = RuntimeChoice("torch", "cuda", "fp16", compile=True)
        with contextlib.suppress(ImportError):
            import onnxruntime as ort

            if "CUDAExecutionProvider" in ort.get_available_providers():
                configs["onnx-cuda-fp32"] = RuntimeChoice("onnx", "cuda", "fp32")
        with contextlib.suppress(ImportError):
            import tensorrt  # noqa: F401

            configs["trt-cuda-fp32"] = RuntimeChoice("trt", "cuda", "fp32")
            configs["trt-cuda-fp16"] = RuntimeChoice("trt", "cuda", "fp16")
    return configs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.runtimes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, required=True, metavar="DIR")
    parser.add_argument("--json", type=Path, required=True, metavar="OUT.json")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds (after one warm-up frame each)")
    parser.add_argument("--threads", type=int, default=default_threads(), help="CPU threads (torch and onnxruntime)")
    parser.add_argument("--bf16", choices=("auto", "on", "off"), default="auto",
                        help="run the explicit bf16 variants of --bf16-graphs (auto: on CPUs with bf16 units)")
    parser.add_argument("--bf16-graphs", nargs="+", default=[], metavar="SET",
                        help="bf16 variants: 'default', 'all', or comma-separated graphs run in bf16")
    parser.add_argument("--select-bf16", action="store_true",
                        help="measure per graph and print the bf16 set --precision auto should use")
    parser.add_argument("--compile", action="store_true", help="also run the torch.compile variants")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="run only these configurations")
    parser.add_argument("--no-grid-sample", dest="grid_sample", action="store_false",
                        help="skip the 5-D grid sample comparison in onnxruntime")
    parser.add_argument("--cache", type=Path, help="ONNX/engine cache folder (default: the user cache)")
    args = parser.parse_args(argv)  # fmt: skip
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("torch", "onnxscript", "torch.onnx", "torch.export"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    from export.engine_cache import default_cache_dir

    cache = args.cache or default_cache_dir()
    cpu = read_cpu_features()
    result: dict = {
        "machine": {"platform": platform.platform(), "cpu": cpu.model, "cpu_bf16_units": list(cpu.bf16_units),
                    "cpu_count": os.cpu_count(), "threads": args.threads, "load_average_before": os.getloadavg(),
                    "torch": torch.__version__,
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "peaks_gflops_per_s": {"cpu_fp32_matmul": matmul_peak(torch.float32, "cpu")},
        "configs": {},
    }  # fmt: skip
    peaks = result["peaks_gflops_per_s"]
    if cpu.bf16_units:
        peaks["cpu_bf16_matmul"] = matmul_peak(torch.bfloat16, "cpu")
    if torch.cuda.is_available():
        peaks["cuda_fp32_matmul"] = matmul_peak(torch.float32, "cuda", 8192)
        peaks["cuda_fp16_matmul"] = matmul_peak(torch.float16, "cuda", 8192)
    log.info("matmul peaks: %s", peaks)
    result["auto_precision_cpu"] = resolve_runtime("torch", "cpu", "auto").reason
    runs: list[ConfigRun] = []
    for name, choice in configurations(args.bf16, args.bf16_graphs, args.compile).items():
        if args.only and name not in args.only and not (args.select_bf16 and name == "torch-cpu-fp32"):
            continue
        try:
            runs.append(open_config(name, args.weights, choice, cache))
        except LivePuppetError as exc:
            log.warning("%s skipped: %s", name, exc)
            result["configs"][name] = {"skipped": str(exc)}
    bf16_all = None
    if args.select_bf16:
        bf16_all = open_config("torch-cpu-bf16:all", args.weights, RuntimeChoice("torch", "cpu", "bf16", REDUCED_GRAPHS), cache)
        runs.append(bf16_all)
    run_interleaved(runs, args.repeats)
    for run in runs:
        result["configs"][run.name] = run.figures(peaks)
    compare(result, {run.name: run.image for run in runs})
    if bf16_all is not None:
        fp32 = next(run for run in runs if run.name == "torch-cpu-fp32")
        result["bf16_selection"] = select_bf16(args.weights, cache, fp32, bf16_all)
    for run in runs:
        run.close()
    result["load_average_after"] = os.getloadavg()
    if args.grid_sample:
        result["grid_sample_onnxruntime"] = grid_sample_costs(args.repeats, args.threads)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, default=str))
    print(summary(result))
    return 0


def compare(result: dict, images: dict[str, torch.Tensor]) -> None:
    """PSNR / max difference of each image against the fp32 baselines present, and speed-ups per round."""
    for base in ("torch-cpu-fp32", "torch-cuda-fp32"):
        if base not in images:
            continue
        base_ms = result["configs"][base]["frame_ms_all"]
        for name, image in images.items():
            entry = result["configs"][name]
            tag = base.replace("torch-", "").replace("-fp32", "")
            entry[f"psnr_vs_{tag}_fp32_db"] = psnr(image, images[base])
            entry[f"max_abs_diff_vs_{tag}_fp32"] = float((image - images[base]).abs().max())
            if entry["device"] == result["configs"][base]["device"]:
                rounds = [b / t for b, t in zip(base_ms, entry["frame_ms_all"])]
                entry[f"speedup_vs_{tag}_fp32"] = {"median": statistics.median(rounds), "per_round": rounds,
                                                   "spread": [min(rounds), max(rounds)],
                                                   # fastest frame against fastest frame: the least loaded
                                                   "best_frames": min(base_ms) / min(entry["frame_ms_all"])}
                cpu = [b / t for b, t in zip(result["configs"][base]["frame_cpu_ms_all"], entry["frame_cpu_ms_all"])]
                entry[f"cpu_time_speedup_vs_{tag}_fp32"] = {"median": statistics.median(cpu), "per_round": cpu}


def summary(result: dict) -> str:
    lines = [(f"CPU: {result['machine']['cpu']} (bf16 units: {result['machine']['cpu_bf16_units'] or 'none'}), "
              f"GPU: {result['machine']['gpu']}; load average {result['machine']['load_average_before'][0]:.1f} "
              f"-> {result['load_average_after'][0]:.1f}"),
             f"matmul peaks (GFLOP/s): { {k: round(v) for k, v in result['peaks_gflops_per_s'].items()} }",
             f"--precision auto on this CPU: {result['auto_precision_cpu']}"]  # fmt: skip
    for name, c in result["configs"].items():
        if "skipped" in c:
            lines.append(f"{name:26s} skipped: {c['skipped']}")
            continue
        speed = c.get("speedup_vs_cpu_fp32") or c.get("speedup_vs_cuda_fp32") or {"median": math.nan, "per_round": []}
        quality = c.get("psnr_vs_cuda_fp32_db", c.get("psnr_vs_cpu_fp32_db", math.nan))
        cpu_speed = c.get("cpu_time_speedup_vs_cpu_fp32", {}).get("median", math.nan)
        lines.append(
            f"{name:26s} frame {c['frame_ms']:9.1f} ms  {c['frame_gflops_per_s']:7.0f} GFLOP/s  "
            f"x{speed['median']:.2f} vs fp32 (rounds {', '.join(f'{r:.2f}' for r in speed['per_round'])}; "
            f"best frames x{speed.get('best_frames', math.nan):.2f})  "
            f"PSNR {quality:.1f} dB  (CPU time {c['frame_cpu_ms']:.0f} ms, x{cpu_speed:.2f}; "
            f"warm-up frame {c['warmup_s']:.1f} s)"
        )
        for graph, g in c["graphs"].items():
            peak = f", {100 * g['of_matmul_peak']:.0f}% of the {g['precision']} matmul peak" if "of_matmul_peak" in g else ""
            lines.append(f"    {graph:10s} {g['precision']:4s} {g['ms']:9.1f} ms  {g['gflops_per_s']:7.0f} GFLOP/s{peak}")
    if "bf16_selection" in result:
        sel = result["bf16_selection"]
        lines.append(f"bf16 selection: {sel['graphs']} (current default {sel['current_default']})")
        lines += [f"    {graph}: {why}" for graph, why in sel["verdicts"].items()]
    if "grid_sample_onnxruntime" in result:
        gs = result["grid_sample_onnxruntime"]["both_calls"]
        lines.append(f"5-D grid sample in onnxruntime: native {gs['native_ms']:.0f} ms, plugin-free "
                     f"{gs['plugin_free_ms']:.0f} ms (x{gs['ratio']:.2f})")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
