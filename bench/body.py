"""Upper-body motion benchmark: self-reenactment with the body on and off, and a synthetic check.

    python -m bench.body --data DIR --json OUT.json [--max-frames N] [--engine warp]

Every driving video under DIR (searched recursively) whose first frame shows both shoulders is used as in
bench.quality: the first frame is the portrait, the whole video drives it, each output frame is compared
with the real frame at the same index (frame 0 left out). Per video and method ("body_on": the engine with
the body motion, "body_off": the same engine and face motion without it, "static": the first frame,
"similarity": the first frame under the 2-D similarity of its face onto the real frame's, and "real_body": the
body-off output with the real frame's own pixels wherever the body is (below the chin, and beside the head
below the nose): what a perfect body transfer would score under this measurement, its ceiling):

* body_error: mean distance of the shoulder, elbow and wrist points visible in both the output and the
  real frame (MediaPipe pose re-run on each, tracking mode per stream), over the real frame's shoulder
  width; mean over frames;
* shoulder_corr: Pearson correlation of the output's shoulder-line angle with the real one's;
* akd, mouth_corr, eye_corr: the face metrics of bench.quality (MediaPipe face mesh re-run on the output).

Synthetic check (``synthetic`` in the JSON): each such first frame driven by itself with a known shoulder
tilt and sideways lean (the head carried along by the lean); the shoulders re-detected on the output against
the known motion, with the body on and off.

Writes OUT.json, a contact sheet OUT_NAME.png per video (real, body on, body off; full frames) and prints
a table. Benchmarks measure; they assert nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from bench.quality import VIDEO_SUFFIXES, MethodScores, correlation, similarity_2d
from engines.base import BodyMotion, Engine, EngineOptions, LivePuppetError, Motion, create_engine
from engines.body import (
    ARM_POINTS, LEFT_SHOULDER, RIGHT_SHOULDER, SHOULDERS, Body, PoseReader, find_portrait_body, retarget_body,
)
from engines.landmarks import FACE_OVAL, inter_ocular, neutral_points
from realtime.driver import DriverConfig, MotionDriver
from realtime.offline import FrameRenderer
from realtime.tracker import FaceTracker, find_portrait_face
from realtime.video_io import VideoReader

log = logging.getLogger(__name__)

METHODS = ("body_on", "body_off", "static", "similarity", "real_body")
SCORED_POINTS = np.concatenate([SHOULDERS, ARM_POINTS])  # shoulders, elbows, wrists
SYNTHETIC_TILT = 8.0  # degrees of shoulder-line tilt in the synthetic check
SYNTHETIC_LEAN = 0.1  # shoulder widths of sideways lean


@dataclass(frozen=True, slots=True)
class BodyBenchConfig:
    max_frames: int = 150  # frames per video, frame 0 (the source) included
    columns: int = 6  # frames shown on a contact sheet
    sheet_height: int = 180  # px per frame on the contact sheet


def shoulder_angle(body: Body) -> float:
    line = body.points[LEFT_SHOULDER] - body.points[RIGHT_SHOULDER]
    return float(np.degrees(np.arctan2(line[1], line[0])))


@dataclass
class BodyScores:
    """Per-frame body metrics of one method on one video, and its face metrics (bench.quality's)."""

    errors: list[float] = field(default_factory=list)
    angles: list[tuple[float, float]] = field(default_factory=list)  # (truth, output) degrees
    face: MethodScores = field(default_factory=MethodScores)
    frames_without_body: int = 0

    def add(self, real: Body | None, output: Body | None) -> None:
        if real is None or not real.shows_shoulders:
            return
        if output is None:
            self.frames_without_body += 1
            return
        both = real.visible[SCORED_POINTS] & output.visible[SCORED_POINTS]
        if both.any():
            distance = np.linalg.norm(output.points[SCORED_POINTS] - real.points[SCORED_POINTS], axis=1)[both]
            self.errors.append(float(distance.mean() / max(real.shoulder_width, 1e-6)))
        if output.shows_shoulders:
            self.angles.append((shoulder_angle(real), shoulder_angle(output)))

    def summary(self) -> dict:
        face = self.face.summary()
        return {
            "frames": len(self.errors),
            "body_error": float(np.mean(self.errors)) if self.errors else None,
            "shoulder_corr": correlation(*zip(*self.angles)) if self.angles else None,
            "frames_without_body": self.frames_without_body,
            **{key: face[key] for key in ("akd", "mouth_corr", "eye_corr", "frames_without_face")},
        }


def first_frame_body(path: Path) -> tuple[np.ndarray, Body] | None:
    """The first frame of ``path`` and its body, when that body shows both shoulders."""
    with VideoReader(path) as reader:
        first = next(iter(reader), None)
    if first is None:
        return None
    body = find_portrait_body(first.image)
    return (first.image, body) if body is not None and body.shows_shoulders else None


def evaluate_video(path: Path, engine: Engine, config: BodyBenchConfig) -> tuple[dict, np.ndarray]:
    """Scores ``{method: {...}}`` for one driving video and its contact sheet (RGB uint8)."""
    scores = {method: BodyScores() for method in METHODS}
    pose_readers = {method: PoseReader(static_image=False) for method in (*METHODS, "real")}
    face_trackers = {method: FaceTracker(static_image=False) for method in (*METHODS, "real")}
    driver = MotionDriver(DriverConfig(body=True))
    sheet: list[list[np.ndarray]] = []
    try:
        with VideoReader(path) as reader:
            frames = iter(reader)
            first = next(frames)
            face = find_portrait_face(first.image, name=str(path))
            renderers = {method: FrameRenderer(engine, engine.prepare(first.image, face)) for method in METHODS[:2]}
            total = min(config.max_frames, reader.frame_count or config.max_frames)
            sheet_indices = set(np.unique(np.linspace(1, total - 1, config.columns).round().astype(int)).tolist())
            driver.update(first)  # frame 0 calibrates the driver's neutral (face and body)
            for reader_name in ("real", *METHODS):  # every stream starts from the first frame
                pose_readers[reader_name].read(first.image)
                face_trackers[reader_name].track(first.image)
            for frame in frames:
                if frame.index >= config.max_frames:
                    break
                motion = driver.update(frame)
                real_face = face_trackers["real"].track(frame.image)
                outputs = {
                    "body_on": renderers["body_on"].render(motion, frame.timestamp).copy(),
                    "body_off": renderers["body_off"].render(
                        None if motion is None else dataclasses.replace(motion, body=None), frame.timestamp
                    ).copy(),
                    "static": first.image,
                    "similarity": _similarity(first.image, face.landmarks, real_face),
                }
                outputs["real_body"] = _with_real_body(outputs["body_off"], frame.image, real_face)
                real_body = pose_readers["real"].read(frame.image)
                for method, image in outputs.items():
                    scores[method].add(real_body, pose_readers[method].read(image))
                    output_face = face_trackers[method].track(image)
                    scores[method].face.add_landmarks(
                        None if real_face is None else real_face.landmarks,
                        None if output_face is None else output_face.landmarks,
                    )
                if frame.index in sheet_indices:
                    sheet.append([_thumbnail(image, config.sheet_height) for image in (frame.image, outputs["body_on"], outputs["body_off"])])
    finally:
        driver.close()
        for resource in (*pose_readers.values(), *face_trackers.values()):
            resource.close()
    rows = [np.concatenate([column[row] for column in sheet], axis=1) for row in range(3)] if sheet else []
    return {method: scores[method].summary() for method in METHODS}, np.concatenate(rows, axis=0) if rows else np.zeros((2, 2, 3), np.uint8)


def _similarity(image: np.ndarray, source_landmarks: np.ndarray, real_face) -> np.ndarray:
    if real_face is None:
        return image
    matrix = similarity_2d(source_landmarks[:, :2], real_face.landmarks[:, :2])
    height, width = image.shape[:2]
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _with_real_body(output: np.ndarray, real: np.ndarray, real_face) -> np.ndarray:
    """``output`` with ``real``'s pixels below the real chin (by a tenth of the face's height) and beside the
    head (over 0.8 face widths from its centre) below the nose: the real body under the rendered head."""
    if real_face is None:
        return output
    points = real_face.landmarks[:, :2]
    chin, top, nose = points[152], points[10], points[1]
    face_width = float(np.ptp(points[FACE_OVAL, 0]))
    height, width = real.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    below = ys > chin[1] + 0.1 * float(np.linalg.norm(chin - top))
    beside = (np.abs(xs - points[FACE_OVAL, 0].mean()) > 0.8 * face_width) & (ys > nose[1])
    return np.where((below | beside)[..., None], real, output)


def _thumbnail(image: np.ndarray, height: int) -> np.ndarray:
    width = round(image.shape[1] * height / image.shape[0])
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def synthetic_check(image: np.ndarray, body: Body, engine: Engine) -> dict:
    """The portrait driven by itself with a known shoulder tilt and sideways lean, the head carried along
    by the lean as a person's is (no other face motion): the shoulders re-detected on the output (MediaPipe
    pose, still-image mode) against the known motion, with the body on and off (the head moves in both)."""
    face = find_portrait_face(image)
    neutral = neutral_points(face.landmarks)
    known = BodyMotion(roll=float(np.radians(SYNTHETIC_TILT)), shift=np.array([SYNTHETIC_LEAN, 0.0], np.float32))
    head_shift = SYNTHETIC_LEAN * body.shoulder_width / inter_ocular(face.landmarks)  # face-frame units
    leaning = dataclasses.replace(
        Motion.identity(neutral), face_found=True, driving_weight=1.0, translation=np.array([head_shift, 0.0], np.float32)
    )
    expected = retarget_body(body, known)[SHOULDERS]
    result = {"tilt_deg": SYNTHETIC_TILT, "lean": SYNTHETIC_LEAN}
    for name, body_motion in (("body_on", known), ("body_off", None)):
        state = engine.prepare(image, face)
        output = engine.render(state, dataclasses.replace(leaning, body=body_motion))
        warp = getattr(state, "body", None)
        if body_motion is not None and warp is not None and warp.last_map is not None:
            # Where the body layer's map reads at the expected shoulders: the portrait's own (the warp's own
            # error, in px, free of the pose model's); only for shoulders the motion keeps inside the frame.
            height, width = image.shape[:2]
            inside = [(point, source) for point, source in zip(expected, body.points[SHOULDERS])
                      if 0 <= point[0] <= width - 1 and 0 <= point[1] <= height - 1]  # fmt: skip
            errors = [
                np.linalg.norm(cv2.remap(warp.last_map, *np.float32(point).reshape(2, 1, 1), cv2.INTER_LINEAR)[0, 0] - source)
                for point, source in inside
            ]
            result["warp_error_px"] = float(max(errors)) if errors else None
        seen = find_portrait_body(output)
        if seen is None or not seen.shows_shoulders:
            result[name] = None
            continue
        width = body.shoulder_width
        shift = (seen.points[SHOULDERS].mean(axis=0) - body.points[SHOULDERS].mean(axis=0)) / width
        result[name] = {
            "tilt_deg": shoulder_angle(seen) - shoulder_angle(body),
            "lean": float(shift[0]),
            "shoulder_error": float(np.linalg.norm(seen.points[SHOULDERS] - expected, axis=1).mean() / width),
        }
    return result


def format_table(report: dict) -> str:
    columns = [
        ("err on", "body_on", "body_error", "{:.3f}"), ("err off", "body_off", "body_error", "{:.3f}"),
        ("err stat", "static", "body_error", "{:.3f}"), ("err sim", "similarity", "body_error", "{:.3f}"),
        ("err real-body", "real_body", "body_error", "{:.3f}"), ("on/off", None, "error_ratio", "{:.2f}"),
        ("real-body/off", None, "ceiling_ratio", "{:.2f}"), ("angle r real-body", "real_body", "shoulder_corr", "{:.3f}"),
        ("angle r on", "body_on", "shoulder_corr", "{:.3f}"), ("angle r off", "body_off", "shoulder_corr", "{:.3f}"),
        ("AKD on", "body_on", "akd", "{:.4f}"), ("AKD off", "body_off", "akd", "{:.4f}"),
        ("AKD on/off", None, "akd_ratio", "{:.3f}"),
    ]  # fmt: skip
    rows = [["video"] + [title for title, *_ in columns]]
    for name, scores in report["videos"].items():
        row = [name]
        for _, method, key, fmt in columns:
            value = scores.get(key) if method is None else scores[method].get(key)
            row.append("-" if value is None else fmt.format(value))
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or not math.isfinite(denominator) or denominator <= 0:
        return None
    return numerator / denominator


def run(data: Path, output: Path, engine_name: str, config: BodyBenchConfig) -> dict:
    videos = sorted(p for p in data.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    output.parent.mkdir(parents=True, exist_ok=True)
    report: dict = {"engine": engine_name, "max_frames": config.max_frames, "videos": {}, "synthetic": {}}
    engine = create_engine(engine_name, EngineOptions())
    try:
        for path in videos:
            found = first_frame_body(path)
            if found is None:
                log.info("%s: the first frame does not show both shoulders; left out", path.name)
                continue
            started = time.perf_counter()
            try:
                scores, sheet = evaluate_video(path, engine, config)
                report["synthetic"][path.stem] = synthetic_check(*found, engine)
            except (ValueError, LivePuppetError) as exc:
                log.warning("skipping %s: %s", path.name, exc)
                continue
            scores["error_ratio"] = _ratio(scores["body_on"]["body_error"], scores["body_off"]["body_error"])
            scores["ceiling_ratio"] = _ratio(scores["real_body"]["body_error"], scores["body_off"]["body_error"])
            scores["akd_ratio"] = _ratio(scores["body_on"]["akd"], scores["body_off"]["akd"])
            report["videos"][path.stem] = scores
            cv2.imwrite(str(output.with_name(f"{output.stem}_{path.stem}.png")), sheet[:, :, ::-1])
            log.info("%s: %d frames in %.1f s", path.name, scores["body_on"]["frames"], time.perf_counter() - started)
    finally:
        engine.close()
    output.write_text(json.dumps(report, indent=2))
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.body", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder searched for driving videos")
    parser.add_argument("--json", type=Path, required=True, help="report to write (contact sheets go beside it)")
    parser.add_argument("--max-frames", type=int, default=BodyBenchConfig().max_frames, help="frames per video (default: %(default)s)")
    parser.add_argument("--engine", default="warp", help="engine to evaluate (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    report = run(args.data, args.json, args.engine, BodyBenchConfig(max_frames=args.max_frames))
    print(format_table(report))
    for name, check in report["synthetic"].items():
        print(f"synthetic {name}: {json.dumps(check)}")
    print(f"report: {args.json}")


if __name__ == "__main__":
    main()
