"""FFT convolution: exactly torch's cross-correlation, any kernel size, stride, dilation, groups.

By the convolution theorem a correlation is a product in the frequency domain. The discrete
Fourier transform computes *circular* correlation, so the padded input is transformed at a
length ``L ≥`` its own size: then no output that torch keeps ever wraps around.
Explained in chapter 31 (how to accelerate convolution).
"""
from __future__ import annotations

import math

import numpy as np


def next_fast_len(n: int) -> int:
    """Smallest ``L ≥ n`` whose prime factors are all in {2, 3, 5, 7} (fast for pocketfft)."""
    best = 1 << max(0, (n - 1).bit_length())           # a power of two always works
    p7 = 1
    while p7 < best:
        p5 = p7
        while p5 < best:
            p3 = p5
            while p3 < best:
                p2 = p3
                while p2 < n:
                    p2 *= 2
                best = min(best, p2)
                p3 *= 3
            p5 *= 5
        p7 *= 7
    return best


def fft_sizes(padded: tuple) -> tuple:
    """FFT length per spatial dim for a padded input of size ``padded`` (no wrap-around)."""
    return tuple(next_fast_len(p) for p in padded)


def conv_fft(spec, n: int) -> np.ndarray:
    r"""Convolution through ``numpy.fft.rfftn`` (``method="fft"``), any ``n`` spatial dims.

    Returns the batched output ``(N, C_out, *out_spatial)`` in the input's dtype (float32 input
    is transformed in complex64).

    Notes
    -----
    Pad the input to :math:`P` per dim, dilate the kernel to :math:`k_e = d(k-1)+1` taps (zeros
    in between) and transform both at length :math:`L \ge P`. Torch's cross-correlation is

    .. math:: y[o] = \sum_t x[o + t]\, w[t] = \mathcal{F}^{-1}\big(X \cdot \overline{W}\big)[o],

    the circular correlation; conjugating :math:`W` is the same as flipping the kernel, which
    turns correlation into convolution. Index :math:`o + t \le P - 1 < L` for every output that
    torch keeps (:math:`o \le P - k_e`), so nothing wraps around. The channel sum is a complex
    matrix product per frequency: :math:`Y_g[f] = \overline{W_g[f]}\, X_g[f]`. Strided
    outputs are taken from the stride-1 result (``[::s]``), which wastes work for ``s > 1``.
    """
    x, w, g = spec.x, spec.w, spec.groups
    n_batch, c_in = x.shape[:2]
    c_out = w.shape[0]
    axes = tuple(range(2, 2 + n))
    widths = [(0, 0), (0, 0)] + list(zip(spec.pad_lo, spec.pad_hi))
    xp = np.pad(x, widths) if any(spec.pad_lo) or any(spec.pad_hi) else x
    padded = xp.shape[2:]
    sizes = fft_sizes(padded)
    # dilated kernel: tap t sits at position t·d
    kernel = w.shape[2:]
    effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel, spec.dilation))
    wd = np.zeros(w.shape[:2] + effective, dtype=w.dtype)
    wd[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in spec.dilation)] = w
    xf = np.fft.rfftn(xp, s=sizes, axes=axes)             # (N, C_in, *freq)
    wf = np.conj(np.fft.rfftn(wd, s=sizes, axes=axes))    # (C_out, C_in/g, *freq)
    freq = xf.shape[2:]
    nf = math.prod(freq)
    # per frequency and group: (C_out/g, C_in/g) @ (C_in/g, N)
    # contiguous copies, so that matmul hands each product to BLAS
    xf = np.ascontiguousarray(xf.reshape(n_batch, g, c_in // g, nf).transpose(3, 1, 2, 0))  # (F, g, C/g, N)
    wf = np.ascontiguousarray(wf.reshape(g, c_out // g, c_in // g, nf).transpose(3, 0, 1, 2))  # (F, g, K/g, C/g)
    yf = np.matmul(wf, xf)                                               # (F, g, K/g, N)
    yf = yf.transpose(3, 1, 2, 0).reshape((n_batch, c_out) + freq)
    y = np.fft.irfftn(yf, s=sizes, axes=axes)
    keep = tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(spec.out_spatial, spec.stride))
    out = np.ascontiguousarray(y[(slice(None), slice(None)) + keep], dtype=x.dtype)
    if spec.has_bias:
        out += spec.b.reshape((c_out,) + (1,) * n)
    return out
