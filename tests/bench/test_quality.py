import json

import cv2
import numpy as np
import pytest

from bench.quality import (
    MAX_PSNR,
    MethodScores,
    QualityConfig,
    build_parser,
    correlation,
    crop_transform,
    evaluate_video,
    face_box,
    run,
    similarity_2d,
)
from engines.base import SourceState
from engines.landmarks import inter_ocular


def test_similarity_2d_recovers_a_known_transform():
    rng = np.random.default_rng(1)
    points = rng.uniform(0, 500, size=(478, 2))
    angle, scale, offset = np.radians(12), 1.3, np.array([20.0, -7.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = scale * points @ rotation.T + offset
    matrix = similarity_2d(points, moved)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], offset, atol=1e-6)
    # It matches OpenCV's convention: warpAffine(image, matrix) moves content by the same map.
    image = np.zeros((64, 64), np.uint8)
    image[10, 20] = 255
    shift = similarity_2d(np.array([[0, 0], [10, 0], [0, 10.0]]), np.array([[5, 3], [15, 3], [5, 13.0]]))
    assert np.unravel_index(cv2.warpAffine(image, shift, (64, 64)).argmax(), (64, 64)) == (13, 25)


def test_correlation_is_none_for_flat_series():
    assert correlation([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(1.0)
    assert correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert correlation([1, 2, 3, 4], [5, 5, 5, 5]) is None
    assert correlation([1, 2], [1, 2]) is None


def test_face_box_and_crop_transform():
    points = [np.array([[100, 100, 0], [200, 150, 0]], np.float32), np.array([[120, 90, 0]], np.float32)]
    centre_x, centre_y, side = face_box(points, padding=0.1)
    assert (centre_x, centre_y) == (150, 120)
    assert side == pytest.approx(100 * 1.2)
    matrix = crop_transform((centre_x, centre_y, side), 256)
    corners = np.array(
        [[centre_x - side / 2, centre_y - side / 2, 1], [centre_x + side / 2, centre_y + side / 2, 1]]
    )
    np.testing.assert_allclose(corners @ matrix.T, [[0, 0], [256, 256]], atol=1e-9)


def test_method_scores():
    rng = np.random.default_rng(2)
    real = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    scores = MethodScores()
    scores.add_images(real, real)
    noisy = np.clip(real.astype(int) + 10, 0, 255).astype(np.uint8)
    face = np.zeros((32, 32), bool)
    face[8:24, 8:24] = True
    scores.add_images(real, noisy, face)
    assert scores.psnr[0] == MAX_PSNR and scores.ssim[0] == pytest.approx(1.0)
    expected_l1 = np.abs(real.astype(int) - noisy).mean() / 255
    assert scores.l1[1] == pytest.approx(expected_l1)
    assert scores.l1_face[0] == pytest.approx(np.abs(real.astype(int) - noisy)[face].mean() / 255)
    # AKD: every landmark off by 0.1 inter-ocular distances.
    landmarks = np.zeros((478, 3), np.float32)
    landmarks[:, :2] = rng.uniform(100, 300, size=(478, 2))
    shifted = landmarks.copy()
    shifted[:, 0] += 0.1 * inter_ocular(landmarks)
    scores.add_landmarks(landmarks, shifted)
    scores.add_landmarks(landmarks, None)  # output face lost
    scores.add_landmarks(None, shifted)  # no truth: ignored
    summary = scores.summary()
    assert summary["akd"] == pytest.approx(0.1, rel=1e-4)
    assert summary["frames_without_face"] == 1
    assert summary["frames"] == 2


class StaticEngine:
    """Returns the source unchanged: its scores must equal the static baseline's."""

    name = "static"

    def prepare(self, portrait, face):
        return SourceState(image=portrait.copy(), face=face)

    def render(self, state, motion):
        return state.image

    def close(self):
        pass


def test_a_static_engine_scores_like_the_static_baseline(data_dir):
    scores, sheet = evaluate_video(
        data_dir / "driving" / "d0.mp4", StaticEngine(), QualityConfig(max_frames=5)
    )
    assert set(scores) == {"engine", "static", "similarity"}
    for key in ("psnr", "ssim", "l1", "psnr_face", "l1_face", "akd"):
        assert scores["engine"][key] == pytest.approx(scores["static"][key])
    assert scores["engine"]["frames"] == 4  # frame 0 is the source, left out
    assert "fold_share" not in scores["engine"]  # this engine has no Jacobian
    assert sheet.shape == (2 * 256, 4 * 256, 3)


def test_run_writes_report_and_contact_sheets(data_dir, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "d0.mp4").symlink_to(data_dir / "driving" / "d0.mp4")
    (videos / "notes.txt").write_text("not a video")
    report_path = tmp_path / "out" / "q.json"
    run(videos, report_path, "warp", QualityConfig(max_frames=4))
    report = json.loads(report_path.read_text())
    assert set(report["videos"]) == {"d0"}
    engine = report["videos"]["d0"]["engine"]
    assert engine["frames"] == 3
    assert 0.0 <= engine["fold_share"] <= engine["fold_share_max"] <= 1.0
    assert engine["akd"] is not None and engine["psnr"] > 10
    assert report["mean"]["similarity"]["psnr"] == pytest.approx(report["videos"]["d0"]["similarity"]["psnr"])
    sheet = cv2.imread(str(tmp_path / "out" / "q_d0.png"))
    assert sheet is not None and sheet.shape[0] == 512


def test_command_line_defaults():
    args = build_parser().parse_args(["--data", "videos", "--json", "q.json"])
    assert (args.max_frames, args.engine) == (150, "warp")
    assert QualityConfig(max_frames=args.max_frames).max_frames == 150
