"""Every graph exports, passes the ONNX checker, and onnxruntime (CPU, fp32) equals torch within 1e-4 on the
reference inputs; the runner-backed networks are drop-in replacements for the torch modules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from export.graphs import GRAPHS, graph_module
from export.runners import OnnxRuntimeRunner, TorchRunner
from tests.engines.liveportrait.conftest import load_vectors

ATOL = 1e-4
# Ops the TensorRT ONNX parser (8.6 / 10.x) builds as native layers; a graph op outside this list would need a
# plugin or a newer TensorRT, so it fails here first.
TENSORRT_NATIVE_OPS = {
    "Add", "And", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape",
    "Conv", "DepthToSpace", "Div", "Erf", "Exp", "Expand", "Floor", "Gather", "Gemm", "GreaterOrEqual",
    "Identity", "InstanceNormalization", "LayerNormalization", "LeakyRelu", "LessOrEqual", "MatMul", "Mul",
    "Pow", "ReduceL2", "ReduceMean", "ReduceSum", "Relu", "Reshape", "Resize", "Shape", "Sigmoid", "Slice",
    "Softmax", "Split", "Sqrt", "Squeeze", "Sub", "Transpose", "Unsqueeze", "Where",
}  # fmt: skip


def reference_feeds(reference_dir: Path) -> dict[str, list[dict[str, np.ndarray]]]:
    """The reference README's inputs per graph (MLPs: each of the 4 stored rows as a batch of 1)."""
    f = load_vectors(reference_dir, "appearance_feature_extractor")
    m = load_vectors(reference_dir, "motion_extractor")
    w = load_vectors(reference_dir, "warping_module")
    g = load_vectors(reference_dir, "spade_generator")
    s = load_vectors(reference_dir, "stitching_retargeting_module")
    mlp = {
        name: [{"x": s[f"in_{name}"][i : i + 1]} for i in range(len(s[f"in_{name}"]))]
        for name in ("stitching", "lip", "eye")
    }
    return {
        "appearance": [{"image": f["in_image"]}],
        "motion": [{"image": m["in_image"]}],
        "warping": [
            {"feature": w["in_feature_3d"], "kp_source": w["in_kp_source"], "kp_driving": w["in_kp_driving"]}
        ],
        "generator": [{"features": g["in_feature"]}],
        **{name: rows[:2] for name, rows in mlp.items()},
    }


def test_every_graph_exports_checked(onnx_files):
    assert set(onnx_files) == set(GRAPHS)
    for name, path in onnx_files.items():
        model = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(model)
        assert [i.name for i in model.graph.input] == list(GRAPHS[name].inputs)
        assert [o.name for o in model.graph.output] == list(GRAPHS[name].outputs)
        assert model.opset_import[0].version == 18
        ops = {n.op_type for n in model.graph.node}
        assert "GridSample" not in ops, f"{name}: a native 5-D GridSample would need a TensorRT plugin"
        assert ops <= TENSORRT_NATIVE_OPS, (
            f"{name}: ops outside TensorRT's native set: {ops - TENSORRT_NATIVE_OPS}"
        )
        for value in model.graph.output:  # shape inference ran: fixed, known output shapes
            dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
            assert dims and all(d > 0 for d in dims), f"{name}.{value.name}: shape {dims}"


@pytest.mark.parametrize("name", list(GRAPHS))
def test_onnxruntime_cpu_equals_torch(name, onnx_files, synthetic_networks, reference_dir):
    spec = GRAPHS[name]
    torch_runner = TorchRunner(graph_module(spec, synthetic_networks), spec.inputs, spec.outputs)
    with OnnxRuntimeRunner(onnx_files[name], device="cpu") as ort_runner:
        assert ort_runner.input_names == tuple(spec.inputs)
        for feed in reference_feeds(reference_dir)[name]:
            expected = torch_runner.infer(feed)
            actual = ort_runner.infer(feed)
            assert set(actual) == set(spec.outputs)
            for key in spec.outputs:
                worst = float((actual[key] - expected[key]).abs().max())
                assert worst <= ATOL, f"{name}.{key}: onnxruntime vs torch max |diff| {worst:.3g}"


def test_runtime_networks_are_drop_in(onnx_files, synthetic_networks, reference_dir):
    """The runner-backed networks return the torch modules' types (as the engine's pipeline uses them)."""
    from engines.liveportrait.motion import MotionOutput
    from export.networks import runtime_networks

    runners = {
        name: OnnxRuntimeRunner(path) for name, path in onnx_files.items() if name in ("motion", "stitching")
    }
    networks = runtime_networks({**{n: None for n in GRAPHS}, **runners}, "cpu")
    image = torch.from_numpy(load_vectors(reference_dir, "motion_extractor")["in_image"])
    out = networks.motion(image)
    assert isinstance(out, MotionOutput)
    with torch.no_grad():
        expected = synthetic_networks.motion(image)
    assert float((out.keypoints - expected.keypoints).abs().max()) <= ATOL
    x = torch.zeros(1, 126)
    assert float((networks.stitching(x) - synthetic_networks.stitching(x)).abs().max()) <= ATOL
