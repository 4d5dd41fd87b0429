"""Large kernels as stacks of 3×3 kernels, so that Winograd F(4×4, 3×3) applies (stride 1).

A ``k_h × k_w`` kernel, zero-padded to ``3r × 3r`` (``r = ⌈max(k_h, k_w)/3⌉``), is ``r²``
3×3 pieces; piece ``(a, b)`` sees the input shifted by ``(3a, 3b)``::

    y[o] = sum_{a,b} sum_{i,j < 3} w[3a+i, 3b+j] · x_pad[o + (3a+i, 3b+j)]

so the layer is *one* 3×3 convolution whose input stacks the ``r²`` shifted copies of the
padded input along the channels (``r²·C_in`` channels) and whose weight stacks the pieces the
same way. Winograd F(4×4, 3×3) then needs ``r²·36/16`` multiplications per output instead of
``k_h·k_w``: 9 instead of 25 for 5×5, 20.25 instead of 49 for 7×7 (the zero taps of the padded
kernel cost their share). The price: the input copied ``r²`` times (small next to the GEMMs).

Explained in chapter 31 (how to accelerate convolution).
"""
from __future__ import annotations

import math

import numpy as np

from . import _wcache


def split_weight(w: np.ndarray, r: int) -> np.ndarray:
    """``(C_out, C_in/g, kh, kw)`` → ``(C_out, r²·C_in/g, 3, 3)``: piece ``(a, b)`` of every
    filter, zero-padded to ``3r × 3r``, at channels ``(a·r + b)·C_in/g + c``. With groups the
    stacked channels are ordered ``(group, piece, c)`` so that each group stays contiguous."""
    k, c, kh, kw = w.shape
    w3 = np.zeros((k, c, 3 * r, 3 * r), dtype=w.dtype)
    w3[:, :, :kh, :kw] = w
    return np.ascontiguousarray(w3.reshape(k, c, r, 3, r, 3).transpose(0, 2, 4, 1, 3, 5)
                                .reshape(k, r * r * c, 3, 3))


def conv_split(spec, inner: str = "winograd") -> np.ndarray:
    """2-D stride-1, dilation-1 convolution with a kernel larger than 3×3, by one 3×3
    convolution (method ``inner``) on ``r²`` shifted copies of the input stacked as channels."""
    from ._algorithms import run
    if any(s != 1 for s in spec.stride) or any(d != 1 for d in spec.dilation) or spec.x.ndim != 4:
        raise ValueError("method='winograd_split' needs conv2d with stride 1 and dilation 1")
    x, w, g = spec.x, spec.w, spec.groups
    n_batch, c_in, h, wd = x.shape
    kh, kw = w.shape[2:]
    r = math.ceil(max(kh, kw) / 3)
    ho, wo = spec.out_spatial
    top, left = spec.pad_lo
    c_g = c_in // g
    # xs[n, grp, piece, c, i, j] = x_pad[n, grp·c_g + c, 3a + i, 3b + j], piece = a·r + b
    xs = np.zeros((n_batch, g, r * r, c_g, ho + 2, wo + 2), dtype=x.dtype)
    xg = x.reshape(n_batch, g, c_g, h, wd)
    for a in range(r):
        for b in range(r):
            i0, j0 = 3 * a - top, 3 * b - left
            a0, b0 = max(0, -i0), max(0, -j0)
            a1, b1 = min(ho + 2, h - i0), min(wo + 2, wd - j0)
            if a1 > a0 and b1 > b0:
                xs[:, :, a * r + b, :, a0:a1, b0:b1] = xg[:, :, :, i0 + a0:i0 + a1, j0 + b0:j0 + b1]
    ws = _wcache.transformed(w, ("split3", r), lambda w: split_weight(w, r))
    sub = spec._replace(x=xs.reshape(n_batch, g * r * r * c_g, ho + 2, wo + 2), w=ws,
                        pad_lo=(0, 0), pad_hi=(0, 0), unbatched=False)
    return run(inner, sub, 2)
