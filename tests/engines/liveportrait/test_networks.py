"""Every network reproduces the official outputs (and stored intermediates) on the synthetic weights,
within the reference README §6 tolerances. Each big network runs once per module (fixtures)."""

from __future__ import annotations

import pytest
import torch

from tests.engines.liveportrait.conftest import assert_close, load_vectors, strided

# Suggested fp32 CPU tolerances (README §6): keypoint-level and MLP outputs 1e-5, F/W 2e-5, G images 2e-4.
ATOL_KEYPOINTS = 1e-5
ATOL_FEATURES = 2e-5
ATOL_IMAGE = 2e-4
ATOL_LOGITS = 2e-5  # pose logits (|x| <= 4.4; fp32 vs fp64 gap 2.1e-6)


def run_with_hooks(module: torch.nn.Module, names: dict[str, str], *inputs):
    """Run ``module`` once, capturing the outputs of the named submodules {vector name: submodule path}."""
    captured: dict[str, torch.Tensor] = {}
    handles = []
    for vector, path in names.items():
        sub = module.get_submodule(path)
        handles.append(
            sub.register_forward_hook(lambda _m, _i, out, key=vector: captured.__setitem__(key, out))
        )
    try:
        with torch.no_grad():
            output = module(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return output, captured


def check_intermediates(vectors: dict, captured: dict, atol_for) -> None:
    for key, expected in vectors.items():
        if key.startswith("int_"):
            name = key.split("__stride_")[0]
            if name in captured:
                value = captured[name].detach().numpy()
                assert_close(strided(value, key), expected, atol_for(expected), key)


def relative_atol(base: float):
    return lambda expected: base * max(1.0, float(abs(expected).max()))


@pytest.fixture(scope="module")
def appearance_run(synthetic_networks, reference_dir):
    vectors = load_vectors(reference_dir, "appearance_feature_extractor")
    hooks = {"int_first": "first", "int_down_blocks_0": "down_blocks.0", "int_down_blocks_1": "down_blocks.1",
             "int_second": "second"}  # fmt: skip
    out, captured = run_with_hooks(synthetic_networks.appearance, hooks, torch.from_numpy(vectors["in_image"]))
    return vectors, out, captured


def test_appearance_feature_extractor(appearance_run):
    vectors, out, captured = appearance_run
    assert_close(out, vectors["out_feature_3d"], ATOL_FEATURES, "F feature volume")
    check_intermediates(vectors, captured, relative_atol(ATOL_FEATURES))
    assert len(captured) == 4


def test_motion_extractor(synthetic_networks, reference_dir):
    vectors = load_vectors(reference_dir, "motion_extractor")
    out, captured = run_with_hooks(synthetic_networks.motion, {"int_pooled_features": "detector.norm"},
                                   torch.from_numpy(vectors["in_image"]))  # fmt: skip
    for field, key, atol in [("pitch", "pitch", ATOL_LOGITS), ("yaw", "yaw", ATOL_LOGITS), ("roll", "roll", ATOL_LOGITS),
                             ("translation", "t", ATOL_KEYPOINTS), ("expression", "exp", ATOL_KEYPOINTS),
                             ("scale", "scale", ATOL_KEYPOINTS), ("keypoints", "kp", ATOL_KEYPOINTS)]:  # fmt: skip
        assert_close(getattr(out, field), vectors[f"out_{key}"], atol, f"M {key}")
    check_intermediates(vectors, captured, relative_atol(ATOL_FEATURES))


@pytest.fixture(scope="module")
def warping_run(synthetic_networks, reference_dir):
    vectors = load_vectors(reference_dir, "warping_module")
    hooks = {
        "int_dm_compress_conv": "dense_motion_network.compress",
        "int_dm_hourglass_out": "dense_motion_network.hourglass",
        "int_dm_mask_logits": "dense_motion_network.mask",
        "int_dm_occlusion_logits": "dense_motion_network.occlusion",
        "int_third": "third",
    }
    inputs = [torch.from_numpy(vectors[k]) for k in ("in_feature_3d", "in_kp_source", "in_kp_driving")]
    out, captured = run_with_hooks(synthetic_networks.warping, hooks, *inputs)
    return vectors, out, captured


def test_warping_module_outputs(warping_run):
    vectors, out, _ = warping_run
    assert_close(out.features, vectors["out_out"], ATOL_FEATURES, "W out")
    assert_close(out.occlusion_map, vectors["out_occlusion_map"], ATOL_FEATURES, "W occlusion")
    assert_close(out.deformation, vectors["out_deformation"], ATOL_FEATURES, "W deformation")


def test_warping_module_intermediates(warping_run):
    vectors, _, captured = warping_run
    assert len(captured) == 5
    check_intermediates(vectors, captured, relative_atol(ATOL_FEATURES))


def test_spade_generator(synthetic_networks, reference_dir):
    vectors = load_vectors(reference_dir, "spade_generator")
    hooks = {"int_fc": "fc", "int_G_middle_5": "G_middle_5", "int_up_0": "up_0", "int_up_1": "up_1",
             "int_pre_sigmoid": "conv_img"}  # fmt: skip
    out, captured = run_with_hooks(synthetic_networks.generator, hooks, torch.from_numpy(vectors["in_feature"]))
    assert_close(out, vectors["out_image"], ATOL_IMAGE, "G image")
    assert len(captured) == 5
    check_intermediates(vectors, captured, relative_atol(ATOL_IMAGE))


@pytest.mark.parametrize("name", ["stitching", "lip", "eye"])
def test_retargeting_mlps(synthetic_networks, reference_dir, name):
    vectors = load_vectors(reference_dir, "stitching_retargeting_module")
    with torch.no_grad():
        out = getattr(synthetic_networks, name)(torch.from_numpy(vectors[f"in_{name}"]))
    assert_close(out, vectors[f"out_{name}"], ATOL_KEYPOINTS, name)


def test_spectral_norm_is_folded(synthetic_networks, synthetic_weights):
    """G holds plain weights equal to weight_orig / sigma of the official checkpoint."""
    state = torch.load(synthetic_weights / "base_models/spade_generator.pth", weights_only=True)
    orig, u, v = (state[f"up_0.conv_0.weight_{s}"] for s in ("orig", "u", "v"))
    sigma = torch.dot(u, orig.reshape(orig.shape[0], -1) @ v)
    assert float(sigma) > 0
    torch.testing.assert_close(synthetic_networks.generator.up_0.conv_0.weight, orig / sigma)
    assert not any(
        k.endswith(("weight_orig", "weight_u", "weight_v")) for k in synthetic_networks.generator.state_dict()
    )
