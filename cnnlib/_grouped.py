"""Grouped and depthwise convolution as one numba kernel over all groups (any k, stride, dilation).

A grouped layer with few channels per group (ResNeXt's 32 groups of 4–32 channels, depthwise
layers with one) has too little channel sum per output for a GEMM to pay: per group the matrices
are a few rows thin, and BLAS runs them far below its peak. This kernel computes every group in
one parallel numba loop instead, one task per (sample, group), and turns every layer into the
same 1-D problem:

1. **Phase split** (space-to-depth) of the group's zero-padded input planes: with strides
   ``(s_h, s_w)``, ``P[c, r_h, r_w, y, x] = x_pad[c, y·s_h + r_h, x·s_w + r_w]``. Tap ``(a, b)``
   of output pixel ``(o_y, o_x)`` reads ``x_pad[c, o_y·s_h + a·d_h, o_x·s_w + b·d_w]``
   ``= P[c, (a·d_h) mod s_h, (b·d_w) mod s_w, o_y + ⌊a·d_h/s_h⌋, o_x + ⌊b·d_w/s_w⌋]``:
   contiguous in ``o_x`` whatever the stride and dilation.
2. **Wide output**: the output is computed with the phase planes' row width ``w_q`` instead of
   ``W_out`` (the extra ``w_q - W_out`` columns are thrown away), so that, flattened, output
   pixel ``t = o_y·w_q + o_x`` reads ``P_flat[t + off]`` with one offset ``off`` per tap
   (channel, ``a``, ``b``). The whole plane is one long loop per tap, for any kernel size.
3. **Register blocks**: the taps are swept in passes of several at a time with their weights in
   registers (depthwise: 9 taps per pass; grouped: 4 output channels × 6 taps per pass, each
   loaded input value feeding 4 outputs), loops that LLVM vectorises (views at literal offsets,
   no index checks). A last, partial pass is padded with zero weights.

The result equals the definition (the order of the sums differs, so float32 results differ from
torch's by rounding only). Explained in chapter 19 (groups and depthwise convolution) and
chapter 31 (how to accelerate convolution).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._im2col import _as_2d
from ._threads import threads

DEPTHWISE_TAPS = 9     # taps per pass, one output channel (depthwise)
GROUP_OUT = 4          # output channels per pass (grouped)
GROUP_TAPS = 6         # taps per pass (grouped)
CONTRACT = {"contract"}   # let LLVM fuse a·b + c into one FMA (one rounding instead of two)
VECTOR = 16            # the wide output's length is rounded up to this (whole vector loops)


def plan(kernel, stride, dilation, out_2d, c_g):
    """Phase-plane sizes and tap offsets: ``(hq, wq, offsets)``.

    ``hq × wq`` is one phase plane (``hq`` has one spare row: the wide output's last row reads
    up to ``w_q - W_out`` values past its end); ``offsets[(c·k_h + a)·k_w + b]`` is where tap
    ``(a, b)`` of local input channel ``c`` starts in the group's flat buffer of
    ``c_g·s_h·s_w`` phase planes.
    """
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out_2d
    hq = ho + (kh - 1) * dh // sh + 1
    wq = wo + (kw - 1) * dw // sw
    offsets = np.empty(c_g * kh * kw, dtype=np.int64)
    for c in range(c_g):
        for a in range(kh):
            for b in range(kw):
                plane = (c * sh + (a * dh) % sh) * sw + (b * dw) % sw
                offsets[(c * kh + a) * kw + b] = (plane * hq * wq + (a * dh // sh) * wq
                                                  + b * dw // sw)
    return hq, wq, offsets


@njit(cache=True, inline="always")
def _fill_phases(x, n, c0, c_g, sh, sw, ph, pw, hq, wq, buf, tmp):
    """``buf[((c·s_h + r_h)·s_w + r_w)·hq·wq + y·wq + q] = x_pad[n, c0 + c, y·s_h + r_h, q·s_w + r_w]``
    where that lies inside the input. The rest of ``buf`` (the padding) is left as it is: the
    caller zeroes the buffer once, and every task writes the same positions."""
    h, wd = x.shape[2], x.shape[3]
    plane = hq * wq
    cols = min(wd, 2 * wq - pw)           # stride 2: input columns the phases hold
    for c in range(c_g):
        for rh in range(sh):
            # rows y with 0 <= y·sh + rh - ph < h
            offy = rh - ph
            ylo = 0 if offy >= 0 else (-offy + sh - 1) // sh
            yhi = 0 if h - 1 - offy < 0 else min(hq, (h - 1 - offy) // sh + 1)
            if sw == 2:
                # the padded row in tmp (its zero ends never change), then both column phases
                # in one loop: a stride-2 pair of loads that LLVM vectorises with shuffles
                b0 = (c * sh + rh) * 2 * plane
                for y in range(ylo, yhi):
                    src = x[n, c0 + c, y * sh + offy]
                    t = tmp[pw:pw + cols]
                    for i in range(cols):
                        t[i] = src[i]
                    d0 = buf[b0 + y * wq:b0 + (y + 1) * wq]
                    d1 = buf[b0 + plane + y * wq:b0 + plane + (y + 1) * wq]
                    for q in range(wq):
                        d0[q] = tmp[2 * q]
                        d1[q] = tmp[2 * q + 1]
                continue
            for rw in range(sw):
                base = ((c * sh + rh) * sw + rw) * plane
                off = rw - pw
                lo = 0 if off >= 0 else (-off + sw - 1) // sw
                hi = 0 if wd - 1 - off < 0 else min(wq, (wd - 1 - off) // sw + 1)
                for y in range(ylo, yhi):
                    src = x[n, c0 + c, y * sh + offy]
                    r0 = base + y * wq
                    if hi <= lo:
                        continue
                    dst = buf[r0 + lo:r0 + hi]
                    if sw == 1:
                        dst[:] = src[lo + off:hi + off]
                    else:
                        s0 = lo * sw + off
                        srow = src[s0:]
                        for q in range(hi - lo):
                            dst[q] = srow[q * sw]


@njit(cache=True, inline="always", fastmath=CONTRACT)
def _pass9(acc, first, s0, s1, s2, s3, s4, s5, s6, s7, s8,
           w0, w1, w2, w3, w4, w5, w6, w7, w8):
    """``acc[t] (+)= Σ_i w_i·s_i[t]``: nine taps, one output channel."""
    if first:
        for t in range(acc.shape[0]):
            acc[t] = (w0 * s0[t] + w1 * s1[t] + w2 * s2[t] + w3 * s3[t] + w4 * s4[t]
                      + w5 * s5[t] + w6 * s6[t] + w7 * s7[t] + w8 * s8[t])
    else:
        for t in range(acc.shape[0]):
            acc[t] += (w0 * s0[t] + w1 * s1[t] + w2 * s2[t] + w3 * s3[t] + w4 * s4[t]
                       + w5 * s5[t] + w6 * s6[t] + w7 * s7[t] + w8 * s8[t])


@njit(cache=True, inline="always", fastmath=CONTRACT)
def _pass4x6(a0, a1, a2, a3, first, s0, s1, s2, s3, s4, s5, wk, i):
    """``a_m[t] (+)= Σ_j wk[m, i + j]·s_j[t]`` for four output channels ``m`` and six taps."""
    w00, w01, w02, w03, w04, w05 = wk[0, i], wk[0, i + 1], wk[0, i + 2], wk[0, i + 3], wk[0, i + 4], wk[0, i + 5]
    w10, w11, w12, w13, w14, w15 = wk[1, i], wk[1, i + 1], wk[1, i + 2], wk[1, i + 3], wk[1, i + 4], wk[1, i + 5]
    w20, w21, w22, w23, w24, w25 = wk[2, i], wk[2, i + 1], wk[2, i + 2], wk[2, i + 3], wk[2, i + 4], wk[2, i + 5]
    w30, w31, w32, w33, w34, w35 = wk[3, i], wk[3, i + 1], wk[3, i + 2], wk[3, i + 3], wk[3, i + 4], wk[3, i + 5]
    if first:
        for t in range(a0.shape[0]):
            v0, v1, v2, v3, v4, v5 = s0[t], s1[t], s2[t], s3[t], s4[t], s5[t]
            a0[t] = w00 * v0 + w01 * v1 + w02 * v2 + w03 * v3 + w04 * v4 + w05 * v5
            a1[t] = w10 * v0 + w11 * v1 + w12 * v2 + w13 * v3 + w14 * v4 + w15 * v5
            a2[t] = w20 * v0 + w21 * v1 + w22 * v2 + w23 * v3 + w24 * v4 + w25 * v5
            a3[t] = w30 * v0 + w31 * v1 + w32 * v2 + w33 * v3 + w34 * v4 + w35 * v5
    else:
        for t in range(a0.shape[0]):
            v0, v1, v2, v3, v4, v5 = s0[t], s1[t], s2[t], s3[t], s4[t], s5[t]
            a0[t] += w00 * v0 + w01 * v1 + w02 * v2 + w03 * v3 + w04 * v4 + w05 * v5
            a1[t] += w10 * v0 + w11 * v1 + w12 * v2 + w13 * v3 + w14 * v4 + w15 * v5
            a2[t] += w20 * v0 + w21 * v1 + w22 * v2 + w23 * v3 + w24 * v4 + w25 * v5
            a3[t] += w30 * v0 + w31 * v1 + w32 * v2 + w33 * v3 + w34 * v4 + w35 * v5


@njit(cache=True, inline="always")
def _store(acc, wq, wo, ho, bias, dst):
    """``dst (ho·wo,) = acc`` (wide rows of ``wq``, the first ``wo`` of each kept) ``+ bias``."""
    for oy in range(ho):
        d = dst[oy * wo:(oy + 1) * wo]
        r = acc[oy * wq:oy * wq + wo]
        for ox in range(wo):
            d[ox] = r[ox] + bias


@njit(cache=True, parallel=True, fastmath=CONTRACT)
def _grouped_kernel(x, wt, b, sh, sw, ph, pw, ho, wo, hq, wq, length, offsets, n_workers, out):
    """All groups of a grouped/depthwise 2-D correlation of the unpadded ``x (N, C_in, H, W)``.

    ``wt (groups, K, T)`` holds each output channel's ``T`` taps (``c_g·k_h·k_w``, zero-padded
    to a whole number of passes) in the order of ``offsets`` (``T`` entries, the padding ones
    0); ``K`` is ``C_out/groups`` rounded up to the block of output channels (zero rows).
    ``out (N, C_out, H_out·W_out)``; ``length`` (≥ ``H_out·w_q``) is the wide output's length,
    rounded up for the vector loops. Worker ``i`` of ``n_workers`` runs tasks ``i``,
    ``i + n_workers``, … (task = (sample, group)) with its own buffers.
    """
    n_batch, c_in = x.shape[0], x.shape[1]
    groups, k_pad, n_taps = wt.shape
    k_g = out.shape[1] // groups
    c_g = c_in // groups
    depthwise = c_g == 1
    blk = 1 if depthwise else 4
    n_tasks = n_batch * groups
    for worker in prange(n_workers):
        # the padding positions are the same for every task: zero them once
        buf = np.zeros(c_g * sh * sw * hq * wq + length, dtype=x.dtype)
        acc = np.empty((blk, length), dtype=x.dtype)
        tmp = np.zeros(sw * wq + pw, dtype=x.dtype)
        for task in range(worker, n_tasks, n_workers):
            n, g = task // groups, task % groups
            _fill_phases(x, n, g * c_g, c_g, sh, sw, ph, pw, hq, wq, buf, tmp)
            for m0 in range(0, k_g, blk):
                wk = wt[g, m0:m0 + blk]
                if depthwise:
                    a = acc[0]
                    for i in range(0, n_taps, 9):
                        o = offsets[i:i + 9]
                        _pass9(a, i == 0,
                               buf[o[0]:o[0] + length], buf[o[1]:o[1] + length],
                               buf[o[2]:o[2] + length], buf[o[3]:o[3] + length],
                               buf[o[4]:o[4] + length], buf[o[5]:o[5] + length],
                               buf[o[6]:o[6] + length], buf[o[7]:o[7] + length],
                               buf[o[8]:o[8] + length],
                               wk[0, i], wk[0, i + 1], wk[0, i + 2], wk[0, i + 3], wk[0, i + 4],
                               wk[0, i + 5], wk[0, i + 6], wk[0, i + 7], wk[0, i + 8])
                else:
                    for i in range(0, n_taps, 6):
                        o = offsets[i:i + 6]
                        _pass4x6(acc[0], acc[1], acc[2], acc[3], i == 0,
                                 buf[o[0]:o[0] + length], buf[o[1]:o[1] + length],
                                 buf[o[2]:o[2] + length], buf[o[3]:o[3] + length],
                                 buf[o[4]:o[4] + length], buf[o[5]:o[5] + length], wk, i)
                for m in range(min(blk, k_g - m0)):
                    co = g * k_g + m0 + m
                    _store(acc[m], wq, wo, ho, b[co], out[n, co])
    return out


CHANNELS_LAST_MAX_PIXELS = 64   # depthwise (multiplier 1) with H_out·W_out at most this


def grouped_direct(spec, n: int) -> np.ndarray:
    """The fastest direct kernel for a 1-D/2-D layer with ``groups > 1`` (measured rule).

    Depthwise layers (``groups = C_in``): the copy-free 3×3 stride-1 padding-1 kernel of
    :mod:`cnnlib._depthwise` when the output has more than 64 pixels (it needs no buffer); the
    channels-last kernel (:func:`conv_depthwise_cl`) for outputs of at most 64 pixels
    (7×7, 8×8: rows too short for the vector loops of one plane; measured 1.2–2.3× faster than
    the plane kernel on 672@14 5×5/2, 1152@7 5×5, 96@28 3×3/2); otherwise, and for every other
    grouped layer, :func:`conv_grouped`.
    """
    x, w = spec.x, spec.w
    depthwise = spec.groups == x.shape[1]
    out_px = math.prod(spec.out_spatial)
    if depthwise and w.shape[0] == x.shape[1] and out_px <= CHANNELS_LAST_MAX_PIXELS:
        return conv_depthwise_cl(spec, n)
    if (depthwise and n == 2 and w.shape[2:] == (3, 3) and tuple(spec.stride) == (1, 1)
            and tuple(spec.dilation) == (1, 1) and tuple(spec.pad_lo) == (1, 1)
            and tuple(spec.pad_hi) == (1, 1)):
        from ._depthwise import conv_depthwise
        return conv_depthwise(spec, n)
    return conv_grouped(spec, n)


def conv_grouped(spec, n: int) -> np.ndarray:
    """Run the grouped kernel on a normalised 1-D or 2-D ``spec`` (any ``groups``).

    Returns the batched output ``(N, C_out, *out_spatial)`` in the input's dtype.
    """
    x4, w4, kernel, stride, (ph, pw), dilation, out_2d = _as_2d(spec, n)
    c_out, c_g = w4.shape[:2]
    groups = spec.groups
    k_g = c_out // groups
    hq, wq, offsets = plan(kernel, stride, dilation, out_2d, c_g)
    per_pass, blk = (DEPTHWISE_TAPS, 1) if c_g == 1 else (GROUP_TAPS, GROUP_OUT)
    n_taps = -(-offsets.size // per_pass) * per_pass
    k_pad = -(-k_g // blk) * blk
    wt = np.zeros((groups, k_pad, n_taps), dtype=x4.dtype)
    wt[:, :k_g, :offsets.size] = w4.reshape(groups, k_g, -1)
    offsets = np.concatenate([offsets, np.zeros(n_taps - offsets.size, dtype=np.int64)])
    length = -(-out_2d[0] * wq // VECTOR) * VECTOR
    out = np.empty(x4.shape[:1] + (c_out, out_2d[0] * out_2d[1]), dtype=x4.dtype)
    workers = max(1, min(threads(), x4.shape[0] * groups))
    _grouped_kernel(np.ascontiguousarray(x4), wt, spec.b, *stride, ph, pw, *out_2d, hq, wq,
                    length, offsets, workers, out)
    return out.reshape(x4.shape[:1] + (c_out,) + tuple(spec.out_spatial))


# ------------------------------------------------------------------ depthwise, channels last
@njit(cache=True, parallel=True)
def _to_channels_last(x, ph, pw, xt):
    """``xt[n, ph + y, pw + x', c] = x[n, c, y, x']`` (``xt`` zeroed by the caller: the padding)."""
    n_batch, c_in, h, wd = x.shape
    for task in prange(n_batch * h):
        n, y = task // h, task % h
        dst = xt[n, ph + y]
        # contiguous stores, strided loads: measured 1.6-2x faster than the other loop order
        for i in range(wd):
            d = dst[pw + i]
            for c in range(c_in):
                d[c] = x[n, c, y, i]


@njit(cache=True, parallel=True, fastmath=CONTRACT)
def _depthwise_channels_last(xt, wt, b, sh, sw, dh, dw, kh, kw, out):
    """Depthwise correlation (multiplier 1) of the padded channels-last ``xt (N, H_p, W_p, C)``.

    ``wt (kh·kw, C)``: tap-major weights. One task per output row ``(n, o_y)``: for every
    output pixel, ``acc[c] = Σ_taps wt[tap, c]·xt[n, y, x, c]``, a loop over the channels that
    vectorises (the weights of a tap are a contiguous vector); the row is then written to the
    channels-first ``out (N, C, H_out, W_out)`` with the bias.
    """
    n_batch, c = xt.shape[0], xt.shape[3]
    ho, wo = out.shape[2], out.shape[3]
    for task in prange(n_batch * ho):
        n, oy = task // ho, task % ho
        acc = np.empty((wo, c), dtype=xt.dtype)
        for ox in range(wo):
            a = acc[ox]
            src = xt[n, oy * sh, ox * sw]
            w0 = wt[0]
            for j in range(c):
                a[j] = w0[j] * src[j]
            for t in range(1, kh * kw):
                src = xt[n, oy * sh + (t // kw) * dh, ox * sw + (t % kw) * dw]
                wv = wt[t]
                for j in range(c):
                    a[j] += wv[j] * src[j]
        for j in range(c):
            dst = out[n, j, oy]
            bj = b[j]
            for ox in range(wo):
                dst[ox] = acc[ox, j] + bj
    return out


def conv_depthwise_cl(spec, n: int) -> np.ndarray:
    """Depthwise layer (``groups = C_in = C_out``) through the channels-last kernel."""
    x4, w4, (kh, kw), (sh, sw), (ph, pw), (dh, dw), out_2d = _as_2d(spec, n)
    n_batch, c = x4.shape[:2]
    hp = max(x4.shape[2] + ph, (out_2d[0] - 1) * sh + (kh - 1) * dh + 1)
    wp = max(x4.shape[3] + pw, (out_2d[1] - 1) * sw + (kw - 1) * dw + 1)
    xt = np.zeros((n_batch, hp, wp, c), dtype=x4.dtype)
    _to_channels_last(np.ascontiguousarray(x4), ph, pw, xt)
    wt = np.ascontiguousarray(w4.reshape(c, kh * kw).T)
    out = np.empty((n_batch, c) + out_2d, dtype=x4.dtype)
    _depthwise_channels_last(xt, wt, spec.b, sh, sw, dh, dw, kh, kw, out)
    return out.reshape((n_batch, c) + tuple(spec.out_spatial))
