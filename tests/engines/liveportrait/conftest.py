"""Reference-vector helpers. The synthetic weights and their loaded networks are session fixtures in
tests/conftest.py (``synthetic_weights``, ``synthetic_networks``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def load_vectors(reference_dir: Path, name: str) -> dict[str, np.ndarray]:
    with np.load(reference_dir / f"vectors_{name}.npz") as data:
        return {k: data[k] for k in data.files}


def strided(full: np.ndarray, key: str) -> np.ndarray:
    """Apply a ``__stride_a x b ...`` suffix of a stored intermediate to the full tensor."""
    if "__stride_" not in key:
        return full
    steps = [int(s) for s in key.split("__stride_")[1].split("x")]
    return full[tuple(slice(None, None, s) for s in steps)]


def assert_close(actual, expected: np.ndarray, atol: float, name: str) -> None:
    actual = actual.detach().cpu().numpy() if hasattr(actual, "detach") else np.asarray(actual)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    worst = float(np.abs(actual.astype(np.float64) - expected).max())
    assert worst <= atol, f"{name}: max |diff| {worst:.3g} > {atol:.3g}"
