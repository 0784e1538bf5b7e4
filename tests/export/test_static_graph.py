"""Static buffers (the CUDA-graph runner's contract) checked on the CPU: inputs copied into buffers made
once, outputs written into buffers made once and reused, what the pipeline keeps copied; the capture
itself is in tests/export/test_gpu.py."""

from __future__ import annotations

import pytest
import torch

from export.networks import RuntimeChoice
from export.runners import TorchRunner
from export.static_graph import StaticGraphRunner


class Affine(torch.nn.Module):
    def forward(self, a, b):
        return a * 2 + b, a - b


def _runner(**kwargs):
    inner = TorchRunner(Affine(), ["a", "b"], ["sum", "diff"])
    return StaticGraphRunner(inner, {"a": (2, 3), "b": (2, 3)}, **kwargs)


def test_outputs_are_buffers_reused_and_rewritten_each_call():
    runner = _runner()
    a, b = torch.rand(2, 3), torch.rand(2, 3)
    first = runner.infer({"a": a, "b": b.numpy()})
    torch.testing.assert_close(first["sum"], a * 2 + b)
    kept = first["sum"].clone()
    second = runner.infer({"a": b, "b": a})
    assert second["sum"] is first["sum"] and second["diff"] is first["diff"]  # the same buffers
    torch.testing.assert_close(second["sum"], b * 2 + a)
    assert not torch.equal(second["sum"], kept)
    assert runner.reuses_outputs and not runner.captured  # nothing to capture on the CPU


def test_inputs_are_copied_into_static_buffers():
    runner = _runner()
    a = torch.rand(2, 3)
    buffer = runner.inputs["a"]
    runner.infer({"a": a, "b": torch.zeros(2, 3)})
    a.add_(1)  # the caller's tensor changes afterwards: the runner's copy does not
    assert runner.inputs["a"] is buffer
    torch.testing.assert_close(buffer, a - 1)


def test_cuda_graph_needs_cuda():
    with pytest.raises(ValueError, match="CUDA"):
        _runner(cuda_graph=True)


def test_compiled_static_runner_on_cpu_agrees():
    runner = _runner(compile=True)
    a, b = torch.rand(2, 3), torch.rand(2, 3)
    out = runner.infer({"a": a, "b": b})
    torch.testing.assert_close(out["diff"], a - b)
    assert runner.name.endswith("compiled")


def test_static_graphs_default_to_cuda_with_the_torch_runtime_only():
    assert RuntimeChoice("torch", "cuda", "fp16").static
    assert not RuntimeChoice("torch", "cpu", "fp32").static
    assert not RuntimeChoice("trt", "cuda", "fp16").static
    assert not RuntimeChoice("torch", "cuda", "fp16", static_graphs=False).static
    assert RuntimeChoice("torch", "cpu", "fp32", static_graphs=True).static


def test_pipeline_keeps_its_tensors_across_static_calls(synthetic_weights):
    """Source keypoints and features survive later calls although the runners reuse their outputs."""
    from engines.liveportrait.pipeline import LivePortraitPipeline
    from export.networks import build_runners, runtime_networks

    choice = RuntimeChoice("torch", "cpu", "fp32", static_graphs=True)
    runners = build_runners(synthetic_weights, choice)
    assert all(isinstance(r, StaticGraphRunner) for r in runners.values())
    # only the small graphs run: M twice must not change what the first call handed back
    pipeline = LivePortraitPipeline(runtime_networks({**runners}, "cpu"), torch.device("cpu"))
    gen = torch.Generator().manual_seed(0)
    first_image, second_image = (torch.rand(1, 3, 256, 256, generator=gen) for _ in range(2))
    first = pipeline.motion_info(first_image)
    kept = first.expression.clone()
    pipeline.motion_info(second_image)
    torch.testing.assert_close(first.expression, kept)
