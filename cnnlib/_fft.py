"""FFT convolution: exactly torch's cross-correlation, any kernel size, stride, dilation, groups.

By the convolution theorem a correlation is a product in the frequency domain. The discrete
Fourier transform computes *circular* correlation; FFT convolution libraries make it exact and
cheap with the devices below, all used here:

* **Overlap-save tiles.** The padded input is cut into overlapping tiles of ``L`` samples per
  dim (``L ≥ k_e``, the dilated kernel size). The circular correlation of a tile with the
  kernel is exact at the first ``v = L − k_e + 1`` positions (the window never wraps), so tiles
  start ``v`` apart and each yields ``v`` outputs. Kernel spectra have the tile size, not the
  image size, and ``L`` is chosen per layer by a cost model (:func:`fft_plan`); a small image
  keeps one tile covering it all (``L`` = :func:`fft_sizes`).
* **Single precision stays single.** float32 is transformed in complex64 (NumPy ≥ 2), float64
  in complex128; lengths have only the prime factors 2, 3, 5 (:func:`next_fast_len`).
* **One batched complex product.** The channel sum at every frequency is a matrix product;
  all of them are one ``np.matmul`` of ``(F, g, K/g, C/g)`` by ``(F, g, C/g, N·tiles)``.
* **Polyphase strides.** A stride-``s`` correlation is the sum over the ``s^n`` phases ``r`` of
  stride-1 correlations of the subsampled input ``x[s·i + r]`` with the subsampled kernel
  ``w[s·q + r]``: the phases become extra input channels (``C·s^n`` of them, kernels ``s``
  times shorter) and only the kept outputs are computed. Phases that a dilation leaves empty
  are dropped. (Measured against the stride-1 result subsampled: 1.4–4× faster on five of six
  strided layers, 3.9× on the 7×7/2 stem, 13 % slower on one.)
* **Precomputed kernel spectra.** The spectra are kept between calls with the same weights
  (:mod:`cnnlib._wcache`, validated on every call).

Explained in chapter 31 (how to accelerate convolution).
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from ._threads import scratch
from ._wcache import transformed


def next_fast_len(n: int) -> int:
    """Smallest ``L ≥ n`` whose prime factors are all in {2, 3, 5} (fast for pocketfft).

    (Lengths with a factor 7 measured 15–25 % slower per sample than their 2·3·5 neighbours:
    ``rfftn`` of 64 planes of 63×63 took longer than of 64×64.)
    """
    best = 1 << max(0, (n - 1).bit_length())           # a power of two always works
    p5 = 1
    while p5 < best:
        p3 = p5
        while p3 < best:
            p2 = p3
            while p2 < n:
                p2 *= 2
            best = min(best, p2)
            p3 *= 3
        p5 *= 5
    return best


def fft_sizes(padded: tuple) -> tuple:
    """FFT length per spatial dim of one tile covering a whole input of size ``padded``.

    The largest tile :func:`fft_plan` considers (no wrap-around: ``L ≥`` the padded size).
    """
    return tuple(next_fast_len(p) for p in padded)


@functools.lru_cache(maxsize=None)
def _fast_lengths(lo: int, hi: int) -> tuple:
    """The 2·3·5-smooth lengths in ``[lo, hi]``."""
    out, n = [], max(lo, 1)
    while n <= hi:
        n = next_fast_len(n)
        if n <= hi:
            out.append(n)
        n += 1
    return tuple(out)


class FFTPlan(NamedTuple):
    """How :func:`conv_fft` computes one layer (all tuples have one entry per spatial dim)."""
    phases: tuple      # kept stride phases r per dim ((0,) for stride 1)
    taps: tuple        # k' = ⌈k_e/s⌉ taps per phase, k_e = d(k−1)+1 the dilated kernel size
    out: tuple         # output size O
    lengths: tuple     # FFT length L of a tile
    valid: tuple       # v = L − k' + 1 outputs per tile
    tiles: tuple       # T = ⌈O/v⌉ tiles
    channels: int      # C' = C_in · (number of kept phases): rows of the channel sum

    @property
    def frequencies(self) -> int:
        """Complex frequencies of one tile's real FFT: ``L_1 ⋯ L_{n−1} (⌊L_n/2⌋ + 1)``."""
        return math.prod(self.lengths[:-1]) * (self.lengths[-1] // 2 + 1)


# Cost model of one call (see fft_plan), in nanoseconds at one thread, fitted on the book's
# machine (float32; 18 layers, ~15 tile lengths each). Per tile and plane (C' input phases and
# channels, C_out outputs): FFT_NS · L log2 L for the transform and LINE_NS per 1-D transform
# (NumPy's per-call overhead of a short FFT); MAC_NS per complex multiply-add of the channel
# sums; SPECTRUM_NS per kernel-spectrum value, read once per call whatever the batch. On 18
# other layers (1-, 2- and 3-D) the chosen lengths ran on average 9–15 % slower than the
# fastest ones measured (at worst 1.7×; timings on a shared 2-core machine).
FFT_NS = 0.39
LINE_NS = 12.0
MAC_NS = 0.078
SPECTRUM_NS = 0.55


def _phases(k: int, s: int, d: int) -> tuple:
    """Stride phases ``r`` of the dilated kernel (taps at ``d·t``) that hold at least one tap."""
    return tuple(sorted({(d * t) % s for t in range(k)}))


@functools.lru_cache(maxsize=4096)
def fft_plan(spatial: tuple, kernel: tuple, stride: tuple, pad_lo: tuple, pad_hi: tuple,
             dilation: tuple, c_in: int, c_out: int, groups: int, n_batch: int = 1,
             lengths: tuple | None = None) -> FFTPlan:
    r"""The tiles, FFT lengths and stride phases :func:`conv_fft` uses for a layer.

    Parameters
    ----------
    spatial, kernel, stride, pad_lo, pad_hi, dilation : tuple of ints, one per spatial dim
        The layer (``padding`` already split into ``pad_lo``/``pad_hi``).
    c_in, c_out, groups, n_batch : int
    lengths : tuple of ints, optional
        Force these tile FFT lengths (each ``≥ k'``) instead of the cost model's choice.

    Notes
    -----
    Per dim, with the dilated kernel size :math:`k_e = d(k-1)+1` and stride :math:`s`, the
    stride phases turn the layer into a stride-1 correlation with kernels of
    :math:`k' = \lceil k_e/s\rceil` taps over an input of :math:`O + k' - 1` samples, where
    :math:`O` is the output size. A tile of FFT length :math:`L \ge k'` yields
    :math:`v = L - k' + 1` outputs, so :math:`T = \lceil O/v\rceil` tiles. Among the fast
    lengths from :math:`k'` up to one tile covering the whole input (:func:`fft_sizes`), the
    plan takes the ``L`` (per dim) of least modelled time:

    .. math:: N\,T\,(C' + C_{out})\Big(a\,L\log_2 L + b\sum_i \frac{L}{L_i}\Big)
              + C_{out}\,\frac{C'}{g}\,F\,\big(c\,N\,T + e\big),

    :math:`L` and :math:`T` the products over dims, :math:`F` the frequencies of one tile:
    the transforms (``FFT_NS`` · samples · log₂, ``LINE_NS`` per 1-D FFT), the complex
    multiply-adds of the channel sums (``MAC_NS``) and one read of the kernel spectra per
    call (``SPECTRUM_NS``). Larger tiles waste less overlap and need fewer 1-D transforms,
    but the kernel spectra grow like :math:`L`: a small image keeps one tile, while many
    channels at batch 1 (where the spectra are read for few columns) favour small tiles.
    """
    n = len(spatial)
    phases, taps, out, cands = [], [], [], []
    for size, k, s, lo, hi, d in zip(spatial, kernel, stride, pad_lo, pad_hi, dilation):
        k_e = d * (k - 1) + 1
        o = (size + lo + hi - k_e) // s + 1
        kp = -(-k_e // s)
        phases.append(_phases(k, s, d))
        taps.append(kp)
        out.append(o)
        cands.append(_fast_lengths(kp, next_fast_len(o + kp - 1)))
    channels = c_in * math.prod(len(p) for p in phases)
    if lengths is not None:
        lengths = tuple(int(v) for v in lengths)
        if len(lengths) != n or any(v < kp for v, kp in zip(lengths, taps)):
            raise ValueError(f"lengths={lengths!r} must give {n} FFT lengths of at least {taps}")
    else:
        lengths = _best_lengths(cands, taps, out, channels, c_out, groups, n_batch)
    valid = tuple(v - kp + 1 for v, kp in zip(lengths, taps))
    tiles = tuple(-(-o // v) for o, v in zip(out, valid))
    return FFTPlan(tuple(phases), tuple(taps), tuple(out), lengths, valid, tiles, channels)


def _best_lengths(cands, taps, out, channels, c_out, groups, n_batch) -> tuple:
    """The candidate lengths (one per dim) of least modelled time (see :func:`fft_plan`)."""
    n = len(cands)
    grids = np.meshgrid(*[np.array(c, dtype=np.float64) for c in cands], indexing="ij")
    size, tiles, lines = np.ones_like(grids[0]), np.ones_like(grids[0]), 0.0
    for L, kp, o in zip(grids, taps, out):
        size = size * L
        tiles = tiles * np.ceil(o / (L - kp + 1))
    for L in grids:
        lines = lines + size / L                           # 1-D transforms along this dim
    freq = size / grids[-1] * (np.floor(grids[-1] / 2) + 1)
    spectra = freq * c_out * (channels // groups)          # kernel-spectrum values
    cost = (n_batch * tiles * (channels + c_out)
            * (FFT_NS * size * np.log2(np.maximum(size, 2)) + LINE_NS * lines)
            + spectra * (MAC_NS * n_batch * tiles + SPECTRUM_NS))
    best = np.unravel_index(np.argmin(cost), cost.shape)
    return tuple(int(cands[i][best[i]]) for i in range(n))


def _phase_kernels(w: np.ndarray, plan: FFTPlan, stride: tuple, dilation: tuple) -> np.ndarray:
    """``(C_out, C'/g, *k')``: the dilated kernel split into its kept stride phases.

    Channel ``c·R + r`` of the result is phase ``r`` (row-major over the kept phases of each
    dim) of input channel ``c``: ``w_r[q] = w_e[s·q + r]``, ``w_e`` the dilated kernel (taps
    at ``d·t``, zeros between).
    """
    c_out, c_g = w.shape[:2]
    effective = tuple(d * (k - 1) + 1 for k, d in zip(w.shape[2:], dilation))
    we = np.zeros((c_out, c_g) + effective, dtype=w.dtype)
    we[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in dilation)] = w
    counts = tuple(len(p) for p in plan.phases)
    wp = np.zeros((c_out, c_g) + counts + plan.taps, dtype=w.dtype)
    for idx in np.ndindex(*counts):
        r = tuple(p[i] for p, i in zip(plan.phases, idx))
        part = we[(slice(None), slice(None))
                  + tuple(slice(ri, None, s) for ri, s in zip(r, stride))]
        wp[(slice(None), slice(None)) + idx + tuple(slice(0, m) for m in part.shape[2:])] = part
    return wp.reshape((c_out, c_g * math.prod(counts)) + plan.taps)


def kernel_spectra(w: np.ndarray, plan: FFTPlan, stride: tuple, dilation: tuple,
                   groups: int) -> np.ndarray:
    r"""Conjugated spectra of the phase kernels, ``(F, g, C_out/g, C'/g)``, contiguous.

    :math:`\overline{W}` at the plan's tile lengths (zero-padded from :math:`k'` to
    :math:`L`), complex64 for float32 weights, laid out for the batched product.
    """
    n = len(stride)
    wp = _phase_kernels(w, plan, stride, dilation)
    c_out, c_g = wp.shape[:2]
    wf = np.fft.rfftn(wp, s=plan.lengths, axes=tuple(range(2, 2 + n)))  # (C_out, C'/g, *freq)
    wf = wf.reshape(groups, c_out // groups, c_g, -1).transpose(3, 0, 1, 2)
    return np.conj(wf, out=np.empty(wf.shape, wf.dtype))                  # C-contiguous copy


def _phase_input(spec, plan: FFTPlan) -> np.ndarray:
    """``(N, C', *S)``: the padded input split into its stride phases, zero-extended to whole tiles.

    ``S = (T−1)·v + L`` per dim. Phase ``r`` of channel ``c`` is channel ``c·R + r``, with
    ``x_r[i] = x_p[s·i + r]`` (``x_p`` the padded input); samples past the padded input are
    zeros (they meet only zero kernel taps or outputs that are cropped).
    """
    x = spec.x
    n_batch, c_in = x.shape[:2]
    counts = tuple(len(p) for p in plan.phases)
    span = tuple((t - 1) * v + L for t, v, L in zip(plan.tiles, plan.valid, plan.lengths))
    buf = scratch("fft_input", (n_batch, c_in) + counts + span, x.dtype)
    buf.fill(0)
    for idx in np.ndindex(*counts):
        dst, src = [], []
        for p, i, s, lo, size, m in zip(plan.phases, idx, spec.stride, spec.pad_lo,
                                        x.shape[2:], span):
            r = p[i]
            first = max(0, -(-(lo - r) // s))          # first i with s·i + r − lo ≥ 0
            start = s * first + r - lo                 # its input index
            count = min(m - first, -(-(size - start) // s)) if start < size else 0
            if count <= 0:
                break
            dst.append(slice(first, first + count))
            src.append(slice(start, start + s * (count - 1) + 1, s))
        else:
            buf[(slice(None), slice(None)) + idx + tuple(dst)] = \
                x[(slice(None), slice(None)) + tuple(src)]
    return buf.reshape((n_batch, plan.channels) + span)


def _tiles(xs: np.ndarray, plan: FFTPlan) -> np.ndarray:
    """A view ``(N, C', *T, *L)`` of the overlapping tiles: tile ``t`` starts at ``t·v``."""
    st = xs.strides
    return np.lib.stride_tricks.as_strided(
        xs, xs.shape[:2] + plan.tiles + plan.lengths,
        st[:2] + tuple(v * s for v, s in zip(plan.valid, st[2:])) + st[2:], writeable=False)


def _rfftn_into(tiles: np.ndarray, out: np.ndarray, n: int) -> None:
    """``out[...] = rfftn(tiles)`` over the last ``n`` axes, ``out`` a strided view.

    The real pass runs on the tiles (a view), the complex passes in place on its contiguous
    result; only the last pass writes into the strided ``out`` (measured 1.5–3× faster than
    ``rfftn(..., out=out)``, whose every pass reads and writes the strided layout).
    """
    if n == 1:
        np.fft.rfft(tiles, axis=-1, out=out)
        return
    a = np.fft.rfft(tiles, axis=-1)
    for axis in range(-2, -n, -1):
        np.fft.fft(a, axis=axis, out=a)
    np.fft.fft(a, axis=-n, out=out)


def conv_fft(spec, n: int, lengths: tuple | None = None) -> np.ndarray:
    r"""Convolution by tiled FFTs (``method="fft"``), any ``n`` spatial dims.

    Returns the batched output ``(N, C_out, *out_spatial)`` in the input's dtype. ``lengths``
    forces the tile FFT lengths (for tests); by default :func:`fft_plan` chooses them.

    Notes
    -----
    Torch's cross-correlation of a tile :math:`x` (length :math:`L`) with a kernel of
    :math:`k'` taps is, by the convolution theorem,

    .. math:: y[o] = \sum_t x[o + t]\, w[t] = \mathcal{F}^{-1}\big(X \cdot \overline{W}\big)[o],
              \qquad 0 \le o \le L - k',

    conjugating :math:`W` (the kernel zero-padded to :math:`L`) flips the kernel, which turns
    the theorem's convolution into correlation; for :math:`o \le L - k'` the index
    :math:`o + t` never wraps around. The steps:

    1. Split the zero-padded input into its stride phases (polyphase, :func:`_phase_input`)
       and cut it into tiles of :math:`L` samples, :math:`v = L - k' + 1` apart (a view);
    2. ``rfftn`` of every tile and channel, written straight into the frequency-major layout
       ``(F, g, C'/g, N·T)``;
    3. one ``np.matmul`` of the kernel spectra ``(F, g, C_out/g, C'/g)`` (cached across calls
       with the same weights) by it: at every frequency, the sum over input channels and
       phases;
    4. ``irfftn`` back to tiles, keep the first :math:`v` samples of each tile per dim, and
       add the bias.
    """
    x, w, g = spec.x, spec.w, spec.groups
    n_batch, c_in = x.shape[:2]
    c_out = w.shape[0]
    plan = fft_plan(tuple(x.shape[2:]), tuple(w.shape[2:]), spec.stride, spec.pad_lo,
                    spec.pad_hi, spec.dilation, c_in, c_out, g, n_batch,
                    None if lengths is None else tuple(lengths))
    tag = ("fft", plan.lengths, plan.phases, plan.taps, spec.stride, spec.dilation, g)
    wf = transformed(w, tag, lambda w: kernel_spectra(w, plan, spec.stride, spec.dilation, g))
    nf, n_tiles = plan.frequencies, math.prod(plan.tiles)
    freq = plan.lengths[:-1] + (plan.lengths[-1] // 2 + 1,)
    cplx = np.result_type(x.dtype, np.complex64)
    c_g = plan.channels // g
    # 1-2. tiles → spectra, written frequency-major: xf[f, g, c, (n, t)]
    tiles = _tiles(_phase_input(spec, plan), plan)                      # (N, C', *T, *L)
    xf = scratch("fft_xf", (nf, g, c_g, n_batch, n_tiles), cplx)
    view = xf.reshape(freq + (plan.channels, n_batch) + plan.tiles)
    order = (n + 1, n) + tuple(range(n + 2, 2 * n + 2)) + tuple(range(n))  # → (N, C', *T, *F)
    _rfftn_into(tiles, view.transpose(order), n)
    # 3. the channel sums: one batched complex matrix product
    yf = np.matmul(wf, xf.reshape(nf, g, c_g, n_batch * n_tiles),
                   out=scratch("fft_yf", (nf, g, c_out // g, n_batch * n_tiles), cplx))
    # 4. back to tiles (N, C_out, *T, *L), then keep v samples per tile and dim
    yf = yf.reshape(freq + (c_out, n_batch) + plan.tiles).transpose(order)
    y = np.fft.irfftn(yf, s=plan.lengths, axes=tuple(range(2 + n, 2 + 2 * n)))  # (N, K, *T, *L)
    keep = y[(slice(None),) * (2 + n) + tuple(slice(0, v) for v in plan.valid)]
    inter = (0, 1) + tuple(i for d in range(n) for i in (2 + d, 2 + n + d))   # (N, K, T1, v1, …)
    full = tuple(t * v for t, v in zip(plan.tiles, plan.valid))
    out = np.empty((n_batch, c_out) + plan.out, dtype=x.dtype)
    whole = out if full == plan.out else scratch("fft_out", (n_batch, c_out) + full, x.dtype)
    whole.reshape((n_batch, c_out) + tuple(i for t, v in zip(plan.tiles, plan.valid)
                                           for i in (t, v)))[...] = keep.transpose(inter)
    bias = spec.b.reshape((c_out,) + (1,) * n)
    if whole is not out:                               # the last tiles overhang: crop
        crop = whole[(slice(None), slice(None)) + tuple(slice(0, o) for o in plan.out)]
        if spec.has_bias:
            np.add(crop, bias, out=out)
        else:
            out[...] = crop
    elif spec.has_bias:
        out += bias
    return out
