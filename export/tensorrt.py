"""TensorRT: engine build from ONNX (fp16 option, timing cache, progress), cached engines, and a runner.

``tensorrt`` is imported lazily: nothing here is needed unless the ``trt`` runtime is chosen, and then a
missing package is reported as one line saying what to install. The graphs come from
:mod:`export.onnx_export` with the plugin-free 5-D grid sample, so no custom plugin is loaded or needed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from engines.base import LivePuppetError
from export.engine_cache import EngineCache, EngineKey
from export.onnx_export import file_sha256
from export.runners import Runner, as_tensor

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "the trt runtime needs NVIDIA TensorRT for Python: `pip install tensorrt` (it fetches the wheels from "
    "NVIDIA's package index; needs a CUDA GPU and driver), or use --runtime onnx / torch"
)


def import_tensorrt():
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise LivePuppetError(INSTALL_HINT) from exc
    return trt


def current_key(onnx_path: Path, precision: str, device: int = 0) -> EngineKey:
    """The cache key for building ``onnx_path`` on this machine's GPU ``device`` with this TensorRT."""
    trt = import_tensorrt()
    if not torch.cuda.is_available():
        raise LivePuppetError("the trt runtime needs a CUDA GPU, and torch sees none")
    major, minor = torch.cuda.get_device_capability(device)
    return EngineKey(
        gpu_name=torch.cuda.get_device_name(device),
        compute_capability=f"{major}.{minor}",
        tensorrt_version=trt.__version__,
        precision=precision,
        onnx_sha256=file_sha256(onnx_path),
    )


def _progress_monitor(trt, label: str):
    """A TensorRT progress monitor that logs each phase (at most every 2 s per phase)."""

    class Monitor(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)
            self._last: dict[str, float] = {}

        def phase_start(self, phase_name, parent_phase, num_steps):
            log.info("%s: TensorRT %s (%d steps)", label, phase_name, num_steps)

        def step_complete(self, phase_name, step):
            now = time.monotonic()
            if now - self._last.get(phase_name, 0.0) > 2.0:
                self._last[phase_name] = now
                log.info("%s: TensorRT %s step %d", label, phase_name, step)
            return True  # False would cancel the build

        def phase_finish(self, phase_name):
            pass

    return Monitor()


def build_engine(onnx_path: Path, *, fp16: bool, timing_cache: Path | None = None,
                 workspace_gb: float = 8.0) -> bytes:  # fmt: skip
    """Parse ``onnx_path`` and build a serialized engine (fixed shapes). With ``fp16``, normalisation
    layers are kept in fp32 (InstanceNorm over up to 256x256 maps overflows in fp16)."""
    trt = import_tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    major = int(trt.__version__.split(".")[0])
    flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if hasattr(trt, "OnnxParserFlag") and hasattr(trt.OnnxParserFlag, "NATIVE_INSTANCENORM"):
        parser.set_flag(trt.OnnxParserFlag.NATIVE_INSTANCENORM)  # a native layer, not the plugin
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise LivePuppetError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if hasattr(trt, "IProgressMonitor"):  # TensorRT >= 10
        config.progress_monitor = _progress_monitor(trt, Path(onnx_path).stem)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
        config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
        normalization = getattr(trt.LayerType, "NORMALIZATION", None)
        for i in range(network.num_layers):
            layer = network.get_layer(i)
            if layer.type == normalization:
                layer.precision = trt.float32
    cache = None
    if timing_cache is not None:
        blob = timing_cache.read_bytes() if timing_cache.is_file() else b""
        cache = config.create_timing_cache(blob)
        config.set_timing_cache(cache, ignore_mismatch=False)
    start = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise LivePuppetError(f"TensorRT failed to build an engine from {onnx_path} (see the log above)")
    log.info("built %s in %.0f s", Path(onnx_path).name, time.perf_counter() - start)
    if cache is not None:
        timing_cache.parent.mkdir(parents=True, exist_ok=True)
        timing_cache.write_bytes(memoryview(cache.serialize()))
    return bytes(serialized)


def cached_engine(onnx_path: Path, cache: EngineCache, *, fp16: bool) -> bytes:
    """The engine for ``onnx_path`` from ``cache``, built (and stored) when absent or stale."""
    key = current_key(onnx_path, "fp16" if fp16 else "fp32")
    graph = Path(onnx_path).stem
    return cache.load_or_build(
        graph, key, lambda: build_engine(onnx_path, fp16=fp16, timing_cache=cache.timing_cache_path(key))
    )


_DTYPES = {"FLOAT": torch.float32, "HALF": torch.float16, "INT32": torch.int32, "INT64": torch.int64,
           "BOOL": torch.bool, "BF16": torch.bfloat16}  # fmt: skip


class TensorRTRunner(Runner):
    """A serialized engine on the current CUDA device.

    I/O buffers are allocated once; all work goes to one CUDA stream; after the first call the enqueue is
    captured in a CUDA graph and replayed (fall back to plain enqueue if capture fails). Output tensors are
    those buffers: the next ``infer`` overwrites them (clone to keep).
    """

    reuses_outputs = True

    def __init__(self, engine: bytes, *, name: str = "tensorrt", cuda_graph: bool = True):
        trt = import_tensorrt()
        self.name = name
        self.device = torch.device("cuda", torch.cuda.current_device())
        self._runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = self._runtime.deserialize_cuda_engine(engine)
        if self.engine is None:
            raise LivePuppetError(f"{name}: TensorRT could not deserialize the engine (rebuild it)")
        self.context = self.engine.create_execution_context()
        self.stream = torch.cuda.Stream(self.device)
        self.buffers: dict[str, torch.Tensor] = {}
        inputs, outputs = [], []
        for i in range(self.engine.num_io_tensors):
            tensor = self.engine.get_tensor_name(i)
            shape = tuple(self.engine.get_tensor_shape(tensor))
            dtype = _DTYPES[self.engine.get_tensor_dtype(tensor).name]
            self.buffers[tensor] = torch.empty(shape, dtype=dtype, device=self.device)
            self.context.set_tensor_address(tensor, self.buffers[tensor].data_ptr())
            is_input = self.engine.get_tensor_mode(tensor) == trt.TensorIOMode.INPUT
            (inputs if is_input else outputs).append(tensor)
        self.input_names, self.output_names = tuple(inputs), tuple(outputs)
        self._use_graph = cuda_graph
        self._graph: torch.cuda.CUDAGraph | None = None
        self._calls = 0

    def _enqueue(self) -> None:
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise LivePuppetError(f"{self.name}: TensorRT enqueue failed")

    def _run(self) -> None:
        if self._graph is not None:
            self._graph.replay()
            return
        self._enqueue()
        self._calls += 1
        if self._use_graph and self._calls == 2:  # capture once the first call has settled allocations
            try:
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph, stream=self.stream):
                    self._enqueue()
                self._graph = graph
            except RuntimeError as exc:  # e.g. layers that cannot be captured
                log.info("%s: CUDA graph capture failed (%s); enqueueing each call", self.name, exc)
                self._use_graph = False

    def infer(self, feed: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        caller = torch.cuda.current_stream(self.device)
        self.stream.wait_stream(caller)  # inputs produced on the caller's stream
        with torch.cuda.stream(self.stream):
            for name in self.input_names:
                buffer = self.buffers[name]
                buffer.copy_(as_tensor(feed[name], self.device, buffer.dtype), non_blocking=True)
            self._run()
        caller.wait_stream(self.stream)
        return {name: self.buffers[name] for name in self.output_names}

    def close(self) -> None:
        self._graph = None
        self.context = None
        self.engine = None
        self.buffers = {}
