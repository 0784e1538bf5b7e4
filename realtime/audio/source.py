"""Audio input behind one small interface, so the mouth model is fed the same way from a file, a microphone
or a test: an :class:`AudioSource` yields :class:`AudioBlock` s of mono float32 samples at its rate."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from engines.base import LivePuppetError
from realtime.audio.features import SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class AudioBlock:
    """``samples`` (N,) float32 mono in -1..1; ``timestamp``: seconds of the block's first sample (a file's
    own time, or ``time.perf_counter()`` at capture for a microphone)."""

    samples: np.ndarray
    timestamp: float


@runtime_checkable
class AudioSource(Protocol):
    sample_rate: int

    def blocks(self) -> Iterator[AudioBlock]:
        """Blocks in order. Finite for files; for a live source, the blocks captured so far."""
        ...

    def close(self) -> None: ...


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The first audio stream of ``path`` (wav, mp3, m4a, or a video's sound track) as mono float32 (N,)
    at ``sample_rate``; LivePuppetError naming the file when it is missing or has no audio."""
    import av

    path = Path(path)
    if not path.is_file():
        raise LivePuppetError(f"audio file not found: {path}")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise LivePuppetError(f"{path} has no audio track")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            chunks = []
            for frame in container.decode(container.streams.audio[0]):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):  # flush
                chunks.append(out.to_ndarray().reshape(-1))
    except av.error.FFmpegError as exc:
        raise LivePuppetError(f"cannot decode the audio of {path}: {exc}") from exc
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


class FileAudioSource:
    """A recording cut into blocks of ``block_size`` samples (the whole file is decoded up front). Like a
    live source it yields each block once: a later ``blocks()`` call goes on where the last one stopped."""

    def __init__(self, path: str | Path, sample_rate: int = SAMPLE_RATE, block_size: int = 160):
        self.sample_rate = sample_rate
        self.block_size = block_size
        self.samples = load_audio(path, sample_rate)
        self.position = 0

    def blocks(self) -> Iterator[AudioBlock]:
        while self.position < len(self.samples):
            start = self.position
            self.position += self.block_size
            yield AudioBlock(self.samples[start : start + self.block_size], start / self.sample_rate)

    def close(self) -> None:
        pass


class ArrayAudioSource(FileAudioSource):
    """Samples already in memory (tests, synthesized speech)."""

    def __init__(self, samples: np.ndarray, sample_rate: int = SAMPLE_RATE, block_size: int = 160):
        self.sample_rate = sample_rate
        self.block_size = block_size
        self.samples = np.asarray(samples, np.float32).reshape(-1)
        self.position = 0
