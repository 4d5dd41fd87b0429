"""Direct convolution: ``conv1d``, ``conv2d``, ``conv3d`` and their naive references.

Explained in chapter 14 (what convolution is), chapter 18 (standard convolution), chapter 17
(dilation), chapter 19 (groups), chapter 24 (``'same'`` padding with even kernels) and chapter 31
(direct vs im2col/Winograd/FFT, chosen with ``method=``).

Like torch, the "convolution" is a cross-correlation (the kernel is not flipped):

.. math:: y[n, c_o, \\mathbf{o}] = b[c_o] + \\sum_{c_i \\in G(c_o)} \\sum_{\\mathbf{k}}
          w[c_o, c_i \\bmod (C_{in}/g), \\mathbf{k}]\\; x_{pad}[n, c_i, \\mathbf{o}\\cdot s + \\mathbf{k}\\cdot d]

where :math:`G(c_o)` is the block of :math:`C_{in}/g` input channels of ``c_o``'s group.
``method="direct"`` runs the numba kernel of :mod:`cnnlib._direct` (the definition, loop by
loop); the default ``method="auto"`` and the other methods go through the dispatcher
:mod:`cnnlib._algorithms`.
"""
from __future__ import annotations

import numpy as np

from . import _algorithms  # im2col / winograd / fft / auto (chapter 31)
from ._direct import direct
from ._validation import conv_spec, pad_input

__all__ = ["conv1d", "conv2d", "conv3d", "direct", "conv1d_naive", "conv2d_naive",
           "conv3d_naive", "convnd_naive"]


def _convnd(input, weight, bias, stride, padding, dilation, groups, method, n: int) -> np.ndarray:
    """Shared body of ``conv1d``/``conv2d``/``conv3d``: validate, dispatch, unbatch."""
    fn = f"conv{n}d"
    if not isinstance(method, str):
        raise TypeError(f"method={method!r} must be a str such as 'auto' or 'direct', "
                        f"not {type(method).__name__}")
    spec = conv_spec(input, weight, bias, stride, padding, dilation, groups, n=n, fn=fn)
    if method == "direct":
        out = direct(spec)
    else:
        out = _algorithms.run(method, spec, n)
    return out[0] if spec.unbatched else out


_PARAMS_DOC = """
    Parameters
    ----------
    input : ndarray, shape (N, C_in, {sp}) or unbatched (C_in, {sp})
        float32 or float64 (NumPy array or torch tensor).
    weight : ndarray, shape (C_out, C_in/groups, {ks})
        Same dtype as ``input``.
    bias : ndarray, shape (C_out,), optional
    stride, dilation : int or tuple of {n} ints, > 0
    padding : int, tuple of {n} ints, 'valid' or 'same'
        ``'same'`` needs ``stride=1``; when ``dilation*(k-1)`` is odd (even kernels) the extra
        zero goes at the end, exactly as torch does.
    groups : int
        Must divide ``C_in`` and ``C_out``; ``groups=C_in`` is a depthwise convolution.
    method : str
        The algorithm (chapter 31). ``"auto"`` (default) picks the fastest for the layer's
        shape, as torch picks its own kernel: grouped/depthwise kernel, Winograd, im2col +
        GEMM, MEC, FFT or dilated sub-grid Winograd (:func:`cnnlib._algorithms.choose_method`).
        ``"direct"`` runs the plain loops of the definition (this module's numba kernel, the
        reference; grouped 1-D/2-D layers run the grouped/depthwise direct kernels);
        ``"im2col"``, ``"mec"`` (1-D and 2-D), ``"winograd"``, ``"winograd_f2"``,
        ``"winograd_f4"``, ``"winograd_split"`` (2-D kernels larger than 3×3, stride 1),
        ``"fft"`` and ``"dilated"`` (2-D stride-1 dilated: sub-grid Winograd) force one
        algorithm.

    Returns
    -------
    ndarray, shape (N, C_out, {osp}) or (C_out, {osp}) for unbatched input
        Same dtype as ``input``; ``{osp}`` from :func:`cnnlib.conv_output_size`.

    Notes
    -----
    .. math:: {osz}

    Raises ``ValueError``/``TypeError`` naming the bad argument (channels not divisible by
    ``groups``, kernel larger than the padded input, non-positive stride, …).
"""

_OUT_SIZE = r"L_{out} = \lfloor (L_{in} + p_{lo} + p_{hi} - d(k-1) - 1)/s \rfloor + 1 \text{ per spatial dim}"


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, method="auto"):
    return _convnd(input, weight, bias, stride, padding, dilation, groups, method, 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, method="auto"):
    return _convnd(input, weight, bias, stride, padding, dilation, groups, method, 2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, method="auto"):
    return _convnd(input, weight, bias, stride, padding, dilation, groups, method, 3)


for _f, _n, _sp, _ks, _osp in ((conv1d, 1, "L", "kL", "L_out"),
                               (conv2d, 2, "H, W", "kH, kW", "H_out, W_out"),
                               (conv3d, 3, "D, H, W", "kD, kH, kW", "D_out, H_out, W_out")):
    _f.__doc__ = (f"{_n}-D convolution (cross-correlation), like ``torch.nn.functional.conv{_n}d``.\n"
                  + _PARAMS_DOC.format(sp=_sp, ks=_ks, n=_n, osp=_osp, osz=_OUT_SIZE)
                  + "\n    Explained in chapters 14, 17–19, 24 and 31.\n")


# --------------------------------------------------------------------------------------------
# Naive reference (pure NumPy, one output position at a time) used by the tests and chapter 14.
# --------------------------------------------------------------------------------------------

def convnd_naive(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Slow reference convolution for any number of spatial dims (``weight.ndim - 2``).

    For every output position, take the dilated window of the padded input and contract it
    with the weight of each group (``einsum``). Same arguments and result as ``conv{n}d``.
    """
    n = np.ndim(weight) - 2
    if n not in (1, 2, 3):
        raise ValueError(f"convnd_naive: weight must be 3-, 4- or 5-D, got {np.ndim(weight)}-D")
    spec = conv_spec(input, weight, bias, stride, padding, dilation, groups, n=n,
                     fn=f"conv{n}d_naive")
    xp = pad_input(spec.x, spec.pad_lo, spec.pad_hi)
    kernel = spec.w.shape[2:]
    c_in_g, c_out_g = spec.w.shape[1], spec.w.shape[0] // spec.groups
    out = np.empty((xp.shape[0], spec.w.shape[0]) + spec.out_spatial, dtype=xp.dtype)
    for pos in np.ndindex(*spec.out_spatial):
        # window start o*s, taps k*d: slice start : start + d*(k-1) + 1 : d
        window = xp[(slice(None), slice(None)) + tuple(
            slice(o * s, o * s + d * (k - 1) + 1, d)
            for o, s, d, k in zip(pos, spec.stride, spec.dilation, kernel))]
        for g in range(spec.groups):
            xs = window[:, g * c_in_g:(g + 1) * c_in_g].reshape(xp.shape[0], -1)
            ws = spec.w[g * c_out_g:(g + 1) * c_out_g].reshape(c_out_g, -1)
            out[(slice(None), slice(g * c_out_g, (g + 1) * c_out_g)) + pos] = xs @ ws.T
    out += spec.b.reshape((1, -1) + (1,) * n)
    return out[0] if spec.unbatched else out


def conv1d_naive(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Naive reference for :func:`conv1d` (see :func:`convnd_naive`)."""
    _check_weight_ndim(weight, 1)
    return convnd_naive(input, weight, bias, stride, padding, dilation, groups)


def conv2d_naive(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Naive reference for :func:`conv2d` (see :func:`convnd_naive`)."""
    _check_weight_ndim(weight, 2)
    return convnd_naive(input, weight, bias, stride, padding, dilation, groups)


def conv3d_naive(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """Naive reference for :func:`conv3d` (see :func:`convnd_naive`)."""
    _check_weight_ndim(weight, 3)
    return convnd_naive(input, weight, bias, stride, padding, dilation, groups)


def _check_weight_ndim(weight, n: int) -> None:
    if np.ndim(weight) != n + 2:
        raise ValueError(f"conv{n}d_naive: weight must be {n + 2}-D, got shape {np.shape(weight)}")
