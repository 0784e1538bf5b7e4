import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_root() -> Path | None:
    configured = os.environ.get("LIVEPUPPET_TEST_DATA")
    root = Path(configured) if configured else REPO.parent / "shared" / "data"
    if not root.is_absolute():
        root = (Path.cwd() / root).resolve()
    return root if (root / "liveportrait_examples").is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The development test data (real portraits and driving videos); skips when it is absent."""
    root = _data_root()
    if root is None:
        pytest.skip(
            "development test data not found: set LIVEPUPPET_TEST_DATA to the shared data folder "
            "(a fresh clone has none; .ci/run sets it)"
        )
    return root / "liveportrait_examples"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The LivePortrait reference manifests and vectors (../shared/reference/liveportrait)."""
    configured = os.environ.get("LIVEPUPPET_REFERENCE")
    root = Path(configured) if configured else REPO.parent / "shared" / "reference" / "liveportrait"
    if not (root / "README.md").is_file():
        pytest.skip("LivePortrait reference vectors not found: set LIVEPUPPET_REFERENCE (.ci/run sets it)")
    return root


@pytest.fixture(scope="session")
def synthetic_weights(reference_dir: Path, tmp_path_factory) -> Path:
    """Synthetic LivePortrait weights generated from the reference manifests (every SHA-256 checked), written
    once per session in the official checkpoint layout."""
    pytest.importorskip("torch")
    from engines.liveportrait.synthetic import write_synthetic_checkpoints

    directory = tmp_path_factory.mktemp("liveportrait_weights")
    write_synthetic_checkpoints(directory, manifest_dir=reference_dir, verify=True)
    return directory


@pytest.fixture(scope="session")
def synthetic_networks(synthetic_weights: Path):
    """The synthetic weights loaded once per session through the users' loader (CPU, fp32). Shared by the
    engine and export tests: treat as read-only."""
    from engines.liveportrait.checkpoints import load_networks

    return load_networks(synthetic_weights, "cpu")
