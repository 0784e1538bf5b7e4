import json
import math

import cv2
import numpy as np
import pytest

from bench.motion_range import MotionRangeConfig, evaluate_portrait, main
from bench.motion_range_masks import dilate, folded_pixels, head_mask, head_path, outside_change
from bench.motion_range_poses import (
    POSES,
    Pose,
    Schedule,
    clip_frames,
    decompose,
    follow_ratio,
    pose_matrix,
    transform_points,
)  # fmt: skip
from bench.motion_range_report import format_table, overall, portrait_summary
from bench.quality import similarity_2d
from engines.base import Face
from engines.images import fit_longest_side
from engines.landmarks import FACE_OVAL, RIGID
from realtime.tracker import find_portrait_face
from tests.bench.test_quality import StaticEngine  # ignores the motion: the portrait as it is

FAST = MotionRangeConfig(size=256, schedule=Schedule(lead=2, ease=2, hold=1), tile=64)
CENTRE = np.array([120.0, 140.0])


# ------------------------------------------------------------------------------------------- pure geometry
@pytest.mark.parametrize("pose", POSES, ids=lambda pose: pose.name)
@pytest.mark.parametrize("weight", [0.0, 0.3, 1.0])
def test_follow_of_a_known_pose_at_a_strength_is_that_strength(pose, weight):
    matrix = pose_matrix(pose, weight, CENTRE, iod=60.0)
    assert follow_ratio(pose, matrix, CENTRE, iod=60.0) == pytest.approx(weight, abs=1e-9)
    # The centre moves by the shift only; the pose's other components stay neutral.
    shift, scale, angle = decompose(matrix, CENTRE)
    assert (shift[0] != 0) == (pose.kind == "x" and weight > 0)
    assert (shift[1] != 0) == (pose.kind == "y" and weight > 0)
    assert (scale != 1.0) == (pose.kind == "scale" and weight > 0)
    assert (angle != 0.0) == (pose.kind == "roll" and weight > 0)


def test_roll_sign_matches_opencv_and_fitted_follow_recovers_it():
    pose = Pose("roll+25", "roll", 25.0)
    matrix = pose_matrix(pose, 1.0, CENTRE, iod=60.0)
    np.testing.assert_allclose(matrix, cv2.getRotationMatrix2D(tuple(CENTRE), 25.0, 1.0), atol=1e-12)
    rng = np.random.default_rng(3)
    points = rng.uniform(50, 250, size=(478, 2))
    fitted = similarity_2d(points, transform_points(matrix, points))
    assert follow_ratio(pose, fitted, CENTRE, 60.0) == pytest.approx(1.0, abs=1e-9)
    # A shift is measured at the face centre: a roll about another point is not a pure roll here.
    other = cv2.getRotationMatrix2D((0.0, 0.0), 25.0, 1.0)
    assert abs(decompose(other, CENTRE)[0]).max() > 10


def test_scale_follow_is_a_log_ratio():
    pose = Pose("scale1.25", "scale", 1.25)
    half = cv2.getRotationMatrix2D(tuple(CENTRE), 0.0, math.sqrt(1.25))
    assert follow_ratio(pose, half, CENTRE, 60.0) == pytest.approx(0.5)
    wrong_way = cv2.getRotationMatrix2D(tuple(CENTRE), 0.0, 0.8)
    assert follow_ratio(pose, wrong_way, CENTRE, 60.0) == pytest.approx(-1.0)


def test_clip_starts_neutral_eases_and_holds_each_pose_once():
    schedule = Schedule(lead=3, ease=4, hold=2)
    frames = clip_frames(schedule)
    assert len(frames) == 3 + len(POSES) * (2 * 4 + 2 + 1)
    assert [frame.index for frame in frames] == list(range(len(frames)))
    assert all(frame.pose is None and frame.weight == 0 for frame in frames[:3])
    for pose in POSES:
        own = [frame for frame in frames if frame.pose == pose]
        weights = [frame.weight for frame in own]
        assert weights[-1] == 0.0 and 0 < weights[0] < weights[1]  # eased in, back to neutral
        assert [frame.weight for frame in own if frame.hold] == [1.0, 1.0]
        assert max(w for frame, w in zip(own, weights) if not frame.hold) < 1.0


# ------------------------------------------------------------------------------------------- masks
def test_outside_change_sees_only_outside_pixels():
    portrait = np.full((40, 50, 3), 100, np.uint8)
    output = portrait.copy()
    output[5, 5] = (100, 160, 100)  # outside, by 60
    output[20, 20] = (0, 0, 0)  # inside the allowed region: ignored
    outside = np.ones((40, 50), bool)
    outside[10:30, 10:30] = False
    assert outside_change(output, portrait, outside, threshold=16) == (60, 1)
    assert outside_change(portrait, portrait, outside, threshold=16) == (0, 0)


def test_head_path_is_the_union_of_moved_heads_and_dilation_grows():
    head = np.zeros((60, 80), bool)
    head[20:30, 20:30] = True
    shift = np.array([[1.0, 0, 30], [0, 1, 0]])
    path = head_path(head, [np.eye(2, 3), shift])
    assert path[25, 25] and path[25, 55] and not path[25, 40] and path.sum() == 200
    grown = dilate(head, 3)
    assert grown[25, 32] and not grown[25, 34] and grown.sum() > head.sum()


def test_head_mask_is_the_person_above_the_chin_near_the_face(portrait):
    image, face = portrait
    everywhere = np.ones(image.shape[:2], bool)
    head = head_mask(everywhere, face.landmarks, reach=2.0, below_chin=0.05)
    x0, y0, x1, y1 = (int(v) for v in face.box)
    chin = int(face.landmarks[152, 1])
    assert head[(y0 + y1) // 2, (x0 + x1) // 2] and head[max(0, y0 - 10), (x0 + x1) // 2]  # face, hair
    assert not head[min(image.shape[0] - 1, chin + (y1 - y0) // 4) :, :].any()  # nothing well below the chin
    nobody = head_mask(~everywhere, face.landmarks, reach=2.0, below_chin=0.05)
    assert nobody.sum() < head.sum() and nobody[(y0 + y1) // 2, (x0 + x1) // 2]  # the face oval stays


def test_folded_pixels_counts_the_face_oval_only():
    landmarks = np.full((478, 3), 50, np.float32)
    angles = np.linspace(0, 2 * np.pi, len(FACE_OVAL), endpoint=False)
    landmarks[FACE_OVAL, 0], landmarks[FACE_OVAL, 1] = 50 + 20 * np.cos(angles), 50 + 20 * np.sin(angles)
    determinant = np.ones((100, 100), np.float32)
    determinant[45:55, 45:55] = -1  # inside the face
    determinant[0:10, 0:10] = -1  # far outside it
    assert folded_pixels(determinant, landmarks) == 100
    elsewhere = landmarks.copy()
    elsewhere[:, :2] -= 30  # a second face position, centred at (20, 20): it holds part of the top-left fold
    assert 100 < folded_pixels(determinant, landmarks, elsewhere) < 200


# ------------------------------------------------------------------------------------------- fake engines
class MirrorEngine(StaticEngine):
    """Returns the driving frame: the transformed portrait exactly (the whole picture moves)."""

    def render(self, state, motion):
        return motion.driving_image if motion.driving_image is not None else state.image


class HalfEngine(StaticEngine):
    """Moves the whole portrait by half the driver's similarity (half the shift, angle and log-scale)."""

    def render(self, state, motion):
        if motion.driving_face is None:
            return state.image
        reference, driving = motion.reference_face.landmarks, motion.driving_face.landmarks
        centre = reference[RIGID, :2].mean(axis=0).astype(np.float64)
        shift, scale, angle = decompose(similarity_2d(reference[RIGID, :2], driving[RIGID, :2]), centre)
        matrix = cv2.getRotationMatrix2D(tuple(centre), angle / 2, math.sqrt(scale))
        matrix[:, 2] += shift / 2
        height, width = state.image.shape[:2]
        return cv2.warpAffine(state.image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


class FoldingEngine(StaticEngine):
    """Static, and reports a fold over the whole picture."""

    def jacobian_determinant(self, state):
        return -np.ones(state.image.shape[:2], np.float32)


@pytest.fixture(scope="module")
def portrait() -> tuple[np.ndarray, Face]:
    """The bundled astronaut cropped to a talking-head framing (face ~40 % of the width), 256²."""
    from skimage import data

    image = data.astronaut()
    x0, y0, x1, y1 = find_portrait_face(image).box
    side = int((x1 - x0) / 0.4)
    cx, cy = int((x0 + x1) / 2), int((y0 + y1) / 2)
    top, left = max(0, cy - side // 2), max(0, cx - side // 2)
    image = fit_longest_side(np.ascontiguousarray(image[top : top + side, left : left + side]), FAST.size)
    return image, find_portrait_face(image)


def _follows(result: dict) -> dict[str, float]:
    return {name: pose["follow"] for name, pose in result["poses"].items()}


def test_an_engine_returning_the_transformed_portrait_follows_fully(portrait):
    result, sheet = evaluate_portrait(*portrait, MirrorEngine(), FAST)
    for name, follow in _follows(result).items():
        assert follow == pytest.approx(1.0, abs=0.08), name
    summary = result["summary"]
    assert summary["residual"] < 0.03 and summary["worst_follow"] > 0.9
    assert summary["folded"] is None  # no jacobian_determinant: n/a
    # The whole picture moved, background included: far outside the person and the head's path.
    assert summary["outside_change"] > 100 and summary["outside_pixels"] > 1000
    assert result["neutral"]["outside_change"] == 0
    assert sheet.shape == (3 * 64, len(POSES) * 64, 3)


def test_an_engine_ignoring_the_motion_follows_nothing(portrait):
    result, _ = evaluate_portrait(*portrait, StaticEngine(), FAST)
    for name, follow in _follows(result).items():
        assert abs(follow) < 0.08, name
    for name, pose in result["poses"].items():
        assert pose["truth_follow"] == pytest.approx(1.0, abs=0.08), name  # the motion was there to see
        assert pose["driver_follow"] > 0.8, name  # and the driver saw it
    assert result["summary"]["residual"] > 0.2
    assert result["summary"]["outside_change"] == 0 and result["summary"]["outside_pixels"] == 0


def test_an_engine_doing_half_the_motion_follows_half(portrait):
    result, _ = evaluate_portrait(*portrait, HalfEngine(), FAST)
    for name, pose in result["poses"].items():
        # Half of what the driver read (its tracking crop lags a fast zoom a little), not half of the truth.
        assert pose["follow"] == pytest.approx(0.5 * pose["driver_follow"], abs=0.06), name
        assert 0.35 < pose["follow"] < 0.65, name
    summary = result["summary"]
    assert 0.35 < summary["worst_follow"] < 0.65
    assert summary["residual"] > 0.05


def test_folds_are_counted_on_the_moved_face(portrait):
    result, _ = evaluate_portrait(*portrait, FoldingEngine(), FAST)
    assert all(pose["folded"] > 100 for pose in result["poses"].values())
    assert result["summary"]["folded"] == max(pose["folded"] for pose in result["poses"].values())


# ------------------------------------------------------------------------------------------- the CLI
def test_cli_runs_the_warp_engine_over_images_and_video_first_frames(portrait, tmp_path, capsys):
    from realtime.video_io import VideoWriter

    image, _ = portrait
    data = tmp_path / "data"
    (data / "clips").mkdir(parents=True)
    cv2.imwrite(str(data / "astronaut.png"), image[:, :, ::-1])
    (data / "notes.txt").write_text("not a portrait")
    cv2.imwrite(str(data / "blank.png"), np.full((64, 64, 3), 128, np.uint8))  # no face: skipped
    with VideoWriter(data / "clips" / "clip.mp4", (image.shape[1], image.shape[0]), 25.0) as writer:
        for _ in range(3):
            writer.write(image)
    out = tmp_path / "report.json"
    main(["--data", str(data), "--json", str(out), "--size", "256", "--lead", "2", "--ease", "1",
          "--hold", "1", "--sheets", str(tmp_path / "sheets")])  # fmt: skip
    report = json.loads(out.read_text())
    assert sorted(report["portraits"]) == ["astronaut.png", "clips/clip.mp4"]
    assert list(report["skipped"]) == ["blank.png"]
    for result in report["portraits"].values():
        assert set(result["poses"]) == {pose.name for pose in POSES}
        assert result["summary"]["folded"] is not None  # the warp engine reports its Jacobian
        assert 0.0 < result["summary"]["follow_x"] < 1.2
    assert sorted(p.name for p in (tmp_path / "sheets").iterdir()) == [
        "astronaut.png.png",
        "clips__clip.mp4.png",
    ]
    printed = capsys.readouterr().out
    assert "astronaut.png" in printed and "mean" in printed and "worst" in printed


def test_a_pose_whose_output_face_is_lost_follows_zero():
    kept = {"follow": 0.9, "truth_follow": 1.0, "driver_follow": 1.0, "residual": 0.02, "folded": 0,
            "outside_change": 0, "outside_pixels": 0, "frames_without_face": 0}  # fmt: skip
    lost = {**kept, "follow": None, "residual": None, "frames_without_face": 4}
    poses = {"x+": kept, "x-": lost, "roll": kept}
    summary = portrait_summary(poses, {**kept, "follow": None}, {"x+": "x", "x-": "x", "roll": "roll"})
    assert summary["follow_x"] == pytest.approx(0.45) and summary["follow_roll"] == pytest.approx(0.9)
    assert (summary["worst_follow"], summary["worst_pose"]) == (0.0, "x-")
    assert summary["frames_without_face"] == 4 and summary["residual"] == pytest.approx(0.02)


def test_table_says_n_a_for_engines_without_folds():
    summary = {"face_width": 0.4, "follow_x": 1.0, "follow_y": 1.0, "follow_scale": 1.0, "follow_roll": 1.0,
               "worst_follow": 0.9, "worst_pose": "x+0.8", "residual": 0.01, "residual_max": 0.02,
               "folded": None, "outside_change": 0, "outside_pixels": 0}  # fmt: skip
    portraits = {"a/b.png": {"summary": summary}, "c.png": {"summary": {**summary, "worst_follow": 0.5}}}
    mean, worst = overall(portraits)
    assert mean["worst_follow"] == pytest.approx(0.7) and worst["worst_follow"] == 0.5
    assert mean["folded"] is None
    table = format_table({"portraits": portraits, "mean": mean, "worst": worst})
    assert "n/a" in table and "b.png" in table and "a/b.png" not in table
