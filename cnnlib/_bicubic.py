r"""Bicubic resampling, the ``'bicubic'`` mode of :func:`cnnlib.interpolate`: torch's weights.

Explained in chapter 32 (upsampling and interpolation) and chapter 30 (resizing inputs).

:mod:`cnnlib._interpolate` maps each output index to a source coordinate :math:`u` (the same
map as ``'bilinear'``, but **not** clamped at 0 when ``align_corners=False``); this module turns
:math:`u` into four taps and weights per output index and runs the separable 4×4 filter.
With :math:`i_0 = \min(\lfloor u \rfloor, n - 1)` and
:math:`t = \operatorname{clip}(u - i_0, 0, 1)`,
output :math:`y = \sum_{j=0}^{3} w_j(t)\, x_{\operatorname{clip}(i_0 - 1 + j,\ 0,\ n - 1)}` —
taps beyond the border repeat the edge pixel — with Keys' cubic convolution kernel
(Keys 1981) for :math:`A = -0.75` (torch's and OpenCV's choice; Keys used :math:`-0.5`):

.. math::

    W(s) = \begin{cases} (A + 2)|s|^3 - (A + 3)|s|^2 + 1 & |s| \le 1 \\
                         A|s|^3 - 5A|s|^2 + 8A|s| - 4A & 1 < |s| < 2 \\
                         0 & \text{otherwise} \end{cases}, \qquad
    w(t) = \big(W(t + 1),\ W(t),\ W(1 - t),\ W(2 - t)\big).

The weights sum to 1 and can be negative, so the output can overshoot the input's range
(ringing at sharp edges) — unlike bilinear interpolation.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["A", "cubic_taps", "separable_resample"]

A = -0.75      # torch's (and OpenCV's) cubic convolution constant


def cubic_taps(src: np.ndarray, n_in: int):
    """Four taps and weights per source coordinate ``src`` (1-D, float32/float64).

    Returns ``(index, weight)``, both ``(4, len(src))``: int64 indices clamped to
    ``[0, n_in - 1]`` and weights in ``src``'s dtype, computed like torch's
    ``get_cubic_upsample_coefficients`` (the integer part is floored in float32 as torch's
    ``floorf`` does).
    """
    t = src.dtype.type
    a = t(A)
    i0 = np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n_in - 1)
    lam = np.clip(src - i0.astype(src.dtype), t(0), t(1)).astype(src.dtype)

    def near(s):                                  # W(s) for 0 <= s <= 1
        return ((a + t(2)) * s - (a + t(3))) * s * s + t(1)

    def far(s):                                   # W(s) for 1 <= s <= 2
        return ((a * s - t(5) * a) * s + t(8) * a) * s - t(4) * a

    one = t(1)
    weight = np.stack([far(lam + one), near(lam), near(one - lam), far(one - lam + one)])
    index = np.stack([np.clip(i0 - 1 + j, 0, n_in - 1) for j in range(4)])
    return index, weight.astype(src.dtype)


@njit(cache=True, inline="always")
def _row_taps(row, iw, ww, ow):
    """``Σ_b ww[b, ow] row[iw[b, ow]]``: one input row filtered at output column ``ow``."""
    acc = ww[0, ow] * row[iw[0, ow]]
    for b in range(1, iw.shape[0]):
        acc += ww[b, ow] * row[iw[b, ow]]
    return acc


@njit(cache=True, parallel=True)
def separable_resample(x, ih, wh, iw, ww, out):
    """``out[p, oh, ow] = Σ_a wh[a, oh] Σ_b ww[b, ow] x[p, ih[a, oh], iw[b, ow]]``.

    ``x`` (P, H, W) planes, ``out`` (P, oH, oW); ``ih``/``wh`` (T_h, oH) and ``iw``/``ww``
    (T_w, oW) taps and weights, indices in range. The sum runs in torch's order (rows
    outside, columns inside) and in the input's dtype.
    """
    for pl in prange(x.shape[0]):
        for oh in range(out.shape[1]):
            for ow in range(out.shape[2]):
                # tap a of output row oh reads input row ih[a, oh]
                acc = wh[0, oh] * _row_taps(x[pl, ih[0, oh]], iw, ww, ow)
                for a in range(1, ih.shape[0]):
                    acc += wh[a, oh] * _row_taps(x[pl, ih[a, oh]], iw, ww, ow)
                out[pl, oh, ow] = acc
