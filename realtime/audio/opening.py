"""How far the mouth opens for a sound's timbre, learned from talking videos: a codebook of MFCC clusters,
each with the mouth opening measured on the faces while its sounds were spoken.

Why not the vowels' own openness: vowel labels from a phone recogniser are noisy on real speech (its
"M B P" hops, where lips close, measured as open as its "I" hops), and five vowels leave out the
consonants that shape most of the jaw's motion. The codebook needs no labels: k-means groups the
mean-normalised MFCCs of the voiced hops of several talking clips (``size`` clusters), and each cluster's
openness is the average measured opening (standardised per clip, so no face's size or resting mouth
dominates) of the hops it holds, weighted as they are scored. Several codebooks from different k-means
starts are averaged (``books``), so the mapping does not hinge on one start's clusters. Scores are a
softmax of minus the squared distance over ``2 * spread**2``, as for the vowel templates.

JSON (inside a voice file, see :mod:`realtime.audio.visemes`):
``{"centres": [[[12 numbers] x size] x books], "openness": [[size numbers] x books], "spread": [books]}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.base import LivePuppetError
from realtime.audio.features import MFCC_COUNT

BOOKS = 8
BOOK_SIZE = 16
# the softmax's distance scale as a share of the RMS distance of hops to their cluster centre (as the
# vowel templates' SPREAD_SHARE)
SPREAD_SHARE = 0.3


def soft_assignment(mfcc: np.ndarray, centres: np.ndarray, spread: float) -> np.ndarray:
    """(T, K) softmax scores, rows summing to 1, of MFCC frames (T, 12) against centres (K, 12)."""
    d2 = ((np.atleast_2d(mfcc)[:, None, :] - centres[None]) ** 2).sum(axis=2)
    scores = -d2 / (2.0 * spread**2)
    scores -= scores.max(axis=1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=1, keepdims=True)


@dataclass(frozen=True, slots=True)
class OpeningCodebook:
    """``centres`` (books, size, 12) mean-normalised MFCCs, ``openness`` (books, size) 0..1, ``spread``
    (books,) each book's softmax scale."""

    centres: np.ndarray
    openness: np.ndarray
    spread: np.ndarray

    def __post_init__(self):
        books = len(self.spread)
        if (
            self.centres.ndim != 3
            or self.centres.shape[0] != books
            or self.centres.shape[2] != MFCC_COUNT
            or self.openness.shape != self.centres.shape[:2]
        ):
            raise LivePuppetError(
                f"opening codebook: centres must be books x size x {MFCC_COUNT}, openness books x size"
            )
        if not (np.all(self.spread > 0) and np.all(np.isfinite(self.centres))):
            raise LivePuppetError("opening codebook: spreads must be > 0 and the centres finite")

    def opening(self, mfcc: np.ndarray) -> np.ndarray:
        """(T,) opening 0..1 for mean-normalised MFCC frames (T, 12): the books' scored openness, averaged."""
        return np.clip(self._score(mfcc), 0.0, 1.0)

    def _score(self, mfcc: np.ndarray) -> np.ndarray:
        total = sum(
            soft_assignment(mfcc, centres, spread) @ openness
            for centres, openness, spread in zip(self.centres, self.openness, self.spread)
        )
        return total / len(self.spread)

    def to_json(self) -> dict:
        return {
            "centres": np.round(self.centres, 3).tolist(),
            "openness": np.round(self.openness, 4).tolist(),
            "spread": np.round(self.spread, 4).tolist(),
        }

    @staticmethod
    def from_json(data: dict, where: str) -> OpeningCodebook:
        try:
            return OpeningCodebook(
                centres=np.asarray(data["centres"], np.float64),
                openness=np.asarray(data["openness"], np.float64),
                spread=np.asarray(data["spread"], np.float64).reshape(-1),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LivePuppetError(f"{where}: malformed opening codebook ({exc})") from exc


def fit_codebook(
    mfcc: np.ndarray, opening: np.ndarray, books: int = BOOKS, size: int = BOOK_SIZE, seed: int = 0
) -> OpeningCodebook:
    """A codebook from voiced hops: ``mfcc`` (N, 12) mean-normalised, ``opening`` (N,) the measured mouth
    opening standardised per clip (NaN where no face). Openness is rescaled so the codebook's output over
    these hops spans 0..1 from their 5th to their 95th percentile (the ends are clipped)."""
    from scipy.cluster.vq import kmeans2

    if len(mfcc) < size * 4:
        raise LivePuppetError(f"opening codebook: {len(mfcc)} hops are too few for {size} clusters")
    seen = np.isfinite(opening)
    all_centres, all_openness, spreads = [], [], []
    for book in range(books):
        centres, labels = kmeans2(mfcc, size, minit="++", rng=np.random.default_rng(seed + book))
        spread = SPREAD_SHARE * float(np.sqrt(((mfcc - centres[labels]) ** 2).sum(axis=1).mean()))
        weights = soft_assignment(mfcc[seen], centres, spread)  # (N_seen, size)
        all_openness.append((weights * opening[seen, None]).sum(axis=0) / weights.sum(axis=0))
        all_centres.append(centres)
        spreads.append(spread)
    raw = OpeningCodebook(np.array(all_centres), np.array(all_openness), np.array(spreads))
    low, high = np.percentile(raw._score(mfcc), [5.0, 95.0])
    openness = (raw.openness - low) / max(float(high - low), 1e-6)
    return OpeningCodebook(raw.centres, openness, raw.spread)
