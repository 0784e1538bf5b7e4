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


def test_every_thread_of_a_parallel_loop_flushes():
    """The flag is per thread: set on the calling thread alone, the other OpenMP threads' share of a
    parallel loop kept its denormals (and ran ten times slower on them)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        tiny = torch.full((1 << 20,), 1e-39, dtype=torch.float32)
        assert int((tiny * 1.0 != 0).sum()) == tiny.numel()  # a parallel loop, pool made with the flag off
        with flushed_denormals(torch.device("cpu")):
            inside = tiny * 1.0
            with flushed_denormals(torch.device("cpu")):  # nested blocks (pipeline around a runner)
                pass
            still = tiny * 1.0
        assert int((inside != 0).sum()) == 0
        assert int((still != 0).sum()) == 0  # the inner block did not clear the outer one's flag
        assert int((tiny * 1.0 != 0).sum()) == tiny.numel()
    finally:
        torch.set_num_threads(threads)
