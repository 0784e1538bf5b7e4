"""The neural engine's networks behind runners: the one place that picks a runtime.

:func:`load_runtime_networks` returns a :class:`~engines.liveportrait.checkpoints.LivePortraitNetworks` whose
seven fields are callables with the torch modules' signatures and return types (``MotionOutput``,
``WarpOutput``, tensors), each backed by a :class:`~export.runners.Runner` for its graph. The engine's
pipeline uses it unchanged and never asks which runtime it got.

Runtimes: ``torch`` (bf16 islands on the CPU, see :mod:`export.reduced`; fp16 autocast with static buffers
and CUDA-graph replay on CUDA, see :mod:`export.static_graph`), ``onnx`` (onnxruntime on
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
from export.precision import (
    CPU_BF16_GRAPHS,
    CUDA_FP16_GRAPHS,
    REDUCED_GRAPHS,  # noqa: F401  (re-exported: export.commands, bench)
    PrecisionPlan,
    plan_precision,
    read_cpu_features,
)
from export.reduced import depth_folded_for, islands_for, reduce_module, reduced_outputs_for
from export.runners import OnnxRuntimeRunner, Runner, TorchRunner
from export.static_graph import StaticGraphRunner

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "torch", "onnx", "trt")


@dataclass(frozen=True, slots=True)
class RuntimeChoice:
    runtime: str  # torch | onnx | trt
    device: str  # cpu | cuda
    precision: str  # fp32 | fp16 | bf16
    # Graphs run at ``precision`` when it is reduced; the others (and always the MLPs) stay fp32.
    # None: the measured default for the precision and device (export.precision).
    reduced_graphs: tuple[str, ...] | None = None
    # torch runtime: static buffers + CUDA-graph replay (export.static_graph); None = on CUDA only.
    static_graphs: bool | None = None
    # torch runtime: torch.compile the bf16 islands (CPU, with freezing) or each static graph (CUDA)
    compile: bool = False
    reason: str = ""  # why this precision (logged)

    @property
    def reduced(self) -> tuple[str, ...]:
        if self.precision == "fp32":
            return ()
        if self.reduced_graphs is not None:
            return self.reduced_graphs
        return CPU_BF16_GRAPHS if self.device == "cpu" else CUDA_FP16_GRAPHS

    @property
    def static(self) -> bool:
        return self.runtime == "torch" and (self.device == "cuda" if self.static_graphs is None else self.static_graphs)


def resolve_runtime(runtime: str, device: str = "auto", precision: str = "auto") -> RuntimeChoice:
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
    if runtime == "trt" and device != "cuda":
        raise LivePuppetError("the trt runtime needs a CUDA GPU (--device cuda)")
    if runtime == "onnx" and precision not in ("auto", "fp32"):
        raise LivePuppetError(
            "the onnx runtime runs fp32 graphs; use --runtime torch or trt for reduced precision"
        )
    if runtime == "onnx":
        plan = PrecisionPlan("fp32", (), "fp32: the onnx runtime runs fp32 graphs")
    else:
        plan = plan_precision(precision, device)
    if runtime == "trt" and plan.precision == "bf16":
        raise LivePuppetError("the trt runtime supports --precision fp32 or fp16")
    log.info("precision %s", plan.reason)
    return RuntimeChoice(runtime, device, plan.precision, reason=plan.reason)


def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic units (without them torch emulates bf16, ~100x slower)."""
    return bool(read_cpu_features().bf16_units)


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
        return torch_runners(weights, choice)
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


def torch_runners(weights: Path, choice: RuntimeChoice) -> dict[str, Runner]:
    """The torch runtime: reduced graphs as bf16 islands on the CPU (weights converted once, channels-last:
    export.reduced) or under autocast on CUDA (channels-last for the 2-D networks); static buffers and
    CUDA-graph replay when ``choice.static``."""
    from engines.liveportrait.checkpoints import load_networks

    if choice.device == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN time its algorithms once
        if choice.precision == "fp32":  # fp32 means fp32, as the reference vectors: no TF32
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
    networks = load_networks(weights, choice.device)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(choice.precision)
    runners: dict[str, Runner] = {}
    for name, spec in GRAPHS.items():
        module, reduced = graph_module(spec, networks), name in choice.reduced
        if reduced and choice.device == "cpu":
            module = reduce_module(module, islands_for(name), dtype, compile=choice.compile,
                                   reduced_outputs=reduced_outputs_for(name), depth_folded=depth_folded_for(name))
        planar = all(len(shape) == 4 for shape in spec.inputs.values())
        runner = TorchRunner(module, spec.inputs, spec.outputs, device=choice.device,
                             autocast=dtype if reduced and choice.device == "cuda" else None,
                             channels_last=reduced and choice.device == "cuda" and planar, name=f"torch-{name}")  # fmt: skip
        if choice.static:
            runner = StaticGraphRunner(runner, spec.inputs, cuda_graph=choice.device == "cuda",
                                       compile=choice.compile and choice.device == "cuda")  # fmt: skip
        runners[name] = runner
    return runners


def runtime_networks(runners: dict[str, Runner], device: str | torch.device):
    """``LivePortraitNetworks`` whose fields call ``runners`` (see the module docstring)."""
    from engines.liveportrait.checkpoints import LivePortraitNetworks

    device = torch.device(device)
    return LivePortraitNetworks(
        **{spec.network: GraphCall(spec, runners[name], device) for name, spec in GRAPHS.items()}
    )


def load_runtime_networks(weights: Path, runtime: str = "auto", device: str = "auto", precision: str = "auto",
                          cache_dir: Path | None = None):  # fmt: skip
    """The engine's entry point: networks for ``weights`` on the chosen runtime, and the choice made."""
    choice = resolve_runtime(runtime, device, precision)
    runners = build_runners(Path(weights), choice, cache_dir)
    log.info(
        "liveportrait networks on %s", ", ".join(sorted({r.name.split("-")[0] for r in runners.values()}))
    )
    return runtime_networks(runners, choice.device), choice
