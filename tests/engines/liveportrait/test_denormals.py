import pytest

torch = pytest.importorskip("torch")

from engines.liveportrait.denormals import flushed_denormals  # noqa: E402


def test_denormals_are_flushed_only_inside_the_block():
    tiny = torch.tensor([1e-39], dtype=torch.float32)  # a denormal
    with flushed_denormals(torch.device("cpu")):
        inside = (tiny * 1.0).item()
    after = (tiny * 1.0).item()
    assert inside == 0.0
    assert after != 0.0  # cleared again: MediaPipe's XNNPack fails to prepare while it is set
