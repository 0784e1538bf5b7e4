"""Small media for the careless-user replay (:mod:`bench.careless`), made once from ../shared/data:

* ``portrait.png`` (one face, 256 px) and ``two_faces.png`` (a larger face right, a smaller one left);
* ``clip.mp4``: 12 frames of a talking driving video at 160 px with its sound; ``long.mp4``: 150 frames,
  long enough to be stopped midway; ``vfr.mp4``: 12 frames at irregular times (a phone-like variable frame
  rate, written with explicit timestamps) with sound; ``noface.mp4``: 8 frames of a blank wall;
* ``speech.m4a`` (AAC sound only), ``moves.yaml`` (a YAML timeline), ``moves.bin.json`` (random bytes);
* ``dev_vfr.mp4``: the VFR talking clip of dev_media (33-67 ms frame spacing, first picture at 0.033 s).
"""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

SIZE = 160  # driving frames, px
VFR_TIMES = (0.0, 0.033, 0.067, 0.2, 0.233, 0.5, 0.533, 0.567, 0.9, 0.933, 1.4, 1.433)  # seconds
TIME_BASE = Fraction(1, 90000)


def _driving_frames(video: Path, count: int) -> list[np.ndarray]:
    frames = []
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            frames.append(cv2.resize(frame.to_ndarray(format="rgb24"), (SIZE, SIZE), interpolation=cv2.INTER_AREA))
            if len(frames) == count:
                break
    return frames


def _tone(seconds: float, rate: int = 44100) -> np.ndarray:
    """(1, N) float32 mono: a 220 Hz tone with a click every 0.1 s (sync is audible)."""
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.6 * ((t % 0.1) < 0.002)
    return wave.astype(np.float32)[None]


def _write(path: Path, frames: list[np.ndarray], times: list[float], audio_seconds: float | None) -> None:
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        video.codec_context.time_base = TIME_BASE
        sound = container.add_stream("aac", rate=44100, layout="mono") if audio_seconds else None
        for image, time in zip(frames, times):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = round(time / TIME_BASE), TIME_BASE
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            _write_sound(container, sound, audio_seconds)


def _write_sound(container, stream, seconds: float) -> None:
    samples = _tone(seconds)
    for start in range(0, samples.shape[1], 1024):
        chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start : start + 1024]), format="fltp", layout="mono")
        chunk.sample_rate, chunk.pts, chunk.time_base = 44100, start, Fraction(1, 44100)
        container.mux(stream.encode(chunk))
    container.mux(stream.encode(None))


def _portrait(image_path: Path, side: int) -> np.ndarray:
    image = cv2.imread(str(image_path))
    scale = side / max(image.shape[:2])
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


DEV_VFR_CLIP = Path("dev_media/driving/t02_speech_man_halfbody_suit_vfr.mp4")  # phone-like VFR, with speech


def make_media(root: Path, folder: Path) -> dict[str, Path]:
    """Write the media into ``folder`` from the shared data folder ``root``; name -> path."""
    data = root / "liveportrait_examples"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in (
        "portrait.png", "two_faces.png", "clip.mp4", "long.mp4", "vfr.mp4", "noface.mp4", "speech.m4a",
        "moves.yaml", "moves.bin.json")}  # fmt: skip
    portrait = _portrait(data / "source" / "s42.jpg", 256)
    cv2.imwrite(str(paths["portrait.png"]), portrait)
    canvas = np.full((256, 448, 3), 235, np.uint8)
    canvas[:, 192:] = portrait
    canvas[32:224, 0:192] = _portrait(data / "source" / "s1.jpg", 192)
    cv2.imwrite(str(paths["two_faces.png"]), canvas)
    frames = _driving_frames(data / "driving" / "d10.mp4", 150)
    _write(paths["clip.mp4"], frames[:12], [i / 30 for i in range(12)], audio_seconds=0.4)
    _write(paths["long.mp4"], frames, [i / 30 for i in range(150)], audio_seconds=5.0)
    _write(paths["vfr.mp4"], frames[:12], list(VFR_TIMES), audio_seconds=1.5)
    wall = [np.full((SIZE, SIZE, 3), 120 + 4 * i, np.uint8) for i in range(8)]
    _write(paths["noface.mp4"], wall, [i / 25 for i in range(8)], audio_seconds=None)
    with av.open(str(paths["speech.m4a"]), "w", format="ipod") as container:
        _write_sound(container, container.add_stream("aac", rate=44100, layout="mono"), 1.0)
    paths["moves.yaml"].write_text("keyframes:\n  - {t: 0.0, smile: 0}\n  - {t: 0.3, smile: 0.8}\n")
    if (root / DEV_VFR_CLIP).is_file():
        paths["dev_vfr.mp4"] = shutil.copyfile(root / DEV_VFR_CLIP, folder / "dev_vfr.mp4")
    paths["moves.bin.json"].write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return paths


def frame_times(path: Path) -> list[float]:
    """Presentation times (s) of every video frame of ``path``."""
    with av.open(str(path)) as container:
        return [float(frame.time) for frame in container.decode(video=0)]


def has_sound(path: Path) -> bool:
    with av.open(str(path)) as container:
        return bool(container.streams.audio)
