"""OpenBLAS's thread pool: kept to one thread while the live loop runs, and for work whose results must
not depend on the machine's core count.

The live loop already runs capture, tracking, rendering and the sinks on their own threads. OpenBLAS (in
numpy's wheels) adds a pool of busy-waiting workers per process, sized to every core, that fight those
threads for the CPU: on two cores the warp engine's p95 render time measured 51.5 ms with the default
pool and 18 ms with one thread. The pool can only be resized through OpenBLAS's C API, found here in the
loaded libraries (what threadpoolctl does, without the dependency). Best effort: a BLAS that is not
OpenBLAS (macOS Accelerate, MKL) is left alone.

The pool's size also changes results: blocked factorisations and products sum in a thread-dependent order
(the warp engine's TPS matrix differed in the 9th digit between one and two threads, enough to change a
pixel between a batch worker on one core and ``livepuppet render`` on two). Prepare-time linear algebra
whose output must be reproducible runs inside :func:`one_blas_thread`.
"""

from __future__ import annotations

import ctypes
import glob
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

SETTERS = (
    "openblas_set_num_threads64_",  # numpy 1.x wheels (ILP64 build, suffixed symbols)
    "scipy_openblas_set_num_threads64_",  # numpy 2.x wheels (scipy-openblas)
    "openblas_set_num_threads",
    "scipy_openblas_set_num_threads",
)


def _openblas_libraries() -> list[str]:
    found: list[str] = []
    try:  # Linux: what is mapped into this process
        with open("/proc/self/maps") as maps:
            found = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
    except OSError:
        pass
    if not found:  # elsewhere: the libraries shipped beside numpy
        root = Path(np.__file__).resolve().parent
        patterns = ("*openblas*.so*", "*openblas*.dll", "*openblas*.dylib")
        for folder in (root.parent / "numpy.libs", root / ".libs", root / ".dylibs"):
            found += [path for pattern in patterns for path in glob.glob(str(folder / pattern))]
    return found


def _loaded_openblas() -> Iterator[tuple[str, ctypes.CDLL]]:
    """(path, handle) of each OpenBLAS library already loaded in this process."""
    for path in _openblas_libraries():
        try:
            yield path, ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_GLOBAL)
        except OSError:
            continue


def limit_blas_threads(threads: int = 1) -> bool:
    """Resize OpenBLAS's thread pool; True when a library took the setting."""
    done = False
    for path, library in _loaded_openblas():
        for name in SETTERS:
            setter = getattr(library, name, None)
            if setter is not None:
                setter(ctypes.c_int(threads))
                log.debug("%s: %s(%d)", Path(path).name, name, threads)
                done = True
                break
    if not done:
        log.debug("no OpenBLAS found to limit to %d thread(s)", threads)
    return done


def blas_threads() -> int | None:
    """OpenBLAS's current pool size, or None when there is no OpenBLAS."""
    for _, library in _loaded_openblas():
        for name in SETTERS:
            getter = getattr(library, name.replace("set_num_threads", "get_num_threads"), None)
            if getter is not None:
                return int(getter())
    return None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with OpenBLAS on one thread (results then do not depend on the core count), restoring
    the pool's size after it. Not for blocks that race other threads' BLAS calls."""
    before = blas_threads()
    if before is None or before == 1:
        yield
        return
    limit_blas_threads(1)
    try:
        yield
    finally:
        limit_blas_threads(before)
