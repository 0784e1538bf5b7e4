"""Expression edits on the neural engine's implicit keypoints: the measured basis, its linearity and the pose
hook. Synthetic weights (from the reference manifests) stand in for the real ones: the measured mapping is
meaningless in pictures, but the measurement and the plumbing are real."""

from __future__ import annotations

import numpy as np
import pytest

from engines.expressions import ExpressionParams
from engines.landmarks import euler_to_rotation, neutral_points
from engines.liveportrait_expressions import NUM_KP, KeypointBasis, rotation_delta

torch = pytest.importorskip("torch")


def _basis(seed: int = 0) -> KeypointBasis:
    rng = np.random.default_rng(seed)
    positive = {"blink": np.zeros((NUM_KP, 3), np.float32), "smile": rng.normal(0, 1e-3, (NUM_KP, 3))}
    positive["blink"][[3, 7], 1] = [0.02, 0.015]
    negative = {"smile": rng.normal(0, 1e-3, (NUM_KP, 3)).astype(np.float32)}
    return KeypointBasis(positive=positive, negative=negative)


def test_offsets_are_linear_per_side_and_roundtrip_through_json(tmp_path):
    basis = _basis()
    assert np.allclose(basis.keypoint_offsets(ExpressionParams(blink=0.5)), 0.5 * basis.positive["blink"])
    both = basis.keypoint_offsets(ExpressionParams(blink=1.0, smile=-0.4))
    assert np.allclose(both, basis.positive["blink"] + 0.4 * basis.negative["smile"], atol=1e-7)
    assert np.allclose(basis.keypoint_offsets(ExpressionParams(blink=-1.0)), 0)  # no negative side measured
    assert basis.moving_keypoints("blink") == [3, 7]
    path = tmp_path / "basis.json"
    basis.save(path)
    loaded = KeypointBasis.load(path)
    assert np.allclose(
        loaded.keypoint_offsets(ExpressionParams(smile=0.7)),
        basis.keypoint_offsets(ExpressionParams(smile=0.7)),
        atol=1e-6,
    )


def test_rotation_delta_is_the_image_rotation_in_row_convention():
    delta = rotation_delta(ExpressionParams(pitch=5, yaw=-10, roll=3))
    assert np.allclose(delta, euler_to_rotation(5, -10, 3).T, atol=1e-6)


def test_edit_pose_rotates_and_moves_only_the_basis_keypoints():
    from engines.liveportrait import composition as C
    from engines.liveportrait_expressions import edit_pose

    rng = np.random.default_rng(1)
    canonical = torch.tensor(rng.normal(0, 0.3, (1, NUM_KP, 3)), dtype=torch.float32)
    pose = C.RelativePose(
        rotation=torch.eye(3)[None], expression=torch.zeros(1, NUM_KP, 3), scale=torch.ones(1, 1),
        translation=torch.zeros(1, 3),
    )  # fmt: skip
    basis = _basis()
    before = C.posed_keypoints(canonical, pose)
    blinked = C.posed_keypoints(canonical, edit_pose(pose, ExpressionParams(blink=1.0), basis))
    moved = np.flatnonzero((blinked - before).abs().sum(-1)[0].numpy() > 1e-7)
    assert moved.tolist() == basis.moving_keypoints("blink")
    turned = edit_pose(pose, ExpressionParams(yaw=20.0), basis)
    assert torch.allclose(turned.rotation[0], torch.as_tensor(rotation_delta(ExpressionParams(yaw=20.0))))
    assert edit_pose(pose, ExpressionParams(), basis) is pose


@pytest.mark.slow
def test_measured_basis_is_the_motion_extractors_response(data_dir, reference_dir):
    """measure_basis on a real portrait with a synthetic motion extractor: each offset is M(edited image) -
    M(unedited), both cropped alike; here checked against an independent recomputation for aaa."""
    import cv2

    from engines.base import Motion, create_engine
    from engines.expressions import apply_expression
    from engines.liveportrait import crop
    from engines.liveportrait.motion import MotionExtractor
    from engines.liveportrait.pipeline import LivePortraitPipeline
    from engines.liveportrait.synthetic import NETWORK_SEEDS, generate_state_dict, specs_from_manifests
    from engines.liveportrait_expressions import measure_basis
    from realtime.offline import load_portrait

    specs = specs_from_manifests(reference_dir)["motion_extractor"]
    values = generate_state_dict(specs, NETWORK_SEEDS["motion_extractor"])
    motion = MotionExtractor()
    motion.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in values.items()})
    motion.eval()

    class Networks:  # the pipeline only needs M here
        pass

    networks = Networks()
    networks.motion = motion
    pipeline = LivePortraitPipeline(networks, torch.device("cpu"))
    image, face = load_portrait(data_dir / "source" / "s42.jpg", None)
    warp = create_engine("warp")
    try:
        basis = measure_basis(pipeline, warp, image, face, features=("aaa",))
        state = warp.prepare(image, face)
        identity = Motion.identity(neutral_points(state.face.landmarks))
        unedited = warp.render(state, identity).copy()
        opened = warp.render(state, apply_expression(identity, ExpressionParams(aaa=1.0))).copy()
    finally:
        warp.close()
    to_crop = crop.crop_transform(crop.face_rect(state.face.landmarks, crop.SOURCE_CROP))

    def expression(rgb):
        _, small = crop.crop_to_input(rgb, to_crop, cv2.INTER_AREA)
        return pipeline.motion_info(pipeline.to_input(small)).expression[0].numpy()

    expected = expression(opened) - expression(unedited)
    assert set(basis.positive) == {"aaa"} and not basis.negative
    assert np.abs(basis.positive["aaa"]).max() > 1e-6
    assert np.allclose(basis.positive["aaa"], expected, atol=1e-5)
