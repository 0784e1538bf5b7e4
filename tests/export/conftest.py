"""Session fixtures: synthetic LivePortrait weights (reference manifests), the loaded networks and their
ONNX export, each made once per session (exporting the big graphs costs tens of seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="session")
def export_weights(synthetic_weights: Path) -> Path:
    return synthetic_weights


@pytest.fixture(scope="session")
def export_networks(export_weights: Path):
    from engines.liveportrait.checkpoints import load_networks

    return load_networks(export_weights, "cpu")


@pytest.fixture(scope="session")
def onnx_files(export_weights: Path, export_networks, tmp_path_factory) -> dict[str, Path]:
    """Every graph exported once (plugin-free grid sample, opset 18) through the runtime's own path."""
    from export.networks import ensure_onnx

    return ensure_onnx(export_weights, tmp_path_factory.mktemp("onnx"), networks=export_networks)
