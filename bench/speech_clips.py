"""Talking videos as data for the lip-sync benchmark and the voice-template derivation: the sound track
(16 kHz), its speech features, the phones pocketsphinx hears in it, and the real mouth measured on every
frame (MediaPipe face mesh), all on one clock.

Times are seconds from the first video frame: frame timestamps come from the stream (variable frame rate
files included) and the audio is shifted by the difference of the two streams' start times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engines.landmarks import MOUTH_CORNERS, _gap_across, eye_centres, mouth_opening
from realtime.audio.features import HOP, SAMPLE_RATE, HopFeatures, features_of
from realtime.audio.source import load_audio

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi")
OUTER_LIP_MIDDLE = (0, 17)  # top of the upper lip, bottom of the lower lip


def mouth_ratio(points: np.ndarray) -> float:
    """Mouth width over outer-lip height: high for a wide, flat "ee", low for a round "oo" or open "ah"."""
    height, width = _gap_across(
        points, np.array([OUTER_LIP_MIDDLE[0]]), np.array([OUTER_LIP_MIDDLE[1]]), MOUTH_CORNERS
    )
    return width / max(height, 1e-6)


def mouth_width(points: np.ndarray) -> float:
    """Mouth-corner distance over the eye-centre distance: wide for a spread "ee", narrow for a round "oo"."""
    right, left = eye_centres(points[:, :2])
    corners = points[list(MOUTH_CORNERS), :2]
    return float(np.linalg.norm(corners[1] - corners[0]) / max(np.linalg.norm(left - right), 1e-6))


@dataclass(frozen=True)
class SpeechClip:
    """``samples`` (N,) 16 kHz from time ``audio_start`` on the video clock; ``features`` per 10 ms hop;
    ``phones`` (label, start, end) seconds on the video clock; ``frame_times`` (T,), ``landmarks``
    (T, 478, 3) pixels, NaN where no face; ``opening`` / ``ratio`` / ``width`` (T,) the measured mouth."""

    name: str
    samples: np.ndarray
    audio_start: float
    features: HopFeatures
    phones: list[tuple[str, float, float]]
    frame_times: np.ndarray
    landmarks: np.ndarray

    @property
    def hop_times(self) -> np.ndarray:
        """The video-clock time at the end of each feature hop (T_hops,)."""
        return self.audio_start + (np.arange(len(self.features)) + 1) * HOP / SAMPLE_RATE

    @property
    def opening(self) -> np.ndarray:
        return np.array([mouth_opening(p) if np.isfinite(p[0, 0]) else np.nan for p in self.landmarks])

    @property
    def ratio(self) -> np.ndarray:
        return np.array([mouth_ratio(p) if np.isfinite(p[0, 0]) else np.nan for p in self.landmarks])

    @property
    def width(self) -> np.ndarray:
        return np.array([mouth_width(p) if np.isfinite(p[0, 0]) else np.nan for p in self.landmarks])


def has_audio(path: Path) -> bool:
    import av

    try:
        with av.open(str(path)) as container:
            return bool(container.streams.audio)
    except av.error.FFmpegError:
        return False


def videos_in(data: Path) -> list[Path]:
    roots = [data, data / "driving"]
    return sorted(
        {p for root in roots if root.is_dir() for p in root.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES}
    )


def _stream_starts(path: Path) -> tuple[float, float]:
    """(video, audio) stream start times in seconds."""
    import av

    with av.open(str(path)) as container:
        starts = []
        for stream in (container.streams.video[0], container.streams.audio[0]):
            starts.append(
                float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
            )
    return starts[0], starts[1]


def _track_landmarks(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from realtime.tracker import FaceTracker
    from realtime.video_io import VideoReader

    times, landmarks = [], []
    missing = np.full((478, 3), np.nan, np.float32)
    with FaceTracker(static_image=False, max_faces=1) as tracker, VideoReader(path) as reader:
        for frame in reader:
            face = tracker.track(frame.image)
            times.append(frame.timestamp)
            landmarks.append(face.landmarks if face is not None else missing)
    return np.asarray(times), np.asarray(landmarks, np.float32)


def recognise_phones(samples: np.ndarray) -> list[tuple[str, float, float]]:
    """CMU phones with start/end seconds, by pocketsphinx's US-English phone recogniser (no words). The
    level is normalised first: the recogniser misses quiet speech."""
    import os

    from pocketsphinx import Decoder, get_model_path

    model = get_model_path()
    peak = max(float(np.abs(samples).max()), 1e-6)
    pcm = (np.clip(samples / peak * 0.5, -1, 1) * 32767).astype("<i2").tobytes()
    decoder = Decoder(
        hmm=os.path.join(model, "en-us", "en-us"), allphone=os.path.join(model, "en-us", "en-us-phone.lm.bin"),
        lw=2.0, pip=0.3, beam=1e-20, pbeam=1e-20, loglevel="FATAL",
    )  # fmt: skip
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    rate = 100.0  # pocketsphinx frames per second
    return [(seg.word, seg.start_frame / rate, (seg.end_frame + 1) / rate) for seg in decoder.seg()]


def load_clip(path: Path, phones: bool = True) -> SpeechClip:
    video_start, audio_start = _stream_starts(path)
    samples = load_audio(path, SAMPLE_RATE)
    offset = audio_start - video_start  # audio time 0 on the video clock
    frame_times, landmarks = _track_landmarks(path)
    labels = [(p, s + offset, e + offset) for p, s, e in recognise_phones(samples)] if phones else []
    return SpeechClip(
        name=path.stem, samples=samples, audio_start=offset, features=features_of(samples),
        phones=labels, frame_times=frame_times, landmarks=landmarks,
    )  # fmt: skip
