"""The neural engine's networks behind runners: the one place that picks a runtime.

:func:`load_runtime_networks` returns a :class:`~engines.liveportrait.checkpoints.LivePortraitNetworks` whose
seven fields are callables with the torch modules' signatures and return types (``MotionOutput``,
``WarpOutput``, tensors), each backed by a :class:`~export.runners.Runner` for its graph. The engine's
pipeline uses it unchanged and never asks which runtime it got.

Runtimes: ``torch`` (eager; ``bf16`` autocast on CPU, ``fp16``/``bf16`` on CUDA), ``onnx`` (onnxruntime on
the CPU or CUDA), ``trt`` (TensorRT engines, fp32 or fp16), ``auto`` (trt if importable with a GPU, else
onnx on CUDA if granted, else torch). ONNX files and engines are cached under
:func:`export.engine_cache.default_cache_dir`, keyed by the weights' content.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from engines.base import LivePuppetError
from export.engine_cache import EngineCache, default_cache_dir
from export.graphs import GRAPHS, GraphSpec, graph_module
from export.onnx_export import ExportConfig, export_all, hash_file_into
from export.runners import OnnxRuntimeRunner, Runner, TorchRunner

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "torch", "onnx", "trt")
# Graphs that may run at reduced precision; the MLPs always stay fp32, as in the official app.
REDUCED_GRAPHS = ("appearance", "motion", "warping", "generator")
# Measured on the synthetic weights (PSNR of the 512x512 frame against fp32): fp16 on every graph 41 dB; bf16 on
# every graph 23 dB, bf16 on G alone 36.5 dB (M's keypoints and W's sampling grid lose too much at 8 bits of
# mantissa, and bf16 3-D convolutions were not faster on a CPU with AMX). See the export README section.
DEFAULT_REDUCED = {"fp16": REDUCED_GRAPHS, "bf16": ("generator",)}


@dataclass(frozen=True, slots=True)
class RuntimeChoice:
    runtime: str  # torch | onnx | trt
    device: str  # cpu | cuda
    precision: str  # fp32 | fp16 | bf16
    # Graphs run at ``precision`` when it is reduced; the others (and always the MLPs) stay fp32.
    # None: the measured default for the precision (:data:`DEFAULT_REDUCED`).
    reduced_graphs: tuple[str, ...] | None = None

    @property
    def reduced(self) -> tuple[str, ...]:
        if self.precision == "fp32":
            return ()
        return self.reduced_graphs if self.reduced_graphs is not None else DEFAULT_REDUCED[self.precision]


def resolve_runtime(runtime: str, device: str = "auto", precision: str = "fp32") -> RuntimeChoice:
    """Turn the CLI's ``--runtime/--device/--precision`` into a concrete, supported choice."""
    if runtime not in RUNTIMES:
        raise LivePuppetError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    cuda = torch.cuda.is_available()
    if device == "auto":
        device = "cuda" if cuda else "cpu"
    if device == "cuda" and not cuda:
        raise LivePuppetError("--device cuda was asked for but torch sees no CUDA device")
    if runtime == "auto":
        if cuda and device == "cuda" and importlib.util.find_spec("tensorrt") is not None:
            runtime = "trt"
        elif device == "cuda" and _ort_has_cuda():
            runtime = "onnx"
        else:
            runtime = "torch"
        log.info("runtime auto -> %s on %s", runtime, device)
    if runtime == "trt":
        if device != "cuda":
            raise LivePuppetError("the trt runtime needs a CUDA GPU (--device cuda)")
        if precision == "bf16":
            raise LivePuppetError("the trt runtime supports --precision fp32 or fp16")
    if runtime == "onnx" and precision != "fp32":
        raise LivePuppetError(
            "the onnx runtime runs fp32 graphs; use --runtime torch or trt for reduced precision"
        )
    if runtime == "torch" and precision == "fp16" and device != "cuda":
        raise LivePuppetError("fp16 is a GPU path; on the CPU use --precision bf16")
    if precision == "bf16" and device == "cpu" and not cpu_has_bf16():
        log.warning(
            "this CPU has no bf16 units (avx512_bf16 / amx_bf16): bf16 is emulated, far slower than fp32"
        )
    return RuntimeChoice(runtime, device, precision)


def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic units (without them torch emulates bf16, ~100x slower)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return bool({"avx512_bf16", "amx_bf16"} & set(flags))


def _ort_has_cuda() -> bool:
    try:
        import onnxruntime as ort
    except ImportError:
        return False
    return "CUDAExecutionProvider" in ort.get_available_providers()


# -- runner-backed networks --------------------------------------------------------------------------


class GraphCall:
    """Calls a runner with positional arguments in the graph's input order; returns what the torch module
    returns (a tensor, ``MotionOutput`` or ``WarpOutput``) on ``device``. Outputs of runners that reuse
    their buffers are copied: the pipeline keeps some (source keypoints, features) across calls."""

    def __init__(self, spec: GraphSpec, runner: Runner, device: torch.device):
        self.spec = spec
        self.runner = runner
        self.device = device
        self._wrap = _result_types().get(spec.name)

    def __call__(self, *args: torch.Tensor):
        outputs = self.runner.infer(dict(zip(self.spec.inputs, args, strict=True)))
        copy = self.runner.reuses_outputs
        outputs = {k: v.to(self.device, copy=copy) for k, v in outputs.items()}
        if self._wrap is not None:
            return self._wrap(**outputs)
        return outputs[self.spec.outputs[0]]

    def close(self) -> None:
        self.runner.close()


def _result_types() -> dict:
    from engines.liveportrait.motion import MotionOutput
    from engines.liveportrait.warping import WarpOutput

    return {"motion": MotionOutput, "warping": WarpOutput}


def weights_digest(directory: Path) -> str:
    """Content hash of every weight file below ``directory`` (names and bytes), 16 hex digits."""
    from engines.liveportrait.checkpoints import locate

    weights = locate(Path(directory))
    digest = hashlib.sha256()
    for path in sorted({p for p in weights.files.values()}):
        digest.update(str(path.relative_to(weights.root)).encode())
        hash_file_into(digest, path)
    return digest.hexdigest()[:16]


def onnx_dir_for(weights: Path, cache_dir: Path, config: ExportConfig) -> Path:
    return Path(cache_dir) / "onnx" / f"{weights_digest(weights)}-{config.tag}"


def ensure_onnx(
    weights: Path, out_dir: Path, config: ExportConfig | None = None, networks=None
) -> dict[str, Path]:
    """The seven ONNX files in ``out_dir``, exporting those missing (loading the weights only then)."""
    out_dir = Path(out_dir)
    config = config or ExportConfig()
    paths = {name: out_dir / f"{name}.onnx" for name in GRAPHS}
    missing = tuple(name for name, path in paths.items() if not path.is_file())
    if missing:
        if networks is None:
            from engines.liveportrait.checkpoints import load_networks

            networks = load_networks(weights, "cpu")
        log.info("exporting %s to %s", ", ".join(missing), out_dir)
        export_all(networks, out_dir, config, names=missing)
    return paths


def build_runners(weights: Path, choice: RuntimeChoice, cache_dir: Path | None = None) -> dict[str, Runner]:
    """One runner per graph for ``choice``."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if choice.runtime == "torch":
        from engines.liveportrait.checkpoints import load_networks

        networks = load_networks(weights, choice.device)
        autocast = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(choice.precision)
        return {
            name: TorchRunner(
                graph_module(spec, networks),
                spec.inputs,
                spec.outputs,
                device=choice.device,
                autocast=autocast if name in choice.reduced else None,
                # bf16 on the CPU: channels-last for the 2-D networks (oneDNN's fast bf16 layout)
                channels_last=choice.device == "cpu"
                and choice.precision == "bf16"
                and name in choice.reduced
                and all(len(shape) == 4 for shape in spec.inputs.values()),
                name=f"torch-{name}",
            )
            for name, spec in GRAPHS.items()
        }
    paths = ensure_onnx(weights, onnx_dir_for(weights, cache_dir, ExportConfig()))
    if choice.runtime == "onnx":
        return {name: OnnxRuntimeRunner(path, device=choice.device) for name, path in paths.items()}
    from export.tensorrt import TensorRTRunner, cached_engine, import_tensorrt

    trt = import_tensorrt()
    engines = EngineCache(cache_dir / "trt")
    runners = {}
    for name, path in paths.items():
        fp16 = choice.precision == "fp16" and name in choice.reduced
        runners[name] = TensorRTRunner(
            cached_engine(path, engines, fp16=fp16), name=f"trt{trt.__version__}-{name}"
        )
    return runners


def runtime_networks(runners: dict[str, Runner], device: str | torch.device):
    """``LivePortraitNetworks`` whose fields call ``runners`` (see the module docstring)."""
    from engines.liveportrait.checkpoints import LivePortraitNetworks

    device = torch.device(device)
    return LivePortraitNetworks(
        **{spec.network: GraphCall(spec, runners[name], device) for name, spec in GRAPHS.items()}
    )


def load_runtime_networks(weights: Path, runtime: str = "auto", device: str = "auto", precision: str = "fp32",
                          cache_dir: Path | None = None):  # fmt: skip
    """The engine's entry point: networks for ``weights`` on the chosen runtime, and the choice made."""
    choice = resolve_runtime(runtime, device, precision)
    runners = build_runners(Path(weights), choice, cache_dir)
    log.info(
        "liveportrait networks on %s", ", ".join(sorted({r.name.split("-")[0] for r in runners.values()}))
    )
    return runtime_networks(runners, choice.device), choice
