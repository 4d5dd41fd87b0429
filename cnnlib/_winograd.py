"""Winograd minimal filtering: F(2×2, 3×3) and F(4×4, 3×3) convolution (Lavin & Gray, 2016).

An ``m×m`` output tile of a 3×3 convolution needs ``(m+2)²`` multiplications per channel pair
instead of ``9m²``: 16 instead of 36 for F(2×2, 3×3), 36 instead of 144 for F(4×4, 3×3).
The price is three linear transforms (input, weight, output) made of additions and
multiplications by constants, and a larger float32 rounding error for larger tiles.
Explained in chapter 31 (how to accelerate convolution).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import _wcache
from ._blas import flush_log, gemm_logged, new_log
from ._threads import blas_single_threaded, scratch

# F(m, 3) in 1-D: y = A^T [(G g) ⊙ (B^T d)], with interpolation points 0, ±1, (±2,) ∞.
_MATRICES = {
    2: (np.array([[1, 0, -1, 0],
                  [0, 1, 1, 0],
                  [0, -1, 1, 0],
                  [0, 1, 0, -1]], dtype=np.float64),
        np.array([[1, 0, 0],
                  [1 / 2, 1 / 2, 1 / 2],
                  [1 / 2, -1 / 2, 1 / 2],
                  [0, 0, 1]], dtype=np.float64),
        np.array([[1, 1, 1, 0],
                  [0, 1, -1, -1]], dtype=np.float64)),
    4: (np.array([[4, 0, -5, 0, 1, 0],
                  [0, -4, -4, 1, 1, 0],
                  [0, 4, -4, -1, 1, 0],
                  [0, -2, -1, 2, 1, 0],
                  [0, 2, -1, -2, 1, 0],
                  [0, 4, 0, -5, 0, 1]], dtype=np.float64),
        np.array([[1 / 4, 0, 0],
                  [-1 / 6, -1 / 6, -1 / 6],
                  [-1 / 6, 1 / 6, -1 / 6],
                  [1 / 24, 1 / 12, 1 / 6],
                  [1 / 24, -1 / 12, 1 / 6],
                  [0, 0, 1]], dtype=np.float64),
        np.array([[1, 1, 1, 1, 1, 0],
                  [0, 1, -1, 2, -2, 0],
                  [0, 1, 1, 4, 4, 0],
                  [0, 1, -1, 8, -8, 1]], dtype=np.float64)),
}
TILE_SIZES = tuple(_MATRICES)


def winograd_matrices(m: int = 4):
    r"""The transform matrices ``(B^T, G, A^T)`` of F(m, 3), ``m`` in ``(2, 4)``.

    ``B^T`` is ``(m+2)×(m+2)``, ``G`` is ``(m+2)×3``, ``A^T`` is ``m×(m+2)``. In 1-D the
    ``m`` outputs of a 3-tap correlation of the ``m+2`` inputs ``d`` are
    :math:`y = A^T[(G g) \odot (B^T d)]`; in 2-D (nesting the 1-D algorithm)
    :math:`Y = A^T[(G g G^T) \odot (B^T d B)]A`.
    """
    if m not in _MATRICES:
        raise ValueError(f"m={m!r} is not a supported Winograd tile size; expected one of {TILE_SIZES}")
    return tuple(a.copy() for a in _MATRICES[m])


def check_winograd(spec, n: int, name: str = "winograd") -> None:
    """Raise ``ValueError`` unless the convolution is 2-D, 3×3, stride 1, dilation 1."""
    kernel = tuple(spec.w.shape[2:])
    problems = []
    if n != 2:
        problems.append(f"it is {n}-D (only conv2d)")
    if kernel != (3, 3):
        problems.append(f"kernel_size={kernel} (needs (3, 3))")
    if any(s != 1 for s in spec.stride):
        problems.append(f"stride={spec.stride} (needs 1)")
    if any(d != 1 for d in spec.dilation):
        problems.append(f"dilation={spec.dilation} (needs 1)")
    if problems:
        raise ValueError(f"method={name!r} supports only 3×3 kernels with stride 1 and dilation 1 "
                         f"in conv2d, but " + ", ".join(problems)
                         + "; use method='im2col', 'fft', 'direct' or 'auto'")


# ----------------------------------------------------------------------------- kernels
# The generic kernels take the matrices as arguments (any m) and transform whole planes: they
# are the references of the tests for the hard-coded row kernels that conv_winograd runs.
@njit(parallel=True, cache=True)
def _input_transform(xp, bt, m, th, tw, v):
    """``v[a·α+b, c, p] = (B^T d B)[a, b]`` for the α×α tile ``d`` of tile ``p`` of channel ``c``.

    ``xp (N, C, th·m+2, tw·m+2)`` is the padded input; tile ``p = (n·th + ty)·tw + tx`` starts at
    ``(ty·m, tx·m)``. One (sample, channel) plane per task: gather all its tiles, then apply
    ``B^T`` on each side with the tile index innermost (long loops that vectorise); zero
    coefficients of ``B^T`` are skipped.
    """
    n_batch, c_in = xp.shape[:2]
    alpha = bt.shape[0]
    tiles = th * tw
    for nc in prange(n_batch * c_in):
        n, c = nc // c_in, nc % c_in
        d = np.empty((alpha, alpha, tiles), dtype=xp.dtype)
        t = np.zeros((alpha, alpha, tiles), dtype=xp.dtype)
        # d[i, j, q] = xp[ty·m + i, tx·m + j] for tile q = ty·tw + tx
        for i in range(alpha):
            for j in range(alpha):
                for ty in range(th):
                    for tx in range(tw):
                        d[i, j, ty * tw + tx] = xp[n, c, ty * m + i, tx * m + j]
        # t[a, j, q] = sum_i B^T[a, i] · d[i, j, q]
        for a in range(alpha):
            for i in range(alpha):
                coef = bt[a, i]
                if coef != 0:
                    for j in range(alpha):
                        for q in range(tiles):
                            t[a, j, q] += coef * d[i, j, q]
        # v[a·α+b, c, n·tiles + q] = sum_j B^T[b, j] · t[a, j, q]
        for a in range(alpha):
            for b in range(alpha):
                row = v[a * alpha + b, c, n * tiles:(n + 1) * tiles]
                row[:] = 0
                for j in range(alpha):
                    coef = bt[b, j]
                    if coef != 0:
                        for q in range(tiles):
                            row[q] += coef * t[a, j, q]


@njit(parallel=True, cache=True)
def _output_transform(mm, at, bias, th, tw, out):
    """``out[n, k, ty·m+u, tx·m+v] = (A^T M A)[u, v] + bias[k]`` for every tile, cropped.

    ``mm (α², C_out, P)`` holds the element-wise products summed over channels, tile ``p`` as in
    :func:`_input_transform`. One (sample, output channel) plane per task, tiles innermost.
    """
    n_batch, c_out, ho, wo = out.shape
    m, alpha = at.shape
    tiles = th * tw
    for nk in prange(n_batch * c_out):
        n, k = nk // c_out, nk % c_out
        s = np.zeros((alpha, m, tiles), dtype=out.dtype)
        r = np.zeros((m, m, tiles), dtype=out.dtype)
        # s[a, v, q] = sum_b A^T[v, b] · M[a·α+b, k, n·tiles + q]
        for a in range(alpha):
            for vv in range(m):
                for b in range(alpha):
                    coef = at[vv, b]
                    if coef != 0:
                        src = mm[a * alpha + b, k, n * tiles:(n + 1) * tiles]
                        for q in range(tiles):
                            s[a, vv, q] += coef * src[q]
        # r[u, v, q] = sum_a A^T[u, a] · s[a, v, q]
        for u in range(m):
            for a in range(alpha):
                coef = at[u, a]
                if coef != 0:
                    for vv in range(m):
                        for q in range(tiles):
                            r[u, vv, q] += coef * s[a, vv, q]
        # out[ty·m + u, tx·m + v] = r[u, v, ty·tw + tx] + bias  (pixels past the edge dropped)
        for ty in range(th):
            for u in range(min(m, ho - ty * m)):
                for tx in range(tw):
                    for vv in range(min(m, wo - tx * m)):
                        out[n, k, ty * m + u, tx * m + vv] = r[u, vv, ty * tw + tx] + bias[k]


# F(4×4, 3×3) with the constants of B^T and A^T written out: the multiplications by 0 and ±1
# disappear and the values stay in registers. Measured on the benchmark layers (1 thread): the
# input transform 1.6× (64@56) to 2.8× (128@28) faster than the generic kernel above, the
# output transform 1.2–1.4×; F(2×2)'s input transform 3.3× on 256@14.
@njit(cache=True, inline="always")
def _bt4(d0, d1, d2, d3, d4, d5):
    """``B^T d`` for F(4, 3) (the rows of ``_MATRICES[4][0]``), in the inputs' dtype.

    Multiples are sums (``2x = x + x``): an integer literal would promote float32 to float64.
    """
    e, s, t, g = d0 - d2, d1 + d2, d1 - d2, d1 - d3
    e2, s2, t2, g2 = e + e, s + s, t + t, g + g
    return (e2 + e2 - d2 + d4, d3 + d4 - s2 - s2, t2 + t2 - d3 + d4,
            d4 - d2 - g2, g2 - d2 + d4, g2 + g2 - d3 + d5)


@njit(cache=True, inline="always")
def _at4(m0, m1, m2, m3, m4, m5):
    """``A^T m`` for F(4, 3) (the rows of ``_MATRICES[4][2]``), in the inputs' dtype."""
    a, b, c, d = m1 - m2, m1 + m2, m3 - m4, m3 + m4
    c2, d2 = c + c, d + d
    c4 = c2 + c2
    return (m0 + b + d, a + c2, b + d2 + d2, a + c4 + c4 + m5)


@njit(cache=True, inline="always")
def _bt2(d0, d1, d2, d3):
    """``B^T d`` for F(2, 3) (the rows of ``_MATRICES[2][0]``)."""
    return d0 - d2, d1 + d2, d2 - d1, d1 - d3


# ----------------------------------------------------------------------------- row kernels
# What conv_winograd runs: the transforms of every tile of one sample for a range of channels,
# serial, called from the parallel driver below (a block of channels per task). Tile (ty, tx)
# of sample n is column (n·th + ty)·tw + tx of the GEMMs' operands.
@njit(cache=True, nogil=True)
def _input_rows4(xp, n, th, tw, c0, c1, v):
    """``v[6a+b, c, (n·th + ty)·tw + tx] = (B^T d B)[a, b]`` for every tile of sample ``n``,
    channels ``c0 ≤ c < c1``."""
    wp = xp.shape[3]
    t = np.empty((6, wp), dtype=xp.dtype)
    for c in range(c0, c1):
        for ty in range(th):
            r = xp[n, c, 4 * ty:4 * ty + 6]                 # the 6 input rows of tile row ty
            for x in range(wp):                             # t[a, x] = Σ_i B^T[a, i] r[i, x]
                t[0, x], t[1, x], t[2, x], t[3, x], t[4, x], t[5, x] = _bt4(
                    r[0, x], r[1, x], r[2, x], r[3, x], r[4, x], r[5, x])
            p0 = (n * th + ty) * tw
            for a in range(6):
                ta = t[a]
                for tx in range(tw):
                    j, q = 4 * tx, p0 + tx
                    (v[6 * a, c, q], v[6 * a + 1, c, q], v[6 * a + 2, c, q], v[6 * a + 3, c, q],
                     v[6 * a + 4, c, q], v[6 * a + 5, c, q]) = _bt4(
                        ta[j], ta[j + 1], ta[j + 2], ta[j + 3], ta[j + 4], ta[j + 5])


@njit(cache=True, nogil=True)
def _input_rows2(xp, n, th, tw, c0, c1, v):
    """:func:`_input_rows4` for F(2×2, 3×3): ``v[4a+b, c, (n·th + ty)·tw + tx]``."""
    wp = xp.shape[3]
    t = np.empty((4, wp), dtype=xp.dtype)
    for c in range(c0, c1):
        for ty in range(th):
            r = xp[n, c, 2 * ty:2 * ty + 4]
            for x in range(wp):
                t[0, x], t[1, x], t[2, x], t[3, x] = _bt2(r[0, x], r[1, x], r[2, x], r[3, x])
            p0 = (n * th + ty) * tw
            for a in range(4):
                ta = t[a]
                for tx in range(tw):
                    j, q = 2 * tx, p0 + tx
                    v[4 * a, c, q], v[4 * a + 1, c, q], v[4 * a + 2, c, q], v[4 * a + 3, c, q] = \
                        _bt2(ta[j], ta[j + 1], ta[j + 2], ta[j + 3])


@njit(cache=True, nogil=True)
def _output_rows4(mm, bias, n, th, tw, k0, k1, out):
    """``out[n, k, 4ty+u, 4tx+v] = (A^T M A)[u, v] + bias[k]`` for every tile of sample ``n``,
    output channels ``k0 ≤ k < k1``; tile ``(ty, tx)``'s products are ``mm[:, k, (n·th + ty)·tw + tx]``.

    Both passes of ``A^T`` run along the tiles of a row (contiguous, vectorised): ``s[a, v, tx]``
    then ``r[u, v, tx]``; a last loop interleaves ``r`` into the output rows, cropped.
    """
    ho, wo = out.shape[2:]
    s = np.empty((6, 4, tw), dtype=out.dtype)
    r = np.empty((4, 4, tw), dtype=out.dtype)
    for k in range(k0, k1):
        bk = bias[k]
        for ty in range(th):
            p0 = (n * th + ty) * tw
            for a in range(6):                              # s[a, :, tx] = A^T M[a, :, tx]
                m0, m1, m2 = mm[6 * a, k, p0:p0 + tw], mm[6 * a + 1, k, p0:p0 + tw], mm[6 * a + 2, k, p0:p0 + tw]
                m3, m4, m5 = mm[6 * a + 3, k, p0:p0 + tw], mm[6 * a + 4, k, p0:p0 + tw], mm[6 * a + 5, k, p0:p0 + tw]
                s0, s1, s2, s3 = s[a, 0], s[a, 1], s[a, 2], s[a, 3]
                for tx in range(tw):
                    s0[tx], s1[tx], s2[tx], s3[tx] = _at4(m0[tx], m1[tx], m2[tx], m3[tx], m4[tx], m5[tx])
            for vv in range(4):                             # r[:, vv, tx] = A^T s[:, vv, tx]
                t0, t1, t2 = s[0, vv], s[1, vv], s[2, vv]
                t3, t4, t5 = s[3, vv], s[4, vv], s[5, vv]
                r0, r1, r2, r3 = r[0, vv], r[1, vv], r[2, vv], r[3, vv]
                for tx in range(tw):
                    r0[tx], r1[tx], r2[tx], r3[tx] = _at4(t0[tx], t1[tx], t2[tx], t3[tx], t4[tx], t5[tx])
            for u in range(min(4, ho - 4 * ty)):            # interleave into the output, cropped
                row = out[n, k, 4 * ty + u]
                ru = r[u]
                for tx in range(tw):
                    x = 4 * tx
                    for vv in range(min(4, wo - x)):
                        row[x + vv] = ru[vv, tx] + bk


@njit(cache=True, inline="always")
def _at2(m0, m1, m2, m3):
    """``A^T m`` for F(2, 3) (the rows of ``_MATRICES[2][2]``)."""
    return m0 + m1 + m2, m1 - m2 - m3


@njit(cache=True, nogil=True)
def _output_rows2(mm, bias, n, th, tw, k0, k1, out):
    """:func:`_output_rows4` for F(2×2, 3×3) (``mm`` has 16 rows of products)."""
    ho, wo = out.shape[2:]
    s = np.empty((4, 2, tw), dtype=out.dtype)
    strip = np.empty((2, 2 * tw), dtype=out.dtype)
    for k in range(k0, k1):
        for ty in range(th):
            p0 = (n * th + ty) * tw
            for a in range(4):
                for tx in range(tw):
                    q = p0 + tx
                    s[a, 0, tx], s[a, 1, tx] = _at2(mm[4 * a, k, q], mm[4 * a + 1, k, q],
                                                    mm[4 * a + 2, k, q], mm[4 * a + 3, k, q])
            for vv in range(2):
                for tx in range(tw):
                    y0, y1 = _at2(s[0, vv, tx], s[1, vv, tx], s[2, vv, tx], s[3, vv, tx])
                    x = 2 * tx + vv
                    strip[0, x], strip[1, x] = y0 + bias[k], y1 + bias[k]
            for u in range(min(2, ho - 2 * ty)):            # an explicit loop: a slice copy
                row = out[n, k, 2 * ty + u]                  # compiles numba's string machinery
                for x in range(wo):                          # for its shape-mismatch message
                    row[x] = strip[u, x]                     # (1.5 s of a first run)


# ----------------------------------------------------------------------------- convolution
def transform_weight(w: np.ndarray, groups: int, m: int) -> np.ndarray:
    """``U = G g G^T`` for every filter, laid out ``(α², g, C_out/g, C_in/g)`` for the GEMMs.

    Computed as one matrix product with the Kronecker matrix ``G ⊗ G`` (α² × 9).
    """
    c_out, c_g = w.shape[:2]
    _, g_mat, _ = _MATRICES[m]
    kron = np.kron(g_mat, g_mat).astype(w.dtype)            # [(a·α+b), (i·3+j)] = G[a,i] G[b,j]
    u = kron @ w.reshape(c_out * c_g, 9).T                   # (α², C_out·C_in/g)
    return u.reshape(kron.shape[0], groups, c_out // groups, c_g)


@njit(parallel=True, cache=True)
def _winograd_phases(xp, u, bias, m, th, tw, v, mm, log, out):
    """The three steps one after the other, each split over numba's threads.

    Transform every (sample, block of input channels) → the α²·g products over all tiles, one
    GEMM per task (:func:`cnnlib._blas.gemm`, BLAS single-threaded inside) → transform back
    every (sample, block of output channels). ``v (α², C_in, P)``, ``mm (α², g, K/g, P)``
    with ``P = N·th·tw``. (Cutting the tiles into bands that each thread transforms,
    multiplies and transforms back while they are in its cache measured no faster at 1
    thread and up to 1.5× slower at 2: the GEMMs get too thin, 256@14 has only 49 tiles.)
    """
    a2, g, kg, cg = u.shape
    c_in, c_out = g * cg, g * kg
    n_batch = xp.shape[0]
    blocks = 8                                   # channel blocks per sample and step
    for t in prange(n_batch * blocks):
        n, j = t // blocks, t % blocks
        c0, c1 = j * c_in // blocks, (j + 1) * c_in // blocks
        if m == 4:
            _input_rows4(xp, n, th, tw, c0, c1, v)
        else:
            _input_rows2(xp, n, th, tw, c0, c1, v)
    vg = v.reshape((a2, g, cg, v.shape[2]))
    for t in prange(a2 * g):
        f, j = t // g, t % g
        gemm_logged(u[f, j], vg[f, j], mm[f, j], 0.0, log, t)
    mk = mm.reshape((a2, c_out, mm.shape[3]))
    for t in prange(n_batch * blocks):
        n, j = t // blocks, t % blocks
        k0, k1 = j * c_out // blocks, (j + 1) * c_out // blocks
        if m == 4:
            _output_rows4(mk, bias, n, th, tw, k0, k1, out)
        else:
            _output_rows2(mk, bias, n, th, tw, k0, k1, out)


def conv_winograd(spec, n: int, m: int = 4, name: str = "winograd") -> np.ndarray:
    r"""2-D convolution by Winograd F(m×m, 3×3), ``m`` in ``(2, 4)``; groups and any padding.

    Returns the batched output ``(N, C_out, H_out, W_out)`` in the input's dtype. Raises
    ``ValueError`` unless the kernel is 3×3 with stride 1 and dilation 1.

    Notes
    -----
    The output is cut into ``⌈H_out/m⌉ × ⌈W_out/m⌉`` tiles. With :math:`U = G g G^T` (per
    filter pair) and :math:`V = B^T d B` (per input tile and channel), the products summed over
    input channels, :math:`M_{ab} = \sum_c U_{ab}[k, c] V_{ab}[c, p]`, are α² independent
    matrix products (BLAS); then :math:`Y = A^T M A` per tile. Each step is split over numba's
    threads (:func:`_winograd_phases`). :math:`U` is computed once per weight array and reused
    while the weights are unchanged (:mod:`cnnlib._wcache`).
    """
    check_winograd(spec, n, name)
    if m not in _MATRICES:
        raise ValueError(f"m={m!r} is not a supported Winograd tile size; expected one of {TILE_SIZES}")
    x, w, g = spec.x, spec.w, spec.groups
    alpha = m + 2
    n_batch, c_in, h, wd = x.shape
    c_out = w.shape[0]
    ho, wo = spec.out_spatial
    th, tw = math.ceil(ho / m), math.ceil(wo / m)
    # pad to whole tiles: tile (ty, tx) reads rows ty·m … ty·m+α-1 of the padded input
    xp = scratch("winograd_xp", (n_batch, c_in, th * m + 2, tw * m + 2), x.dtype)
    top, left = spec.pad_lo
    rows, cols = min(h, th * m + 2 - top), min(wd, tw * m + 2 - left)
    xp[:, :, :top] = 0                                   # zero only the border around the copy
    xp[:, :, top + rows:] = 0
    xp[:, :, top:top + rows, :left] = 0
    xp[:, :, top:top + rows, left + cols:] = 0
    xp[:, :, top:top + rows, left:left + cols] = x[:, :, :rows, :cols]
    u = _wcache.transformed(w, ("winograd", m, g), lambda w: transform_weight(w, g, m))
    out = np.empty((n_batch, c_out, ho, wo), dtype=x.dtype)
    p = n_batch * th * tw
    v = scratch("winograd_v", (alpha * alpha, c_in, p), x.dtype)
    mm = scratch("winograd_m", (alpha * alpha, g, c_out // g, p), x.dtype)
    log = new_log(alpha ** 2 * g)
    with blas_single_threaded():
        _winograd_phases(xp, u, spec.b, m, th, tw, v, mm, log, out)
    flush_log(log)
    return out
