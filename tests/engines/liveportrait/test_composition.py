"""The whole per-frame path (README §5) reproduces the official wrapper's vectors: pose from bins,
rotation, keypoint transform, relative motion, expression-friendly multiplier, stitching, lip
normalisation, eye/lip retargeting, driving multiplier, warp and decode."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from engines.liveportrait import composition as C
from engines.liveportrait.pipeline import LivePortraitPipeline, OpennessRatios
from tests.engines.liveportrait.conftest import assert_close, load_vectors

ATOL_KEYPOINTS = 1e-5
ATOL_DEGREES = 1e-4  # 3 * E[bin] over 66 bins amplifies the 2e-6 logit tolerance
ATOL_IMAGE = 2e-4


@pytest.fixture(scope="module")
def vectors(reference_dir):
    return load_vectors(reference_dir, "composition")


@pytest.fixture(scope="module")
def pipeline(synthetic_networks):
    return LivePortraitPipeline(synthetic_networks, torch.device("cpu"))


@pytest.fixture(scope="module")
def chain(pipeline, vectors):
    """Source, both driving frames and the reference: F once, M three times."""
    tensor = lambda key: torch.from_numpy(vectors[key])
    source = pipeline.source(tensor("in_source_image"))
    d0 = pipeline.motion_info(tensor("in_driving_frame0"))
    d1 = pipeline.motion_info(tensor("in_driving_frame1"))
    return source, d0, d1, pipeline.reference(source, d0)


def test_keypoint_infos(chain, vectors):
    source, d0, d1, _ = chain
    for tag, info in (("src", source.info), ("d0", d0), ("d1", d1)):
        for field, key in (("pitch", "pitch"), ("yaw", "yaw"), ("roll", "roll")):
            assert_close(getattr(info, field), vectors[f"{tag}_{key}"], ATOL_DEGREES, f"{tag} {key}")
        for field, key in (("scale", "scale"), ("translation", "t"), ("canonical", "kp"),
                           ("expression", "exp"), ("rotation", "R")):  # fmt: skip
            assert_close(getattr(info, field), vectors[f"{tag}_{key}"], ATOL_KEYPOINTS, f"{tag} {key}")
    assert_close(source.keypoints, vectors["x_s"], ATOL_KEYPOINTS, "x_s")


def test_relative_motion(chain, vectors):
    source, d0, d1, reference = chain
    pose = C.relative_pose(source.info, d1, d0)
    assert_close(pose.rotation, vectors["d1_R_new"], ATOL_KEYPOINTS, "R_new")
    assert_close(pose.expression, vectors["d1_exp_new"], ATOL_KEYPOINTS, "exp_new")
    assert_close(pose.scale, vectors["d1_scale_new"], ATOL_KEYPOINTS, "scale_new")
    assert_close(pose.translation, vectors["d1_t_new"], ATOL_KEYPOINTS, "t_new")
    assert_close(reference.keypoints, vectors["x_d0_new"], ATOL_KEYPOINTS, "x_d0_new")
    assert_close(
        C.posed_keypoints(source.info.canonical, pose), vectors["x_d1_new"], ATOL_KEYPOINTS, "x_d1_new"
    )
    assert reference.multiplier == pytest.approx(float(vectors["motion_multiplier"][0]), abs=1e-5)


def test_a_wrong_rotation_order_is_far_off(chain, vectors):
    """The tolerance can tell the official R_d1 R_d0^T R_s from R_d0^T R_d1 R_s."""
    source, d0, d1, _ = chain
    wrong = d0.rotation.transpose(1, 2) @ d1.rotation @ source.info.rotation
    assert float((wrong - torch.from_numpy(vectors["d1_R_new"])).abs().max()) > 100 * ATOL_KEYPOINTS


def test_driving_keypoints(chain, pipeline, vectors):
    source, _, d1, reference = chain
    x_d = pipeline.driving_keypoints(source, d1, reference)
    assert_close(x_d, vectors["x_d1_final"], ATOL_KEYPOINTS, "x_d1_final")
    unstitched = dataclasses.replace(pipeline.options, stitching=False)
    plain = LivePortraitPipeline(pipeline.networks, pipeline.device, options=unstitched)
    assert_close(plain.driving_keypoints(source, d1, reference), vectors["x_d1_expression_friendly"],
                 ATOL_KEYPOINTS, "x_d1 expression-friendly")  # fmt: skip


def test_lip_normalisation(chain, pipeline, vectors):
    source, _, d1, reference = chain
    ratio = float(vectors["in_lip_normalisation_ratio"][0, 0])
    options = dataclasses.replace(pipeline.options, lip_normalisation=True)
    normalising = LivePortraitPipeline(pipeline.networks, pipeline.device, options=options)
    delta = normalising.lip_normalisation(source, ratio)
    assert_close(delta, vectors["lip_delta_before_animation"], ATOL_KEYPOINTS, "lip delta before animation")
    x_d = normalising.driving_keypoints(source, d1, reference, lip_delta=delta)
    assert_close(x_d, vectors["x_d1_stitched_plus_lip_normalisation"], ATOL_KEYPOINTS, "stitched + lip")
    assert normalising.lip_normalisation(source, 0.01) is None  # a closed mouth is left alone


def test_eye_and_lip_retargeting(chain, pipeline, vectors):
    source, _, d1, reference = chain
    eye_in, lip_in = vectors["eye_retarget_input_ratio"][0], vectors["lip_retarget_input_ratio"][0]
    eye = C.retarget(pipeline.networks.eye, source.keypoints, torch.from_numpy(eye_in[None]))
    lip = C.retarget(pipeline.networks.lip, source.keypoints, torch.from_numpy(lip_in[None]))
    assert_close(eye, vectors["eye_delta"], ATOL_KEYPOINTS, "eye delta")
    assert_close(lip, vectors["lip_delta"], ATOL_KEYPOINTS, "lip delta")
    # The official retargeting mode: x_s + deltas, then stitching.
    options = dataclasses.replace(pipeline.options, retarget_eyes=True, retarget_lips=True)
    retargeting = LivePortraitPipeline(pipeline.networks, pipeline.device, options=options)
    ratios = OpennessRatios(
        (float(eye_in[0]), float(eye_in[1])), float(lip_in[0]), float(eye_in[2]), float(lip_in[1])
    )
    x_d = retargeting.driving_keypoints(source, d1, reference, ratios=ratios)
    expected = C.stitch(pipeline.networks.stitching, source.keypoints, source.keypoints + eye + lip)
    torch.testing.assert_close(x_d, expected)


def test_driving_multiplier_and_weight(chain, pipeline):
    source, _, d1, reference = chain
    x_s = source.keypoints
    full = pipeline.driving_keypoints(source, d1, reference)
    doubled = LivePortraitPipeline(pipeline.networks, pipeline.device,
                                   options=dataclasses.replace(pipeline.options, driving_multiplier=2.0))  # fmt: skip
    torch.testing.assert_close(doubled.driving_keypoints(source, d1, reference), x_s + 2 * (full - x_s))
    rest = pipeline.rest_keypoints(source)
    torch.testing.assert_close(pipeline.driving_keypoints(source, d1, reference, weight=0.0), rest)
    half = pipeline.driving_keypoints(source, d1, reference, weight=0.5)
    torch.testing.assert_close(half, (rest + full) / 2)


def test_warp_and_decode(chain, pipeline, vectors):
    source, _, d1, reference = chain
    x_d = pipeline.driving_keypoints(source, d1, reference)
    with torch.no_grad():
        warped = pipeline.networks.warping(source.feature, source.keypoints, x_d)
        image = pipeline.networks.generator(warped.features)
    assert_close(warped.occlusion_map, vectors["occlusion_map"], 2e-5, "occlusion map")
    assert_close(image, vectors["image_512"], ATOL_IMAGE, "image_512")
    uint8 = pipeline.to_uint8(image)
    assert uint8.dtype == np.uint8 and uint8.shape == (512, 512, 3)
    assert np.abs(uint8.astype(int) - vectors["image_512_uint8_hwc"].astype(int)).max() <= 1
