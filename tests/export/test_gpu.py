"""GPU checks (skipped without CUDA): the plugin-free grid sample on CUDA, the fp16 path's error against
fp32 on the composition image, and TensorRT / onnxruntime-CUDA runners where those are installed."""

from __future__ import annotations

import importlib.util

import pytest
import torch
import torch.nn.functional as F

from bench.runtimes import psnr

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.fixture(scope="module")
def gpu_weights(tmp_path_factory):
    """Synthetic weights from the README rules (no reference folder needed on a GPU box)."""
    from engines.liveportrait.synthetic import write_synthetic_checkpoints

    return write_synthetic_checkpoints(tmp_path_factory.mktemp("gpu_weights"), verify=False)


def test_plugin_free_grid_sample_on_cuda():
    from export.grid_sample import trilinear_grid_sample

    gen = torch.Generator(device="cuda").manual_seed(0)
    volume = torch.randn(22, 4, 16, 64, 64, device="cuda", generator=gen)
    grid = (torch.rand(22, 16, 64, 64, 3, device="cuda", generator=gen) * 2 - 1) * 1.3
    expected = F.grid_sample(volume, grid, align_corners=False)
    torch.testing.assert_close(trilinear_grid_sample(volume, grid), expected, atol=5e-6, rtol=0)


def _frame(networks, device: str) -> torch.Tensor:
    """One pipeline frame on fixed synthetic images -> (1, 3, 512, 512)."""
    from engines.liveportrait.pipeline import LivePortraitPipeline

    gen = torch.Generator().manual_seed(1)
    source, driving0, driving1 = (torch.rand(1, 3, 256, 256, generator=gen).to(device) for _ in range(3))
    pipeline = LivePortraitPipeline(networks, torch.device(device))
    features = pipeline.source(source)
    reference = pipeline.reference(features, pipeline.motion_info(driving0))
    x_d = pipeline.driving_keypoints(features, pipeline.motion_info(driving1), reference)
    return pipeline.decode(features, x_d).float().cpu()


def test_fp16_cuda_path_close_to_fp32(gpu_weights):
    from export.networks import build_runners, resolve_runtime, runtime_networks

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    images = {}
    for precision in ("fp32", "fp16"):
        choice = resolve_runtime("torch", "cuda", precision)
        images[precision] = _frame(runtime_networks(build_runners(gpu_weights, choice), "cuda"), "cuda")
    value = psnr(images["fp16"], images["fp32"])
    print(f"fp16 vs fp32 PSNR {value:.1f} dB")
    assert value >= 35.0


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is None, reason="TensorRT not installed")
def test_tensorrt_engine_matches_torch(tmp_path, gpu_weights):
    from engines.liveportrait.checkpoints import load_networks
    from export.engine_cache import EngineCache
    from export.graphs import GRAPHS, as_output_dict, graph_module
    from export.networks import ensure_onnx
    from export.tensorrt import TensorRTRunner, cached_engine, current_key

    networks = load_networks(gpu_weights, "cuda")
    paths = ensure_onnx(gpu_weights, tmp_path / "onnx", networks=load_networks(gpu_weights, "cpu"))
    cache = EngineCache(tmp_path / "trt")
    torch.backends.cudnn.allow_tf32 = False
    for name in ("stitching", "appearance", "warping"):
        spec = GRAPHS[name]
        feed = {k: v.cuda() for k, v in spec.example_inputs().items()}
        if name == "warping":
            feed["feature"] = feed["feature"] * 2 - 1
            feed["kp_source"] = feed["kp_source"] * 1.6 - 0.8
            feed["kp_driving"] = feed["kp_source"] + 0.05
        with torch.no_grad():
            result = graph_module(spec, networks)(*feed.values())
        expected = as_output_dict(spec.outputs, result)
        with TensorRTRunner(cached_engine(paths[name], cache, fp16=False), name=name) as runner:
            for _ in range(3):  # the third call replays the CUDA graph
                out = runner.infer(feed)
            for key, want in expected.items():
                worst = float((out[key] - want).abs().max())
                assert worst <= 1e-3, f"{name}.{key}: TensorRT fp32 vs torch {worst:.3g}"
    assert cache.lookup("warping", current_key(paths["warping"], "fp32")) is not None  # cached, not rebuilt


def test_onnxruntime_cuda_if_granted(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("onnxruntime has no CUDA provider here (install onnxruntime-gpu in place of onnxruntime)")
    from export.runners import OnnxRuntimeRunner

    class Sample(torch.nn.Module):
        def forward(self, volume, grid):
            return F.grid_sample(volume, grid, align_corners=False)

    from export.grid_sample import exportable

    volume, grid = torch.randn(1, 8, 8, 16, 16), torch.rand(1, 8, 16, 16, 3) * 2.2 - 1.1
    with exportable(), torch.no_grad():
        program = torch.onnx.export(Sample(), (volume, grid), input_names=["volume", "grid"], output_names=["out"],
                                    opset_version=20, dynamo=True, verbose=False)  # fmt: skip
    program.save(str(tmp_path / "s.onnx"))
    with OnnxRuntimeRunner(tmp_path / "s.onnx", device="cuda") as runner:
        out = runner.infer({"volume": volume, "grid": grid})["out"]
    torch.testing.assert_close(out.cpu(), F.grid_sample(volume, grid, align_corners=False), atol=1e-5, rtol=0)


def test_static_graph_runner_replays_like_eager_on_cuda():
    from export.runners import TorchRunner
    from export.static_graph import StaticGraphRunner

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.InstanceNorm2d(8), torch.nn.ReLU(),
                              torch.nn.Conv2d(8, 3, 1)).cuda()  # fmt: skip
    eager = TorchRunner(net, ["x"], ["y"], device="cuda", autocast=torch.float16)
    static = StaticGraphRunner(TorchRunner(net, ["x"], ["y"], device="cuda", autocast=torch.float16), {"x": (1, 3, 32, 32)})
    outputs = []
    for seed in range(5):
        x = torch.rand(1, 3, 32, 32, device="cuda", generator=torch.Generator("cuda").manual_seed(seed))
        out = static.infer({"x": x})["y"]
        outputs.append(out)
        torch.testing.assert_close(out, eager.infer({"x": x})["y"], atol=1e-3, rtol=0)
    assert static.captured  # replayed from the third call on
    assert outputs[-1] is outputs[-2]  # one output buffer, rewritten by each replay


def test_engine_path_on_cuda_captures_every_frame_graph(gpu_weights):
    """The default CUDA choice (fp16, static graphs): after a few frames M, S, W and G replay CUDA graphs,
    and a replayed frame equals the eager fp16 frame."""
    from export.graphs import FRAME_GRAPHS
    from export.networks import RuntimeChoice, build_runners, resolve_runtime, runtime_networks

    choice = resolve_runtime("torch", "cuda", "auto")
    assert (choice.precision, choice.static) == ("fp16", True)
    runners = build_runners(gpu_weights, choice)
    # W, G and S run once a frame: captured on their third call, replayed from the fourth frame on
    graphed = [_frame(runtime_networks(runners, "cuda"), "cuda") for _ in range(4)][-1]
    assert all(runners[name].captured for name in FRAME_GRAPHS)
    eager_choice = RuntimeChoice("torch", "cuda", "fp16", static_graphs=False)
    eager = _frame(runtime_networks(build_runners(gpu_weights, eager_choice), "cuda"), "cuda")
    assert psnr(graphed, eager) >= 60.0  # same kernels; cuDNN may pick other algorithms
