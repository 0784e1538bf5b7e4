"""One runner interface for every runtime: ``infer({name: tensor}) -> {name: tensor}``, bound by name.

* :class:`TorchRunner` -- an ``nn.Module`` (eager), optionally under autocast (bf16 on CPU, fp16 on CUDA);
* :class:`OnnxRuntimeRunner` -- an ONNX file in onnxruntime (CPU or CUDA execution provider);
* :class:`export.tensorrt.TensorRTRunner` -- a serialized TensorRT engine (lives in its own module: it
  needs ``tensorrt`` and CUDA, imported lazily).

Inputs may be numpy arrays or torch tensors; outputs are torch tensors (on the runner's device). Runners are
context managers and single-threaded. Outputs of the TensorRT runner are buffers reused by the next call.
"""

from __future__ import annotations

import contextlib
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from engines.base import LivePuppetError
from engines.liveportrait.denormals import flushed_denormals
from export.graphs import as_output_dict

if TYPE_CHECKING:
    from typing_extensions import Self

log = logging.getLogger(__name__)


class Runner(ABC):
    """Runs one graph. Subclasses implement :meth:`infer`; :meth:`close` releases what they hold."""

    name: str = "runner"
    input_names: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ()
    device: torch.device = torch.device("cpu")
    reuses_outputs: bool = False  # True: the tensors returned by infer are overwritten by the next call

    @abstractmethod
    def infer(self, feed: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Run once; ``feed`` maps every input name to an array or tensor of the graph's shape."""

    def close(self) -> None:
        """Release the session / engine. Idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def as_tensor(value: Any, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    tensor = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.asarray(value))
    return tensor.to(device=device, dtype=dtype)


def as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float32).numpy()
    return np.asarray(value, dtype=np.float32)


# -- torch --------------------------------------------------------------------------------------------


class TorchRunner(Runner):
    """An eval-mode module run eagerly. ``autocast``: None (fp32), ``torch.bfloat16`` (CPU or CUDA) or
    ``torch.float16`` (CUDA); outputs are returned as contiguous float32. ``channels_last`` stores the
    module's weights and 4-D inputs channels-last (oneDNN's bf16 convolutions prefer it: G ran 18% faster in
    bf16 on a CPU with AMX)."""

    def __init__(self, module: torch.nn.Module, input_names, output_names, *, device="cpu",
                 autocast: torch.dtype | None = None, channels_last: bool = False, name: str = "torch"):  # fmt: skip
        self.device = torch.device(device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.module = module.to(self.device).eval()
        if channels_last:
            self.module = self.module.to(memory_format=torch.channels_last)
        self.input_names = tuple(input_names)
        self.output_names = tuple(output_names)
        self.autocast = autocast
        self.name = name

    def _context(self) -> contextlib.ExitStack:
        stack = contextlib.ExitStack()
        if self.autocast is not None:
            stack.enter_context(torch.autocast(self.device.type, dtype=self.autocast))
        stack.enter_context(flushed_denormals(self.device))
        return stack

    @torch.no_grad()
    def forward(self, args: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The device part of :meth:`infer`: inputs already on the device, in ``input_names`` order. Only
        device work (no host synchronisation), so a CUDA graph can capture it (export.static_graph)."""
        args = [a.contiguous(memory_format=self.memory_format) if a.dim() == 4 else a for a in args]
        with self._context():
            result = self.module(*args)
        return {k: v.float().contiguous() for k, v in as_output_dict(self.output_names, result).items()}

    def infer(self, feed: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        return self.forward([as_tensor(feed[name], self.device) for name in self.input_names])


# -- onnxruntime --------------------------------------------------------------------------------------


def default_threads() -> int:
    """Intra-op threads for onnxruntime: the cores this process may use, at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def ort_session_options(threads: int | None = None):
    """Options for small shared machines: no spinning workers, a deliberate thread count, one inter-op
    thread, full graph optimisation."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: a GPU build on a CPU box logs provider failures
    return options


ORT_PROVIDERS = {"cpu": ["CPUExecutionProvider"], "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"]}


class OnnxRuntimeRunner(Runner):
    """An ONNX file in onnxruntime on ``device`` ("cpu" or "cuda").

    The providers onnxruntime actually granted are checked after the session is made: asking for CUDA on a
    build or machine without it raises :class:`LivePuppetError` instead of silently running on the CPU.
    """

    def __init__(self, path: Path, *, device: str = "cpu", threads: int | None = None):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise LivePuppetError(
                "the onnx runtime needs onnxruntime: pip install 'livepuppet[export]'"
            ) from exc
        if device not in ORT_PROVIDERS:
            raise LivePuppetError(f"onnxruntime device must be cpu or cuda, not {device!r}")
        self.path = Path(path)
        self.name = f"onnxruntime-{device}"
        self.session = ort.InferenceSession(
            str(self.path), ort_session_options(threads), providers=ORT_PROVIDERS[device]
        )
        granted = self.session.get_providers()
        wanted = ORT_PROVIDERS[device][0]
        if wanted not in granted:
            raise LivePuppetError(
                f"onnxruntime did not grant {wanted} (got {', '.join(granted)}); for CUDA install "
                "onnxruntime-gpu in place of onnxruntime and check that CUDA/cuDNN libraries are found"
            )
        self.input_names = tuple(i.name for i in self.session.get_inputs())
        self.output_names = tuple(o.name for o in self.session.get_outputs())
        # Outputs come back as host arrays; on CUDA the tensors are moved to the GPU for the caller.
        self.device = torch.device("cuda" if device == "cuda" else "cpu")

    def infer(self, feed: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        inputs = {name: as_numpy(feed[name]) for name in self.input_names}
        outputs = self.session.run(list(self.output_names), inputs)
        return {k: torch.from_numpy(v).to(self.device) for k, v in zip(self.output_names, outputs)}

    def close(self) -> None:
        self.session = None
