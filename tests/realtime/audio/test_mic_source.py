"""MicAudioSource's own logic, with a stand-in for sounddevice (the real path: test_mic_alsa.py)."""

from __future__ import annotations

import types

import numpy as np

from realtime.audio import mic


class _Stream:
    latency = 0.02

    def __init__(self, **kwargs):
        self.callback = kwargs["callback"]

    def start(self):
        pass

    def stop(self):
        pass

    def close(self):
        pass


def test_the_first_periods_after_opening_are_dropped(monkeypatch):
    fake = types.SimpleNamespace(InputStream=_Stream, PortAudioError=RuntimeError)
    monkeypatch.setattr(mic, "import_sounddevice", lambda: fake)
    source = mic.MicAudioSource(block_size=160, startup_seconds=0.02)  # two blocks at 16 kHz
    callback = source._stream.callback
    for level in (1.0, 0.9, 0.1, 0.2):  # a start-up click, then the voice
        callback(np.full((160, 1), level, np.float32), 160, None, None)
    blocks = list(source.blocks())
    assert [float(b.samples[0]) for b in blocks] == [np.float32(0.1), np.float32(0.2)]
    source.close()
