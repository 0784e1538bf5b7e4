"""Vowel templates for the speech mouth: one mean MFCC vector per viseme (A, I, U, E, O and silence), the
mouth opening each viseme stands for, and the scoring of MFCC frames against them.

MFCCs are compared after cepstral mean normalisation (the speaker's and microphone's average spectrum
subtracted), so templates from several voices carry over to a new one. The scores are a softmax of minus
the squared distance over ``2 * spread**2``. Templates are JSON files:

    {"format": "livepuppet-voice", "version": 1, "visemes": ["A", "I", "U", "E", "O", "silence"],
     "mfcc": [[12 numbers] x 6], "openness": [6 numbers], "spread": 9.0, "origin": "..."}

The default set ships with the package (``voice_templates.json``, derived from speech clips as
``bench/voice_templates.py`` documents); ``livepuppet voice calibrate`` writes a user's own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from engines.base import LivePuppetError
from realtime.audio.features import MFCC_COUNT

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
    """``mfcc`` (6, 12) mean-normalised MFCC per viseme (order of :data:`VISEMES`), ``openness`` (6,) the
    mouth opening of each (0..1), ``spread`` the softmax's distance scale."""

    mfcc: np.ndarray
    openness: np.ndarray
    spread: float
    origin: str = ""

    def __post_init__(self):
        if self.mfcc.shape != (len(VISEMES), MFCC_COUNT) or self.openness.shape != (len(VISEMES),):
            raise LivePuppetError(
                f"voice templates need {len(VISEMES)} x {MFCC_COUNT} MFCCs and {len(VISEMES)} openings"
            )
        if not (self.spread > 0 and np.all(np.isfinite(self.mfcc))):
            raise LivePuppetError("voice templates: spread must be > 0 and the MFCCs finite")

    def weights(self, mfcc: np.ndarray) -> np.ndarray:
        """Viseme weights (T, 6), rows summing to 1, for mean-normalised MFCC frames (T, 12)."""
        d2 = ((np.atleast_2d(mfcc)[:, None, :] - self.mfcc[None]) ** 2).sum(axis=2)  # (T, 6)
        scores = -d2 / (2.0 * self.spread**2)
        scores -= scores.max(axis=1, keepdims=True)
        weights = np.exp(scores)
        return weights / weights.sum(axis=1, keepdims=True)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": 1,
            "visemes": list(VISEMES),
            "mfcc": np.round(self.mfcc, 4).tolist(),
            "openness": np.round(self.openness, 4).tolist(),
            "spread": round(float(self.spread), 4),
            "origin": self.origin,
        }

    def save(self, path: str | Path) -> None:
        data = self.to_json()
        rows = ",\n  ".join(json.dumps(row) for row in data.pop("mfcc"))
        text = json.dumps(data, indent=1)  # one MFCC template per line keeps the file small and readable
        Path(path).write_text(text[:-2] + f',\n "mfcc": [\n  {rows}\n ]\n}}\n')

    @staticmethod
    def from_json(data: dict, where: str = "voice templates") -> VoiceTemplates:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LivePuppetError(f'{where}: not a LivePuppet voice file (no "format": "{FORMAT}")')
        if list(data.get("visemes", [])) != list(VISEMES):
            raise LivePuppetError(f"{where}: visemes must be {list(VISEMES)}")
        try:
            return VoiceTemplates(
                mfcc=np.asarray(data["mfcc"], np.float64),
                openness=np.asarray(data["openness"], np.float64),
                spread=float(data["spread"]),
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
        text = resources.files("realtime.audio").joinpath(DEFAULT_FILE).read_text()
        return VoiceTemplates.from_json(json.loads(text), DEFAULT_FILE)


def templates_from_frames(
    mfcc: np.ndarray, labels: np.ndarray, openness: np.ndarray, origin: str
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
    return VoiceTemplates(np.array(means), np.asarray(openness, np.float64), spread, origin)
