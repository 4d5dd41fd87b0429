"""Thread and scratch-memory helpers for the BLAS-based convolution methods.

``im2col`` (:mod:`cnnlib._im2col`) and Winograd (:mod:`cnnlib._winograd`) run a few small numba
steps (copies, transforms) around large BLAS matrix products. Two things make or break their
speed on a small machine, and both are handled here, in one place:

* :func:`one_numba_thread` keeps numba's thread pool out of BLAS' way;
* :func:`scratch` reuses the multi-megabyte intermediates instead of allocating them per call.

Explained in chapter 31 (how to accelerate convolution).
"""
from __future__ import annotations

import contextlib
import math
import sys
import threading

import numba
import numpy as np

__all__ = ["one_numba_thread", "scratch"]


def _start_numba_threads():
    """Start numba's thread pool now, at ``import cnnlib``, and leave torch's thread count alone.

    Numba starts its pool on first use. With its OpenMP threading layer, starting it sets
    OpenMP's thread count to numba's, and OpenMP's count *is* torch's intra-op thread count when
    torch is loaded: a user's ``torch.set_num_threads(1)`` would silently become 2 at the first
    ``cnnlib.conv2d``. Started here, the pool takes its threads once; torch's count (kept if
    torch is already imported) sticks from then on, and numba keeps its own.
    """
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    numba.get_num_threads()                       # starts the threading layer
    if torch_threads is not None and torch.get_num_threads() != torch_threads:
        torch.set_num_threads(torch_threads)


_start_numba_threads()


@contextlib.contextmanager
def one_numba_thread():
    """Run the numba kernels inside the ``with`` block on the calling thread only.

    For the numba steps of BLAS-based methods (im2col's copy, Winograd's transforms). NumPy's
    OpenBLAS and numba each keep a pool of worker threads that spin for a while after a call
    (OpenBLAS' for ~0.1 s); alternating a multi-threaded numba kernel with a multi-threaded
    GEMM makes the two pools fight for the cores, and on the book's 2-core machine a 0.02 ms
    kernel then takes 3–8 ms. Serial numba steps leave the parallelism to BLAS.
    """
    old = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(old)


_workspace = threading.local()


def scratch(name: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised temporary array ``shape`` of ``dtype``, reused across calls.

    For the large intermediates of im2col and Winograd (the column matrix, the transformed
    tiles, their products), which never leave the function that asks for them. A fresh
    multi-megabyte array per call costs a page fault per 4 KiB page, because glibc hands
    freed memory back to the system: that made Winograd @56 2.5× slower in a loop. Each
    thread keeps the largest buffer it has seen under ``name`` (a few MB for the benchmark
    layers); the caller must not return the array, nor ask for the same ``name`` twice at once.
    """
    size = math.prod(shape)
    buf = getattr(_workspace, name, None)
    if buf is None or buf.dtype != dtype or buf.size < size:
        buf = np.empty(size, dtype=dtype)
        setattr(_workspace, name, buf)
    return buf[:size].reshape(shape)
