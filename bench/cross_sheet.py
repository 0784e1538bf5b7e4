"""Cross sheet: every portrait driven by the same driving clips, a few frames each, in one picture to look at.

    python -m bench.cross_sheet --portraits DIR --driving A.mp4 B.mp4 --out cross.png
                                [--frames 4] [--cell 160] [--max-frames 150] [--engine warp]

One row per portrait (every image under DIR, sorted): the portrait itself, then ``--frames`` evenly spaced
outputs for each driving clip (the clip's own frame above each output column in the header row). The
driver calibrates on each clip's first frame, as ``livepuppet render`` does. Made for eyes, not numbers:
black eye slits, dark bars, ghost heads, torn hair and seams show here at a glance. Writes the PNG only.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import cv2
import numpy as np

from engines.base import EngineOptions, LivePuppetError, create_engine
from realtime.driver import MotionDriver
from realtime.offline import FrameRenderer, load_portrait
from realtime.video_io import VideoReader

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
log = logging.getLogger("bench.cross_sheet")


def _cell(image: np.ndarray, size: int) -> np.ndarray:
    """``image`` (RGB) fitted into a size×size grey cell."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    fitted = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    cell = np.full((size, size, 3), 64, np.uint8)
    y, x = (size - fitted.shape[0]) // 2, (size - fitted.shape[1]) // 2
    cell[y : y + fitted.shape[0], x : x + fitted.shape[1]] = fitted
    return cell


def _picks(count: int, frames: int) -> list[int]:
    return sorted({int(round(i)) for i in np.linspace(1, max(count - 1, 1), frames)})


def drive(engine, portrait_path: Path, driving: Path, picks: list[int], size: int, max_frames: int) -> list[np.ndarray]:
    """The outputs at frame indices ``picks`` of ``driving`` driving the portrait (cells)."""
    image, face = load_portrait(portrait_path, 512)
    state = engine.prepare(image, face)
    renderer = FrameRenderer(engine, state)
    wanted, cells = set(picks), []
    driver = MotionDriver()
    try:
        with VideoReader(driving) as reader:
            for frame in reader:
                if frame.index >= max_frames or frame.index > max(picks):
                    break
                motion = driver.update(frame)
                if motion is None:
                    continue
                output = renderer.render(motion, frame.timestamp)
                if frame.index in wanted:
                    cells.append(_cell(output, size))
    finally:
        driver.close()
    while len(cells) < len(picks):  # the clip ended early or had no face yet
        cells.append(np.full((size, size, 3), 64, np.uint8))
    return cells


def header(driving: list[Path], picks: list[list[int]], size: int) -> list[np.ndarray]:
    cells = [np.full((size, size, 3), 255, np.uint8)]
    for path, indices in zip(driving, picks):
        with VideoReader(path) as reader:
            frames = {frame.index: frame.image for frame in reader if frame.index in set(indices)}
        cells += [_cell(frames[i], size) if i in frames else np.full((size, size, 3), 64, np.uint8) for i in indices]
    return cells


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--portraits", type=Path, required=True, help="folder of portrait images")
    parser.add_argument("--driving", type=Path, nargs="+", required=True, help="driving clips (two suit a sheet)")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--frames", type=int, default=4, help="outputs per clip (default: 4)")
    parser.add_argument("--cell", type=int, default=160, help="cell side in px (default: 160)")
    parser.add_argument("--max-frames", type=int, default=150, help="frames read per clip (default: 150)")
    parser.add_argument("--engine", default="warp")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    portraits = sorted(p for p in args.portraits.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    picks = []
    for path in args.driving:
        with VideoReader(path) as reader:
            count = min(reader.frame_count or args.max_frames, args.max_frames)
        picks.append(_picks(count, args.frames))
    rows = [np.concatenate(header(args.driving, picks, args.cell), axis=1)]
    engine = create_engine(args.engine, EngineOptions())
    try:
        for portrait in portraits:
            try:
                cells = [_cell(load_portrait(portrait, 512)[0], args.cell)]
                for path, indices in zip(args.driving, picks):
                    cells += drive(engine, portrait, path, indices, args.cell, args.max_frames)
            except LivePuppetError as exc:
                log.info("skipped %s: %s", portrait.name, exc)
                continue
            rows.append(np.concatenate(cells, axis=1))
            log.info("%s done", portrait.name)
    finally:
        engine.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
