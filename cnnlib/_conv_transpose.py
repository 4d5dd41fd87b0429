r"""Transposed convolution: ``conv_transpose1d``, ``conv_transpose2d`` and a naive reference.

Explained in chapter 32 (upsampling and transposed convolution) and in "Beyond the 33"
(transposed convolution in depth, checkerboard artefacts).

A transposed convolution is the adjoint (gradient w.r.t. the input) of a convolution with the
same ``stride``/``padding``/``dilation``: every input pixel :math:`i` *scatters* its value times
the kernel to the outputs :math:`o = i s - p + k d`. The fast kernel *gathers* instead: output
:math:`o` sums the taps :math:`k` whose input index :math:`i = (o + p - k d)/s` is an integer
inside the input,

.. math:: y[n, c_o, o] = b[c_o] + \sum_{c_i \in G(c_o)} \sum_{k:\ s \mid (o + p - kd)}
          x\!\left[n, c_i, \tfrac{o + p - kd}{s}\right] w[c_i, c_o \bmod (C_{out}/g), k]

where :math:`G(c_o)` is the block of :math:`C_{in}/g` input channels of ``c_o``'s group and
``weight`` has torch's layout ``(C_in, C_out/groups, *kernel)``. That gather kernel
(``method="gather"``, one numba kernel with three spatial dims for 1-D and 2-D) is the
definition loop by loop. The default ``method="auto"`` (:func:`choose_method`) runs one of two
fast methods built on BLAS GEMMs (called from numba's threads, BLAS single-threaded inside):

* ``"gemm"`` — GEMM then col2im, as frameworks do: per sample and group,
  :math:`\text{cols} = W_g^\top X_g` (``C_out/g·kh·kw × H·W``) by one GEMM, then every
  column is scatter-added into the output (col2im, the adjoint of im2col), block of output
  channels by block, band of input pixels by band, so the columns stay in cache;
* ``"phase"`` — the ``sh·sw`` phase decomposition: the outputs ``o ≡ r (mod s)`` of one phase
  form a dense stride-1 convolution of the input with the taps ``k`` that reach them
  (:func:`_phase_taps`), computed as one GEMM per tap on a shifted view of the zero-padded
  input, with no column matrix at all.
"""
from __future__ import annotations

from typing import NamedTuple

import math

import numpy as np
from numba import njit, prange

from ._blas import flush_log, gemm_logged, gemm_tn_logged, new_log
from ._sizes import conv_transpose_output_size
from ._threads import blas_single_threaded, scratch, threads
from ._wcache import transformed
from ._validation import as_array, conv_tensors, non_negative, same_dtype

__all__ = ["conv_transpose1d", "conv_transpose2d", "conv_transpose1d_naive",
           "conv_transpose2d_naive", "conv_transposend_naive"]


class TransposeSpec(NamedTuple):
    """Normalised arguments of an N-d transposed convolution (see :func:`_transpose_spec`)."""
    x: np.ndarray          # (N, C_in, *spatial), contiguous
    w: np.ndarray          # (C_in, C_out/groups, *kernel), contiguous
    b: np.ndarray          # (C_out,) — zeros when bias is None
    stride: tuple
    padding: tuple
    output_padding: tuple
    dilation: tuple
    groups: int
    out_spatial: tuple
    unbatched: bool


def _transpose_spec(input, weight, bias, stride, padding, output_padding, groups, dilation,
                    n: int, fn: str) -> TransposeSpec:
    """Check and normalise the arguments of ``conv_transpose{n}d``; compute the output size."""
    x, w, unbatched, groups, stride, dilation, kernel = conv_tensors(
        input, weight, groups, stride, dilation, n, fn, "C_in, C_out/groups, *kernel")
    if isinstance(padding, str):
        raise ValueError(f"{fn}: padding={padding!r} is not supported; transposed convolutions "
                         "take int or tuple padding only (torch does not accept strings either)")
    padding = non_negative(padding, n, "padding")
    output_padding = non_negative(output_padding, n, "output_padding")
    c_in = x.shape[1]
    if w.shape[0] != c_in:
        raise ValueError(f"{fn}: input has {c_in} channels but weight of shape {tuple(w.shape)} "
                         f"expects {w.shape[0]} (weight is (C_in, C_out/groups, *kernel))")
    c_out = w.shape[1] * groups
    if c_out == 0:
        raise ValueError(f"{fn}: weight of shape {tuple(w.shape)} has no output channels")
    # the book's calculator checks output_padding < stride or dilation, and padding not too large
    out_spatial = conv_transpose_output_size(tuple(int(s) for s in x.shape[2:]), kernel, stride,
                                             padding, output_padding, dilation)
    if bias is None:
        b = np.zeros(c_out, dtype=x.dtype)
    else:
        b = as_array(bias, "bias")
        same_dtype(x, b, "input", "bias")
        if b.shape != (c_out,):
            raise ValueError(f"{fn}: bias must have shape ({c_out},), got {tuple(b.shape)}")
    return TransposeSpec(np.ascontiguousarray(x), np.ascontiguousarray(w), np.ascontiguousarray(b),
                         stride, padding, output_padding, dilation, groups, out_spatial, unbatched)


@njit(cache=True, parallel=True)
def _conv_transpose3d_kernel(xl, wl, b, sd, sh, sw, pd, ph, pw, dd, dh, dw, groups, out):
    """Gather form of the 3-D transposed convolution, written into ``out``.

    Assumes C-contiguous float arrays of one dtype, channels moved last so that the innermost
    sum over input channels is contiguous: ``xl`` (N, D, H, W, C_in), ``wl`` (C_out/groups, kD,
    kH, kW, C_in) (i.e. torch's weight transposed), ``b`` (C_out,), ``out`` (N, C_out, oD, oH, oW)
    sized by ``conv_transpose_output_size``; ``p*`` are the (non-negative) paddings.
    """
    n_batch, i_d_n, i_h_n, i_w_n, c_in = xl.shape
    c_out, o_d, o_h, o_w = out.shape[1], out.shape[2], out.shape[3], out.shape[4]
    c_out_g, k_d, k_h, k_w = wl.shape[0], wl.shape[1], wl.shape[2], wl.shape[3]
    c_in_g = c_in // groups
    # one task per output plane (n, co): tasks write disjoint planes, so no races
    for task in prange(n_batch * c_out):
        n = task // c_out
        co = task % c_out
        g = co // c_out_g                      # group of output channel co
        cl = co % c_out_g                      # its index inside the group (weight dim 1)
        c0 = g * c_in_g                        # first input channel of group g
        for od in range(o_d):
            for oh in range(o_h):
                for ow in range(o_w):
                    acc = b[co]
                    for kd in range(k_d):
                        t_d = od + pd - kd * dd        # = i_d * sd if tap kd reaches input i_d
                        if t_d < 0 or t_d % sd != 0 or t_d // sd >= i_d_n:
                            continue
                        for kh in range(k_h):
                            t_h = oh + ph - kh * dh    # = i_h * sh
                            if t_h < 0 or t_h % sh != 0 or t_h // sh >= i_h_n:
                                continue
                            for kw in range(k_w):
                                t_w = ow + pw - kw * dw    # = i_w * sw
                                if t_w < 0 or t_w % sw != 0 or t_w // sw >= i_w_n:
                                    continue
                                xv = xl[n, t_d // sd, t_h // sh, t_w // sw]   # (C_in,)
                                wv = wl[cl, kd, kh, kw]                      # (C_in,)
                                # sum over the C_in/groups input channels of group g
                                for j in range(c0, c0 + c_in_g):
                                    acc += xv[j] * wv[j]
                    out[n, co, od, oh, ow] = acc
    return out


@njit(cache=True, nogil=True)
def _col2im_block(cols, kh, kw, w, sh, sw, ph, pw, dh, dw, p0, p1, co0, out_n):
    """Scatter-add the columns of one block of output channels into their planes.

    ``cols`` is ``(cb·kh·kw, p1 − p0)``: row ``(c·kh + i)·kw + j`` holds tap ``(i, j)`` of
    block channel ``c`` for the input pixels ``p0 ≤ iy·w + ix < p1``. Output channel
    ``co0 + c`` (plane ``out_n[co0 + c]``) gets input pixel ``(iy, ix)``'s value at
    ``(iy·sh − ph + i·dh, ix·sw − pw + j·dw)`` when that lies inside the output.
    """
    o_h, o_w = out_n.shape[1], out_n.shape[2]
    cb = cols.shape[0] // (kh * kw)
    for c in range(cb):
        plane = out_n[co0 + c]
        for i in range(kh):
            for j in range(kw):
                src = cols[(c * kh + i) * kw + j]
                off = j * dw - pw                  # ox = ix·sw + off
                lo = 0 if off >= 0 else (-off + sw - 1) // sw
                hi = min(w, (o_w - 1 - off) // sw + 1) if o_w - 1 - off >= 0 else 0
                for iy in range(p0 // w, (p1 - 1) // w + 1):
                    oy = iy * sh - ph + i * dh
                    if oy < 0 or oy >= o_h:
                        continue
                    row = plane[oy]
                    base = iy * w - p0            # column of pixel (iy, 0) in cols
                    a = max(lo, p0 - iy * w)
                    e = min(hi, p1 - iy * w)
                    for ix in range(a, e):
                        row[ix * sw + off] += src[base + ix]


@njit(cache=True, parallel=True)
def _gemm_col2im_kernel(xm, wm, b, kh, kw, w, sh, sw, ph, pw, dh, dw, groups, cb, band, log,
                        cols, out):
    """Transposed convolution as GEMM then col2im, split over numba's threads.

    ``xm`` is the input ``(N, C_in, H·W)``, ``wm`` the weight ``(C_in, C_out/g·kh·kw)``
    (torch's layout, flattened), ``out`` ``(N, C_out, oH, oW)``. A work item is (sample,
    group, block of ``cb`` output channels); its planes are first filled with the bias, then,
    for every band of ``band`` input pixels, one GEMM ``W_blockᵀ · X_g,band`` (``cb·kh·kw ×
    C_in/g`` by ``C_in/g × band``; BLAS single-threaded) fills the task's own block of
    ``cols (tasks, cb·kh·kw·band)``, which :func:`_col2im_block` scatter-adds into the planes
    while it is in the core's cache. No two items write the same plane. Task ``t`` runs items
    ``t, t + tasks, ...``.
    """
    n_batch, c_in, hw = xm.shape
    c_out = out.shape[1]
    c_in_g, c_out_g = c_in // groups, c_out // groups
    kk = kh * kw
    blocks = (c_out_g + cb - 1) // cb
    items = n_batch * groups * blocks
    bands = (hw + band - 1) // band
    tasks = cols.shape[0]
    for t in prange(tasks):
        for item in range(t, items, tasks):
            n = item // (groups * blocks)
            g = (item // blocks) % groups
            blk = item % blocks
            c0 = blk * cb
            c1 = min(c_out_g, c0 + cb)
            m = (c1 - c0) * kk
            co0 = g * c_out_g + c0
            for c in range(co0, co0 + c1 - c0):
                out[n, c] = b[c]
            a = wm[g * c_in_g:(g + 1) * c_in_g, c0 * kk:c1 * kk]
            for q in range(bands):
                p0 = q * band
                p1 = min(hw, p0 + band)
                dst = cols[t, :m * (p1 - p0)].reshape((m, p1 - p0))
                gemm_tn_logged(a, xm[n, g * c_in_g:(g + 1) * c_in_g, p0:p1], dst, log,
                               item * bands + q)
                _col2im_block(dst, kh, kw, w, sh, sw, ph, pw, dh, dw, p0, p1, co0, out[n])
    return out


COL2IM_ROWS = 128                # GEMM rows per work item: cb·kh·kw ≈ this (cb output channels)
COL2IM_BAND_BYTES = 512 << 10    # a band's columns: about this many bytes (a core's L2)
COL2IM_MIN_BAND = 64             # ... but at least this many input pixels


def _gemm_col2im(spec, n: int) -> np.ndarray:
    """``method="gemm"``: GEMM then col2im (:func:`_gemm_col2im_kernel`), 1-D and 2-D."""
    x, wt = spec.x, spec.w
    n_batch, c_in = x.shape[:2]
    c_out_g = wt.shape[1]
    c_out = c_out_g * spec.groups
    (h, w), (kh, kw), (o_h, o_w), (sh, sw), (ph, pw), (dh, dw) = _plane_geometry(spec, n)
    kk = kh * kw
    cb = min(c_out_g, max(1, -(-COL2IM_ROWS // kk)))
    n_threads = threads()
    while n_batch * spec.groups * -(-c_out_g // cb) < n_threads and cb > 1:
        cb = -(-cb // 2)                   # at least one item per thread
    items = n_batch * spec.groups * -(-c_out_g // cb)
    band = min(h * w, max(COL2IM_MIN_BAND, COL2IM_BAND_BYTES // (cb * kk * x.itemsize)))
    tasks = min(items, n_threads)
    cols = scratch("conv_transpose_cols", (tasks, cb * kk * band), x.dtype)
    out = np.empty((n_batch, c_out, o_h, o_w), dtype=x.dtype)
    log = new_log(items * -(-(h * w) // band))
    with blas_single_threaded():
        _gemm_col2im_kernel(x.reshape(n_batch, c_in, h * w), wt.reshape(c_in, -1), spec.b, kh,
                            kw, w, sh, sw, ph, pw, dh, dw, spec.groups, cb, band, log, cols, out)
    flush_log(log)
    return out.reshape((n_batch, c_out) + tuple(spec.out_spatial))


def _phase_taps(i_n: int, k: int, s: int, p: int, d: int, o_n: int):
    """Split one dim of a transposed convolution into its ``s`` output phases.

    Output ``o = q·s + r`` (phase ``r``) receives tap ``t`` exactly when ``(r + p − t·d)`` is a
    multiple of ``s``, from input ``i = q + δ`` with ``δ = (r + p − t·d)/s``. Returns
    ``count (s,)``, ``taps (s, k)``, ``delta (s, k)`` (first ``count[r]`` entries valid),
    ``q (s,)`` (outputs per phase) and the zero padding ``lo, hi`` the input needs so that
    every ``q + δ`` of every phase is inside it.
    """
    count = np.zeros(s, np.int64)
    taps = np.zeros((s, k), np.int64)
    delta = np.zeros((s, k), np.int64)
    q = np.array([max(0, -(-(o_n - r) // s)) for r in range(s)], np.int64)
    lo = hi = 0
    for r in range(s):
        for t in range(k):
            if (r + p - t * d) % s == 0:
                dl = (r + p - t * d) // s
                taps[r, count[r]], delta[r, count[r]] = t, dl
                count[r] += 1
                if q[r] > 0:
                    lo = max(lo, -dl)
                    hi = max(hi, q[r] - 1 + dl - (i_n - 1))
    return count, taps, delta, q, lo, hi


@njit(cache=True, parallel=True)
def _phase_kernel(xp, wr, b, hp_w, lh, lw, cy, ty, dy, cx, tx, dx, qx, plan, starts, log, cols,
                  out):
    """Transposed convolution as ``sh·sw`` phase convolutions, each a sum of shifted GEMMs.

    ``xp (N, C_in, ·)`` is the input zero-padded to width ``hp_w`` (``lh`` rows, ``lw``
    columns before it; one spare row after), flattened per channel; ``wr (g, kh, kw, C_out/g,
    C_in/g)`` the weight, one matrix per tap; ``cy, ty, dy`` (and ``x``) the phases of
    :func:`_phase_taps`, ``qx`` the outputs per column phase. A work item ``plan[i] = (n, g,
    ry, rx, q0, q1)`` is the phase rows ``q0 ≤ qy < q1`` of phase ``(ry, rx)`` of one sample
    and group: its output pixels ``(qy·sh + ry, qx·sw + rx)`` are, on the padded width,
    ``Σ_taps W_tap · X[shifted by the tap's δ]`` — for every tap one GEMM (``C_out/g × C_in/g``
    by ``C_in/g × rows·hp_w``) whose right operand is a *view* of ``xp`` (the shift is an
    offset into the flat rows; the extra columns of each row are computed and dropped) — into
    the task's block of ``cols``, then copied with the bias into the phase's pixels of ``out``.
    Items write disjoint pixels; task ``t`` runs items ``starts[t]:starts[t + 1]``.
    """
    c_out_g, c_in_g = wr.shape[3], wr.shape[4]
    sh, sw = cy.shape[0], cx.shape[0]
    taps = cy.max() * cx.max()
    for t in prange(starts.shape[0] - 1):
        for item in range(starts[t], starts[t + 1]):
            n, g, ry, rx, q0, q1 = (plan[item, 0], plan[item, 1], plan[item, 2], plan[item, 3],
                                    plan[item, 4], plan[item, 5])
            rows = q1 - q0
            dst = cols[t, :c_out_g * rows * hp_w].reshape((c_out_g, rows * hp_w))
            first = True
            for a in range(cy[ry]):
                for e in range(cx[rx]):
                    off = (q0 + dy[ry, a] + lh) * hp_w + dx[rx, e] + lw
                    src = xp[n, g * c_in_g:(g + 1) * c_in_g, off:off + rows * hp_w]
                    gemm_logged(wr[g, ty[ry, a], tx[rx, e]], src, dst, 0.0 if first else 1.0,
                                log, (item * cy.max() + a) * cx.max() + e)
                    first = False
            for c in range(c_out_g):
                co = g * c_out_g + c
                bias = b[co]
                for yy in range(rows):
                    orow = out[n, co, (q0 + yy) * sh + ry]
                    src_row = dst[c, yy * hp_w:yy * hp_w + qx[rx]]
                    if first:                      # no tap reaches this phase: bias only
                        for xx in range(qx[rx]):
                            orow[xx * sw + rx] = bias
                    else:
                        for xx in range(qx[rx]):
                            orow[xx * sw + rx] = src_row[xx] + bias
    return out


PHASE_BAND_BYTES = 512 << 10     # a phase item's output block: about this many bytes
PHASE_ITEMS_PER_THREAD = 4       # with several threads, at least this many items per thread


def _phase_plan(n_batch, groups, qy, qx, cy, cx, band, n_threads):
    """Work items ``(n, g, ry, rx, q0, q1)`` of :func:`_phase_kernel` and their split over
    ``n_threads`` tasks: ``(plan, starts)``, items of task ``t`` at ``plan[starts[t]:starts[t+1]]``.

    Phases differ in work (their tap counts: 4, 2, 2, 1 for a 3×3 kernel at stride 2), so the
    items go, largest first, to the least loaded task (work = taps × rows, plus one for the
    copy) instead of round robin.
    """
    items = [(n, g, ry, rx, q0, min(int(qy[ry]), q0 + band))
             for n in range(n_batch) for g in range(groups)
             for ry in range(len(qy)) for rx in range(len(qx)) if qx[rx] > 0
             for q0 in range(0, int(qy[ry]), band)]
    cost = [(max(1, int(cy[it[2]] * cx[it[3]])) + 1) * (it[5] - it[4]) for it in items]
    tasks = max(1, min(n_threads, len(items)))
    load = [0] * tasks
    owner = [[] for _ in range(tasks)]
    for i in sorted(range(len(items)), key=lambda i: -cost[i]):
        t = load.index(min(load))
        load[t] += cost[i]
        owner[t].append(items[i])
    plan = np.array([it for o in owner for it in o], dtype=np.int64).reshape(-1, 6)
    starts = np.cumsum([0] + [len(o) for o in owner]).astype(np.int64)
    return plan, starts


def _phase(spec, n: int) -> np.ndarray:
    """``method="phase"``: ``stride²`` phase convolutions (:func:`_phase_kernel`), 1-D and 2-D."""
    x, w = spec.x, spec.w
    n_batch, c_in = x.shape[:2]
    g = spec.groups
    c_in_g, c_out_g = c_in // g, w.shape[1]
    c_out = c_out_g * g
    (h, wd), (kh, kw), (o_h, o_w), (sh, sw), (ph, pw), (dh, dw) = _plane_geometry(spec, n)
    cy, ty, dy, qy, lh, rh = _phase_taps(h, kh, sh, ph, dh, o_h)
    cx, tx, dx, qx, lw, rw = _phase_taps(wd, kw, sw, pw, dw, o_w)
    # Rows of the padded input: P = max(lw, rw) zeros, then the W inputs (then zeros up to wp).
    # A shift past a row's end reads the next row's leading zeros, so one block of P zeros
    # pads both sides; the GEMMs compute wp columns per phase row (wp − Q_w of them dropped).
    lw = max(lw, rw)
    wp = max(wd + lw, int(qx.max()))
    hp = lh + h + rh
    xp = np.zeros((n_batch, c_in, hp + 1, wp), dtype=x.dtype)
    xp[:, :, lh:lh + h, lw:lw + wd] = x.reshape(n_batch, c_in, h, wd)
    # one (C_out/g × C_in/g) matrix per group and tap, kept across calls with the same weights
    wr = transformed(w, ("conv_transpose_phase", g), lambda w: np.ascontiguousarray(
        w.reshape(g, c_in_g, c_out_g, kh, kw).transpose(0, 3, 4, 2, 1)))
    max_q = int(qy.max())
    band = min(max_q, max(1, PHASE_BAND_BYTES // (c_out_g * wp * x.itemsize)))
    n_threads = threads()
    if n_threads > 1:                      # enough items to balance the threads' loads
        while (n_batch * g * int((qx > 0).sum()) * sum(-(-int(q) // band) for q in qy)
               < PHASE_ITEMS_PER_THREAD * n_threads and band > 1):
            band = -(-band // 2)
    plan, starts = _phase_plan(n_batch, g, qy, qx, cy, cx, band, n_threads)
    cols = scratch("conv_transpose_phase", (len(starts) - 1, c_out_g * band * wp), x.dtype)
    out = np.empty((n_batch, c_out, o_h, o_w), dtype=x.dtype)
    log = new_log(len(plan) * int(cy.max()) * int(cx.max()))
    with blas_single_threaded():
        _phase_kernel(xp.reshape(n_batch, c_in, -1), wr, spec.b, wp, lh, lw, cy, ty, dy, cx, tx,
                      dx, qx, plan, starts, log, cols, out)
    flush_log(log[log[:, 0] > 0])
    return out.reshape((n_batch, c_out) + tuple(spec.out_spatial))


def _lift(t: tuple, n: int, fill: int) -> tuple:
    """Prepend ``3 - n`` entries ``fill`` to a per-dim tuple (1-D/2-D → 3-D)."""
    return (fill,) * (3 - n) + tuple(t)


def _plane_geometry(spec, n: int) -> tuple:
    """A 1-D or 2-D layer's (height, width) pairs, a 1-D layer as height 1: input, kernel,
    output, stride, padding, dilation."""
    return tuple(_lift(t, n, fill)[1:] for t, fill in (
        (spec.x.shape[2:], 1), (spec.w.shape[2:], 1), (spec.out_spatial, 1),
        (spec.stride, 1), (spec.padding, 0), (spec.dilation, 1)))


METHODS = ("auto", "gather", "gemm", "phase")


# Thresholds of the auto rule, measured side by side with torch (float32, batch 1 and 8, 1 and 2
# threads, OpenBLAS' SkylakeX kernels) on the book's 2-core machine; see choose_method.
PHASE_MIN_CHANNELS = 16       # C_in/g and C_out/g at least this for the phase method
PHASE_MIN_PIXELS = 64         # ... and at least this many input pixels (H·W, or L)


def choose_method(spec) -> str:
    """The method ``auto`` runs for a transposed convolution (a shape-only rule).

    ``"phase"`` (:func:`_phase`) when the stride is above 1, ``C_in/g`` and ``C_out/g`` are at
    least :data:`PHASE_MIN_CHANNELS` and the input has at least :data:`PHASE_MIN_PIXELS`
    pixels: its GEMMs are ``C_out/g × C_in/g`` by ``C_in/g × (pixels of a phase)``, efficient
    when all three are large, and it needs no col2im. Otherwise ``"gemm"`` (GEMM then col2im),
    whose one GEMM per work item has ``kh·kw`` times more rows: better for few output channels
    (the RGB layer of a generator), small inputs (the 1×1 → 4×4 first layer of DCGAN), and
    stride 1 (one phase with every tap: each tap's GEMM re-reads the whole weight). The naive
    ``"gather"`` kernel was slower than one of them on every layer measured, down to 4 channels
    at 8×8, and is kept as the old path the tests compare with.
    """
    c_in_g, c_out_g = spec.x.shape[1] // spec.groups, spec.w.shape[1]
    if (math.prod(spec.stride) > 1 and min(c_in_g, c_out_g) >= PHASE_MIN_CHANNELS
            and math.prod(spec.x.shape[2:]) >= PHASE_MIN_PIXELS):
        return "phase"
    return "gemm"


def _gather(spec, n: int) -> np.ndarray:
    """``method="gather"``: the gather kernel :func:`_conv_transpose3d_kernel` (batched output)."""
    n_batch, c_in = spec.x.shape[:2]
    c_out = spec.b.shape[0]
    x5 = spec.x.reshape((n_batch, c_in) + _lift(spec.x.shape[2:], n, 1))
    w5 = spec.w.reshape(spec.w.shape[:2] + _lift(spec.w.shape[2:], n, 1))
    # channels last: (N, D, H, W, C_in) and (C_out/groups, kD, kH, kW, C_in)
    xl = np.ascontiguousarray(x5.transpose(0, 2, 3, 4, 1))
    wl = np.ascontiguousarray(w5.transpose(1, 2, 3, 4, 0))
    out = np.empty((n_batch, c_out) + _lift(spec.out_spatial, n, 1), dtype=spec.x.dtype)
    _conv_transpose3d_kernel(xl, wl, spec.b, *_lift(spec.stride, n, 1),
                             *_lift(spec.padding, n, 0), *_lift(spec.dilation, n, 1),
                             spec.groups, out)
    return out.reshape((n_batch, c_out) + spec.out_spatial)


def _conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation,
                      method, n: int) -> np.ndarray:
    """Shared body of ``conv_transpose1d``/``conv_transpose2d``: validate, run a method, unbatch."""
    fn = f"conv_transpose{n}d"
    if not isinstance(method, str):
        raise TypeError(f"{fn}: method={method!r} must be a str such as 'auto', 'gemm' or "
                        f"'gather', not {type(method).__name__}")
    if method not in METHODS:
        raise ValueError(f"{fn}: method={method!r} is not one of {METHODS}")
    spec = _transpose_spec(input, weight, bias, stride, padding, output_padding, groups, dilation,
                           n=n, fn=fn)
    if method == "auto":
        method = choose_method(spec)
    out = {"gemm": _gemm_col2im, "phase": _phase, "gather": _gather}[method](spec, n)
    return out[0] if spec.unbatched else out


_DOC = """{n}-D transposed convolution, like ``torch.nn.functional.conv_transpose{n}d``.

    Parameters
    ----------
    input : ndarray, shape (N, C_in, {sp}) or unbatched (C_in, {sp})
        float32 or float64 (NumPy array or torch tensor).
    weight : ndarray, shape (C_in, C_out/groups, {ks})
        torch's layout (input channels first). Same dtype as ``input``.
    bias : ndarray, shape (C_out,), optional
    stride : int or tuple of {n} ints, > 0
    padding : int or tuple of {n} ints, >= 0
        Crops ``padding`` from both ends of the full output of length
        ``(L_in - 1)*s + d*(k - 1) + 1`` (the adjoint of a convolution with this padding).
        Strings (``'same'``, ``'valid'``) are rejected, as in torch.
    output_padding : int or tuple of {n} ints
        Extra size added at the end of each dim; must be smaller than ``stride`` or
        ``dilation``.
    groups : int
        Must divide ``C_in``; ``C_out = weight.shape[1] * groups``.
    dilation : int or tuple of {n} ints, > 0
        Note torch's argument order: ``groups`` comes before ``dilation``.
    method : str
        cnnlib's addition (torch has no such argument): ``"auto"``
        (default: :func:`cnnlib._conv_transpose.choose_method` picks by the layer's shape),
        ``"phase"`` (stride² phase convolutions as GEMMs), ``"gemm"`` (GEMM then col2im) or
        ``"gather"`` (the plain numba loops of the definition). All return the same values.

    Returns
    -------
    ndarray, shape (N, C_out, {osp}) or (C_out, {osp}) for unbatched input
        Same dtype as ``input``.

    Notes
    -----
    Output size (:func:`cnnlib.conv_transpose_output_size`), per spatial dim:

    .. math:: L_{{out}} = (L_{{in}} - 1)s - 2p + d(k-1) + \\text{{output\\_padding}} + 1

    Output :math:`o` gathers the taps :math:`k` with :math:`(o + p - kd)/s` an integer input
    index (see the module docstring for the methods). Explained in chapter 32.
"""


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, method="auto"):
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, method, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, method="auto"):
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, method, 2)


conv_transpose1d.__doc__ = _DOC.format(n=1, sp="L", ks="kL", osp="L_out")
conv_transpose2d.__doc__ = _DOC.format(n=2, sp="H, W", ks="kH, kW", osp="H_out, W_out")


# --------------------------------------------------------------------------------------------
# Naive reference: the scatter form, one input position at a time (tests and chapter 32).
# --------------------------------------------------------------------------------------------

def conv_transposend_naive(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                           groups=1, dilation=1):
    """Slow scatter-form reference for any number of spatial dims (``weight.ndim - 2``).

    Each input pixel ``i`` adds ``x[i] * w`` to the full (uncropped) output at
    ``i*s + k*d``; the result is then cropped by ``padding`` at the start of each dim.
    Same arguments and result as ``conv_transpose{n}d``.
    """
    n = np.ndim(weight) - 2
    if n not in (1, 2, 3):
        raise ValueError(f"conv_transposend_naive: weight must be 3-, 4- or 5-D, "
                         f"got {np.ndim(weight)}-D")
    spec = _transpose_spec(input, weight, bias, stride, padding, output_padding, groups, dilation,
                           n=n, fn=f"conv_transpose{n}d_naive")
    x, w = spec.x, spec.w
    kernel = w.shape[2:]
    c_in_g, c_out_g = x.shape[1] // spec.groups, w.shape[1]
    # full output before cropping, long enough to hold the cropped window [p, p + out)
    full = tuple(max((i - 1) * s + d * (k - 1) + 1, p + o) for i, s, d, k, p, o in zip(
        x.shape[2:], spec.stride, spec.dilation, kernel, spec.padding, spec.out_spatial))
    buf = np.zeros((x.shape[0], c_out_g * spec.groups) + full, dtype=x.dtype)
    for pos in np.ndindex(*x.shape[2:]):
        # input pixel i lands at i*s + k*d: slice start : start + d*(k-1) + 1 : d
        target = tuple(slice(i * s, i * s + d * (k - 1) + 1, d)
                       for i, s, d, k in zip(pos, spec.stride, spec.dilation, kernel))
        for g in range(spec.groups):
            xs = x[(slice(None), slice(g * c_in_g, (g + 1) * c_in_g)) + pos]   # (N, C_in/g)
            ws = w[g * c_in_g:(g + 1) * c_in_g]                                # (C_in/g, C_out/g, *k)
            buf[(slice(None), slice(g * c_out_g, (g + 1) * c_out_g)) + target] += np.tensordot(
                xs, ws, axes=(1, 0))
    crop = tuple(slice(p, p + o) for p, o in zip(spec.padding, spec.out_spatial))
    out = buf[(slice(None), slice(None)) + crop] + spec.b.reshape((1, -1) + (1,) * n)
    return out[0] if spec.unbatched else out


def conv_transpose1d_naive(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                           groups=1, dilation=1):
    """Naive reference for :func:`conv_transpose1d` (see :func:`conv_transposend_naive`)."""
    _check_weight_ndim(weight, 1)
    return conv_transposend_naive(input, weight, bias, stride, padding, output_padding, groups,
                                  dilation)


def conv_transpose2d_naive(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                           groups=1, dilation=1):
    """Naive reference for :func:`conv_transpose2d` (see :func:`conv_transposend_naive`)."""
    _check_weight_ndim(weight, 2)
    return conv_transposend_naive(input, weight, bias, stride, padding, output_padding, groups,
                                  dilation)


def _check_weight_ndim(weight, n: int) -> None:
    if np.ndim(weight) != n + 2:
        raise ValueError(f"conv_transpose{n}d_naive: weight must be {n + 2}-D, "
                         f"got shape {np.shape(weight)}")
