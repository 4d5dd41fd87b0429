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
``weight`` has torch's layout ``(C_in, C_out/groups, *kernel)``. One numba kernel with
three spatial dims serves 1-D and 2-D (singleton dims are inserted).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ._sizes import conv_transpose_output_size
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


def _lift(t: tuple, n: int, fill: int) -> tuple:
    """Prepend ``3 - n`` entries ``fill`` to a per-dim tuple (1-D/2-D → 3-D)."""
    return (fill,) * (3 - n) + tuple(t)


def _conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation,
                      n: int) -> np.ndarray:
    """Shared body of ``conv_transpose1d``/``conv_transpose2d``: validate, run kernel, unbatch."""
    spec = _transpose_spec(input, weight, bias, stride, padding, output_padding, groups, dilation,
                           n=n, fn=f"conv_transpose{n}d")
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
    out = out.reshape((n_batch, c_out) + spec.out_spatial)
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

    Returns
    -------
    ndarray, shape (N, C_out, {osp}) or (C_out, {osp}) for unbatched input
        Same dtype as ``input``.

    Notes
    -----
    Output size (:func:`cnnlib.conv_transpose_output_size`), per spatial dim:

    .. math:: L_{{out}} = (L_{{in}} - 1)s - 2p + d(k-1) + \\text{{output\\_padding}} + 1

    Output :math:`o` gathers the taps :math:`k` with :math:`(o + p - kd)/s` an integer input
    index (see the module docstring). Explained in chapter 32.
"""


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                             dilation, 2)


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
