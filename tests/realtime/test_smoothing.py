import numpy as np

from realtime.smoothing import OneEuroFilter


def test_one_euro_reduces_jitter_at_rest_and_follows_fast_moves():
    rng = np.random.default_rng(0)
    filt = OneEuroFilter(min_cutoff=1.0, beta=0.01)
    times = np.arange(120) / 30.0
    noisy = 10.0 + rng.normal(0, 0.5, (120, 4))
    smoothed = np.array([filt.filter(v, t).copy() for v, t in zip(noisy, times)])
    assert smoothed[30:].std(axis=0).max() < 0.5 * noisy[30:].std(axis=0).min()
    # a step of 20 units is followed within a few frames thanks to beta
    filt = OneEuroFilter(min_cutoff=1.0, beta=0.5)
    values = [filt.filter(np.array([0.0]), t).copy() for t in times[:10]]
    values += [filt.filter(np.array([20.0]), t).copy() for t in times[10:20]]
    assert values[-1][0] > 18.0
