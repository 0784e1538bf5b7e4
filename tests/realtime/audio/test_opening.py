"""The opening codebook: learned from timbre / mouth pairs, it maps a new frame to the opening of its kind."""

from __future__ import annotations

import numpy as np
import pytest

from engines.base import LivePuppetError
from realtime.audio.opening import OpeningCodebook, fit_codebook


def _timbres(rng, centre, count):
    return centre + rng.normal(0.0, 1.0, (count, 12))


def test_a_codebook_maps_each_kind_of_sound_to_the_opening_seen_with_it():
    rng = np.random.default_rng(0)
    kinds = [rng.normal(0.0, 15.0, 12) for _ in range(3)]  # three well-separated timbres
    openings = [-1.0, 0.2, 1.5]  # standardised mouth opening while each is spoken
    mfcc = np.concatenate([_timbres(rng, c, 300) for c in kinds])
    measured = np.concatenate([o + rng.normal(0.0, 0.3, 300) for o in openings])
    measured[::17] = np.nan  # frames without a face are left out
    codebook = fit_codebook(mfcc, measured, books=3, size=6, seed=1)
    new = [codebook.opening(_timbres(rng, c, 50)).mean() for c in kinds]
    assert new[0] < 0.1 and 0.2 < new[1] < 0.8 and new[2] > 0.9  # order and ends kept, scaled to 0..1
    assert codebook.opening(_timbres(rng, kinds[2], 5)).max() <= 1.0


def test_a_codebook_round_trips_through_json_and_rejects_bad_shapes():
    rng = np.random.default_rng(1)
    codebook = fit_codebook(rng.normal(0.0, 5.0, (400, 12)), rng.normal(size=400), books=2, size=4)
    again = OpeningCodebook.from_json(codebook.to_json(), "test")
    frames = rng.normal(0.0, 5.0, (20, 12))
    assert np.allclose(again.opening(frames), codebook.opening(frames), atol=1e-2)
    with pytest.raises(LivePuppetError, match="books x size"):
        OpeningCodebook(np.zeros((2, 4, 11)), np.zeros((2, 4)), np.ones(2))
    with pytest.raises(LivePuppetError, match="too few"):
        fit_codebook(np.zeros((10, 12)), np.zeros(10), size=16)
