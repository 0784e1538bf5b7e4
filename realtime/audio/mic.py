"""Microphone input through PortAudio (``sounddevice``): small blocks into a ring buffer from the audio
callback; the render thread drains them. Needs the PortAudio library (Debian/Ubuntu: ``libportaudio2``)."""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Iterator

import numpy as np

from engines.base import LivePuppetError
from realtime.audio.features import SAMPLE_RATE
from realtime.audio.source import AudioBlock

log = logging.getLogger(__name__)


def import_sounddevice():
    """The ``sounddevice`` module, or a clear error when PortAudio is missing."""
    try:
        import sounddevice
    except OSError as exc:  # the wheel is there but the PortAudio shared library is not
        raise LivePuppetError(
            f"microphone input needs the PortAudio library ({exc}); install it, e.g. `apt-get install libportaudio2`"
        ) from exc
    return sounddevice


class MicAudioSource:
    """Live :class:`~realtime.audio.source.AudioSource`: ``blocks()`` yields what was captured since the last
    call (oldest first), each stamped with ``time.perf_counter()`` at its first sample.

    ``device`` is a PortAudio device index or (part of) a name; None takes the default input. At most
    ``buffer_seconds`` of unread audio is kept (older blocks are dropped: the mouth follows the present).
    The first ``startup_seconds`` after the stream opens are dropped: inputs often deliver a click or junk
    in their first periods (the ALSA test device gives 20 ms of near full-scale samples), which would set
    the mouth model's loudness peak for seconds.
    """

    def __init__(
        self,
        device: int | str | None = None,
        sample_rate: int = SAMPLE_RATE,
        block_size: int = 160,
        buffer_seconds: float = 1.0,
        startup_seconds: float = 0.1,
    ):
        sd = import_sounddevice()
        self.sample_rate = sample_rate
        self.block_size = block_size
        self.overflows = 0
        self._startup_frames = int(startup_seconds * sample_rate)
        # deque append/popleft are atomic: the callback thread appends, the reader pops
        self._ring: collections.deque[AudioBlock] = collections.deque(
            maxlen=max(1, int(buffer_seconds * sample_rate / block_size))
        )
        try:
            self._stream = sd.InputStream(
                device=device, channels=1, samplerate=sample_rate, blocksize=block_size, dtype="float32",
                latency="low", callback=self._callback,
            )  # fmt: skip
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise LivePuppetError(
                f"cannot open the microphone {device if device is not None else '(default)'}: {exc}"
            )
        log.info("microphone open: %s Hz, %d-sample blocks, input latency %.1f ms",
                 sample_rate, block_size, 1e3 * self.input_latency)  # fmt: skip

    def _callback(self, indata: np.ndarray, frames: int, time_info, status) -> None:
        if status:
            self.overflows += 1
        if self._startup_frames > 0:
            self._startup_frames -= frames
            return
        self._ring.append(AudioBlock(indata[:, 0].copy(), time.perf_counter() - frames / self.sample_rate))

    @property
    def input_latency(self) -> float:
        """PortAudio's reported input latency in seconds (device buffering before our callback)."""
        return float(self._stream.latency)

    def blocks(self) -> Iterator[AudioBlock]:
        while self._ring:
            yield self._ring.popleft()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None
