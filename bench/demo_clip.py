"""A portrait and a driving clip for the live benchmarks on machines without media (the GPU check).

    python -m bench.demo_clip OUT_DIR [--seconds 12] [--fps 30]

Writes ``OUT_DIR/portrait.png`` (the bundled portrait: scikit-image's public-domain astronaut) and
``OUT_DIR/driving.mp4``: that portrait animated by the demo's motion script with the warp engine, at
``--fps``, written with OpenCV (mp4v; PyAV is not needed). Prints the two paths.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2


def write_clip(out_dir: Path, seconds: float, fps: float) -> tuple[Path, Path]:
    from skimage import data

    from engines.base import EngineOptions, create_engine
    from engines.landmarks import neutral_points
    from realtime.demo_script import script_motions
    from realtime.offline import FrameRenderer
    from realtime.tracker import find_portrait_face

    out_dir.mkdir(parents=True, exist_ok=True)
    portrait = data.astronaut()  # (512, 512, 3) RGB
    face = find_portrait_face(portrait, name="the bundled astronaut portrait")
    portrait_path, clip_path = out_dir / "portrait.png", out_dir / "driving.mp4"
    cv2.imwrite(str(portrait_path), cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR))
    engine = create_engine("warp", EngineOptions())
    height, width = portrait.shape[:2]
    writer = cv2.VideoWriter(str(clip_path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    try:
        renderer = FrameRenderer(engine, engine.prepare(portrait, face))
        for timestamp, motion in script_motions(neutral_points(face.landmarks), fps, seconds):
            writer.write(cv2.cvtColor(renderer.render(motion, timestamp), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
        engine.close()
    return portrait_path, clip_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.demo_clip", description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args(argv)
    for path in write_clip(args.out_dir, args.seconds, args.fps):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
