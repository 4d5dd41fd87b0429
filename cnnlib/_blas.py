"""Matrix products from inside numba kernels: NumPy's own BLAS, called by name.

Winograd and im2col spend most of their time in matrix products (GEMMs) and the rest in
copies and transforms. Running all of it inside one parallel numba kernel — each of numba's
threads transforming, multiplying and transforming back its own chunk of the layer — keeps a
single pool of threads (handing work to numba's OpenMP threads costs ~3 µs; alternating them
with OpenBLAS' own threads made the two pools fight for the cores). :func:`gemm` is that
product: ``c = a @ b + beta·c`` on 2-D float32/float64 arrays with unit column stride (any row
stride, so blocks of a larger array work in place), computed by the ``cblas_?gemm`` of the
OpenBLAS that NumPy ships (found with ``threadpoolctl``, registered with LLVM under a fixed
name, so that kernels calling it are cached on disk like the others).

If no 64-bit-integer CBLAS is found (a NumPy built against another BLAS), :func:`gemm` falls
back to plain numba loops: correct, much slower; :data:`HAVE_CBLAS` tells which.

What ran is observable: inside ``with recording() as calls:`` every GEMM that cnnlib's kernels
run appends its shape ``(m, k, n)`` (``a`` is ``m×k``, ``b`` is ``k×n``) to ``calls`` — the
instrumented count of multiplications that chapters 2 and 31 compare with torch's counts.
Explained in chapter 31 (how to accelerate convolution).
"""
from __future__ import annotations

import contextlib
import ctypes

import llvmlite.binding as llvm
import numpy as np
from numba import njit, types

__all__ = ["gemm", "gemm_logged", "gemm_tn", "gemm_tn_logged", "HAVE_CBLAS", "BLAS_LIBRARY", "recording", "new_log",
           "flush_log"]

# ILP64 CBLAS names: NumPy ≥ 2 wheels (scipy-openblas64), other ILP64 builds.
_CANDIDATES = ("scipy_cblas_{}gemm64_", "cblas_{}gemm64_", "cblas_{}gemm_64")


def _find_cblas():
    """``(path, {"s": address, "d": address})`` of NumPy's BLAS, or ``(None, None)``."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:             # pragma: no cover - threadpoolctl is a dependency
        return None, None
    for info in threadpool_info():
        if info.get("user_api") != "blas":
            continue
        try:
            lib = ctypes.CDLL(info["filepath"])
        except OSError:             # pragma: no cover
            continue
        for pattern in _CANDIDATES:
            try:
                found = {t: ctypes.cast(getattr(lib, pattern.format(t)), ctypes.c_void_p).value
                         for t in "sd"}
            except AttributeError:
                continue
            return info["filepath"], found
    return None, None


BLAS_LIBRARY, _addresses = _find_cblas()
HAVE_CBLAS = _addresses is not None
if HAVE_CBLAS:
    llvm.add_symbol("cnnlib_cblas_sgemm64", _addresses["s"])
    llvm.add_symbol("cnnlib_cblas_dgemm64", _addresses["d"])

_i64 = types.int64
_sgemm = types.ExternalFunction("cnnlib_cblas_sgemm64", types.void(
    types.int32, types.int32, types.int32, _i64, _i64, _i64, types.float32, types.voidptr, _i64,
    types.voidptr, _i64, types.float32, types.voidptr, _i64))
_dgemm = types.ExternalFunction("cnnlib_cblas_dgemm64", types.void(
    types.int32, types.int32, types.int32, _i64, _i64, _i64, types.float64, types.voidptr, _i64,
    types.voidptr, _i64, types.float64, types.voidptr, _i64))
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

if HAVE_CBLAS:
    @njit(cache=True, nogil=True)
    def gemm(a, b, c, beta):
        """``c[:] = a @ b + beta·c`` (2-D, unit column stride, one float dtype; BLAS)."""
        m, k = a.shape
        n = b.shape[1]
        if m == 0 or n == 0:
            return
        size = a.itemsize
        lda, ldb, ldc = a.strides[0] // size, b.strides[0] // size, c.strides[0] // size
        if size == 4:
            _sgemm(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, m, n, k, np.float32(1.0), a.ctypes,
                   max(lda, k, 1), b.ctypes, max(ldb, n, 1), np.float32(beta), c.ctypes,
                   max(ldc, n, 1))
        else:
            _dgemm(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, m, n, k, 1.0, a.ctypes, max(lda, k, 1),
                   b.ctypes, max(ldb, n, 1), np.float64(beta), c.ctypes, max(ldc, n, 1))
else:                               # pragma: no cover - NumPy wheels ship an ILP64 CBLAS
    @njit(cache=True, nogil=True)
    def gemm(a, b, c, beta):
        """``c[:] = a @ b + beta·c`` with numba loops (no CBLAS found)."""
        m, k = a.shape
        n = b.shape[1]
        for i in range(m):
            row = c[i]
            if beta == 0:
                row[:] = 0
            else:
                row *= beta
            for p in range(k):
                aip = a[i, p]
                bp = b[p]
                for j in range(n):
                    row[j] += aip * bp[j]


if HAVE_CBLAS:
    @njit(cache=True, nogil=True)
    def gemm_tn(a, b, c):
        """``c[:] = a.T @ b`` (``a`` is ``k×m``; 2-D, unit column stride, one float dtype; BLAS
        reads ``a`` transposed in place, so a block of a larger array needs no copy)."""
        k, m = a.shape
        n = b.shape[1]
        if m == 0 or n == 0:
            return
        size = a.itemsize
        lda, ldb, ldc = a.strides[0] // size, b.strides[0] // size, c.strides[0] // size
        if size == 4:
            _sgemm(_ROW_MAJOR, _TRANS, _NO_TRANS, m, n, k, np.float32(1.0),
                   a.ctypes, max(lda, m, 1), b.ctypes, max(ldb, n, 1), np.float32(0.0),
                   c.ctypes, max(ldc, n, 1))
        else:
            _dgemm(_ROW_MAJOR, _TRANS, _NO_TRANS, m, n, k, 1.0, a.ctypes,
                   max(lda, m, 1), b.ctypes, max(ldb, n, 1), 0.0, c.ctypes,
                   max(ldc, n, 1))
else:                               # pragma: no cover - NumPy wheels ship an ILP64 CBLAS
    @njit(cache=True, nogil=True)
    def gemm_tn(a, b, c):
        """``c[:] = a.T @ b`` with numba loops (no CBLAS found)."""
        k, m = a.shape
        c[:] = 0
        for p in range(k):
            for i in range(m):
                aip = a[p, i]
                for j in range(b.shape[1]):
                    c[i, j] += aip * b[p, j]


@njit(cache=True, nogil=True, inline="always")
def gemm_logged(a, b, c, beta, log, i):
    """:func:`gemm`, and row ``i`` of ``log`` records its shape ``(m, k, n)`` if ``log`` has it."""
    if i < log.shape[0]:
        log[i, 0], log[i, 1], log[i, 2] = a.shape[0], a.shape[1], b.shape[1]
    gemm(a, b, c, beta)


@njit(cache=True, nogil=True, inline="always")
def gemm_tn_logged(a, b, c, log, i):
    """:func:`gemm_tn`, and row ``i`` of ``log`` records its shape ``(m, k, n)`` if ``log`` has it
    (``m×k`` is ``a.T``)."""
    if i < log.shape[0]:
        log[i, 0], log[i, 1], log[i, 2] = a.shape[1], a.shape[0], b.shape[1]
    gemm_tn(a, b, c)


_recorders: list = []


@contextlib.contextmanager
def recording():
    """Collect ``(m, k, n)`` of every GEMM cnnlib's kernels run inside the block (a list)."""
    calls: list = []
    _recorders.append(calls)
    try:
        yield calls
    finally:
        _recorders.remove(calls)


def new_log(n_calls: int) -> np.ndarray:
    """The ``log`` array a kernel about to run ``n_calls`` GEMMs fills: empty unless recording."""
    return np.zeros((n_calls if _recorders else 0, 3), dtype=np.int64)


def flush_log(log: np.ndarray) -> None:
    """Hand a filled ``log`` to every active :func:`recording`."""
    if len(log):
        shapes = [tuple(map(int, row)) for row in log]
        for calls in _recorders:
            calls.extend(shapes)
