"""Motion-range benchmark: does the head follow large, exactly known moves?

    python -m bench.motion_range --data DIR --json OUT.json [--sheets DIR] [--engine warp] [--size 512]
                                 [--lead 3] [--ease 6] [--hold 4] [--limit N]

For every portrait under DIR (recursively: every image, and the first frame of every video) a driving clip
is made from the portrait itself under known similarity transforms about its face centre (the rigid
landmarks' mean): shift ±0.8 inter-ocular distances (IOD) in x, ±0.5 IOD in y, scale 0.8 and 1.25, roll
±25°; a few neutral frames first (the driver calibrates on the untransformed portrait), then each pose eased
in, held and eased out. The clip drives the portrait through the CLI's own stages (MotionDriver ->
FrameRenderer -> engine). On each hold frame MediaPipe re-reads the output and the transformed portrait in
still-image mode (each read afresh: the tracking mode's crop lags a fast zoom by up to 13 % of it), and per
pose:

* follow: the least-squares similarity taking the portrait's rigid landmarks to the output's, compared
  with the known transform: shift along the pose's axis / intended shift, log-scale ratio, roll ratio
  (1.0 = all of the motion, 0 = none). ``truth_follow`` is the same read on the transformed portrait
  itself (the measurement's own ceiling, about 1.0); ``driver_follow`` what the CLI's driver read from it
  (the motion the engine was given);
* residual: mean distance of the output's landmarks from the transformed portrait's, over the latter's IOD
  (``truth_residual``: the transformed portrait's read against the portrait's read moved exactly, the
  detector's floor);

and over all its frames:

* folded: pixels where the warp's Jacobian determinant is <= 0 inside the face oval, at the portrait's
  face or the transformed one (engines offering ``jacobian_determinant``; n/a otherwise);
* outside change: the largest change (0..255, any channel) from the portrait outside the person's mask
  (MediaPipe selfie segmentation of the portrait) and the head's path (the head with its hair: the face
  oval and the person's pixels above the chin within 2 face sizes of the face, moved by every transform of
  the clip), both dilated; and the number of pixels there changed by more than a threshold.

Prints a table (per portrait, mean and worst), writes OUT.json and a contact sheet per portrait (each
pose's last hold frame: transformed portrait above, output below, and a third row marking in magenta the
output's changes outside the allowed region, which is shown dimmed). Benchmarks measure; they assert nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from bench.motion_range_masks import (
    allowed_region,
    folded_pixels,
    head_mask,
    head_path,
    outside_change,
    person_mask,
)
from bench.motion_range_poses import POSES, Schedule, clip_frames, pose_matrix, transform_points
from bench.motion_range_report import PoseScores, format_table, overall, portrait_summary
from bench.quality import VIDEO_SUFFIXES
from engines.base import Engine, EngineOptions, Face, LivePuppetError, create_engine
from engines.images import fit_longest_side
from engines.landmarks import RIGID, inter_ocular
from realtime.driver import MotionDriver
from realtime.offline import FrameRenderer, load_portrait
from realtime.stages import TimedFrame
from realtime.tracker import FaceTracker, find_portrait_face
from realtime.video_io import VideoReader

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
NEUTRAL = "neutral"


@dataclass(frozen=True, slots=True)
class MotionRangeConfig:
    size: int = 512  # longest side the portrait is worked at
    schedule: Schedule = field(default_factory=Schedule)
    fps: float = 25.0  # timestamps of the driving clip
    head_reach: float = 2.0  # the head (with hair) reaches this many face sizes from the face centre...
    below_chin: float = 0.05  # ...down to this many face heights below the chin
    dilation: float = 0.25  # IOD the person mask and the head's path are grown by
    change_threshold: int = 16  # a pixel outside them "changed" beyond this (0..255)
    tile: int = 256  # contact-sheet tile side


# ------------------------------------------------------------------------------------------- one portrait
def evaluate_portrait(
    portrait: np.ndarray, face: Face, engine: Engine, config: MotionRangeConfig = MotionRangeConfig()
) -> tuple[dict, np.ndarray]:
    """Scores ``{"poses": {name: {...}}, "neutral": {...}, "summary": {...}}`` of one portrait (RGB uint8,
    already at its working size) and its contact sheet (RGB uint8)."""
    # 1. The known clip, and where the output may change.
    height, width = portrait.shape[:2]
    centre = face.landmarks[RIGID, :2].mean(axis=0).astype(np.float64)
    iod = inter_ocular(face.landmarks)
    frames = clip_frames(config.schedule)
    matrices = [pose_matrix(frame.pose, frame.weight, centre, iod) for frame in frames]
    person = person_mask(portrait)
    path = head_path(head_mask(person, face.landmarks, config.head_reach, config.below_chin), matrices)
    outside = ~allowed_region(person, path, config.dilation * iod)
    # 2. The engine and the CLI's stages.
    state = engine.prepare(portrait, face)
    renderer = FrameRenderer(engine, state)
    jacobian = getattr(engine, "jacobian_determinant", None)
    can_fold = callable(jacobian)
    scores = {pose.name: PoseScores(pose, 0 if can_fold else None) for pose in POSES}
    scores[NEUTRAL] = PoseScores(None, 0 if can_fold else None)
    tiles: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]] = []
    driver = MotionDriver()
    reader = FaceTracker(static_image=True)  # measures: no memory of earlier frames, no lag
    # The portrait re-read the way the outputs and the transformed portraits are (the engine's own reading,
    # settled in tracking mode, differs from a still read by 1-3 % of the IOD).
    still = reader.track(portrait)
    reference = face.landmarks if still is None else still.landmarks
    try:
        for frame, matrix in zip(frames, matrices):
            # 3. The transformed portrait drives; the output is re-tracked.
            driving = cv2.warpAffine(portrait, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
            timestamp = frame.index / config.fps
            motion = driver.update(TimedFrame(driving, timestamp, frame.index))
            output = renderer.render(motion, timestamp)
            if output.shape != portrait.shape:
                output = cv2.resize(output, (width, height), interpolation=cv2.INTER_AREA)
            # 4. Every frame: outside change and folds; hold frames: follow and residual.
            pose_scores = scores[frame.pose.name if frame.pose is not None else NEUTRAL]
            # The face is where the transform puts it, where it was, or (partly following) in between.
            moved = transform_points(matrix, face.landmarks)
            folded = folded_pixels(jacobian(state), face.landmarks, moved) if can_fold else None
            pose_scores.add_frame(outside_change(output, portrait, outside, config.change_threshold), folded)
            if frame.hold:
                read = None
                if motion is not None and motion.face_found:
                    read = (motion.reference_face.landmarks, motion.driving_face.landmarks)
                truth, found = reader.track(driving), reader.track(output)
                pose_scores.add_hold(centre, iod, reference, None if truth is None else truth.landmarks,
                                     None if found is None else found.landmarks, read)  # fmt: skip
                last_hold = frame.index + 1 == len(frames) or not frames[frame.index + 1].hold
                if last_hold:
                    marked = mark_outside(output, portrait, outside, config.change_threshold)
                    tiles.append((driving.copy(), output.copy(), marked, frame.pose.name))
    finally:
        driver.close()
        reader.close()
    poses = {pose.name: scores[pose.name].summary() for pose in POSES}
    neutral = scores[NEUTRAL].summary()
    summary = portrait_summary(poses, neutral, {pose.name: pose.kind for pose in POSES})
    x0, _, x1, _ = face.box
    summary["face_width"] = (x1 - x0) / width
    result = {"iod": iod, "size": [width, height], "poses": poses, "neutral": neutral, "summary": summary}
    return result, contact_sheet(tiles, config.tile)


def mark_outside(output: np.ndarray, portrait: np.ndarray, outside: np.ndarray, threshold: int) -> np.ndarray:
    """A diagnostic view of ``output``: dimmed where it must not change, magenta where it changed there."""
    marked = output.copy()
    marked[outside] //= 3
    marked[outside & (cv2.absdiff(output, portrait).max(axis=2) > threshold)] = (255, 0, 255)
    return marked


def contact_sheet(tiles: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]], side: int) -> np.ndarray:
    """Per hold: the transformed portrait on top (labelled with the pose), the output below it and, in the
    third row, the output marked by :func:`mark_outside` (RGB uint8)."""
    if not tiles:
        return np.zeros((2, 2, 3), np.uint8)
    rows: list[list[np.ndarray]] = [[], [], []]
    for driving, output, marked, label in tiles:
        shown = fit_longest_side(driving, side).copy()
        cv2.putText(shown, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1, cv2.LINE_AA)
        for row, image in zip(rows, (shown, fit_longest_side(output, side), fit_longest_side(marked, side))):
            row.append(image)
    return np.concatenate([np.concatenate(row, axis=1) for row in rows], axis=0)


# ------------------------------------------------------------------------------------------- portraits
def find_portraits(data: Path) -> list[Path]:
    """Every image and video under ``data``, recursively, sorted."""
    suffixes = IMAGE_SUFFIXES | VIDEO_SUFFIXES
    return sorted(path for path in data.rglob("*") if path.is_file() and path.suffix.lower() in suffixes)


def load_any_portrait(path: Path, size: int) -> tuple[np.ndarray, Face]:
    """An image, or a video's first frame, at ``size`` on its longest side, and its face."""
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        return load_portrait(path, size)
    with VideoReader(path) as reader:
        first = next(iter(reader), None)
    if first is None:
        raise LivePuppetError(f"{path}: no frame could be read")
    image = np.ascontiguousarray(fit_longest_side(first.image, size))
    return image, find_portrait_face(image, name=str(path))


def run(
    data: Path, output: Path, engine_name: str, config: MotionRangeConfig, sheets: Path | None = None,
    limit: int | None = None,
) -> dict:  # fmt: skip
    paths = find_portraits(data)[:limit]
    if not paths:
        raise LivePuppetError(f"no images or videos under {data}")
    output.parent.mkdir(parents=True, exist_ok=True)
    sheets = sheets if sheets is not None else output.with_name(f"{output.stem}_sheets")
    sheets.mkdir(parents=True, exist_ok=True)
    schedule = config.schedule
    report: dict = {
        "engine": engine_name, "size": config.size,
        "schedule": {"lead": schedule.lead, "ease": schedule.ease, "hold": schedule.hold},
        "poses": {pose.name: {"kind": pose.kind, "amount": pose.amount} for pose in POSES},
        "dilation_iod": config.dilation, "head_reach": config.head_reach,
        "change_threshold": config.change_threshold, "portraits": {}, "skipped": {},
    }  # fmt: skip
    engine = create_engine(engine_name, EngineOptions(output_size=config.size))
    try:
        for path in paths:
            name = path.relative_to(data).as_posix()
            started = time.perf_counter()
            try:
                portrait, face = load_any_portrait(path, config.size)
                result, sheet = evaluate_portrait(portrait, face, engine, config)
            except (LivePuppetError, ValueError) as exc:
                log.warning("skipping %s: %s", name, exc)
                report["skipped"][name] = str(exc)
                continue
            result["seconds"] = round(time.perf_counter() - started, 2)
            report["portraits"][name] = result
            cv2.imwrite(str(sheets / f"{name.replace('/', '__')}.png"), sheet[:, :, ::-1])
            log.info("%s: %.1f s", name, result["seconds"])
    finally:
        engine.close()
    report["mean"], report["worst"] = overall(report["portraits"])
    output.write_text(json.dumps(report, indent=2))
    return report


def build_parser() -> argparse.ArgumentParser:
    defaults, schedule = MotionRangeConfig(), Schedule()
    parser = argparse.ArgumentParser(
        prog="python -m bench.motion_range", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--data", type=Path, required=True, help="folder searched for portraits and videos")
    parser.add_argument("--json", type=Path, required=True, help="report to write")
    parser.add_argument(
        "--sheets", type=Path, help="folder for the contact sheets (default: beside the JSON)"
    )
    parser.add_argument("--engine", default="warp", help="engine to evaluate (default: %(default)s)")
    parser.add_argument("--size", type=int, default=defaults.size, help="longest side (default: %(default)s)")
    parser.add_argument(
        "--lead", type=int, default=schedule.lead, help="neutral frames first (default: %(default)s)"
    )
    parser.add_argument(
        "--ease", type=int, default=schedule.ease, help="frames easing in/out (default: %(default)s)"
    )
    parser.add_argument(
        "--hold", type=int, default=schedule.hold, help="frames held per pose (default: %(default)s)"
    )
    parser.add_argument(
        "--limit", "--max-portraits", dest="limit", type=int, help="evaluate the first N portraits"
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if min(args.lead, args.hold) < 1 or args.ease < 0:
        raise SystemExit("--lead and --hold must be at least 1, --ease at least 0")
    config = MotionRangeConfig(
        size=args.size, schedule=Schedule(lead=args.lead, ease=args.ease, hold=args.hold)
    )
    try:
        report = run(args.data, args.json, args.engine, config, args.sheets, args.limit)
    except LivePuppetError as exc:
        raise SystemExit(str(exc)) from None
    print(format_table(report))
    for name, reason in report["skipped"].items():
        print(f"skipped {name}: {reason}")
    print(f"report: {args.json}")


if __name__ == "__main__":
    main()
