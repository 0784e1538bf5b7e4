"""Session fixture: the ONNX export of the synthetic networks (tests/conftest.py), made once per session
(exporting the big graphs costs tens of seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="session")
def onnx_files(synthetic_weights: Path, synthetic_networks, tmp_path_factory) -> dict[str, Path]:
    """Every graph exported once (plugin-free grid sample, opset 18) through the runtime's own path."""
    from export.networks import ensure_onnx

    return ensure_onnx(synthetic_weights, tmp_path_factory.mktemp("onnx"), networks=synthetic_networks)
