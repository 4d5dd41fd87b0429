"""im2col / col2im and convolution as one matrix multiplication (im2col + GEMM).

``im2col`` copies every receptive field of the input into one column of a matrix; the
convolution is then a single matrix product ``W (C_out, C_in·kh·kw) @ cols (C_in·kh·kw, L)``
that BLAS runs near the machine's peak. ``col2im`` is its adjoint: it sums columns back into
an image (overlapping windows add up), as ``torch.nn.functional.fold`` does.
Explained in chapter 18 (standard convolution, the im2col view) and chapter 31 (how to
accelerate convolution).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._blas import flush_log, gemm_logged, new_log
from ._threads import blas_single_threaded, scratch, threads
from ._sizes import conv_output_size
from ._validation import as_array, batched, non_negative, positive


# ----------------------------------------------------------------------------- kernels
@njit(cache=True, inline="always")
def _valid_range(off, stride, size, n_out):
    """Outputs ``o`` in ``[lo, hi)`` whose input index ``o*stride + off`` lies in ``[0, size)``."""
    lo = 0 if off >= 0 else (-off + stride - 1) // stride
    hi = 0 if size - 1 - off < 0 else min(n_out, (size - 1 - off) // stride + 1)
    return lo, max(lo, hi)


@njit(cache=True, inline="always")
def _bias_rows(dst, bias, k0):
    """Start an output block ``dst (K, L)`` as the bias: ``dst[k] = bias[k0 + k]``."""
    for k in range(dst.shape[0]):
        dst[k] = bias[k0 + k]


@njit(cache=True, inline="always")
def _output_block(out, bias, fill_bias, t, blocks, g):
    """Task ``t`` of a GEMM step over ``out (N, C_out, L)``: (sample, block of the ``L`` output
    pixels, group), the group varying fastest.

    Returns ``(n, j, l0, l1, dst)``: sample ``n``, group ``j``, the block's pixels ``[l0, l1)``
    and ``dst = out[n, group j's channels, l0:l1]``. With ``fill_bias`` ``dst`` starts as the
    bias and the block's GEMMs add to it (beta = 1); without, the first GEMM overwrites it
    (beta = 0: no pass over the output, 10–20 % of a layer's time).
    """
    kg, length = out.shape[1] // g, out.shape[2]
    n, b, j = t // (blocks * g), (t // g) % blocks, t % g
    l0, l1 = b * length // blocks, (b + 1) * length // blocks
    dst = out[n, j * kg:(j + 1) * kg, l0:l1]
    if fill_bias:
        _bias_rows(dst, bias, j * kg)
    return n, j, l0, l1, dst


def _as_2d(spec, n: int):
    """A 1-D or 2-D layer as 2-D (1-D is height 1): ``(x, w, (kh, kw), (sh, sw), (ph, pw),
    (dh, dw), (ho, wo))`` with ``x (N, C, H, W)`` and ``w (C_out, C_in/g, kh, kw)`` views."""
    x, w = spec.x, spec.w
    if n == 2:
        return (x, w, tuple(w.shape[2:]), tuple(spec.stride), tuple(spec.pad_lo),
                tuple(spec.dilation), tuple(spec.out_spatial))
    return (x[:, :, None, :], w[:, :, None, :], (1, w.shape[2]), (1, spec.stride[0]),
            (0, spec.pad_lo[0]), (1, spec.dilation[0]), (1, spec.out_spatial[0]))


def _phases(x: np.ndarray, sw: int) -> np.ndarray:
    """``xs (N, C, sw, H, ⌈W/sw⌉)`` with ``xs[n, c, r, y, q] = x[n, c, y, q·sw + r]``.

    Splitting the columns by their remainder mod ``sw`` turns every strided row read of
    im2col into a contiguous one; for ``sw = 1`` it is a view of ``x``.
    """
    if sw == 1:
        return np.ascontiguousarray(x)[:, :, None]
    n, c, h, w = x.shape
    xs = np.zeros((n, c, sw, h, -(-w // sw)), dtype=x.dtype)
    for r in range(min(sw, w)):
        cols = x[:, :, :, r::sw]
        xs[:, :, r, :, :cols.shape[3]] = cols
    return xs


@njit(cache=True, inline="always")
def _im2col_row(xs, w, kh, kw, sh, sw, ph, pw, dh, dw, wo, n, row, oy0, oy1, dst):
    """Fill ``dst ((oy1-oy0)·wo,)``: output rows ``oy0 ≤ oy < oy1`` of row ``row = (c·kh + i)·kw + j``
    of sample ``n``'s im2col matrix."""
    h = xs.shape[3]
    c, i, j = row // (kh * kw), (row // kw) % kh, row % kw
    off = j * dw - pw
    # input column of output ox is ox*sw + off; only ox in [lo, hi) are inside the input
    lo, hi = _valid_range(off, sw, w, wo)
    # ... and it sits in phase off mod sw at position ox + off // sw: contiguous in ox
    phase, shift = off % sw, off // sw
    for oy in range(oy0, oy1):
        iy = oy * sh - ph + i * dh          # input row read by output row oy, tap i
        seg = dst[(oy - oy0) * wo:(oy - oy0 + 1) * wo]
        if iy < 0 or iy >= h:
            seg[:] = 0
            continue
        seg[:lo] = 0
        seg[hi:] = 0
        if hi > lo:                         # one slice copy (vectorised, no index checks)
            seg[lo:hi] = xs[n, c, phase, iy, lo + shift:hi + shift]


@njit(parallel=True, cache=True)
def _im2col2d(xs, w, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, cols):
    """Fill ``cols (N, C·kh·kw, ho·wo)`` from the *unpadded* input of width ``w``.

    The input comes split by :func:`_phases`: ``xs (N, C, sw, H, ⌈w/sw⌉)`` holds input column
    ``q·sw + r`` at ``[..., r, :, q]``. Padding is virtual: taps that fall outside the input
    write zeros. Row ``(c·kh + i)·kw + j`` of ``cols`` is tap ``(i, j)`` of channel ``c``;
    column ``oy·wo + ox`` is output pixel ``(oy, ox)`` — the layout of
    ``torch.nn.functional.unfold``.
    """
    n_batch, rows = cols.shape[0], cols.shape[1]
    for r in prange(n_batch * rows):
        _im2col_row(xs, w, kh, kw, sh, sw, ph, pw, dh, dw, wo, r // rows, r % rows, 0, ho,
                    cols[r // rows, r % rows])


@njit(parallel=True, cache=True)
def _im2col_gemm(xs, mat, w, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, wmat, bias, fill_bias, blocks,
                 log, cols, out):
    """im2col, then the GEMMs, both split over numba's threads: ``out (N, C_out, ho·wo)``.

    ``wmat (g, K/g, R/g)`` is the weight matrix per group. If ``cols (N, R, ho·wo)`` is not
    empty, its rows are filled first (one task per row) from ``xs``, the input split by
    :func:`_phases`; otherwise ``mat (N, C_in, ho·wo)`` already is the matrix (a 1×1 stride-1
    layer). Then every (sample, one of ``blocks`` blocks of columns, group) is one task
    (:func:`_output_block`): one :func:`cnnlib._blas.gemm` (BLAS, single-threaded inside the
    task) into its columns of ``out``.
    """
    g, rg = wmat.shape[0], wmat.shape[2]
    fill = cols.shape[1] > 0
    if fill:
        n_batch, rows = cols.shape[0], cols.shape[1]
        for r in prange(n_batch * rows):
            _im2col_row(xs, w, kh, kw, sh, sw, ph, pw, dh, dw, wo, r // rows, r % rows, 0, ho,
                        cols[r // rows, r % rows])
    n_batch = out.shape[0]
    for t in prange(n_batch * blocks * g):
        n, j, l0, l1, dst = _output_block(out, bias, fill_bias, t, blocks, g)
        beta = 1.0 if fill_bias else 0.0
        if fill:
            gemm_logged(wmat[j], cols[n, j * rg:(j + 1) * rg, l0:l1], dst, beta, log, t)
        else:
            gemm_logged(wmat[j], mat[n, j * rg:(j + 1) * rg, l0:l1], dst, beta, log, t)


@njit(parallel=True, cache=True)
def _im2col_gemm_bands(xs, w, kh, kw, sh, sw, ph, pw, dh, dw, wo, wmat, bias, fill_bias, band, log,
                       cols, out):
    """:func:`_im2col_gemm` band by band, for layers with short columns (the RGB stem: 147).

    Each task ``t`` is a band ``band[t] = (n, oy0, oy1)`` of output rows: for every group it
    copies the band's columns into its own block of ``cols (tasks, R/g·(oy1-oy0)·wo)`` and
    multiplies them at once, while the block is in the core's cache. ``fill_bias`` as in
    :func:`_im2col_gemm`.
    """
    g, kg, rg = wmat.shape
    for t in prange(band.shape[0]):
        n, oy0, oy1 = band[t, 0], band[t, 1], band[t, 2]
        l0, l1 = oy0 * wo, oy1 * wo
        for j in range(g):
            dst = out[n, j * kg:(j + 1) * kg, l0:l1]
            if fill_bias:
                _bias_rows(dst, bias, j * kg)
            block = cols[t, :rg * (l1 - l0)].reshape((rg, l1 - l0))
            for r in range(rg):
                _im2col_row(xs, w, kh, kw, sh, sw, ph, pw, dh, dw, wo, n, j * rg + r,
                            oy0, oy1, block[r])
            gemm_logged(wmat[j], block, dst, 1.0 if fill_bias else 0.0, log, t * g + j)


@njit(parallel=True, cache=True)
def _col2im2d(cols, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, out):
    """Sum ``cols (N, C·kh·kw, ho·wo)`` into the zeroed ``out (N, C, H, W)`` (adjoint of im2col).

    One thread per (sample, channel) plane, so no two threads write the same pixel.
    """
    n_batch, c_in, h, w = out.shape
    for nc in prange(n_batch * c_in):
        n, c = nc // c_in, nc % c_in
        for i in range(kh):
            for j in range(kw):
                row = (c * kh + i) * kw + j    # tap (i, j) of channel c
                lo, hi = _valid_range(j * dw - pw, sw, w, wo)
                for oy in range(ho):
                    iy = oy * sh - ph + i * dh
                    if iy < 0 or iy >= h:
                        continue
                    for ox in range(lo, hi):
                        out[n, c, iy, ox * sw - pw + j * dw] += cols[n, row, oy * wo + ox]


# ----------------------------------------------------------------------------- references
def im2col_naive(x, kernel, stride, pad_lo, pad_hi, dilation, out_spatial):
    """Reference im2col for any number of spatial dims, one NumPy slice per kernel tap.

    ``x`` is ``(N, C, *spatial)``; returns ``(N, C·prod(kernel), prod(out_spatial))``.
    """
    n_batch, c_in = x.shape[:2]
    widths = [(0, 0), (0, 0)] + list(zip(pad_lo, pad_hi))
    xp = np.pad(x, widths)
    taps = list(np.ndindex(*kernel))
    cols = np.empty((n_batch, c_in, len(taps)) + tuple(out_spatial), dtype=x.dtype)
    for t, tap in enumerate(taps):
        # output o reads padded input o*s + tap*d along every dim
        index = tuple(slice(k * d, k * d + (o - 1) * s + 1, s)
                      for k, d, o, s in zip(tap, dilation, out_spatial, stride))
        cols[:, :, t] = xp[(slice(None), slice(None)) + index]
    return cols.reshape(n_batch, c_in * len(taps), -1)


def col2im_naive(cols, output_size, kernel, stride, padding, dilation):
    """Reference col2im (2-D): pure Python loops over every tap and output pixel."""
    n_batch, rows, n_cols = cols.shape
    kh, kw = kernel
    c_in = rows // (kh * kw)
    ho = conv_output_size(output_size[0], kh, stride[0], padding[0], dilation[0])
    wo = conv_output_size(output_size[1], kw, stride[1], padding[1], dilation[1])
    out = np.zeros((n_batch, c_in) + tuple(output_size), dtype=cols.dtype)
    for n in range(n_batch):
        for c in range(c_in):
            for i in range(kh):
                for j in range(kw):
                    for oy in range(ho):
                        for ox in range(wo):
                            iy = oy * stride[0] - padding[0] + i * dilation[0]
                            ix = ox * stride[1] - padding[1] + j * dilation[1]
                            if 0 <= iy < output_size[0] and 0 <= ix < output_size[1]:
                                out[n, c, iy, ix] += cols[n, (c * kh + i) * kw + j, oy * wo + ox]
    return out


# ----------------------------------------------------------------------------- public API
def _window_args(kernel_size, stride, padding, dilation):
    return (positive(kernel_size, 2, "kernel_size"), positive(stride, 2, "stride"),
            non_negative(padding, 2, "padding"), positive(dilation, 2, "dilation"))


def im2col(input, kernel_size, stride=1, padding=0, dilation=1):
    r"""Unfold sliding blocks of an image into columns (``torch.nn.functional.unfold``).

    Parameters
    ----------
    input : array, shape (N, C, H, W) or unbatched (C, H, W)
    kernel_size, stride, padding, dilation : int or (int, int)
        As in ``unfold``. **Departure:** the positional order is the conv order
        ``(kernel_size, stride, padding, dilation)``, whereas ``unfold`` takes
        ``(kernel_size, dilation, padding, stride)``; with keywords both are interchangeable,
        and :func:`unfold` is this function with torch's order.

    Returns
    -------
    cols : array, shape (N, C·kh·kw, H_out·W_out) or (C·kh·kw, H_out·W_out)
        Row ``(c·kh + i)·kw + j`` holds tap ``(i, j)`` of channel ``c``; column
        ``oy·W_out + ox`` is the receptive field of output pixel ``(oy, ox)``.

    Notes
    -----
    With :math:`H_{out} = \lfloor (H + 2p - d(k-1) - 1)/s \rfloor + 1`
    (:func:`cnnlib.conv_output_size`), a convolution is one matrix product
    ``weight.reshape(C_out, -1) @ cols``. The matrix has :math:`C \cdot k_h k_w` rows — the
    channel factor is easy to forget. See chapter 18 and chapter 31.
    """
    return _im2col(input, kernel_size, stride, padding, dilation, "im2col")


def _im2col(input, kernel_size, stride, padding, dilation, fn: str):
    """Body of :func:`im2col` and :func:`unfold` (``fn`` names the caller in messages)."""
    x = as_array(input, "input")
    x, unbatched = batched(x, 2, fn)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _window_args(kernel_size, stride, padding, dilation)
    n_batch, c_in, h, w = x.shape
    ho = conv_output_size(h, kh, sh, ph, dh)
    wo = conv_output_size(w, kw, sw, pw, dw)
    cols = np.empty((n_batch, c_in * kh * kw, ho * wo), dtype=x.dtype)
    _im2col2d(_phases(x, sw), w, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, cols)
    return cols[0] if unbatched else cols


def col2im(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    r"""Sum columns back into an image (``torch.nn.functional.fold``), the adjoint of :func:`im2col`.

    Parameters
    ----------
    input : array, shape (N, C·kh·kw, L) or unbatched (C·kh·kw, L)
        ``L`` must equal the number of sliding blocks, ``H_out·W_out``.
    output_size : int or (int, int)
        Spatial size ``(H, W)`` of the image.
    kernel_size, stride, padding, dilation : int or (int, int)
        As in ``fold`` (same departure in positional order as :func:`im2col`; :func:`fold`
        takes torch's order).

    Returns
    -------
    image : array, shape (N, C, H, W) or (C, H, W)

    Notes
    -----
    Overlapping windows **add up**: ``col2im(im2col(x))`` is ``x`` times the number of
    windows covering each pixel, not ``x``. ``col2im`` is the transpose of the linear map
    ``im2col``, which is why transposed convolution is ``col2im(W.T @ x)`` (chapter 32).
    """
    return _col2im(input, output_size, kernel_size, stride, padding, dilation, "col2im")


def _col2im(input, output_size, kernel_size, stride, padding, dilation, fn: str):
    """Body of :func:`col2im` and :func:`fold` (``fn`` names the caller in messages)."""
    cols = as_array(input, "input")
    if cols.ndim == 2:
        cols, unbatched = cols[None], True
    elif cols.ndim == 3:
        unbatched = False
    else:
        raise ValueError(f"{fn}: input must be 2-D (unbatched) or 3-D (batched), got "
                         f"{cols.ndim}-D with shape {tuple(cols.shape)}")
    (h, w) = positive(output_size, 2, "output_size")
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _window_args(kernel_size, stride, padding, dilation)
    n_batch, rows, n_cols = cols.shape
    if rows % (kh * kw):
        raise ValueError(f"{fn}: input.shape[-2]={rows} is not divisible by the kernel's "
                         f"kh·kw={kh * kw} (kernel_size={(kh, kw)})")
    ho = conv_output_size(h, kh, sh, ph, dh)
    wo = conv_output_size(w, kw, sw, pw, dw)
    if n_cols != ho * wo:
        raise ValueError(f"{fn}: input.shape[-1]={n_cols} but output_size={(h, w)} with "
                         f"kernel_size={(kh, kw)}, stride={(sh, sw)}, padding={(ph, pw)}, "
                         f"dilation={(dh, dw)} gives {ho}×{wo}={ho * wo} blocks")
    out = np.zeros((n_batch, rows // (kh * kw), h, w), dtype=cols.dtype)
    _col2im2d(np.ascontiguousarray(cols), kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, out)
    return out[0] if unbatched else out


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    r"""Extract sliding blocks into columns, exactly ``torch.nn.functional.unfold``.

    :func:`im2col` under torch's name and argument order ``(kernel_size, dilation, padding,
    stride)``; same computation, same result.

    Parameters
    ----------
    input : array, shape (N, C, H, W) or unbatched (C, H, W)
    kernel_size, dilation, padding, stride : int or (int, int)

    Returns
    -------
    cols : array, shape (N, C·kh·kw, L) or (C·kh·kw, L), ``L = H_out·W_out``
        torch's layout: row ``(c·kh + i)·kw + j`` is tap ``(i, j)`` of channel ``c``, column
        ``oy·W_out + ox`` the block of output pixel ``(oy, ox)`` (:func:`im2col`).

    Notes
    -----
    ``conv2d(x, w) == (w.reshape(C_out, -1) @ unfold(x, k)).reshape(N, C_out, H_out, W_out)``:
    chapter 18 (the im2col view of a convolution) and chapter 31 (im2col + GEMM).
    """
    return _im2col(input, kernel_size, stride, padding, dilation, "unfold")


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    r"""Sum columns back into an image, exactly ``torch.nn.functional.fold``.

    :func:`col2im` under torch's name and argument order ``(output_size, kernel_size,
    dilation, padding, stride)``; the adjoint of :func:`unfold`.

    Parameters
    ----------
    input : array, shape (N, C·kh·kw, L) or unbatched (C·kh·kw, L)
        ``L`` must equal the number of blocks, ``H_out·W_out``.
    output_size : int or (int, int)
        Spatial size ``(H, W)`` of the image.
    kernel_size, dilation, padding, stride : int or (int, int)

    Returns
    -------
    image : array, shape (N, C, H, W) or (C, H, W)

    Notes
    -----
    Overlapping blocks add up, so ``fold(unfold(x))`` is ``x`` times the number of blocks
    covering each pixel (chapter 32: transposed convolution is ``fold`` of ``W.T @ x``).
    """
    return _col2im(input, output_size, kernel_size, stride, padding, dilation, "fold")


# ----------------------------------------------------------------------------- convolution
MIN_BLOCK_COLUMNS = 64    # a thread's GEMM gets at least this many output pixels
BAND_MAX_ROWS = 256       # columns at most this long (R/g): copy and multiply band by band
BAND_BYTES = 256 << 10    # ... bands of about this many bytes of columns (a core's L2)
MIN_BAND_COLUMNS = 256    # ... but at least this many output pixels (thinner GEMMs are slow)


def output_bands(n_batch: int, ho: int, wo: int, column_bytes: int, n_threads: int) -> np.ndarray:
    """Bands ``(n, oy0, oy1)`` of output rows for :func:`_im2col_gemm_bands`: about
    :data:`BAND_BYTES` of columns (``column_bytes`` per output pixel), at least
    :data:`MIN_BAND_COLUMNS` pixels, and at least ``n_threads`` bands in all."""
    rows = max(1, BAND_BYTES // (column_bytes * wo), -(-MIN_BAND_COLUMNS // wo))
    per_sample = min(ho, max(math.ceil(ho / rows), math.ceil(n_threads / n_batch)))
    edges = [round(i * ho / per_sample) for i in range(per_sample + 1)]
    return np.array([(n, lo, hi) for n in range(n_batch) for lo, hi in zip(edges, edges[1:])],
                    dtype=np.int64).reshape(-1, 3)


def conv_im2col(spec, n: int) -> np.ndarray:
    r"""Convolution as im2col + one GEMM per group (``method="im2col"``), any ``n`` spatial dims.

    Returns the batched output ``(N, C_out, *out_spatial)`` in the input's dtype.

    Notes
    -----
    With ``g`` groups, ``cols`` splits into ``g`` row blocks and the weight into ``g`` row
    blocks: :math:`Y_g = W_g \, X_g` with :math:`W_g \in \mathbb{R}^{C_{out}/g \times
    (C_{in}/g) k_h k_w}`. 1-D and 2-D layers run on numba's threads (BLAS single-threaded
    inside, see :func:`cnnlib._threads.blas_single_threaded`): :func:`_im2col_gemm` fills the
    rows of the column matrix, then runs one GEMM per thread on a block of its columns; with
    short columns (``R/g ≤`` :data:`BAND_MAX_ROWS`, the RGB stem) :func:`_im2col_gemm_bands`
    copies and multiplies band by band instead. The matrix lives in a reused workspace. 3-D
    layers use :func:`im2col_naive` and NumPy's ``matmul``.
    """
    if n == 3:
        cols = im2col_naive(spec.x, spec.w.shape[2:], spec.stride, spec.pad_lo, spec.pad_hi,
                            spec.dilation, spec.out_spatial)
        return conv_from_columns(cols, spec.w, spec.b if spec.has_bias else None, spec.groups,
                                 spec.out_spatial)
    x4, w, (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = _as_2d(spec, n)
    x = spec.x
    n_batch, c_in = x.shape[:2]
    c_out, g = w.shape[0], spec.groups
    rows = c_in * kh * kw
    fill = not (kh == kw == sh == sw == 1 and not any(spec.pad_lo) and not any(spec.pad_hi))
    wmat = np.ascontiguousarray(w).reshape(g, c_out // g, rows // g)
    out = np.empty((n_batch, c_out, ho * wo), dtype=x.dtype)
    if fill and rows // g <= BAND_MAX_ROWS:
        band = output_bands(n_batch, ho, wo, rows // g * x.itemsize, threads())
        most = int((band[:, 2] - band[:, 1]).max()) * wo
        cols = scratch("im2col_cols", (len(band), rows // g * most), x.dtype)
        log = new_log(len(band) * g)
        with blas_single_threaded():
            _im2col_gemm_bands(_phases(x4, sw), x4.shape[3], kh, kw, sh, sw, ph, pw, dh, dw, wo,
                               wmat, spec.b, spec.has_bias, band, log, cols, out)
        flush_log(log)
        return out.reshape((n_batch, c_out) + tuple(spec.out_spatial))
    if fill:
        xs, mat = _phases(x4, sw), np.empty((0, 0, 0), dtype=x.dtype)
        cols = scratch("im2col_cols", (n_batch, rows, ho * wo), x.dtype)
    else:                           # a 1×1 stride-1 layer: the input already is the matrix
        xs = np.empty((0, 0, 0, 0, 0), dtype=x.dtype)
        mat = np.ascontiguousarray(x4).reshape(n_batch, rows, ho * wo)
        cols = np.empty((n_batch, 0, 0), dtype=x.dtype)
    blocks = max(1, min(threads(), ho * wo // MIN_BLOCK_COLUMNS))
    log = new_log(n_batch * g * blocks)
    with blas_single_threaded():
        _im2col_gemm(xs, mat, x4.shape[3], kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, wmat,
                     spec.b, spec.has_bias, blocks, log, cols, out)
    flush_log(log)
    return out.reshape((n_batch, c_out) + tuple(spec.out_spatial))


def conv_from_columns(cols, w, b, groups, out_spatial):
    """``W_g @ cols_g`` for every sample and group, plus bias: ``(N, C_out, *out_spatial)``.

    ``cols`` is ``(N, C_in·prod(k), L)`` (from im2col, or from deformable sampling), ``w`` is
    ``(C_out, C_in/g, *k)``; ``b`` may be ``None``.
    """
    n_batch, rows, length = cols.shape
    c_out = w.shape[0]
    wmat = w.reshape(groups, c_out // groups, rows // groups)
    out = np.matmul(wmat, cols.reshape(n_batch, groups, rows // groups, length))  # (N, g, K/g, L)
    log = new_log(n_batch * groups)                 # N·g products, for _blas.recording
    log[:] = (c_out // groups, rows // groups, length)
    flush_log(log)
    out = out.reshape((n_batch, c_out) + tuple(out_spatial))
    if b is not None:
        out += b.reshape((c_out,) + (1,) * len(out_spatial))
    return out
