import pytest

from realtime.live.blas import blas_threads, limit_blas_threads


def test_openblas_pool_can_be_limited_and_restored():
    before = blas_threads()
    if before is None:
        pytest.skip("numpy here is not linked with OpenBLAS")
    try:
        assert limit_blas_threads(1)
        assert blas_threads() == 1
    finally:
        limit_blas_threads(before)
    assert blas_threads() == before
