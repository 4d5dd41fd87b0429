"""The direct convolution kernel behind ``conv{1,2,3}d(method="direct")``.

Explained in chapter 14 (what convolution is) and chapter 31 (direct vs im2col/Winograd/FFT).
One numba kernel with three spatial dims serves all three dimensionalities: 1-D and 2-D
layers insert singleton depth/height dims (kernel 1, stride 1, dilation 1). Depthwise 1-D/2-D
layers go to the dedicated kernel of :mod:`cnnlib._depthwise`. Both the public wrappers
(:mod:`cnnlib._conv`) and the algorithm dispatcher (:mod:`cnnlib._algorithms`) call
:func:`direct`.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._validation import ConvSpec, pad_input

__all__ = ["direct", "direct_loops"]


@njit(cache=True, parallel=True)
def _conv3d_direct_kernel(xp, w, b, sd, sh, sw, dd, dh, dw, groups, out):
    """Direct 3-D convolution of an already padded input, written into ``out``.

    Assumes C-contiguous float arrays of one dtype: ``xp`` (N, C_in, D, H, W) padded,
    ``w`` (C_out, C_in/groups, kD, kH, kW), ``b`` (C_out,), ``out`` (N, C_out, oD, oH, oW) whose
    size matches the arguments (the wrapper computes it with ``conv_output_size``).
    """
    n_batch, c_out, o_d, o_h, o_w = out.shape
    c_in_g, k_d, k_h, k_w = w.shape[1], w.shape[2], w.shape[3], w.shape[4]
    c_out_g = c_out // groups
    # one task per output plane (n, co): tasks write disjoint planes, so no races
    for task in prange(n_batch * c_out):
        n = task // c_out
        co = task % c_out
        g = co // c_out_g                      # group of output channel co
        plane = out[n, co]
        plane[:] = b[co]
        for cl in range(c_in_g):
            ci = g * c_in_g + cl               # input channel cl of group g
            # weight-stationary: one kernel tap at a time, swept over the whole output plane
            for kd in range(k_d):
                for kh in range(k_h):
                    for kw in range(k_w):
                        wv = w[co, cl, kd, kh, kw]
                        for od in range(o_d):
                            i_d = od * sd + kd * dd            # input depth under tap kd
                            for oh in range(o_h):
                                i_h = oh * sh + kh * dh        # input row under tap kh
                                row = xp[n, ci, i_d, i_h]
                                dst = plane[od, oh]
                                # innermost loop is contiguous in out (and in x when sw == 1)
                                for ow in range(o_w):
                                    dst[ow] += wv * row[ow * sw + kw * dw]
    return out


def _lift(t: tuple, n: int, fill: int = 1) -> tuple:
    """Prepend ``3 - n`` entries ``fill`` to a per-dim tuple (1-D/2-D → 3-D)."""
    return (fill,) * (3 - n) + tuple(t)


def direct(spec: ConvSpec) -> np.ndarray:
    """Run the direct numba kernel on a normalised :class:`ConvSpec`.

    Returns the batched output ``(N, C_out, *out_spatial)`` (the caller removes the batch dim
    for unbatched input). Used by ``conv{1,2,3}d(method="direct")`` and by the algorithm
    dispatcher of chapter 31. Grouped and depthwise 1-D/2-D layers (``groups > 1``) go to the
    dedicated direct kernels of :mod:`cnnlib._grouped` and :mod:`cnnlib._depthwise` (same
    result, several times faster; :func:`cnnlib._grouped.grouped_direct` picks one);
    :func:`direct_loops` always runs the plain loops.
    """
    n = spec.x.ndim - 2
    if n in (1, 2) and spec.groups > 1:
        from ._grouped import grouped_direct
        return grouped_direct(spec, n)
    return direct_loops(spec)


def direct_loops(spec: ConvSpec) -> np.ndarray:
    """The plain loops of the definition (:func:`_conv3d_direct_kernel`) for any layer."""
    n = spec.x.ndim - 2
    xp = pad_input(spec.x, spec.pad_lo, spec.pad_hi)
    n_batch, c_in = xp.shape[:2]
    c_out = spec.w.shape[0]
    x5 = np.ascontiguousarray(xp.reshape((n_batch, c_in) + _lift(xp.shape[2:], n)))
    w5 = spec.w.reshape(spec.w.shape[:2] + _lift(spec.w.shape[2:], n))
    out = np.empty((n_batch, c_out) + _lift(spec.out_spatial, n), dtype=spec.x.dtype)
    _conv3d_direct_kernel(x5, w5, spec.b, *_lift(spec.stride, n), *_lift(spec.dilation, n),
                          spec.groups, out)
    return out.reshape((n_batch, c_out) + spec.out_spatial)
