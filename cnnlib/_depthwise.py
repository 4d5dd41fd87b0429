"""Depthwise convolution (``groups == C_in``): a dedicated numba kernel for 1-D and 2-D.

In a depthwise layer every output channel reads a single input channel (``C_in/g = 1``), so
there is no channel sum to hand to BLAS: each output plane is a small 2-D correlation of one
input plane. The kernel gives each thread whole (sample, output channel) planes; it copies the
input plane into a small zero-bordered buffer (the padding, in cache), cuts the kernel into
3×3 blocks of taps and sweeps every output row once per block with the block's 9 weights in
registers. For stride 1 and dilation 1 the row loop reads contiguous memory at literal
offsets and vectorises (measured 5–8× faster than the generic direct loop on the benchmark's
depthwise layer). With ``C_out = M·C_in`` (a channel multiplier ``M``), output channel
``c_o`` reads input channel ``c_o // M``, as in torch.

The commonest depthwise layer, 3×3 with stride 1, dilation 1 and padding 1 (MobileNet's),
has a faster path, :func:`_depthwise3x3_same`: it needs no copy at all. The output plane has
the input's width, so output pixel ``t = y·W + x`` (flat) reads input ``t + (a-1)·W + (b-1)``
for tap ``(a, b)``: one long loop over the plane instead of a short one per row, reading the
input where it lies (the general kernel copies each plane into a zero-bordered buffer). The
flat formula is wrong only where a tap falls into the padding — the first and last rows and
columns — and those pixels are computed apart. Measured on the benchmark's layer (128
channels @56, the kernel alone): 0.18–0.19 → 0.13–0.14 ms at 1 thread, 0.11–0.16 →
0.07–0.09 ms at 2.
Explained in chapter 19 (groups and depthwise convolution) and chapter 31 (how to accelerate
convolution).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._im2col import _as_2d


def is_depthwise(spec, n: int) -> bool:
    """True for a 1-D/2-D convolution with ``groups == C_in > 1`` (one input channel per group).

    (``C_in = groups = 1`` is an ordinary single-channel convolution; it stays on the generic
    direct kernel.)
    """
    return n in (1, 2) and spec.groups > 1 and spec.groups == spec.x.shape[1]


@njit(cache=True, inline="always")
def _taps_unit(dst, r0, r1, r2, w00, w01, w02, w10, w11, w12, w20, w21, w22):
    """``dst[t] += Σ_ab w_ab·r_a[t + b]``: a 3×3 block of taps, stride 1, dilation 1.

    The offsets are literals and the rows are views starting at index 0, so numba emits no
    negative-index checks and LLVM vectorises the loop over ``t``.
    """
    for t in range(dst.shape[0]):
        dst[t] += (w00 * r0[t] + w01 * r0[t + 1] + w02 * r0[t + 2]
                   + w10 * r1[t] + w11 * r1[t + 1] + w12 * r1[t + 2]
                   + w20 * r2[t] + w21 * r2[t + 1] + w22 * r2[t + 2])


@njit(cache=True, inline="always")
def _taps_unit_first(dst, bias, r0, r1, r2, w00, w01, w02, w10, w11, w12, w20, w21, w22):
    """:func:`_taps_unit` for the first block of taps: ``dst[t] = bias + Σ_ab w_ab·r_a[t + b]``
    (writes the row once instead of filling it with the bias and adding to it)."""
    for t in range(dst.shape[0]):
        dst[t] = bias + (w00 * r0[t] + w01 * r0[t + 1] + w02 * r0[t + 2]
                         + w10 * r1[t] + w11 * r1[t + 1] + w12 * r1[t + 2]
                         + w20 * r2[t] + w21 * r2[t + 1] + w22 * r2[t + 2])


@njit(cache=True, inline="always")
def _taps_strided(dst, r0, r1, r2, sw, dw, w00, w01, w02, w10, w11, w12, w20, w21, w22):
    """The same block for any stride ``sw`` and dilation ``dw``: ``r_a[t·sw + b·dw]``."""
    a0, a1, a2 = r0[::sw], r0[dw::sw], r0[2 * dw::sw]
    b0, b1, b2 = r1[::sw], r1[dw::sw], r1[2 * dw::sw]
    c0, c1, c2 = r2[::sw], r2[dw::sw], r2[2 * dw::sw]
    for t in range(dst.shape[0]):
        dst[t] += (w00 * a0[t] + w01 * a1[t] + w02 * a2[t] + w10 * b0[t] + w11 * b1[t]
                   + w12 * b2[t] + w20 * c0[t] + w21 * c1[t] + w22 * c2[t])


@njit(cache=True, inline="always")
def _taps_two_rows_first(dst, bias, r0, r1, w00, w01, w02, w10, w11, w12):
    """``dst[t] = bias + Σ_b (w0b·r0[t + b] + w1b·r1[t + b])``: two rows of 3 taps (the first
    or last output row of a padding-1 layer, whose third row of taps is padding)."""
    for t in range(dst.shape[0]):
        dst[t] = bias + (w00 * r0[t] + w01 * r0[t + 1] + w02 * r0[t + 2]
                         + w10 * r1[t] + w11 * r1[t + 1] + w12 * r1[t + 2])


@njit(cache=True, inline="always")
def _edge_pixel(xp, h, w, oy, ox, wk, bias):
    """One output pixel of a 3×3, stride-1, padding-1 correlation of the plane ``xp (H, W)``,
    taps outside the plane skipped (the zero padding)."""
    acc = bias
    for a in range(3):
        iy = oy + a - 1
        if 0 <= iy < h:
            for b in range(3):
                ix = ox + b - 1
                if 0 <= ix < w:
                    acc += wk[a, b] * xp[iy, ix]
    return acc


@njit(cache=True, parallel=True)
def _depthwise3x3_same(x, w, b, out):
    """Depthwise 3×3 correlation with stride 1, dilation 1 and padding 1: ``out`` has ``x``'s
    ``(H, W)``. One task per output plane.

    Flat over the plane, ``out[t] = b + Σ_ab w_ab·x[t + (a-1)·W + (b-1)]`` holds for every
    pixel whose taps are all inside; the loop runs over the rows ``1 … H-2`` as one run (its
    reads are three views of the input at literal offsets, so it vectorises) and the pixels
    of the first and last rows (two rows of taps each, vectorised too), of the first and last
    columns (two columns of taps) and the corners (:func:`_edge_pixel`) are computed apart.
    Planes under 3×3 go pixel by pixel.
    """
    n_batch, c_in, h, wd = x.shape
    c_out = out.shape[1]
    mult = c_out // c_in
    for task in prange(n_batch * c_out):
        n, co = task // c_out, task % c_out
        xp = x[n, co // mult]
        plane = out[n, co]
        wk = w[co, 0]
        bias = b[co]
        if h < 3 or wd < 3:
            for oy in range(h):
                for ox in range(wd):
                    plane[oy, ox] = _edge_pixel(xp, h, wd, oy, ox, wk, bias)
            continue
        flat = xp.ravel()
        _taps_unit_first(plane.ravel()[wd + 1:(h - 1) * wd - 1], bias, flat, flat[wd:],
                         flat[2 * wd:], wk[0, 0], wk[0, 1], wk[0, 2], wk[1, 0], wk[1, 1],
                         wk[1, 2], wk[2, 0], wk[2, 1], wk[2, 2])
        _taps_two_rows_first(plane[0, 1:wd - 1], bias, xp[0], xp[1],
                             wk[1, 0], wk[1, 1], wk[1, 2], wk[2, 0], wk[2, 1], wk[2, 2])
        _taps_two_rows_first(plane[h - 1, 1:wd - 1], bias, xp[h - 2], xp[h - 1],
                             wk[0, 0], wk[0, 1], wk[0, 2], wk[1, 0], wk[1, 1], wk[1, 2])
        for oy in (0, h - 1):                          # the four corners
            plane[oy, 0] = _edge_pixel(xp, h, wd, oy, 0, wk, bias)
            plane[oy, wd - 1] = _edge_pixel(xp, h, wd, oy, wd - 1, wk, bias)
        e = wd - 1
        # first and last columns, 2 of 3 taps written out: measured 3–5 % faster at 2 threads
        # (and up to 20 % at 1) than _edge_pixel with its bounds checks on every pixel
        for oy in range(1, h - 1):
            u, m, d = xp[oy - 1], xp[oy], xp[oy + 1]
            plane[oy, 0] = bias + (wk[0, 1] * u[0] + wk[0, 2] * u[1] + wk[1, 1] * m[0]
                                   + wk[1, 2] * m[1] + wk[2, 1] * d[0] + wk[2, 2] * d[1])
            plane[oy, e] = bias + (wk[0, 0] * u[e - 1] + wk[0, 1] * u[e] + wk[1, 0] * m[e - 1]
                                   + wk[1, 1] * m[e] + wk[2, 0] * d[e - 1] + wk[2, 1] * d[e])
    return out


@njit(cache=True, parallel=True)
def _depthwise2d_kernel(x, w, b, sh, sw, ph, pw, dh, dw, out):
    """Depthwise 2-D correlation of the *unpadded* ``x (N, C_in, H, W)`` into ``out``.

    Assumes C-contiguous arrays of one float dtype: ``w (C_out, 1, kh, kw)`` with ``C_out`` a
    multiple of ``C_in``, ``b (C_out,)``, ``out (N, C_out, H_out, W_out)`` sized by the wrapper
    with ``conv_output_size``; ``(ph, pw)`` is the top/left padding. The kernel is cut into
    3×3 blocks of taps (zero weights fill the last block), and each output row is swept once
    per block with its 9 weights in registers.
    """
    n_batch, c_in, h, wd = x.shape
    c_out, ho, wo = out.shape[1], out.shape[2], out.shape[3]
    kh, kw = w.shape[2], w.shape[3]
    mult = c_out // c_in
    kh3, kw3 = -(-kh // 3) * 3, -(-kw // 3) * 3          # kernel rounded up to 3×3 blocks
    hp = (ho - 1) * sh + (kh3 - 1) * dh + 1             # rows / columns of the padded input
    wp = (wo - 1) * sw + (kw3 - 1) * dw + 1             # that the blocks read
    rows, cols = min(h, hp - ph), min(wd, wp - pw)
    # one task per output plane (n, co): tasks write disjoint planes, so no races
    for task in prange(n_batch * c_out):
        n, co = task // c_out, task % c_out
        # buf[ph + y, pw + x] = input plane of channel co // mult, zero around it (padding)
        buf = np.zeros((hp, wp), dtype=x.dtype)
        for y in range(rows):
            buf[ph + y, pw:pw + cols] = x[n, co // mult, y, :cols]
        wk = np.zeros((kh3, kw3), dtype=x.dtype)
        wk[:kh, :kw] = w[co, 0]
        plane = out[n, co]
        unit = sw == 1 and dw == 1
        if not unit:
            plane[:] = b[co]
        for i in range(0, kh3, 3):
            for j in range(0, kw3, 3):
                # the block's 9 weights stay in registers for the whole plane
                w00, w01, w02 = wk[i, j], wk[i, j + 1], wk[i, j + 2]
                w10, w11, w12 = wk[i + 1, j], wk[i + 1, j + 1], wk[i + 1, j + 2]
                w20, w21, w22 = wk[i + 2, j], wk[i + 2, j + 1], wk[i + 2, j + 2]
                if unit and i == 0 and j == 0:         # the first block writes bias + taps
                    for oy in range(ho):
                        y = oy * sh
                        _taps_unit_first(plane[oy], b[co], buf[y], buf[y + dh], buf[y + 2 * dh],
                                         w00, w01, w02, w10, w11, w12, w20, w21, w22)
                elif unit:
                    for oy in range(ho):
                        y = oy * sh + i * dh           # input row of tap row i
                        _taps_unit(plane[oy], buf[y, j:], buf[y + dh, j:], buf[y + 2 * dh, j:],
                                   w00, w01, w02, w10, w11, w12, w20, w21, w22)
                else:
                    for oy in range(ho):
                        y = oy * sh + i * dh           # tap (a, b) reads column ox*sw + (j+b)*dw
                        _taps_strided(plane[oy], buf[y, j * dw:], buf[y + dh, j * dw:],
                                      buf[y + 2 * dh, j * dw:], sw, dw,
                                      w00, w01, w02, w10, w11, w12, w20, w21, w22)
    return out


def conv_depthwise(spec, n: int) -> np.ndarray:
    """Run the depthwise kernel on a normalised ``spec`` (:func:`is_depthwise` must hold).

    Returns the batched output ``(N, C_out, *out_spatial)`` in the input's dtype; 1-D
    inputs are 2-D with a height-1 axis in front.
    """
    x4, w4, kernel, (sh, sw), (ph, pw), (dh, dw), out_2d = _as_2d(spec, n)
    out = np.empty(x4.shape[:1] + w4.shape[:1] + out_2d, dtype=x4.dtype)
    if (n == 2 and kernel == (3, 3) and (sh, sw, dh, dw) == (1, 1, 1, 1)
            and tuple(spec.pad_lo) == (1, 1) and tuple(spec.pad_hi) == (1, 1)):
        _depthwise3x3_same(x4, w4, spec.b, out)
    else:
        _depthwise2d_kernel(x4, w4, spec.b, sh, sw, ph, pw, dh, dw, out)
    return out.reshape(x4.shape[:1] + w4.shape[:1] + tuple(spec.out_spatial))
