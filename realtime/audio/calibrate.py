"""Voice calibration: record the user's own A / I / U / E / O and silence and turn them into voice templates
(:class:`~realtime.audio.visemes.VoiceTemplates`) for ``--voice``.

Each take: a prompt, ``settle_s`` to start the sound (dropped), then ``take_s`` recorded. The MFCCs of the
voiced hops of the five vowel takes, less their common mean, give the vowel templates; the silence take's
hops give the silence template. The opening codebook comes from the default templates (five vowel takes
say little about how far their owner's jaw drops in running speech). Audio comes through the
:class:`AudioSource` interface: a microphone, or a recording of the takes in the prompt order
(``--from-file``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from engines.base import LivePuppetError
from realtime.audio.features import SAMPLE_RATE, features_of
from realtime.audio.source import AudioSource
from realtime.audio.visemes import VISEMES, VoiceTemplates, templates_from_frames

PROMPTS = {
    "A": 'say a long "aah", as in "father"',
    "I": 'say a long "ee", as in "see"',
    "U": 'say a long "oo", as in "food"',
    "E": 'say a long "eh", as in "bed"',
    "O": 'say a long "oh", as in "go"',
    "silence": "stay quiet (breathe normally)",
}
MIN_VOICED_HOPS = 20  # 0.2 s of voice per vowel take


@dataclass(frozen=True, slots=True)
class CalibrationConfig:
    take_s: float = 2.5
    settle_s: float = 0.7
    no_audio_timeout_s: float = 3.0  # give up when the source delivers nothing for this long


def _samples(source: AudioSource, timeout: float, sleep: Callable[[float], None]) -> Iterator[np.ndarray]:
    """The source's samples as they come; LivePuppetError when it goes quiet for ``timeout`` seconds."""
    waited = 0.0
    while True:
        got = False
        for block in source.blocks():
            got = True
            yield block.samples
        if got:
            waited = 0.0
            continue
        if waited >= timeout:
            raise LivePuppetError("the audio stopped before the calibration finished (no samples for "
                                  f"{timeout:.0f} s)")  # fmt: skip
        sleep(0.01)
        waited += 0.01


def record_takes(
    source: AudioSource,
    prompt: Callable[[str, str], None],
    config: CalibrationConfig = CalibrationConfig(),
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, np.ndarray]:
    """One take per viseme, in :data:`VISEMES` order: ``prompt(viseme, text)`` before each."""
    if source.sample_rate != SAMPLE_RATE:
        raise LivePuppetError(
            f"calibration needs {SAMPLE_RATE} Hz audio, the source gives {source.sample_rate} Hz"
        )
    stream = _samples(source, config.no_audio_timeout_s, sleep)
    pending = np.zeros(0, np.float32)

    def take(seconds: float) -> np.ndarray:
        nonlocal pending
        wanted = round(seconds * SAMPLE_RATE)
        while len(pending) < wanted:
            pending = np.concatenate([pending, next(stream)])
        out, pending = pending[:wanted], pending[wanted:]
        return out

    takes = {}
    for viseme in VISEMES:
        prompt(viseme, PROMPTS[viseme])
        take(config.settle_s)
        takes[viseme] = take(config.take_s)
    return takes


def templates_from_takes(takes: dict[str, np.ndarray], origin: str = "voice calibration") -> VoiceTemplates:
    """Voice templates from one recording per viseme (see the module docstring)."""
    mfcc, labels = [], []
    for k, viseme in enumerate(VISEMES):
        features = features_of(takes[viseme])
        if viseme == "silence":
            keep = np.ones(len(features), bool)
        else:
            keep = features.voiced
            if keep.sum() < MIN_VOICED_HOPS:
                raise LivePuppetError(
                    f"no voice heard in the {viseme!r} take ({PROMPTS[viseme]}): speak louder, closer to the "
                    "microphone, or choose another input with --mic"
                )
        mfcc.append(features.mfcc[keep])
        labels.append(np.full(int(keep.sum()), k))
    vowels = np.concatenate(mfcc[:-1])
    mean = vowels.mean(axis=0)  # the speaker's average spectrum over the vowels
    return templates_from_frames(
        np.concatenate(mfcc) - mean, np.concatenate(labels), VoiceTemplates.default().opening, origin
    )
