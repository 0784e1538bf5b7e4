"""Crop upload / frame download: the staged path (buffers made once, pinned on CUDA) checked on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engines.liveportrait.transfer import HostTransfer


def _crop(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)


@pytest.mark.parametrize("staged", [False, True])
def test_upload_gives_nchw_floats_and_each_result_is_kept(staged):
    transfer = HostTransfer(torch.device("cpu"), staged=staged)
    first_crop, second_crop = _crop(0), _crop(1)
    first = transfer.upload(first_crop)
    second = transfer.upload(second_crop)
    assert first.shape == (1, 3, 16, 16) and first.dtype == torch.float32
    np.testing.assert_allclose(first[0].permute(1, 2, 0).numpy() * 255, first_crop, atol=1e-4)
    np.testing.assert_allclose(second[0].permute(1, 2, 0).numpy() * 255, second_crop, atol=1e-4)


def test_staged_download_reuses_one_host_buffer():
    transfer = HostTransfer(torch.device("cpu"), staged=True)
    image = torch.tensor([-0.5, 0.2, 0.999, 1.7]).reshape(1, 1, 2, 2).expand(1, 3, 2, 2)
    first = transfer.download(image)
    expected = np.array([[0, 51], [254, 255]], np.uint8)  # clip, x255, truncate (0.2 * 255 = 51.000001)
    np.testing.assert_array_equal(first[..., 1], expected)
    assert first.shape == (2, 2, 3) and first.flags["C_CONTIGUOUS"]
    second = transfer.download(torch.zeros(1, 3, 2, 2))
    assert np.shares_memory(first, second)  # the documented reuse: callers that keep a frame copy it
    assert not second.any()


def test_unstaged_download_returns_fresh_arrays():
    transfer = HostTransfer(torch.device("cpu"))
    assert not transfer.staged
    first = transfer.download(torch.ones(1, 3, 2, 2))
    second = transfer.download(torch.zeros(1, 3, 2, 2))
    assert not np.shares_memory(first, second) and first.all()
