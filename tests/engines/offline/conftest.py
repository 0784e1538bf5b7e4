import os

# The offline modes must never reach the network: set before huggingface_hub is imported anywhere.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Tiny random models in the users' folder layouts (built once per session, a few seconds)."""
    pytest.importorskip("diffusers")
    from engines.offline.tiny import build_all

    return build_all(tmp_path_factory.mktemp("tiny_models"))


@pytest.fixture(scope="session")
def driving_with_audio(data_dir):
    """A real driving clip that has a sound track."""
    return data_dir / "driving" / "d10.mp4"


@pytest.fixture(scope="session")
def portrait(data_dir):
    return data_dir / "source" / "s1.jpg"
