"""Lip-sync benchmark v2: how well the mouth predicted from the sound alone matches the real mouth.

    python -m bench.lipsync --data ../shared/data/dev_media/driving --only t01,t02,t03,t04,v03,b02 \
        --json /tmp/lipsync.json

For every video with a sound track under ``--data`` (``--only``: name prefixes), on the video's clock
(frame timestamps, so variable frame rate files are fine):

- **r**: Pearson correlation of the predicted mouth opening with the one measured on the face (MediaPipe,
  :func:`engines.landmarks.mouth_opening`) at lag 0 and at the best lag within +-300 ms (10 ms steps;
  lag > 0: the face moves after the sound), for the offline model (look-ahead), the live model (causal)
  and a baseline: the log energy of 300-3000 Hz on 80 ms windows.
- **pause agreement**: of the frames at least 200 ms from any voiced audio (webrtcvad) where the real
  mouth is closed, the share where the predicted one (offline) is closed too.
- **shape r**: while voiced, the correlation of the mouth's width / height (outer lips) measured on the
  face with the same ratio on a face rig driven by the predicted mouth (the clip's own closed-mouth face
  with the expression parameters applied, as the warp engine would show it); at the offline opening's best
  lag (the same alignment as its r; the files' sound and picture are offset differently) and at lag 0.
  The ratio mostly follows the opening (r -0.7..-0.95 on the dev clips), so it barely sees the vowel.
- **width r**: the vowel shape alone: while voiced, the correlation of the predicted spread minus rounding
  (``eee - woo``) with the mouth width measured on the face (corner distance / eye distance) less the part
  the measured opening explains (a wide-open mouth narrows), at the offline best lag.
- **latency** of the live path: the audio block, the model's step response to a vowel onset (time to half
  the final opening), the processing per block, and, with a microphone, PortAudio's input latency.

Templates: each clip is scored with voice templates (vowel templates and opening codebook) derived from the
*other* clips (leave-one-clip-out, :mod:`bench.voice_templates`), so no clip is scored with templates fitted
on itself; ``--shipped`` uses the package's templates instead. Prints a table and writes JSON; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from realtime.audio.features import HOP, SAMPLE_RATE
from realtime.audio.mouth_model import MouthConfig, MouthModel, MouthTrack, analyse
from realtime.audio.visemes import VoiceTemplates

log = logging.getLogger("bench.lipsync")

MAX_LAG = 0.3
LAG_STEP = 0.01
PAUSE_DISTANCE = 0.2  # seconds from voiced audio
REAL_CLOSED = 0.05  # measured lip gap / mouth width below this: closed
PREDICTED_CLOSED = 0.1  # predicted opening (0..1, ~ twice the lip gap / width) below this: closed
BASELINE_WINDOW = 0.08
BASELINE_BAND = (300.0, 3000.0)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    valid = np.isfinite(a) & np.isfinite(b)
    if valid.sum() < 10 or np.std(a[valid]) == 0 or np.std(b[valid]) == 0:
        return float("nan")
    return float(np.corrcoef(a[valid], b[valid])[0, 1])


def lag_scan(track_times: np.ndarray, predicted: np.ndarray, times: np.ndarray, measured: np.ndarray) -> dict:
    """Correlation of the prediction shifted by each lag against the measurement."""
    lags = np.round(np.arange(-MAX_LAG, MAX_LAG + 1e-9, LAG_STEP), 3)
    # lag > 0: the face moves after the sound, so the frame at t matches the prediction at t - lag
    values = np.array(
        [
            correlation(np.interp(times - lag, track_times, predicted, left=np.nan, right=np.nan), measured)
            for lag in lags
        ]
    )
    best = int(np.nanargmax(values)) if np.isfinite(values).any() else len(lags) // 2
    return {
        "r_lag0": round(float(values[len(lags) // 2]), 3),
        "r_best": round(float(values[best]), 3),
        "best_lag_ms": float(lags[best] * 1e3),
    }


def band_energy_baseline(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(times (T,), log energy of 300-3000 Hz on centred 80 ms Hann windows every 10 ms)."""
    window = int(BASELINE_WINDOW * SAMPLE_RATE)
    padded = np.concatenate([np.zeros(window // 2), samples, np.zeros(window)])
    count = len(samples) // HOP
    frames = padded[np.arange(count)[:, None] * HOP + np.arange(window)[None, :]] * np.hanning(window)
    freqs = np.fft.rfftfreq(window, 1.0 / SAMPLE_RATE)
    band = (freqs >= BASELINE_BAND[0]) & (freqs < BASELINE_BAND[1])
    energy = (np.abs(np.fft.rfft(frames, axis=1)[:, band]) ** 2).sum(axis=1)
    return np.arange(count) * HOP / SAMPLE_RATE, np.log(energy + 1e-10)


def _far_from_voice(clip, times: np.ndarray) -> np.ndarray:
    voiced_times = clip.hop_times[clip.features.voiced]
    if voiced_times.size == 0:
        return np.ones(len(times), bool)
    nearest = np.abs(times[:, None] - voiced_times[None, :]).min(axis=1)
    return nearest >= PAUSE_DISTANCE


def pause_agreement(clip, track: MouthTrack, real_opening: np.ndarray) -> dict:
    """In the pauses (frames >= 200 ms from voiced audio): ``pause_agreement`` the share of real-closed
    frames where the prediction is closed too (NaN when the real mouth never closes in a pause), and, as
    context, how many pause frames there are, how many have the real mouth closed, and the share with the
    predicted mouth closed whatever the real one does."""
    times = clip.frame_times
    pause = _far_from_voice(clip, times)
    predicted_closed = np.array([track.at(t).opening < PREDICTED_CLOSED for t in times])
    real_closed = pause & (real_opening < REAL_CLOSED)
    return {
        "pause_agreement": round(float(predicted_closed[real_closed].mean()), 3)
        if real_closed.any()
        else float("nan"),
        "pause_frames": int(pause.sum()),
        "pause_frames_real_closed": int(real_closed.sum()),
        "pause_predicted_closed": round(float(predicted_closed[pause].mean()), 3)
        if pause.any()
        else float("nan"),
    }


def _speaking(clip, real_opening: np.ndarray) -> np.ndarray:
    return ~_far_from_voice(clip, clip.frame_times) & np.isfinite(real_opening)


def width_correlation(clip, track: MouthTrack, real_opening: np.ndarray) -> float:
    """Correlation of predicted spread - rounding with the measured mouth width less its linear fit on the
    measured opening, over the voiced frames with a face."""
    width = clip.width
    speaking = _speaking(clip, real_opening) & np.isfinite(width)
    if speaking.sum() < 10:
        return float("nan")
    fit = np.column_stack([real_opening[speaking], np.ones(speaking.sum())])
    coef = np.linalg.lstsq(fit, width[speaking], rcond=None)[0]
    states = [track.at(t) for t in clip.frame_times[speaking]]
    return correlation(np.array([s.eee - s.woo for s in states]), width[speaking] - fit @ coef)


def shape_correlation(clip, track: MouthTrack, real_opening: np.ndarray) -> float:
    """Correlation of measured and rig-predicted mouth width / height over the voiced frames."""
    from bench.speech_clips import mouth_ratio
    from engines.base import Motion
    from engines.expressions import apply_expression
    from engines.landmarks import neutral_points
    from realtime.audio.mouth import mouth_params

    faces = np.flatnonzero(np.isfinite(real_opening))
    if faces.size == 0:
        return float("nan")
    neutral = neutral_points(clip.landmarks[faces[np.argmin(real_opening[faces])]])
    identity = Motion.identity(neutral)
    voiced = _speaking(clip, real_opening)
    predicted = np.full(len(clip.frame_times), np.nan)
    for k in np.flatnonzero(voiced):
        motion = apply_expression(identity, mouth_params(track.at(clip.frame_times[k])))
        predicted[k] = mouth_ratio(neutral + motion.expression)
    return correlation(predicted, clip.ratio)


def evaluate_clip(clip, templates: VoiceTemplates, config: MouthConfig) -> dict:
    real = clip.opening
    started = time.perf_counter()
    offline = analyse(clip.samples, config, templates, lookahead=True)
    offline = MouthTrack(offline.times + clip.audio_start, offline.values)
    model_seconds = time.perf_counter() - started
    live = analyse(clip.samples, config, templates, lookahead=False)
    live = MouthTrack(live.times + clip.audio_start, live.values)
    base_times, base = band_energy_baseline(clip.samples)
    audio_seconds = len(clip.samples) / SAMPLE_RATE
    offline_scan = lag_scan(offline.times, offline.values[:, 0], clip.frame_times, real)
    # the face at t matches the prediction at t - lag: move the track by the lag
    aligned = MouthTrack(offline.times + offline_scan["best_lag_ms"] / 1e3, offline.values)
    return {
        "offline": offline_scan,
        "live": lag_scan(live.times, live.values[:, 0], clip.frame_times, real),
        "baseline": lag_scan(base_times + clip.audio_start, base, clip.frame_times, real),
        **pause_agreement(clip, offline, real),
        "shape_r": round(shape_correlation(clip, aligned, real), 3),
        "shape_r_lag0": round(shape_correlation(clip, offline, real), 3),
        "width_r": round(width_correlation(clip, aligned, real), 3),
        "frames": len(clip.frame_times),
        "frames_with_face": int(np.isfinite(real).sum()),
        "audio_seconds": round(audio_seconds, 2),
        "offline_realtime_factor": round(model_seconds / max(audio_seconds, 1e-9), 4),
    }


def synthetic_vowel(seconds: float, f0: float = 120.0) -> np.ndarray:
    """An /a/-like vowel: a glottal pulse train through three formant resonators (730, 1090, 2440 Hz)."""
    from scipy.signal import lfilter

    out = np.zeros(int(seconds * SAMPLE_RATE))
    out[:: int(SAMPLE_RATE / f0)] = 1.0
    for freq, bandwidth in ((730, 90), (1090, 110), (2440, 170)):
        r = np.exp(-np.pi * bandwidth / SAMPLE_RATE)
        theta = 2 * np.pi * freq / SAMPLE_RATE
        out = lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], out)
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def latency(config: MouthConfig, block_size: int = 160, device: str | int | None = None) -> dict:
    """Live sound-to-mouth latency parts, in milliseconds (see the module docstring)."""
    rng = np.random.default_rng(0)
    silence = (1e-3 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    voice = synthetic_vowel(1.0) + (1e-3 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    signal = np.concatenate([silence, voice])
    model = MouthModel(config)
    openings, per_block = [], []
    for start in range(0, len(signal), block_size):
        t0 = time.perf_counter()
        states = model.push(signal[start : start + block_size])
        per_block.append(time.perf_counter() - t0)
        openings.extend(s.opening for s in states)
    openings = np.asarray(openings)
    onset_hop = len(silence) // HOP
    plateau = float(np.median(openings[onset_hop + 20 :]))
    crossed = onset_hop + int(np.argmax(openings[onset_hop:] >= 0.5 * plateau))
    response = max(0.0, (crossed + 1) * HOP / SAMPLE_RATE - len(silence) / SAMPLE_RATE)  # stamped at hop end
    result = {
        "block_ms": 1e3 * block_size / SAMPLE_RATE,
        "model_response_ms": round(1e3 * response, 1),
        "processing_per_block_ms": round(1e3 * float(np.median(per_block)), 3),
        "processing_per_block_p99_ms": round(1e3 * float(np.percentile(per_block, 99)), 3),
    }
    result["total_ms"] = round(
        sum(result[k] for k in ("block_ms", "model_response_ms", "processing_per_block_ms")), 1
    )
    result["device_input_ms"] = _device_input_latency_ms(block_size, device)  # reported apart
    return result


def _device_input_latency_ms(block_size: int, device: str | int | None) -> float | None:
    """PortAudio's input latency for the microphone, or None without PortAudio or a microphone."""
    try:
        import sounddevice as sd

        with sd.InputStream(
            device=device,
            samplerate=SAMPLE_RATE,
            blocksize=block_size,
            channels=1,
            dtype="float32",
            latency="low",
        ) as s:
            return 1e3 * float(s.latency)
    except Exception as exc:  # noqa: BLE001 - no PortAudio, no device: reported, not fatal
        log.info("no microphone latency (%s)", exc)
        return None


def _mean(videos: dict) -> dict:
    def avg(values):
        values = [v for v in values if np.isfinite(v)]
        return round(float(np.mean(values)), 3) if values else float("nan")

    out = {}
    for path in ("offline", "live", "baseline"):
        out[path] = {
            k: avg([v[path][k] for v in videos.values()]) for k in ("r_lag0", "r_best", "best_lag_ms")
        }
    out["pause_agreement"] = avg([v["pause_agreement"] for v in videos.values()])
    out["pause_predicted_closed"] = avg([v["pause_predicted_closed"] for v in videos.values()])
    for key in ("shape_r", "shape_r_lag0", "width_r"):
        out[key] = avg([v[key] for v in videos.values()])
    return out


def print_table(result: dict) -> None:
    print(f"{'video':<8} {'offline r0/best/lag':>21} {'live r0/best/lag':>19} {'baseline r0/best/lag':>21} "
          f"{'pause':>6} {'closed/n':>10} {'shape r/lag0':>12} {'width r':>7}")  # fmt: skip
    rows = {**result["videos"], "mean": result["mean"]}
    for name, v in rows.items():
        cells = [
            f"{v[p]['r_lag0']:.2f}/{v[p]['r_best']:.2f}/{v[p]['best_lag_ms']:+4.0f}"
            for p in ("offline", "live", "baseline")
        ]
        pauses = f"{v['pause_predicted_closed']:.2f}/{v['pause_frames']}" if "pause_frames" in v else ""
        shape = f"{v['shape_r']:.2f}/{v['shape_r_lag0']:.2f}"
        print(f"{name[:8]:<8} {cells[0]:>21} {cells[1]:>19} {cells[2]:>21} {v['pause_agreement']:>6.2f} "
              f"{pauses:>10} {shape:>12} {v['width_r']:>7.2f}")  # fmt: skip
    lat = result["latency"]
    device = "n/a" if lat["device_input_ms"] is None else f"{lat['device_input_ms']:.1f}"
    print(f"live latency: block {lat['block_ms']:.1f} ms + model response {lat['model_response_ms']:.1f} ms + "
          f"processing {lat['processing_per_block_ms']:.2f} ms = {lat['total_ms']:.1f} ms "
          f"(device input, apart: {device} ms)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from bench.speech_clips import has_audio, load_clip, videos_in
    from bench.voice_templates import derive_templates

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="folder with talking videos (or its driving/)"
    )
    parser.add_argument("--only", help="comma-separated name prefixes of the videos to score")
    parser.add_argument(
        "--shipped", action="store_true", help="score with the package's templates (not leave-one-out)"
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--mic", help="PortAudio input device for the device latency figure")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = MouthConfig()
    prefixes = tuple(args.only.split(",")) if args.only else ("",)
    paths = [p for p in videos_in(args.data) if p.name.startswith(prefixes)]
    skipped = [p.name for p in paths if not has_audio(p)]
    clips = []
    for path in paths:
        if path.name not in skipped:
            log.info("%s ...", path.name)
            clips.append(load_clip(path, phones=not args.shipped))
    videos = {}
    for clip in clips:
        others = [c for c in clips if c is not clip]
        if args.shipped or not others:
            templates = VoiceTemplates.default()
        else:
            templates = derive_templates(others, "leave-one-clip-out")
        videos[clip.name] = evaluate_clip(clip, templates, config)
    mic = int(args.mic) if args.mic and args.mic.isdigit() else args.mic
    result = {
        "videos": videos,
        "mean": _mean(videos) if videos else {},
        "latency": latency(config, device=mic),
        "templates": "shipped" if args.shipped else "leave-one-clip-out",
        "skipped": skipped,
    }
    if videos:
        print_table(result)
    if skipped:
        print("no audio (skipped): " + ", ".join(skipped))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
