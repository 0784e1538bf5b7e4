"""Lip-sync benchmark: how well the mouth predicted from the sound alone follows the real mouth.

    python -m bench.lipsync --data ../shared/data/liveportrait_examples/driving --json lipsync.json

For every video with a sound track under ``--data``: the speech -> mouth model's opening (from the audio
only) against the mouth opening measured on the face in the same video (MediaPipe face mesh,
:func:`engines.landmarks.mouth_opening`), as the Pearson correlation per video, at lag 0 and at the best lag
within +-100 ms (10 ms steps; a positive lag means the face moves after the sound). Videos without audio are
listed as skipped.

Also the live sound-to-mouth latency: the audio block (buffering), the model's step response (time from a
voice onset to half the final opening, run on a synthesized vowel), the processing time per block, and, when
a microphone is there, PortAudio's reported input latency. Prints a table and writes JSON; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from engines.landmarks import mouth_opening
from realtime.audio.mouth_model import MouthConfig, MouthModel, analyse
from realtime.audio.source import load_audio

log = logging.getLogger("bench.lipsync")

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi")
MAX_LAG = 0.1
LAG_STEP = 0.01


def has_audio(path: Path) -> bool:
    import av

    try:
        with av.open(str(path)) as container:
            return bool(container.streams.audio)
    except av.error.FFmpegError:
        return False


def measured_openings(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(times (T,), mouth openings (T,), NaN where no face) of a video, by MediaPipe in tracking mode."""
    from realtime.tracker import FaceTracker
    from realtime.video_io import VideoReader

    times, openings = [], []
    with FaceTracker(static_image=False, max_faces=1) as tracker, VideoReader(path) as reader:
        for frame in reader:
            face = tracker.track(frame.image)
            times.append(frame.timestamp)
            openings.append(mouth_opening(face.landmarks) if face is not None else np.nan)
    return np.asarray(times), np.asarray(openings, np.float64)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    valid = np.isfinite(a) & np.isfinite(b)
    if valid.sum() < 10 or np.std(a[valid]) == 0 or np.std(b[valid]) == 0:
        return float("nan")
    return float(np.corrcoef(a[valid], b[valid])[0, 1])


def lag_scan(track_times: np.ndarray, predicted: np.ndarray, times: np.ndarray, measured: np.ndarray) -> dict:
    """Correlation of the prediction shifted by each lag against the measurement."""
    lags = np.round(np.arange(-MAX_LAG, MAX_LAG + 1e-9, LAG_STEP), 3)
    values = []
    for lag in lags:
        # lag > 0: the face moves after the sound, so the frame at t matches the sound at t - lag
        shifted = np.interp(times - lag, track_times, predicted, left=np.nan, right=np.nan)
        values.append(correlation(shifted, measured))
    values = np.asarray(values)
    best = int(np.nanargmax(values))
    return {
        "r_lag0": float(values[len(lags) // 2]),
        "r_best": float(values[best]),
        "best_lag_ms": float(lags[best] * 1e3),
    }


def evaluate_video(path: Path, config: MouthConfig) -> dict:
    started = time.perf_counter()
    samples = load_audio(path, config.sample_rate)
    track = analyse(samples, config)
    model_seconds = time.perf_counter() - started
    times, measured = measured_openings(path)
    result = lag_scan(track.times, track.values[:, 0], times, measured)
    result.update(
        video=path.name,
        frames=len(times),
        frames_with_face=int(np.isfinite(measured).sum()),
        audio_seconds=round(len(samples) / config.sample_rate, 2),
        model_realtime_factor=round(model_seconds / max(len(samples) / config.sample_rate, 1e-9), 4),
    )
    return result


def synthetic_vowel(seconds: float, sample_rate: int, f0: float = 120.0) -> np.ndarray:
    """An /a/-like vowel: a glottal pulse train through three formant resonators (730, 1090, 2440 Hz)."""
    from scipy.signal import lfilter

    n = int(seconds * sample_rate)
    source = np.zeros(n)
    source[:: int(sample_rate / f0)] = 1.0
    out = source
    for freq, bandwidth in ((730, 90), (1090, 110), (2440, 170)):
        r = np.exp(-np.pi * bandwidth / sample_rate)
        theta = 2 * np.pi * freq / sample_rate
        out = lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], out)
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def latency(config: MouthConfig, block_size: int = 160, device: str | int | None = None) -> dict:
    """Live sound-to-mouth latency parts, in milliseconds (see the module docstring)."""
    rate = config.sample_rate
    rng = np.random.default_rng(0)
    silence = (1e-3 * rng.standard_normal(rate)).astype(np.float32)
    voice = synthetic_vowel(1.0, rate) + (1e-3 * rng.standard_normal(rate)).astype(np.float32)
    signal = np.concatenate([silence, voice])
    model = MouthModel(config)
    openings, per_block = [], []
    for start in range(0, len(signal), block_size):
        t0 = time.perf_counter()
        states = model.push(signal[start : start + block_size])
        per_block.append(time.perf_counter() - t0)
        openings.extend(s.opening for s in states)
    openings = np.asarray(openings)
    hop_s = config.hop / rate
    onset_hop = len(silence) / config.hop
    plateau = float(np.median(openings[int(onset_hop) + 20 :]))
    crossed = int(np.argmax(openings >= 0.5 * plateau))
    response = max(0.0, (crossed + 1) * hop_s - len(silence) / rate)  # states are stamped at their hop's end
    result = {
        "block_ms": 1e3 * block_size / rate,
        "model_response_ms": 1e3 * response,
        "processing_per_block_ms": 1e3 * float(np.median(per_block)),
        "processing_per_block_p99_ms": 1e3 * float(np.percentile(per_block, 99)),
    }
    device_ms = _device_input_latency_ms(rate, block_size, device)
    result["device_input_ms"] = device_ms
    parts = ("block_ms", "model_response_ms", "processing_per_block_ms", "device_input_ms")
    result["total_ms"] = sum(result[k] for k in parts if result[k] is not None)
    return result


def _device_input_latency_ms(rate: int, block_size: int, device: str | int | None) -> float | None:
    """PortAudio's input latency for the microphone, or None without PortAudio or a microphone."""
    try:
        import sounddevice as sd

        with sd.InputStream(
            device=device, samplerate=rate, blocksize=block_size, channels=1, dtype="float32", latency="low"
        ) as s:
            return 1e3 * float(s.latency)
    except Exception as exc:  # noqa: BLE001 - no PortAudio, no device: reported, not fatal
        log.info("no microphone latency (%s)", exc)
        return None


def videos_in(data: Path) -> list[Path]:
    roots = [data, data / "driving"]
    found = sorted(
        {p for root in roots if root.is_dir() for p in root.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES}
    )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="folder with talking videos (or its driving/)"
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--mic", help="PortAudio input device for the latency figure (default: the default input)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = MouthConfig()
    videos, skipped = [], []
    for path in videos_in(args.data):
        if not has_audio(path):
            skipped.append(path.name)
            continue
        log.info("%s ...", path.name)
        videos.append(evaluate_video(path, config))
    lat = latency(config, device=int(args.mic) if args.mic and args.mic.isdigit() else args.mic)
    print(f"{'video':<12} {'frames':>6} {'face':>5} {'r(lag 0)':>9} {'r(best)':>8} {'lag ms':>7}")
    for v in videos:
        print(f"{v['video']:<12} {v['frames']:>6} {v['frames_with_face']:>5} {v['r_lag0']:>9.3f} "
              f"{v['r_best']:>8.3f} {v['best_lag_ms']:>7.0f}")  # fmt: skip
    if skipped:
        print("no audio (skipped): " + ", ".join(skipped))
    device = "n/a" if lat["device_input_ms"] is None else f"{lat['device_input_ms']:.1f}"
    print(f"live latency: block {lat['block_ms']:.1f} ms + model response {lat['model_response_ms']:.1f} ms + "
          f"processing {lat['processing_per_block_ms']:.2f} ms + device input {device} ms = {lat['total_ms']:.1f} ms")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"videos": videos, "skipped": skipped, "latency": lat}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
