import pytest

from engines.blas import blas_threads, limit_blas_threads


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


def test_the_tps_matrix_is_the_same_on_one_thread_and_on_two():
    # A batch worker (one core) and `livepuppet render` (every core) must build the same warp, pixel for pixel.
    import numpy as np

    from engines.blas import one_blas_thread
    from engines.warp.field import TpsGrid

    before = blas_threads()
    if before is None:
        pytest.skip("numpy here is not linked with OpenBLAS")
    rng = np.random.default_rng(0)
    controls = rng.uniform(0, 400, (450, 2)).astype(np.float32)
    try:
        limit_blas_threads(2)
        on_two = TpsGrid(controls, (400, 400), 6.0).evaluation
        assert blas_threads() == 2  # the pool is given back
        limit_blas_threads(1)
        on_one = TpsGrid(controls, (400, 400), 6.0).evaluation
        with one_blas_thread():
            assert blas_threads() == 1
    finally:
        limit_blas_threads(before)
    assert np.array_equal(on_one, on_two)
