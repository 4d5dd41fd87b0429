"""Thread and scratch-memory helpers for the BLAS-based convolution methods.

``im2col`` (:mod:`cnnlib._im2col`) and Winograd (:mod:`cnnlib._winograd`) run small numba
steps (copies, transforms) around BLAS matrix products. Two things make or break their speed
on a small machine, and both are handled here, in one place:

* one pool of threads: numba's (:func:`threads`) run every step, the copies and transforms
  and the GEMMs too (:func:`cnnlib._blas.gemm` called inside the parallel numba kernels, one
  block of the layer per task), with BLAS single-threaded meanwhile
  (:func:`blas_single_threaded`). Two pools alternating — numba's for the transforms,
  OpenBLAS' for the GEMMs — fought for the cores (each spins for a while after a call: a
  0.02 ms kernel took 3–8 ms). Handing work to numba's OpenMP threads costs ~3 µs; to a Python
  thread pool it measured 50–250 µs on the book's virtual machine (an idle virtual CPU is
  slow to wake), a third of a 3×3 layer's time;
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

__all__ = ["scratch", "blas_single_threaded", "threads"]


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


# ----------------------------------------------------------------------------- own threads
def threads() -> int:
    """Threads cnnlib's convolutions use: numba's count (``numba.set_num_threads``, ``NUMBA_NUM_THREADS``)."""
    return numba.get_num_threads()


_blas = {"controllers": None, "depth": 0, "saved": None}
_blas_lock = threading.Lock()


def _blas_controllers():
    if _blas["controllers"] is None:
        from threadpoolctl import ThreadpoolController
        _blas["controllers"] = ThreadpoolController().select(user_api="blas").lib_controllers
    return _blas["controllers"]


@contextlib.contextmanager
def blas_single_threaded():
    """Run NumPy's BLAS single-threaded inside the block (restored afterwards).

    For numba kernels that call BLAS (:func:`cnnlib._blas.gemm`) from inside their parallel
    loop: each of numba's threads multiplies its own block of the layer (some of Winograd's
    α² products, a block of im2col's output pixels), so BLAS must not start threads of its own. OpenBLAS parallelising each
    small GEMM by itself does not pay (36 GEMMs of 64×64 by 64×196 at 64@56: two threads
    measured no faster than one), and its threads spin for ~0.1 s after every call, competing
    with numba's. Nested and concurrent uses are counted: the first one in saves BLAS' thread
    counts, the last one out restores them.
    """
    with _blas_lock:
        controllers = _blas_controllers()
        if _blas["depth"] == 0:
            _blas["saved"] = [c.get_num_threads() for c in controllers]
            for c in controllers:
                c.set_num_threads(1)
        _blas["depth"] += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas["depth"] -= 1
            if _blas["depth"] == 0:
                for c, n in zip(controllers, _blas["saved"]):
                    c.set_num_threads(n)
