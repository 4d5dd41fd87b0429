"""Memory-efficient convolution (MEC): lower the input along the width only, then ``k_h`` GEMMs.

im2col copies every input pixel about ``k_h·k_w / (s_h·s_w)`` times into its column matrix
(the RGB stem, 7×7 stride 2: 12×, a 7.4 MB matrix for a 0.6 MB image) and then runs one GEMM.
MEC (Cho and Brand, *MEC: Memory-efficient Convolution for Deep Neural Network*, ICML 2017)
copies only the ``k_w`` horizontal taps of every input row:

``E[p, (c, j), y'·W_out + x] = x_pad[c, s_h·y' + p, s_w·x + j·d_w]``

(one plane ``p`` per residue of the row index mod ``s_h``). Tap row ``i`` of the kernel reads
input row ``s_h·y + i·d_h`` for output row ``y``: plane ``p = (i·d_h) mod s_h`` at row
``y' = y + ⌊i·d_h / s_h⌋``. Because a plane's rows are exactly ``W_out`` long, the matrix that
tap row ``i`` multiplies, ``(C·k_w) × (H_out·W_out)``, is a *contiguous window* of ``E``
shifted by ``⌊i·d_h/s_h⌋·W_out`` columns — a view, no copy. So

``out = Σ_i W_i @ E[p_i][:, shift_i : shift_i + H_out·W_out]``,  ``W_i = w[:, :, i, :]``

``k_h`` GEMMs of depth ``C·k_w`` instead of one of depth ``C·k_h·k_w``: the same
multiplications, a ``k_h / s_h`` times smaller copy (the stem: 2.2 MB instead of 7.4 MB).

Explained in chapter 31 (how to accelerate convolution).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import _wcache
from ._blas import flush_log, gemm_logged, new_log
from ._im2col import _as_2d, _output_block, _phases, _valid_range, _window_args
from ._sizes import conv_output_size
from ._threads import blas_single_threaded, scratch, threads
from ._validation import as_array, batched

__all__ = ["conv_mec", "lowered", "lowered_shape"]

BLOCK_BYTES = 128 << 10   # each GEMM task writes about this many bytes of output (stays in L2)
MIN_BLOCK_COLUMNS = 64    # ... and at least this many output pixels
BIAS_COLUMN_RATIO = 4     # bias inside the first GEMM if its weights (C·k_w + 1 columns) are at
                          # most 1/4 of the output pixels (else a pass over the output adds it)


@njit(cache=True, inline="always")
def _lower_columns(xs, w, kw, sh, sw, ph, pw, dw, wo, n, r, c0, c1, row):
    """Fill ``row[c0:c1]`` of row ``r = c·k_w + j`` of one plane of the lowered input.

    Column ``y'·W_out + x`` of the row holds ``x_pad[c, s_h·y' + p, s_w·x + j·d_w]``; ``ph`` is
    the plane's ``p_h - p`` (its first row starts ``ph`` rows above the input). ``xs`` is the
    input split by :func:`cnnlib._im2col._phases`, so every run of columns is one contiguous
    slice copy; taps outside the input write zeros.
    """
    h = xs.shape[3]
    c, j = r // kw, r % kw
    off = j * dw - pw
    lo, hi = _valid_range(off, sw, w, wo)        # outputs x whose input column is inside
    phase, shift = off % sw, off // sw
    y = c0 // wo
    while y * wo < c1:
        a, b = max(c0, y * wo) - y * wo, min(c1, (y + 1) * wo) - y * wo
        seg = row[y * wo + a:y * wo + b]
        iy = y * sh - ph
        if iy < 0 or iy >= h:
            seg[:] = 0
        else:
            m0, m1 = min(max(lo, a), b), max(min(hi, b), a)
            seg[:m0 - a] = 0
            seg[m1 - a:] = 0
            if m1 > m0:
                seg[m0 - a:m1 - a] = xs[n, c, phase, iy, m0 + shift:m1 + shift]
        y += 1


@njit(parallel=True, cache=True)
def _mec_gemm(xs, w, kw, sh, sw, ph, pw, dw, wo, planes, tap_plane, tap_shift, wt, w0, bias,
              fill_bias, blocks, log, low, out):
    """Lower the input into ``low``, then run the ``k_h`` GEMMs of every block of output.

    ``xs`` is the input split by :func:`cnnlib._im2col._phases` (``w`` its unsplit width).
    ``low (N, P, C·k_w [+ 1], Y'·W_out)`` receives plane ``planes[q]`` of the lowered input at
    ``[:, q]``; an extra last row, if ``low`` has one, is set to ones. The output pixels
    ``H_out·W_out`` are cut into ``blocks`` blocks of columns, and both steps go block by
    block in the same order, so that (numba handing each thread one run of consecutive tasks)
    a thread mostly multiplies the part of ``low`` it lowered itself, still in its own cache:
    (1) for every (sample, block), fill the block's columns of every row of ``low`` (the last
    block also the ``⌊(k_h-1)·d_h/s_h⌋`` rows below the output); (2) for every (sample, block,
    group), the block of ``out (N, C_out, H_out·W_out)`` is ``Σ_i wt[group, i] @ window_i``,
    the window starting ``tap_shift[i]·W_out`` columns into plane ``tap_plane[i]`` (BLAS,
    single-threaded inside the task). Kernel row 0 uses ``w0``: ``wt[:, 0]``, with the bias
    as an extra column when ``low`` has the row of ones (the bias added inside the GEMM).
    With ``fill_bias`` the block starts as the bias instead.
    """
    n_batch, n_planes, rows_all, span = low.shape
    g, kh, _, rg = wt.shape
    rows = g * rg
    length = out.shape[2]
    for t in prange(n_batch * blocks):
        n, b = t // blocks, t % blocks
        c0 = b * length // blocks
        c1 = span if b == blocks - 1 else (b + 1) * length // blocks
        for q in range(n_planes):
            for r in range(rows_all):
                if r < rows:
                    _lower_columns(xs, w, kw, sh, sw, ph - planes[q], pw, dw, wo, n, r, c0, c1,
                                   low[n, q, r])
                else:
                    low[n, q, r, c0:c1] = 1
    r0 = w0.shape[2]
    for t in prange(n_batch * blocks * g):                    # same order as the lowering
        n, j, l0, l1, dst = _output_block(out, bias, fill_bias, t, blocks, g)
        s = tap_shift[0] * wo
        gemm_logged(w0[j], low[n, tap_plane[0], j * rg:j * rg + r0, s + l0:s + l1], dst,
                    1.0 if fill_bias else 0.0, log, t * kh)
        for i in range(1, kh):
            s = tap_shift[i] * wo
            gemm_logged(wt[j, i], low[n, tap_plane[i], j * rg:(j + 1) * rg, s + l0:s + l1], dst,
                        1.0, log, t * kh + i)


def _tap_rows(kh: int, sh: int, dh: int):
    """``(planes, tap_plane, tap_shift)``: the residues ``(i·d_h) mod s_h`` that kernel rows
    use (in order), and for every kernel row ``i`` the index of its plane among them and its
    shift ``⌊i·d_h / s_h⌋`` in rows of the lowered input."""
    residues = [(i * dh) % sh for i in range(kh)]
    planes = sorted(set(residues))
    tap_plane = [planes.index(r) for r in residues]
    tap_shift = [(i * dh) // sh for i in range(kh)]
    return (np.array(planes, dtype=np.int64), np.array(tap_plane, dtype=np.int64),
            np.array(tap_shift, dtype=np.int64))


def lowered_shape(c_in: int, kernel, stride, dilation, out_spatial) -> tuple:
    """Shape ``(P, C·k_w, Y'·W_out)`` of MEC's lowered input for one sample (2-D sizes).

    ``P`` planes (residues of the row index mod ``s_h`` that the kernel rows use) of ``C·k_w``
    rows, each ``Y' = H_out + ⌊(k_h-1)·d_h / s_h⌋`` output-width rows long.
    """
    (kh, kw), (sh, _), (dh, _) = kernel, stride, dilation
    ho, wo = out_spatial
    planes, _, shift = _tap_rows(kh, sh, dh)
    return (len(planes), c_in * kw, (ho + int(shift.max())) * wo)


@njit(parallel=True, cache=True)
def _lower(xs, w, kw, sh, sw, ph, pw, dw, wo, planes, low):
    """Only the lowering step of :func:`_mec_gemm`: fill ``low`` (one task per row)."""
    n_batch, n_planes, rows, span = low.shape
    for t in prange(n_batch * n_planes * rows):
        n, q, r = t // (n_planes * rows), (t // rows) % n_planes, t % rows
        _lower_columns(xs, w, kw, sh, sw, ph - planes[q], pw, dw, wo, n, r, 0, span, low[n, q, r])


def lowered(input, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """MEC's lowered input ``(N, P, C·k_w, Y'·W_out)`` of a 2-D convolution (for teaching/tests).

    ``lowered(x, k, ...)[n, p, c·k_w + j, y'·W_out + x]`` is the zero-padded input at channel
    ``c``, row ``s_h·y' + p`` and column ``s_w·x + j·d_w``; kernel row ``i`` multiplies plane
    ``(i·d_h) mod s_h`` from column ``⌊i·d_h/s_h⌋·W_out`` on. Arguments as
    :func:`cnnlib.im2col` (input ``(N, C, H, W)`` or unbatched ``(C, H, W)``, which drops the
    leading axis of the result). Compare its size with im2col's ``(N, C·k_h·k_w, H_out·W_out)``.
    """
    x, unbatched = batched(as_array(input, "input"), 2, "lowered")
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _window_args(kernel_size, stride, padding, dilation)
    h, w = x.shape[2:]
    out = (conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw))
    planes, _, _ = _tap_rows(kh, sh, dh)
    low = np.empty((x.shape[0],) + lowered_shape(x.shape[1], (kh, kw), (sh, sw), (dh, dw), out),
                   dtype=x.dtype)
    _lower(_phases(x, sw), w, kw, sh, sw, ph, pw, dw, out[1], planes, low)
    return low[0] if unbatched else low


def _weight_rows(w: np.ndarray, groups: int) -> np.ndarray:
    """``wt (g, k_h, C_out/g, C_in/g·k_w)``: ``wt[j, i] = w[group j][:, :, i, :]`` as a matrix."""
    c_out, cg, kh, kw = w.shape
    wt = w.reshape(groups, c_out // groups, cg, kh, kw).transpose(0, 3, 1, 2, 4)
    return np.ascontiguousarray(wt).reshape(groups, kh, c_out // groups, cg * kw)


def conv_mec(spec, n: int) -> np.ndarray:
    r"""Convolution by MEC (``method="mec"``), 1-D or 2-D: ``(N, C_out, *out_spatial)``.

    Notes
    -----
    With ``g`` groups the lowered rows ``(c, j)`` split into ``g`` blocks, one per group.
    The lowered input lives in a reused workspace; the weights' per-row matrices are made once
    per weight array and reused while it is unchanged (:mod:`cnnlib._wcache`). A 1-D layer is
    a 2-D one of height 1 (one kernel row: MEC is then im2col). 3-D layers raise
    ``ValueError``.
    """
    if n == 3:
        raise ValueError("method='mec' supports 1-D and 2-D convolutions, not 3-D; "
                         "use 'im2col', 'fft', 'direct' or 'auto'")
    x4, w4, (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = _as_2d(spec, n)
    x = spec.x
    n_batch, c_in = x.shape[:2]
    c_out, g = w4.shape[0], spec.groups
    planes, tap_plane, tap_shift = _tap_rows(kh, sh, dh)
    wt = _wcache.transformed(w4, ("mec", g), lambda w: _weight_rows(w, g))
    rg = wt.shape[3]
    # The bias: a pass over the output costs 10-20 % of the stem's time, so when the weights
    # of kernel row 0 are small next to the output (g = 1), they get the bias as an extra
    # column and the lowered input a row of ones: BLAS adds the bias inside the first GEMM.
    augment = spec.has_bias and g == 1 and (rg + 1) * BIAS_COLUMN_RATIO <= ho * wo
    if augment:
        w0 = np.empty((1, c_out, rg + 1), dtype=x.dtype)
        w0[0, :, :rg] = wt[0, 0]
        w0[0, :, rg] = spec.b
    else:
        w0 = wt[:, 0]
    shape = lowered_shape(c_in, (kh, kw), (sh, sw), (dh, dw), (ho, wo))
    low = scratch("mec_lowered", (n_batch, shape[0], shape[1] + augment, shape[2]), x.dtype)
    out = np.empty((n_batch, c_out, ho * wo), dtype=x.dtype)
    per_block = max(MIN_BLOCK_COLUMNS, BLOCK_BYTES // ((c_out // g) * x.itemsize))
    tasks, n_threads = n_batch * g, threads()
    blocks = max(math.ceil(ho * wo / per_block), math.ceil(n_threads / tasks))
    step = n_threads // math.gcd(tasks, n_threads)   # tasks · blocks a multiple of the threads:
    blocks = min(-(-blocks // step) * step, ho * wo)  # every thread gets as many blocks
    log = new_log(n_batch * g * blocks * kh)
    with blas_single_threaded():
        _mec_gemm(_phases(x4, sw), x4.shape[3], kw, sh, sw, ph, pw, dw, wo, planes, tap_plane,
                  tap_shift, wt, w0, spec.b, spec.has_bias and not augment, blocks, log, low,
                  out)
    flush_log(log)
    return out.reshape((n_batch, c_out) + tuple(spec.out_spatial))
