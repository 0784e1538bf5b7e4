"""Derive the default voice templates (``realtime/audio/voice_templates.json``) from talking videos.

    python -m bench.voice_templates --data ../shared/data/dev_media/driving --only t01,t02,t03,t04,v03,b02

How: pocketsphinx's phone recogniser labels each clip's sound (US-English phones, no words); every 10 ms
hop whose centre falls in a vowel phone is labelled with its viseme (A: AA AE AH AY AW, I: IY IH,
U: UW UH, E: EH EY, O: AO OW OY), hops in a recognised pause that webrtcvad also calls unvoiced are
"silence". Each clip's MFCCs are mean-normalised over its own voiced hops, so no voice dominates by its
timbre; a template is the mean of its hops over all clips. The opening codebook
(:mod:`realtime.audio.opening`) is fitted on the same MFCCs of every voiced hop and the mouth opening
measured on the faces (MediaPipe) ``LEAD`` earlier (the mouth leads the sound), standardised per clip.
``bench.lipsync`` scores each clip with templates derived from the other clips only (leave-one-clip-out).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from realtime.audio.features import HOP, SAMPLE_RATE
from realtime.audio.opening import fit_codebook
from realtime.audio.visemes import DEFAULT_FILE, VISEMES, VoiceTemplates, templates_from_frames

log = logging.getLogger("bench.voice_templates")

PHONE_VISEMES = {
    **dict.fromkeys(("AA", "AE", "AH", "AY", "AW"), "A"),
    **dict.fromkeys(("IY", "IH"), "I"),
    **dict.fromkeys(("UW", "UH"), "U"),
    **dict.fromkeys(("EH", "EY"), "E"),
    **dict.fromkeys(("AO", "OW", "OY"), "O"),
    "SIL": "silence",
}
LEAD = 0.1


def hop_labels(clip) -> np.ndarray:
    """(T_hops,) viseme index of each hop, -1 where it is none (consonants, unsure pauses)."""
    centres = clip.hop_times - 0.5 * HOP / SAMPLE_RATE
    labels = np.full(len(centres), -1)
    for phone, start, end in clip.phones:
        viseme = PHONE_VISEMES.get(phone)
        if viseme is not None:
            labels[(centres >= start) & (centres < end)] = VISEMES.index(viseme)
    silence = VISEMES.index("silence")
    labels[(labels == silence) & clip.features.voiced] = -1
    return labels


def normalised_mfcc(clip) -> np.ndarray:
    voiced = clip.features.voiced
    mean = clip.features.mfcc[voiced].mean(axis=0) if voiced.any() else clip.features.mfcc.mean(axis=0)
    return clip.features.mfcc - mean


def standardised_opening(clip) -> np.ndarray:
    """(T_hops,) the face's mouth opening ``LEAD`` s before each hop's sound, standardised over the clip
    (NaN where no face)."""
    opening = np.interp(clip.hop_times - LEAD, clip.frame_times, clip.opening)
    return (opening - np.nanmean(opening)) / max(float(np.nanstd(opening)), 1e-6)


def derive_templates(clips, origin: str) -> VoiceTemplates:
    mfcc = [normalised_mfcc(clip) for clip in clips]
    voiced = [clip.features.voiced for clip in clips]
    opening = fit_codebook(
        np.concatenate([m[v] for m, v in zip(mfcc, voiced)]),
        np.concatenate([standardised_opening(clip)[v] for clip, v in zip(clips, voiced)]),
    )
    labels = np.concatenate([hop_labels(clip) for clip in clips])
    return templates_from_frames(np.concatenate(mfcc), labels, opening, origin)


def main(argv: list[str] | None = None) -> int:
    from bench.speech_clips import has_audio, load_clip, videos_in

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with talking videos")
    parser.add_argument("--only", help="comma-separated name prefixes of the clips to use")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parents[1] / "realtime" / "audio" / DEFAULT_FILE
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    prefixes = tuple(args.only.split(",")) if args.only else ("",)
    paths = [p for p in videos_in(args.data) if p.name.startswith(prefixes) and has_audio(p)]
    clips = [load_clip(p) for p in paths]
    names = ", ".join(c.name.split("_")[0] for c in clips)
    templates = derive_templates(
        clips, f"derived by bench.voice_templates from {len(clips)} talking clips ({names})"
    )
    templates.save(args.out)
    books, size = templates.opening.openness.shape
    print(
        f"wrote {args.out}: 6 vowel templates (spread {templates.spread:.2f}), opening codebook {books} x {size}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
