"""Runner interface and runtime selection on a CPU machine: by-name binding, context managers, granted
providers checked, TensorRT's absence reported with what to install."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from engines.base import LivePuppetError
from export.networks import resolve_runtime
from export.runners import OnnxRuntimeRunner, TorchRunner


class TwoOut(torch.nn.Module):
    def forward(self, a, b):
        return a + 2 * b, a * b


@pytest.fixture(scope="module")
def two_out_onnx(tmp_path_factory):
    path = tmp_path_factory.mktemp("runner") / "two.onnx"
    example = (torch.rand(2, 3), torch.rand(2, 3))
    program = torch.onnx.export(TwoOut().eval(), example, input_names=["a", "b"], output_names=["sum", "prod"],
                                opset_version=17, dynamo=True, verbose=False)  # fmt: skip
    program.save(str(path))
    return path


def test_runners_bind_by_name_and_agree(two_out_onnx):
    a, b = torch.rand(2, 3), torch.rand(2, 3)
    feed = {"b": b.numpy(), "a": a}  # order and array type do not matter
    with TorchRunner(TwoOut(), ["a", "b"], ["sum", "prod"]) as t, OnnxRuntimeRunner(two_out_onnx) as o:
        for runner in (t, o):
            out = runner.infer(feed)
            assert set(out) == {"sum", "prod"}
            torch.testing.assert_close(out["sum"], a + 2 * b)
            torch.testing.assert_close(out["prod"], a * b)
    assert o.session is None  # closed by the context manager


def test_onnxruntime_session_is_configured_for_small_machines(two_out_onnx):
    runner = OnnxRuntimeRunner(two_out_onnx, threads=1)
    options = runner.session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert runner.session.get_providers()[0] == "CPUExecutionProvider"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_cuda_request_without_cuda_is_refused_not_silently_cpu(two_out_onnx):
    with pytest.raises(LivePuppetError, match="CUDAExecutionProvider"):
        OnnxRuntimeRunner(two_out_onnx, device="cuda")


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed")
def test_missing_tensorrt_says_what_to_install():
    from export.tensorrt import import_tensorrt

    with pytest.raises(LivePuppetError, match="pip install tensorrt"):
        import_tensorrt()


@pytest.mark.skipif(torch.cuda.is_available(), reason="CPU-machine selection")
def test_runtime_selection_on_cpu():
    assert resolve_runtime("auto").runtime == "torch"
    assert resolve_runtime("onnx").device == "cpu"
    assert resolve_runtime("torch", "cpu", "bf16").precision == "bf16"
    assert resolve_runtime("onnx", "cpu", "auto").precision == "fp32"  # onnx graphs are fp32
    for bad in (
        ("trt", "auto", "fp32"),
        ("onnx", "cpu", "bf16"),
        ("torch", "cpu", "fp16"),
        ("tvm", "cpu", "fp32"),
    ):
        with pytest.raises(LivePuppetError):
            resolve_runtime(*bad)


def test_torch_runner_bf16_autocast_returns_fp32_close_to_fp32():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 3, 1))
    x = torch.rand(1, 3, 16, 16)
    fp32 = TorchRunner(net, ["x"], ["y"]).infer({"x": x})["y"]
    bf16 = TorchRunner(net, ["x"], ["y"], autocast=torch.bfloat16).infer({"x": x})["y"]
    assert bf16.dtype == torch.float32
    diff = float((bf16 - fp32).abs().max())
    assert 0 < diff < 0.05  # really ran in bf16, and only bf16-rounding far from fp32


def test_reduced_precision_defaults_keep_sensitive_graphs_fp32():
    from export.networks import RuntimeChoice

    assert RuntimeChoice("torch", "cpu", "fp32").reduced == ()
    assert RuntimeChoice("torch", "cpu", "bf16").reduced == ("warping", "generator")  # M and F lose too much
    assert set(RuntimeChoice("trt", "cuda", "fp16").reduced) == {
        "appearance",
        "motion",
        "warping",
        "generator",
    }
    assert RuntimeChoice("torch", "cpu", "bf16", ("warping",)).reduced == ("warping",)


def test_graph_call_copies_outputs_of_runners_that_reuse_buffers():
    from export.graphs import GRAPHS
    from export.networks import GraphCall
    from export.runners import Runner

    class Reusing(Runner):
        reuses_outputs = True

        def __init__(self):
            self.buffer = torch.zeros(1, 65)

        def infer(self, feed):
            self.buffer.copy_(torch.as_tensor(feed["x"])[:, :65])
            return {"y": self.buffer}

    call = GraphCall(GRAPHS["stitching"], Reusing(), torch.device("cpu"))
    first = call(torch.ones(1, 126))
    call(torch.full((1, 126), 2.0))
    assert float(first.max()) == 1.0  # not overwritten by the second call


def test_torch_runner_channels_last_same_result():
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.InstanceNorm2d(8), torch.nn.Conv2d(8, 3, 1)
    )
    x = torch.rand(1, 3, 16, 16)
    plain = TorchRunner(net, ["x"], ["y"]).infer({"x": x})["y"]
    runner = TorchRunner(net, ["x"], ["y"], channels_last=True)
    assert runner.module[0].weight.is_contiguous(memory_format=torch.channels_last)
    out = runner.infer({"x": x})["y"]
    assert out.is_contiguous()
    torch.testing.assert_close(out, plain, atol=1e-5, rtol=0)
