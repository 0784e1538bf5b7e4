"""Vowel templates for the speech mouth: one mean MFCC vector per viseme (A, I, U, E, O and silence) and
the scoring of MFCC frames against them, which gives the lip shape; plus the opening codebook
(:mod:`realtime.audio.opening`) that gives how far the mouth opens.

MFCCs are compared after cepstral mean normalisation (the speaker's and microphone's average spectrum
subtracted), so templates from several voices carry over to a new one. The scores are a softmax of minus
the squared distance over ``2 * spread**2``. Templates are JSON files:

    {"format": "livepuppet-voice", "version": 2, "visemes": ["A", "I", "U", "E", "O", "silence"],
     "mfcc": [[12 numbers] x 6], "spread": 9.0, "opening": {codebook}, "origin": "..."}

(version 1 files, with per-viseme "openness" instead of "opening", load with the default codebook).
The default set ships with the package (``voice_templates.json``, derived from speech clips as
``bench/voice_templates.py`` documents); ``livepuppet voice calibrate`` writes a user's own vowels.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from engines.base import LivePuppetError
from realtime.audio.features import MFCC_COUNT
from realtime.audio.opening import OpeningCodebook, soft_assignment

VISEMES = ("A", "I", "U", "E", "O", "silence")
# The softmax's distance scale as a share of the classes' own RMS spread: sharper scores (0.3) gave a
# higher offline r than 1.0 or 0.5 on the leave-one-clip-out lip-sync bench (mean 0.40 vs 0.35 / 0.38).
SPREAD_SHARE = 0.3
VOWELS = VISEMES[:5]
FORMAT = "livepuppet-voice"
DEFAULT_FILE = "voice_templates.json"
# How each viseme shapes the lips: (aaa, eee, woo) shares. I/E spread the lips, U/O round them, A and O
# also drop the jaw; silence has no shape of its own.
SHAPES = np.array(
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.4, 0.6, 0.0], [0.4, 0.0, 0.6], [0.0, 0.0, 0.0]]
)


@dataclass(frozen=True, slots=True)
class VoiceTemplates:
    """``mfcc`` (6, 12) mean-normalised MFCC per viseme (order of :data:`VISEMES`), ``spread`` the
    softmax's distance scale, ``opening`` the codebook that maps the same MFCCs to a mouth opening."""

    mfcc: np.ndarray
    spread: float
    opening: OpeningCodebook
    origin: str = ""

    def __post_init__(self):
        if self.mfcc.shape != (len(VISEMES), MFCC_COUNT):
            raise LivePuppetError(f"voice templates need {len(VISEMES)} x {MFCC_COUNT} MFCCs")
        if not (self.spread > 0 and np.all(np.isfinite(self.mfcc))):
            raise LivePuppetError("voice templates: spread must be > 0 and the MFCCs finite")

    def weights(self, mfcc: np.ndarray) -> np.ndarray:
        """Viseme weights (T, 6), rows summing to 1, for mean-normalised MFCC frames (T, 12)."""
        return soft_assignment(mfcc, self.mfcc, self.spread)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": 2,
            "visemes": list(VISEMES),
            "mfcc": np.round(self.mfcc, 4).tolist(),
            "spread": round(float(self.spread), 4),
            "opening": self.opening.to_json(),
            "origin": self.origin,
        }

    def save(self, path: str | Path) -> None:
        text = json.dumps(self.to_json(), indent=1)
        # one list of numbers per line keeps the file small and readable
        text = re.sub(r"\[[-0-9.,eE\s]+\]", lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "), text)
        Path(path).write_text(text + "\n")

    @staticmethod
    def from_json(data: dict, where: str = "voice templates") -> VoiceTemplates:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LivePuppetError(f'{where}: not a LivePuppet voice file (no "format": "{FORMAT}")')
        if list(data.get("visemes", [])) != list(VISEMES):
            raise LivePuppetError(f"{where}: visemes must be {list(VISEMES)}")
        # version 1 files (a per-vowel openness) take the default opening codebook
        opening = OpeningCodebook.from_json(
            data["opening"] if "opening" in data else _shipped()["opening"], where
        )
        try:
            return VoiceTemplates(
                mfcc=np.asarray(data["mfcc"], np.float64),
                spread=float(data["spread"]),
                opening=opening,
                origin=str(data.get("origin", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LivePuppetError(f"{where}: malformed voice file ({exc})") from exc

    @staticmethod
    def load(path: str | Path) -> VoiceTemplates:
        path = Path(path)
        if not path.is_file():
            raise LivePuppetError(f"voice file not found: {path}")
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise LivePuppetError(f"{path}: not JSON ({exc})") from exc
        return VoiceTemplates.from_json(data, str(path))

    @staticmethod
    def default() -> VoiceTemplates:
        """The templates shipped with the package."""
        return VoiceTemplates.from_json(_shipped(), DEFAULT_FILE)


def _shipped() -> dict:
    return json.loads(resources.files("realtime.audio").joinpath(DEFAULT_FILE).read_text())


def templates_from_frames(
    mfcc: np.ndarray, labels: np.ndarray, opening: OpeningCodebook, origin: str
) -> VoiceTemplates:
    """Templates from labelled, mean-normalised MFCC frames: ``mfcc`` (T, 12), ``labels`` (T,) viseme index
    or -1 (unused). Each template is its frames' mean; the spread is :data:`SPREAD_SHARE` of the RMS distance
    of frames to their own template, so the softmax follows how far apart the classes are."""
    means, spreads = [], []
    for k in range(len(VISEMES)):
        frames = mfcc[labels == k]
        if len(frames) == 0:
            raise LivePuppetError(f"no frames for viseme {VISEMES[k]}")
        means.append(frames.mean(axis=0))
        spreads.append(((frames - means[-1]) ** 2).sum(axis=1).mean())
    spread = SPREAD_SHARE * float(np.sqrt(np.mean(spreads)))
    return VoiceTemplates(np.array(means), spread, opening, origin)
