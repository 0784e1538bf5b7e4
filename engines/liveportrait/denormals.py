"""Denormal floats flushed to zero while the networks run on the CPU, and only then.

Denormal activations run about ten times slower on x86 (the motion extractor on the synthetic weights:
1.1 s -> 0.09 s flushed); flushing them changes only values below 1e-38. torch can only set the flag for
the whole thread, and TFLite's XNNPack (MediaPipe, which tracks faces in the same process and often the
same thread) fails to prepare its graphs while it is set ("XNNPack delegate failed to reshape runtime"),
so it is set around each network call and cleared after.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def flushed_denormals(device: torch.device) -> Iterator[None]:
    """Within the block, denormals are flushed to zero on the CPU (no effect on other devices)."""
    if device.type != "cpu" or not torch.set_flush_denormal(True):
        yield
        return
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
