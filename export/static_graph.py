"""Static buffers and CUDA-graph replay for a torch graph: the GPU live path's per-frame runner.

:class:`StaticGraphRunner` wraps a :class:`~export.runners.TorchRunner`. Its inputs are buffers allocated
once at the graph's fixed shapes; each ``infer`` copies the feed into them (a device-to-device copy when the
caller's tensors are already on the GPU), runs the module on them and returns output buffers that are also
allocated once (``reuses_outputs``: the next call overwrites them).

* On CUDA, after ``warmup`` eager calls on a side stream (cuDNN picks its algorithms, lazy state is made),
  the module is captured once into a ``torch.cuda.CUDAGraph`` and every later call is a single
  ``replay()``: one launch instead of hundreds, no Python per layer, no allocation. Optionally the module is
  ``torch.compile``d first (``compile=True``: fused Triton kernels, captured the same way).
* On the CPU there is nothing to capture: the module runs eagerly on the same static buffers, which keeps
  the copy-in / copy-out contract (and its tests) identical on both devices; ``compile=True`` still applies
  (inductor's C++ kernels).

Single-threaded, like every runner. Capture needs a module without host synchronisation (no ``.item()``,
no data-dependent shapes): true of every LivePortrait graph.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch

from export.runners import Runner, TorchRunner, as_tensor

log = logging.getLogger(__name__)


class StaticGraphRunner(Runner):
    """``inner`` on static buffers of ``input_shapes``; CUDA-graph replay on CUDA (see the module doc)."""

    reuses_outputs = True

    def __init__(self, inner: TorchRunner, input_shapes: Mapping[str, tuple[int, ...]], *,
                 cuda_graph: bool | None = None, compile: bool = False, warmup: int = 2):  # fmt: skip
        self.inner = inner
        self.device = inner.device
        self.name = f"{inner.name}-static"
        self.input_names, self.output_names = inner.input_names, inner.output_names
        self.inputs = {name: torch.zeros(input_shapes[name], device=self.device) for name in self.input_names}
        self.use_cuda_graph = self.device.type == "cuda" if cuda_graph is None else cuda_graph
        if self.use_cuda_graph and self.device.type != "cuda":
            raise ValueError("a CUDA graph needs a CUDA device")
        self.warmup = warmup
        self.calls = 0
        self.outputs: dict[str, torch.Tensor] | None = None
        self.graph: torch.cuda.CUDAGraph | None = None
        self._forward = inner.forward
        if compile:
            # dynamic=False: every shape is fixed. The default mode: inductor adds no CUDA graphs of its own
            # (ours capture the compiled kernels) and skips max-autotune's minutes of kernel search.
            module = torch.compile(inner.module, dynamic=False)
            self.inner.module = module
            self.name += "-compiled"

    @property
    def captured(self) -> bool:
        return self.graph is not None

    def _run(self) -> dict[str, torch.Tensor]:
        return self._forward([self.inputs[name] for name in self.input_names])

    @torch.no_grad()
    def infer(self, feed: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        for name in self.input_names:
            value = feed[name]
            source = value if isinstance(value, torch.Tensor) else as_tensor(value, torch.device("cpu"))
            self.inputs[name].copy_(source, non_blocking=source.device.type == "cpu" and source.is_pinned())
        self.calls += 1
        if self.graph is not None:
            self.graph.replay()
            return self.outputs
        if self.use_cuda_graph and self.calls > self.warmup:
            self._capture()
            self.graph.replay()
            return self.outputs
        result = self._run_warm() if self.use_cuda_graph else self._run()
        if self.outputs is None:
            self.outputs = {k: torch.empty_like(v) for k, v in result.items()}
        for name, value in result.items():
            self.outputs[name].copy_(value)
        return self.outputs

    def _run_warm(self) -> dict[str, torch.Tensor]:
        """An eager call on a side stream, as CUDA-graph capture wants its warm-up runs."""
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            result = self._run()
        torch.cuda.current_stream(self.device).wait_stream(side)
        return result

    def _capture(self) -> None:
        graph = torch.cuda.CUDAGraph()
        # thread_local: CUDA calls from other threads (the live loop's) during the capture are not errors
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            outputs = self._run()  # tensors owned by the graph's memory pool, rewritten by each replay
        self.graph, self.outputs = graph, outputs
        log.info("%s: captured a CUDA graph after %d warm-up calls", self.name, self.warmup)

    def close(self) -> None:
        self.graph = None
        self.outputs = None
        self.inner.close()
