"""Self-reenactment quality benchmark.

    python -m bench.quality --data DIR --json OUT.json [--max-frames N] [--engine warp]

For every driving video in DIR: the source is the video's first frame and the whole video drives it; each
later output frame is compared with the real frame at the same index (frame 0, the source itself, is left
out of every mean). Scores per video, on a fixed face box taken from the real frames' landmarks (padded,
made square, resized to 256²):

* psnr, ssim (scikit-image, colour), l1 (mean absolute difference, 0..1); psnr_face and l1_face: the same
  on the real frame's face-oval pixels only (the padded box also holds hair, ears and background, which a
  warp that moves the whole head misplaces even when the face itself is right);
* akd: mean distance between MediaPipe landmarks re-detected on the output and on the real frame, divided
  by the real frame's inter-ocular distance;
* mouth_corr, eye_corr: Pearson correlation of the mouth-opening and eye-opening series with the truth;
* fold_share (engine only, when it offers ``jacobian_determinant``): share of face-oval pixels where the
  warp's Jacobian determinant is <= 0, mean over frames; fold_share_max the worst frame.

The same metrics are computed for two baselines: "static" (the first frame, unchanged) and "similarity"
(the first frame under the global 2-D similarity that best maps its landmarks onto the real frame's).
A global similarity moves the whole picture, so in the padded box it misplaces the hair, ears and
background that stay put in the real video: measured on ../shared/data it loses to "static" on psnr in every
video while beating it on psnr_face. Compare engines on both.

Writes OUT.json ``{"videos": {NAME: {"engine": {...}, "static": {...}, "similarity": {...}}},
"mean": {...}}``, a contact sheet OUT_NAME.png per video next to it (real frames above, output below) and
prints a table. Benchmarks measure; they assert nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from engines.base import Engine, EngineOptions, LivePuppetError, create_engine
from engines.landmarks import FACE_OVAL, eye_openings, inter_ocular, mouth_opening, similarity_fit
from realtime.driver import MotionDriver
from realtime.offline import FrameRenderer
from realtime.tracker import FaceTracker, find_portrait_face
from realtime.video_io import VideoReader

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v"}
METHODS = ("engine", "static", "similarity")
MAX_PSNR = 100.0  # dB, reported for identical images (instead of infinity)


@dataclass(frozen=True, slots=True)
class QualityConfig:
    max_frames: int = 150  # frames per video, frame 0 (the source) included
    crop: int = 256  # side of the face crop the image metrics are computed on
    padding: float = 0.15  # added around the landmark box on each side, as a share of its side
    columns: int = 8  # frames shown on a contact sheet


# ------------------------------------------------------------------------------------------- geometry
def face_box(landmarks: list[np.ndarray], padding: float) -> tuple[float, float, float]:
    """A square ``(centre_x, centre_y, side)`` holding every landmark of every frame, padded."""
    points = np.concatenate([points[:, :2] for points in landmarks])
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * padding)
    return float((x0 + x1) / 2), float((y0 + y1) / 2), float(side)


def crop_transform(box: tuple[float, float, float], crop: int) -> np.ndarray:
    """The 2x3 affine from image pixels to the ``crop``² face crop."""
    centre_x, centre_y, side = box
    scale = crop / side
    return np.array(
        [[scale, 0, crop / 2 - scale * centre_x], [0, scale, crop / 2 - scale * centre_y]], np.float64
    )


def similarity_2d(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares 2x3 similarity (rotation, uniform scale, translation) mapping (N, 2) ``source`` onto
    ``target``."""
    scale, rotation, offset = similarity_fit(source, target)
    return np.hstack([scale * rotation, offset[:, None]])


def oval_mask(landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Boolean (H, W) mask of the face oval polygon."""
    mask = np.zeros((size[1], size[0]), np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[FACE_OVAL, :2]).astype(np.int32)], 1)
    return mask.astype(bool)


def correlation(truth: list[float], predicted: list[float]) -> float | None:
    """Pearson correlation, None when either series is (nearly) constant or too short."""
    x, y = np.asarray(truth, np.float64), np.asarray(predicted, np.float64)
    if len(x) < 3 or x.std() < 1e-6 or y.std() < 1e-6:
        return None
    return float(np.corrcoef(x, y)[0, 1])


# ------------------------------------------------------------------------------------------- scoring
@dataclass
class MethodScores:
    """Per-frame metrics of one method (engine or baseline) on one video; ``summary()`` averages them."""

    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    l1: list[float] = field(default_factory=list)
    psnr_face: list[float] = field(default_factory=list)
    l1_face: list[float] = field(default_factory=list)
    akd: list[float] = field(default_factory=list)
    mouth: list[tuple[float, float]] = field(default_factory=list)  # (truth, output)
    eyes: list[tuple[float, float]] = field(default_factory=list)
    fold: list[float] = field(default_factory=list)
    frames_without_face: int = 0  # output frames where no face was re-detected

    def add_images(self, real: np.ndarray, output: np.ndarray, face: np.ndarray | None = None) -> None:
        """``real`` and ``output``: (crop, crop, 3) uint8 face crops; ``face``: (crop, crop) bool face-oval
        mask of the real frame, None when its face was not found."""
        if np.array_equal(real, output):
            self.psnr.append(MAX_PSNR)
        else:
            self.psnr.append(float(peak_signal_noise_ratio(real, output, data_range=255)))
        self.ssim.append(float(structural_similarity(real, output, channel_axis=2, data_range=255)))
        difference = np.abs(real.astype(np.float32) - output.astype(np.float32))  # (crop, crop, 3)
        self.l1.append(float(difference.mean() / 255.0))
        if face is not None and face.any():
            inside = difference[face]  # (P, 3)
            self.l1_face.append(float(inside.mean() / 255.0))
            self.psnr_face.append(_psnr_from_mse(float((inside**2).mean())))

    def add_landmarks(self, real: np.ndarray | None, output: np.ndarray | None) -> None:
        """(478, 3) landmarks in image pixels, None where no face was found."""
        if real is None:
            return
        if output is None:
            self.frames_without_face += 1
            return
        distance = np.linalg.norm(output[:, :2] - real[:, :2], axis=1).mean()
        self.akd.append(float(distance / max(inter_ocular(real), 1e-6)))
        self.mouth.append((mouth_opening(real), mouth_opening(output)))
        self.eyes.append((float(eye_openings(real).mean()), float(eye_openings(output).mean())))

    def summary(self) -> dict:
        def mean(values: list[float]) -> float | None:
            finite = [v for v in values if math.isfinite(v)]
            return float(np.mean(finite)) if finite else None

        result = {
            "frames": len(self.psnr),
            "psnr": mean(self.psnr),
            "ssim": mean(self.ssim),
            "l1": mean(self.l1),
            "psnr_face": mean(self.psnr_face),
            "l1_face": mean(self.l1_face),
            "akd": mean(self.akd),
            "mouth_corr": correlation(*zip(*self.mouth)) if self.mouth else None,
            "eye_corr": correlation(*zip(*self.eyes)) if self.eyes else None,
            "frames_without_face": self.frames_without_face,
        }
        if self.fold:
            result["fold_share"] = float(np.mean(self.fold))
            result["fold_share_max"] = float(np.max(self.fold))
        return result


def _psnr_from_mse(mse: float) -> float:
    return min(MAX_PSNR, float(10.0 * np.log10(255.0**2 / mse))) if mse > 0 else MAX_PSNR


def track_all(path: Path, max_frames: int) -> list[np.ndarray | None]:
    """Landmarks (478, 3) of the first ``max_frames`` frames (tracking mode), None where no face."""
    found: list[np.ndarray | None] = []
    with VideoReader(path) as reader, FaceTracker(static_image=False) as tracker:
        for frame in reader:
            if frame.index >= max_frames:
                break
            face = tracker.track(frame.image)
            found.append(None if face is None else face.landmarks)
    return found


def evaluate_video(
    path: Path, engine: Engine, config: QualityConfig = QualityConfig()
) -> tuple[dict, np.ndarray]:
    """Scores ``{method: {...}}`` for one driving video and its contact sheet (RGB uint8)."""
    # 1. Landmarks of the real frames fix the face box and serve as the truth.
    truth = track_all(path, config.max_frames)
    seen = [points for points in truth if points is not None]
    if truth[0] is None or not seen:
        raise ValueError(f"{path}: no face in the first frame")
    to_crop = crop_transform(face_box(seen, config.padding), config.crop)
    sheet_indices = set(
        np.unique(np.linspace(1, len(truth) - 1, config.columns).round().astype(int)).tolist()
    )
    sheet: list[tuple[np.ndarray, np.ndarray]] = []
    scores = {method: MethodScores() for method in METHODS}
    trackers = {method: FaceTracker(static_image=False) for method in METHODS}  # re-detection per stream
    crop_size = (config.crop, config.crop)

    def crop(image: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(
            image, to_crop, crop_size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )

    # 2. Drive the first frame with the whole video; score every later frame.
    driver = MotionDriver()
    try:
        with VideoReader(path) as reader:
            frames = iter(reader)
            first = next(frames)
            first_crop = crop(first.image)  # the static baseline's crop, the same every frame
            state = engine.prepare(first.image, find_portrait_face(first.image, name=str(path)))
            renderer = FrameRenderer(engine, state)
            driver.update(first)  # frame 0 calibrates the driver's neutral
            has_jacobian = callable(getattr(engine, "jacobian_determinant", None))
            for frame in frames:
                if frame.index >= len(truth):
                    break
                output = renderer.render(driver.update(frame), frame.timestamp)
                if output.shape != frame.image.shape:
                    output = cv2.resize(output, (frame.image.shape[1], frame.image.shape[0]))
                real_points = truth[frame.index]
                if has_jacobian and real_points is not None:
                    folded = engine.jacobian_determinant(state) <= 0
                    scores["engine"].fold.append(float(folded[oval_mask(real_points, reader.size)].mean()))
                candidates = {"engine": output, "static": first.image, "similarity": first.image}
                if real_points is not None:
                    matrix = similarity_2d(truth[0][:, :2], real_points[:, :2])
                    height, width = first.image.shape[:2]
                    candidates["similarity"] = cv2.warpAffine(
                        first.image,
                        matrix,
                        (width, height),
                        flags=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE,
                    )
                real_crop = crop(frame.image)
                face_mask = None
                if real_points is not None:
                    points = real_points[:, :2] @ to_crop[:, :2].T + to_crop[:, 2]  # (478, 2) crop px
                    face_mask = oval_mask(points, crop_size)
                crops = {m: first_crop if image is first.image else crop(image) for m, image in candidates.items()}
                for method, image in candidates.items():
                    scores[method].add_images(real_crop, crops[method], face_mask)
                    face = trackers[method].track(image)
                    scores[method].add_landmarks(real_points, None if face is None else face.landmarks)
                if frame.index in sheet_indices:
                    sheet.append((real_crop, crops["engine"]))
    finally:
        driver.close()
        for tracker in trackers.values():
            tracker.close()
    return {method: scores[method].summary() for method in METHODS}, contact_sheet(sheet)


def contact_sheet(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Real crops in the top row, outputs below (RGB uint8)."""
    if not pairs:
        return np.zeros((2, 2, 3), np.uint8)
    real, output = zip(*pairs)
    return np.concatenate([np.concatenate(real, axis=1), np.concatenate(output, axis=1)], axis=0)


def mean_over_videos(videos: dict) -> dict:
    """Per method, the mean of each numeric metric over the videos that have it."""
    result = {}
    for method in METHODS:
        keys = sorted({key for scores in videos.values() for key in scores[method]})
        values = {key: [scores[method].get(key) for scores in videos.values()] for key in keys}
        result[method] = {
            key: float(np.mean([v for v in vals if v is not None]))
            if any(v is not None for v in vals)
            else None
            for key, vals in values.items()
        }
    return result


def format_table(report: dict) -> str:
    columns = [
        ("PSNR eng", "engine", "psnr", "{:.2f}"), ("PSNR stat", "static", "psnr", "{:.2f}"),
        ("PSNR sim", "similarity", "psnr", "{:.2f}"), ("PSNRf eng", "engine", "psnr_face", "{:.2f}"),
        ("PSNRf stat", "static", "psnr_face", "{:.2f}"), ("PSNRf sim", "similarity", "psnr_face", "{:.2f}"),
        ("SSIM eng", "engine", "ssim", "{:.3f}"),
        ("SSIM sim", "similarity", "ssim", "{:.3f}"), ("L1 eng", "engine", "l1", "{:.4f}"),
        ("AKD eng", "engine", "akd", "{:.4f}"), ("AKD stat", "static", "akd", "{:.4f}"),
        ("AKD sim", "similarity", "akd", "{:.4f}"), ("mouth r", "engine", "mouth_corr", "{:.3f}"),
        ("eye r", "engine", "eye_corr", "{:.3f}"), ("fold max", "engine", "fold_share_max", "{:.2e}"),
    ]  # fmt: skip
    rows = [["video"] + [title for title, *_ in columns]]
    named = list(report["videos"].items()) + [("mean", report["mean"])]
    for name, scores in named:
        row = [name]
        for _, method, key, fmt in columns:
            value = scores[method].get(key)
            row.append("-" if value is None else fmt.format(value))
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in rows]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def run(data: Path, output: Path, engine_name: str, config: QualityConfig) -> dict:
    videos = sorted(p for p in data.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise SystemExit(f"no videos in {data}")
    output.parent.mkdir(parents=True, exist_ok=True)
    report: dict = {"engine": engine_name, "max_frames": config.max_frames, "videos": {}}
    engine = create_engine(engine_name, EngineOptions())
    try:
        for path in videos:
            started = time.perf_counter()
            try:
                scores, sheet = evaluate_video(path, engine, config)
            except (ValueError, LivePuppetError) as exc:
                log.warning("skipping %s: %s", path.name, exc)
                continue
            report["videos"][path.stem] = scores
            cv2.imwrite(str(output.with_name(f"{output.stem}_{path.stem}.png")), sheet[:, :, ::-1])
            log.info(
                "%s: %d frames in %.1f s",
                path.name,
                scores["engine"]["frames"],
                time.perf_counter() - started,
            )
    finally:
        engine.close()
    report["mean"] = mean_over_videos(report["videos"])
    output.write_text(json.dumps(report, indent=2))
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with driving videos")
    parser.add_argument(
        "--json", type=Path, required=True, help="report to write (contact sheets go beside it)"
    )
    parser.add_argument(
        "--max-frames",
        type=int,
        default=QualityConfig().max_frames,
        help="frames per video (default: %(default)s)",
    )
    parser.add_argument("--engine", default="warp", help="engine to evaluate (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    report = run(args.data, args.json, args.engine, QualityConfig(max_frames=args.max_frames))
    print(format_table(report))
    print(f"report: {args.json}")


if __name__ == "__main__":
    main()
