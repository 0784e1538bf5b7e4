"""AudioMouth: the speech-driven mouth as a motion modifier, from a recording (offline renders) or a live
audio source (the microphone).

The model's :class:`~realtime.audio.mouth_model.MouthState` becomes expression parameters: the opening
drives the jaw (``aaa``), the viseme lip shape adds ``eee`` (spread, I/E) / ``woo`` (rounded, U/O). Recordings
use the look-ahead model (:func:`~realtime.audio.mouth_model.analyse`), live sources the causal one; both
take optional :class:`~realtime.audio.visemes.VoiceTemplates` (``--voice``). ``mode="replace"`` first
removes the camera's own mouth motion (the mouth region of the face rig), ``mode="mix"`` adds on top of it;
``strength`` scales the speech-driven mouth.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from engines.base import LivePuppetError, Motion
from engines.expressions import ExpressionParams, apply_expression, rig_for
from realtime.audio.mouth_model import MouthConfig, MouthModel, MouthState, MouthTrack, analyse
from realtime.audio.source import AudioSource, load_audio
from realtime.audio.visemes import VoiceTemplates


@dataclass(frozen=True, slots=True)
class AudioMouthConfig:
    mode: Literal["replace", "mix"] = "replace"
    strength: float = 1.0
    model: MouthConfig = field(default_factory=MouthConfig)


def mouth_params(state: MouthState, strength: float = 1.0) -> ExpressionParams:
    """Expression parameters for a mouth state: jaw from the opening, lip shape from the vowel weights."""
    opening = float(np.clip(state.opening, 0.0, 1.0)) * strength
    shaping = min(1.0, 2.0 * opening)  # lips take their vowel shape as soon as the mouth moves
    return ExpressionParams(
        aaa=opening * (0.3 + 0.7 * state.aaa), eee=shaping * state.eee, woo=shaping * state.woo
    )


class AudioMouth:
    """``modify(motion, t)`` puts the speech-driven mouth into the motion.

    Built from a :class:`MouthTrack` (``from_file``: times are the recording's seconds, matching an offline
    render's frame timestamps) or from a live :class:`AudioSource` (``from_source``/``from_mic``: each call
    drains the blocks captured so far through the streaming model and uses the newest state). Single-threaded
    like the render loop that calls it; the microphone callback only fills the source's ring buffer.
    """

    def __init__(
        self,
        track: MouthTrack | None = None,
        source: AudioSource | None = None,
        config: AudioMouthConfig = AudioMouthConfig(),
        templates: VoiceTemplates | None = None,
    ):
        if (track is None) == (source is None):
            raise ValueError("AudioMouth needs exactly one of a track or a live source")
        self.track = track
        self.source = source
        self.config = config
        self._model = MouthModel(config.model, templates) if source is not None else None
        self.state = MouthState()
        self.processing_seconds = 0.0  # time spent in the model during the last live update

    @staticmethod
    def from_file(
        path: str | Path,
        config: AudioMouthConfig = AudioMouthConfig(),
        templates: VoiceTemplates | None = None,
    ) -> AudioMouth:
        """The offline mouth of a recording: the look-ahead model (the mouth leads the sound)."""
        samples = load_audio(path, config.model.sample_rate)
        if samples.size == 0:
            raise LivePuppetError(f"{path}: the audio track is empty")
        return AudioMouth(track=analyse(samples, config.model, templates, lookahead=True), config=config)

    @staticmethod
    def from_source(
        source: AudioSource,
        config: AudioMouthConfig = AudioMouthConfig(),
        templates: VoiceTemplates | None = None,
    ) -> AudioMouth:
        if source.sample_rate != config.model.sample_rate:
            raise LivePuppetError(
                f"the speech mouth needs {config.model.sample_rate} Hz audio, the source gives {source.sample_rate} Hz"
            )
        return AudioMouth(source=source, config=config, templates=templates)

    @staticmethod
    def from_mic(
        device: int | str | None = None,
        config: AudioMouthConfig = AudioMouthConfig(),
        block_size: int = 160,
        templates: VoiceTemplates | None = None,
    ) -> AudioMouth:
        from realtime.audio.mic import MicAudioSource

        source = MicAudioSource(device, sample_rate=config.model.sample_rate, block_size=block_size)
        return AudioMouth.from_source(source, config, templates)

    def update(self, clock: Callable[[], float] = time.perf_counter) -> MouthState:
        """Live: run the model over the blocks captured since the last call; the newest state."""
        started = clock()
        for block in self.source.blocks():
            states = self._model.push(block.samples)
            if states:
                self.state = states[-1]
        self.processing_seconds = clock() - started
        return self.state

    def state_at(self, timestamp: float) -> MouthState:
        if self.track is not None:
            return self.track.at(timestamp)
        return self.update()

    def modify(self, motion: Motion, timestamp: float) -> Motion:
        params = mouth_params(self.state_at(timestamp), self.config.strength)
        if self.config.mode == "replace" and np.any(motion.expression):
            keep = 1.0 - self.config.strength * rig_for(motion.neutral).mouth_region[:, None]  # (478, 1)
            motion = dataclasses.replace(
                motion, expression=(motion.expression * np.clip(keep, 0, 1)).astype(np.float32)
            )
        return apply_expression(motion, params)

    def close(self) -> None:
        if self.source is not None:
            self.source.close()
