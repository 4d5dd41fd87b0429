"""Algorithm dispatcher behind ``conv{1,2,3}d(..., method=...)`` and the ``auto`` rule.

Every method computes exactly torch's cross-correlation and returns the batched output
``(N, C_out, *out_spatial)`` in the input's dtype:

============== ===================================================== =====================
method         algorithm                                             accepts
============== ===================================================== =====================
``direct``     numba loops (:func:`cnnlib._conv.direct`)             everything
``im2col``     im2col + one BLAS GEMM per group                      everything
``winograd``   Winograd F(4×4, 3×3) (``winograd_f2``: F(2×2, 3×3))   2-D, 3×3, stride 1,
                                                                     dilation 1
``fft``        ``numpy.fft.rfftn``, product per frequency            everything
``auto``       :func:`choose_method` (below)                         everything
============== ===================================================== =====================

Explained in chapter 31 (how to accelerate convolution).
"""
from __future__ import annotations

import math

METHODS = ("direct", "im2col", "winograd", "winograd_f2", "winograd_f4", "fft", "auto")

# Thresholds of the auto rule, measured with ``python -m cnnlib.bench`` on the book's 2-core
# machine (float32, batch 1); see choose_method.
DIRECT_MAX_CHANNELS_PER_GROUP = 4   # grouped with C_in/g at or below this: direct (depthwise)
WINOGRAD_MIN_CHANNELS = 16          # C_in/g and C_out/g both at least this for Winograd
WINOGRAD_MIN_OUTPUT = 16            # ... and H_out, W_out both at least this (enough tiles)
FFT_MIN_KERNEL = 11                 # stride-1 kernels with min(kh, kw) >= this: FFT


def choose_method(c_in, c_out, kernel, stride, dilation, groups, out_spatial) -> str:
    """The method ``auto`` runs for a layer (a shape-only rule; 1-, 2- or 3-D).

    1. ``groups > 1`` and ``C_in/g ≤ 4`` (depthwise and nearly depthwise): ``"direct"`` — one
       tiny GEMM per group wastes BLAS, and the numba loop is memory-bound anyway. (Not for
       ``groups = 1``: the RGB stem, ``C_in = 3``, is 5–10× faster through im2col.)
    2. 2-D, 3×3, stride 1, dilation 1, ``C_in/g`` and ``C_out/g ≥ 16``, ``H_out, W_out ≥ 16``:
       ``"winograd"`` (F(4×4, 3×3): 4× fewer multiplications, the GEMMs still large).
    3. stride 1 and every kernel side ``≥ 11``: ``"fft"`` (cost independent of kernel size).
    4. otherwise ``"im2col"`` (1×1 kernels need no copy at all).
    """
    c_g, k_g = c_in // groups, c_out // groups
    if groups > 1 and c_g <= DIRECT_MAX_CHANNELS_PER_GROUP:
        return "direct"
    if (len(kernel) == 2 and tuple(kernel) == (3, 3) and all(s == 1 for s in stride)
            and all(d == 1 for d in dilation) and min(c_g, k_g) >= WINOGRAD_MIN_CHANNELS
            and min(out_spatial) >= WINOGRAD_MIN_OUTPUT):
        return "winograd"
    if all(s == 1 for s in stride) and min(kernel) >= FFT_MIN_KERNEL:
        return "fft"
    return "im2col"


def method_for(spec, n: int) -> str:
    """:func:`choose_method` applied to a :class:`~cnnlib._validation.ConvSpec`."""
    return choose_method(spec.x.shape[1], spec.w.shape[0], spec.w.shape[2:], spec.stride,
                         spec.dilation, spec.groups, spec.out_spatial)


def run(method, spec, n: int):
    """Run convolution ``method`` on a normalised ``spec`` with ``n`` spatial dims.

    Returns the batched output ``(N, C_out, *out_spatial)`` in the input's dtype. An unknown
    method, or ``winograd*`` on a layer it cannot do, raises ``ValueError`` naming it.
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {', '.join(map(repr, METHODS))}")
    if method == "auto":
        method = method_for(spec, n)
    if method == "direct":
        from ._conv import direct
        return direct(spec)
    if method == "im2col":
        from ._im2col import conv_im2col
        return conv_im2col(spec, n)
    if method.startswith("winograd"):
        from ._winograd import conv_winograd
        return conv_winograd(spec, n, m=2 if method == "winograd_f2" else 4, name=method)
    from ._fft import conv_fft
    return conv_fft(spec, n)


def macs(spec) -> int:
    """Multiply-accumulates of the layer in ``spec`` (whole batch), for GFLOP/s figures."""
    return (spec.x.shape[0] * spec.w.shape[0] * math.prod(spec.w.shape[1:])
            * math.prod(spec.out_spatial))
