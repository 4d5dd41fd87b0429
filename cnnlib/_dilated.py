"""Dilated 2-D convolution as sub-grid convolutions ("space to batch"), so that Winograd applies.

With dilation ``d`` and stride 1, output ``o`` reads inputs ``o + k·d``: outputs of the same
phase ``o mod d`` read only inputs of that phase. Writing ``o = d·q + r``, the input index is
``d·(q + k) + r``, so phase ``r`` of the output is a *dense* (dilation-1) convolution of phase
``r`` of the padded input::

    y[d·q + r] = sum_k w[k] · x_pad[d·(q + k) + r]        (per spatial dim)

In 2-D the ``d_h·d_w`` phases of the padded input, each ``(Q_h + k_h - 1) × (Q_w + k_w - 1)``
with ``Q = ⌈H_out / d⌉``, are stacked along the batch axis (TensorFlow's ``space_to_batch``
of its atrous convolution), one dense convolution runs on the whole stack — for 3×3 kernels
Winograd, which the dilated layer could not use — and the phases of its output are interleaved
back (``batch_to_space``) and cropped to ``H_out × W_out``. The multiplications are the
dense convolution's over ``d_h·d_w·Q_h·Q_w ≥ H_out·W_out`` outputs, with Winograd's 4× (F(4×4))
or 2.25× (F(2×2)) saving; the two rearrangements copy the input and the output once each.

Explained in chapter 17 (dilated convolution) and chapter 31 (choosing an algorithm).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _space_to_batch(x, top, left, dh, dw, hq, wq, out):
    """``out[(n·dh + rh)·dw + rw, c, qh, qw] = x_pad[n, c, qh·dh + rh, qw·dw + rw]`` (zero
    outside ``x``; ``x_pad`` is ``x`` shifted by ``(top, left)``)."""
    n_batch, c_in, h, w = x.shape
    for t in prange(n_batch * c_in):
        n, c = t // c_in, t % c_in
        for rh in range(dh):
            for rw in range(dw):
                b = (n * dh + rh) * dw + rw
                for qh in range(hq):
                    i = qh * dh + rh - top
                    row = out[b, c, qh]
                    if i < 0 or i >= h:
                        row[:] = 0
                        continue
                    for qw in range(wq):
                        j = qw * dw + rw - left
                        row[qw] = x[n, c, i, j] if 0 <= j < w else 0


@njit(parallel=True, cache=True)
def _batch_to_space(y, dh, dw, out):
    """``out[n, k, qh·dh + rh, qw·dw + rw] = y[(n·dh + rh)·dw + rw, k, qh, qw]``, cropped."""
    n_batch, c_out, ho, wo = out.shape
    for t in prange(n_batch * c_out):
        n, k = t // c_out, t % c_out
        for i in range(ho):
            qh, rh = i // dh, i % dh
            row = out[n, k, i]
            base = (n * dh + rh) * dw
            for j in range(wo):
                row[j] = y[base + j % dw, k, qh, j // dw]


def subgrid_shapes(spec):
    """``(Q_h, Q_w)`` outputs per phase and the phase inputs' ``(H_q, W_q)``."""
    kh, kw = spec.w.shape[2:]
    dh, dw = spec.dilation
    ho, wo = spec.out_spatial
    qh, qw = math.ceil(ho / dh), math.ceil(wo / dw)
    return (qh, qw), (qh + kh - 1, qw + kw - 1)


def conv_subgrid(spec, inner: str) -> np.ndarray:
    """2-D stride-1 dilated convolution by ``d_h·d_w`` dense convolutions on the phases.

    ``inner`` is the method of the dense convolution (``"winograd"``, ``"winograd_f2"``,
    ``"im2col"``, …). Returns ``(N, C_out, H_out, W_out)`` in the input's dtype.
    """
    from ._algorithms import run
    if any(s != 1 for s in spec.stride) or spec.x.ndim != 4:
        raise ValueError("the sub-grid method needs a 2-D convolution with stride 1")
    x = spec.x
    dh, dw = spec.dilation
    (qh, qw), (hq, wq) = subgrid_shapes(spec)
    n_batch = x.shape[0]
    xs = np.empty((n_batch * dh * dw, x.shape[1], hq, wq), dtype=x.dtype)
    _space_to_batch(x, spec.pad_lo[0], spec.pad_lo[1], dh, dw, hq, wq, xs)
    sub = spec._replace(x=xs, stride=(1, 1), pad_lo=(0, 0), pad_hi=(0, 0), dilation=(1, 1),
                        out_spatial=(qh, qw), unbatched=False)
    y = run(inner, sub, 2)
    out = np.empty((n_batch, y.shape[1]) + tuple(spec.out_spatial), dtype=x.dtype)
    _batch_to_space(y, dh, dw, out)
    return out


# ----------------------------------------------------------------------------- regions
def _segments(n_out: int, size: int, k: int, pad: int, d: int) -> list:
    """Cut ``range(n_out)`` into runs of outputs whose valid taps are the same range.

    Output ``o`` (stride 1) reads input ``o + t·d - pad`` for tap ``t``; the taps inside the
    input are ``lo(o) ≤ t ≤ hi(o)``, a contiguous range. Returns ``[(o0, o1, lo, hi)]``.
    """
    segs = []
    for o in range(n_out):
        lo = max(0, -((o - pad) // d))                   # ceil((pad - o) / d)
        hi = min(k - 1, (size - 1 + pad - o) // d)
        if segs and segs[-1][2:] == (lo, hi):
            segs[-1] = (segs[-1][0], o + 1, lo, hi)
        else:
            segs.append((o, o + 1, lo, hi))
    return segs


def regions(spec) -> list:
    """The rectangles of the output with one set of valid taps each:
    ``[((r0, r1, a0, a1), (c0, c1, b0, b1))]`` (rows, columns; taps ``a0..a1 × b0..b1``)."""
    kh, kw = spec.w.shape[2:]
    rows = _segments(spec.out_spatial[0], spec.x.shape[2], kh, spec.pad_lo[0], spec.dilation[0])
    cols = _segments(spec.out_spatial[1], spec.x.shape[3], kw, spec.pad_lo[1], spec.dilation[1])
    return [(r, c) for r in rows for c in cols]


def valid_fraction(spec) -> float:
    """Share of the multiply-adds of the padded convolution that read the input, not padding."""
    kh, kw = spec.w.shape[2:]
    ho, wo = spec.out_spatial
    done = sum((r1 - r0) * (c1 - c0) * max(0, a1 - a0 + 1) * max(0, b1 - b0 + 1)
               for (r0, r1, a0, a1), (c0, c1, b0, b1) in regions(spec))
    return done / (ho * wo * kh * kw)


def _core(spec, subgrid: bool) -> np.ndarray:
    """One region (or the whole layer): sub-grid Winograd when ``subgrid`` is allowed and
    :func:`cnnlib._algorithms.subgrid_method` picks it for the phases' dense shape, else the
    dilated layer's own method (``choose_method(..., subgrid=False)``)."""
    from ._algorithms import choose_method, run, subgrid_method
    kernel = spec.w.shape[2:]
    # a single tap along a dim makes that dim's dilation irrelevant
    dil = tuple(1 if k == 1 else d for k, d in zip(kernel, spec.dilation))
    if dil != tuple(spec.dilation):
        spec = spec._replace(dilation=dil)
    if all(d == 1 for d in dil):
        return run("auto", spec, 2)
    c_in, c_out = spec.x.shape[1], spec.w.shape[0]
    inner = subgrid_method(c_in, c_out, kernel, spec.groups, subgrid_shapes(spec)[0]) \
        if subgrid else None
    if inner:
        return conv_subgrid(spec, inner)
    return run(choose_method(c_in, c_out, kernel, spec.stride, dil, spec.groups,
                             spec.out_spatial, subgrid=False), spec, 2)


_REGION_SUBGRID = False


def conv_dilated(spec) -> np.ndarray:
    """2-D stride-1 dilated convolution, the ``"dilated"`` method of ``auto``.

    When taps that read only padding are many (:func:`valid_fraction` below
    :data:`cnnlib._algorithms.REGIONS_MAX_VALID`; ASPP's rate 18 on a 33×33 map reads the input
    with 41 % of its multiply-adds), the output is cut into :func:`regions`, each a
    padding-free convolution of a crop of the input with only the taps valid there. Otherwise
    the whole layer runs as sub-grid Winograd (:func:`conv_subgrid`) when
    :func:`cnnlib._algorithms.subgrid_method` picks it, else by the dilated im2col/MEC.
    """
    from . import _wcache
    from ._algorithms import REGIONS_MAX_VALID
    if any(s != 1 for s in spec.stride) or spec.x.ndim != 4:
        raise ValueError("method='dilated' needs a 2-D convolution with stride 1")
    if valid_fraction(spec) >= REGIONS_MAX_VALID:
        return _core(spec, subgrid=True)
    x, w = spec.x, spec.w
    kh, kw = w.shape[2:]
    dh, dw = spec.dilation
    out = np.empty((x.shape[0], w.shape[0]) + tuple(spec.out_spatial), dtype=x.dtype)
    for (r0, r1, a0, a1), (c0, c1, b0, b1) in regions(spec):
        if a1 < a0 or b1 < b0:                       # every tap in the padding: the bias only
            out[:, :, r0:r1, c0:c1] = spec.b[None, :, None, None]
            continue
        i0, i1 = r0 + a0 * dh - spec.pad_lo[0], r1 - 1 + a1 * dh - spec.pad_lo[0] + 1
        j0, j1 = c0 + b0 * dw - spec.pad_lo[1], c1 - 1 + b1 * dw - spec.pad_lo[1] + 1
        if (a0, a1, b0, b1) == (0, kh - 1, 0, kw - 1):
            ws = w
        else:                                        # the same array on every call: caches hit
            ws = _wcache.transformed(w, ("taps", a0, a1, b0, b1),
                                     lambda w: np.ascontiguousarray(w[:, :, a0:a1 + 1, b0:b1 + 1]))
        sub = spec._replace(x=np.ascontiguousarray(x[:, :, i0:i1, j0:j1]), w=ws,
                            pad_lo=(0, 0), pad_hi=(0, 0), out_spatial=(r1 - r0, c1 - c0),
                            unbatched=False)
        out[:, :, r0:r1, c0:c1] = _core(sub, subgrid=_REGION_SUBGRID)
    return out
