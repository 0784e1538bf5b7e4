"""Denormal floats flushed to zero while the networks run on the CPU, and only then.

Denormal activations run about ten times slower on x86 (the motion extractor on the synthetic weights:
1.1 s -> 0.09 s flushed); flushing them changes only values below 1e-38. torch can only set the flag
(MXCSR's flush-to-zero and denormals-are-zero bits) for the thread that asks, and TFLite's XNNPack
(MediaPipe, which tracks faces in the same process and often the same thread) fails to prepare its graphs
while it is set ("XNNPack delegate failed to reshape runtime"), so it is set around each network call and
cleared after.

The flag is per thread, and torch's convolutions and matmuls run on the threads of its OpenMP pool, which
keep whatever flag they were created with. Set on the calling thread alone, only that thread's share of
each parallel loop was flushed: with 2 threads a 1024² matmul on denormal inputs took 12 s instead of 0.03
s, and which graphs suffered depended on what had created the pool (the "unexplained" slowdowns of
interleaved benchmark runs). So the flag is set on every thread of the calling thread's OpenMP team, by
running one parallel region through the OpenMP runtime torch loaded (``GOMP_parallel``, exported by GNU,
LLVM and Intel OpenMP alike); where no such runtime is found only the calling thread is set, as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

OPENMP_LIBRARIES = ("libgomp*.so*", "libiomp5*.so*", "libomp*.so*", "libgomp*.dylib", "libomp*.dylib")
_depth = threading.local()  # nesting depth per thread: only the outermost block sets and clears the flag


@functools.cache
def _openmp_team_runner() -> Callable[[bool], None] | None:
    """A function that sets the flush flag on every thread of the calling thread's OpenMP team, or None
    when torch's OpenMP runtime cannot be found."""
    folder = Path(torch.__file__).parent / "lib"
    for pattern in OPENMP_LIBRARIES:
        for path in sorted(folder.glob(pattern)):
            try:
                parallel = ctypes.CDLL(str(path)).GOMP_parallel  # CDLL releases the GIL during the call
            except (OSError, AttributeError):
                continue
            return _team_runner(parallel)
    return None


def _team_runner(parallel) -> Callable[[bool], None]:
    """``GOMP_parallel(body, data, threads, flags)`` running ``torch.set_flush_denormal`` on each thread."""
    body_type = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
    parallel.argtypes = [body_type, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    parallel.restype = None
    wanted = {"on": False}
    body = body_type(lambda _: torch.set_flush_denormal(wanted["on"]))

    def run(on: bool) -> None:
        wanted["on"] = on
        parallel(body, None, 0, 0)  # 0 threads: the team size torch's own parallel loops get here

    return run


def set_flush_denormal_all_threads(on: bool) -> bool:
    """Set (or clear) flushing on the calling thread and its OpenMP team; False where the CPU cannot."""
    if not torch.set_flush_denormal(on):
        return False
    run = _openmp_team_runner()
    if run is not None:
        run(on)
    return True


@contextlib.contextmanager
def flushed_denormals(device: torch.device) -> Iterator[None]:
    """Within the block, denormals are flushed to zero on the CPU (no effect on other devices). Blocks may
    nest (the pipeline's around the runners'): the flag is cleared when the outermost one ends."""
    depth = getattr(_depth, "value", 0)
    on_cpu = device.type == "cpu"
    flushed = on_cpu and depth == 0 and set_flush_denormal_all_threads(True)
    _depth.value = depth + on_cpu
    try:
        yield
    finally:
        _depth.value = depth
        if flushed:
            set_flush_denormal_all_threads(False)
