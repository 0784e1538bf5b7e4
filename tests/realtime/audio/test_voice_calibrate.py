"""Voice templates: file format, and calibration from recorded takes (a file through the source interface)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engines.base import LivePuppetError
from realtime.audio.calibrate import CalibrationConfig, record_takes, templates_from_takes
from realtime.audio.mouth_model import analyse
from realtime.audio.source import ArrayAudioSource
from realtime.audio.visemes import VISEMES, VoiceTemplates
from realtime.cli import main
from tests.realtime.audio.signals import noise, vowel

TAKE_VOWELS = {"A": "a", "I": "i", "U": "u", "E": "a", "O": "u"}  # the synthesizer knows a, i, u


def _takes_recording(config: CalibrationConfig) -> np.ndarray:
    parts = []
    for k, viseme in enumerate(VISEMES):
        parts.append(noise(config.settle_s, seed=k))
        parts.append(
            noise(config.take_s, seed=10 + k)
            if viseme == "silence"
            else vowel(TAKE_VOWELS[viseme], config.take_s, f0=150)
        )
    return np.concatenate(parts)


def test_shipped_templates_load_and_round_trip(tmp_path):
    shipped = VoiceTemplates.default()
    shipped.save(tmp_path / "v.json")
    again = VoiceTemplates.load(tmp_path / "v.json")
    assert np.allclose(again.mfcc, shipped.mfcc, atol=1e-3) and again.spread == pytest.approx(
        shipped.spread, abs=1e-3
    )
    frames = np.random.default_rng(0).normal(0.0, 10.0, (50, 12))
    assert np.allclose(again.opening.opening(frames), shipped.opening.opening(frames), atol=1e-2)
    # a version 1 file (per-vowel openness, no codebook) loads with the shipped codebook
    old = {k: v for k, v in shipped.to_json().items() if k != "opening"} | {"version": 1, "openness": [1] * 6}
    (tmp_path / "v1.json").write_text(json.dumps(old))
    assert np.array_equal(VoiceTemplates.load(tmp_path / "v1.json").opening.centres, shipped.opening.centres)
    (tmp_path / "bad.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(LivePuppetError, match="not a LivePuppet voice file"):
        VoiceTemplates.load(tmp_path / "bad.json")


def test_calibrated_templates_tell_the_users_vowels_apart():
    config = CalibrationConfig(take_s=1.0, settle_s=0.3, no_audio_timeout_s=0.0)
    prompts = []
    takes = record_takes(
        ArrayAudioSource(_takes_recording(config)), lambda v, text: prompts.append(v), config
    )
    assert prompts == list(VISEMES)
    templates = templates_from_takes(takes)
    # one utterance with all three vowels: the running MFCC mean needs a mix, as in real speech
    names = ("a", "i", "u", "a")
    signal = np.concatenate([noise(0.3)] + [vowel(name, 0.8, f0=150) for name in names])
    values = analyse(signal, templates=templates).values
    for k, name in enumerate(names):
        settled = values[30 + 80 * k + 30 : 30 + 80 * k + 70].mean(axis=0)  # (opening, aaa, eee, woo)
        assert settled[0] > 0.1 and np.argmax(settled[1:]) == "aiu".index(name), (name, settled)


def test_calibrate_command_from_a_file(tmp_path):
    import wave

    config = CalibrationConfig(take_s=1.0)
    samples = _takes_recording(config)
    path = tmp_path / "takes.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    out_json = tmp_path / "me.json"
    assert (
        main(["voice", "calibrate", "--from-file", str(path), "--seconds", "1", "--out", str(out_json)]) == 0
    )
    assert VoiceTemplates.load(out_json).origin.endswith("takes.wav")
    # a recording too short for six takes: one clear error, no traceback
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes((np.clip(samples[:16000], -1, 1) * 32767).astype("<i2").tobytes())
    assert (
        main(["voice", "calibrate", "--from-file", str(path), "--seconds", "1", "--out", str(out_json)]) == 2
    )
