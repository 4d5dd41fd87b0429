"""Parameter and multiply-accumulate counts of a convolution layer.

Explained in chapter 23 (output size, parameters and FLOPs); used by chapters 1, 2, 19–22, 27.
FLOPs = 2 × MACs: one multiply-accumulate is one multiplication plus one addition. This is the
convention of ``torch.utils.flop_counter.FlopCounterMode``; many papers quote MACs and call them
FLOPs, so always say which one a number is.
"""
from __future__ import annotations

import math

from ._sizes import _check_int


def _spatial(value, name: str, n: int | None) -> tuple:
    """An int (square, i.e. 2-D) or a tuple of positive ints."""
    if isinstance(value, (tuple, list)):
        out = tuple(_check_int(v, name, 1) for v in value)
        if not out:
            raise ValueError(f"{name}={value!r} must not be empty")
        return out
    return (_check_int(value, name, 1),) * (n or 2)


def _channels(in_channels, out_channels, groups):
    c_in = _check_int(in_channels, "in_channels", 1)
    c_out = _check_int(out_channels, "out_channels", 1)
    g = _check_int(groups, "groups", 1)
    if c_in % g:
        raise ValueError(f"in_channels={c_in} is not divisible by groups={g}")
    if c_out % g:
        raise ValueError(f"out_channels={c_out} is not divisible by groups={g}")
    return c_in, c_out, g


def conv_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    r"""Number of learnable parameters of ``nn.Conv*d(in_channels, out_channels, kernel_size, groups=groups, bias=bias)``.

    .. math:: P = C_{out} \cdot \frac{C_{in}}{g} \cdot \prod_i k_i \; (+\, C_{out} \text{ if bias})

    An int ``kernel_size`` means a square 2-D kernel ``k×k`` (as ``nn.Conv2d`` reads it); pass a
    tuple for other shapes, e.g. ``(3,)`` for ``Conv1d`` or ``(3, 3, 3)`` for ``Conv3d``.

    Examples
    --------
    >>> conv_params(3, 64, 3)
    1792
    >>> conv_params(64, 64, 3, groups=64, bias=False)   # depthwise 3×3
    576
    """
    c_in, c_out, g = _channels(in_channels, out_channels, groups)
    k = _spatial(kernel_size, "kernel_size", None)
    if not isinstance(bias, (bool, int)):
        raise TypeError(f"bias={bias!r} must be a bool")
    return c_out * (c_in // g) * math.prod(k) + (c_out if bias else 0)


def conv_macs(in_channels, out_channels, kernel_size, output_size, groups=1):
    r"""Multiply-accumulates of one convolution layer for **one** input (batch size 1).

    .. math:: \text{MACs} = C_{out} \cdot \prod_i H^{out}_i \cdot \frac{C_{in}}{g} \cdot \prod_i k_i

    FLOPs = 2 × MACs (the convention of ``torch.utils.flop_counter.FlopCounterMode``). The bias
    addition is not counted (neither does FlopCounterMode). ``kernel_size`` and ``output_size``
    may be ints or tuples, mixed: an int is broadcast to the length of the other argument, and two
    ints mean a square 2-D layer. Multiply by the batch size for a batch.

    Examples
    --------
    >>> conv_macs(3, 64, 3, 224)          # VGG16's first layer
    86704128
    >>> 2 * conv_macs(3, 64, 3, 224)      # in FLOPs
    173408256
    """
    c_in, c_out, g = _channels(in_channels, out_channels, groups)
    n = None
    for v in (kernel_size, output_size):
        if isinstance(v, (tuple, list)):
            if n is not None and len(v) != n:
                raise ValueError(f"kernel_size={kernel_size!r} and output_size={output_size!r} "
                                 "must have the same length")
            n = len(v)
    k = _spatial(kernel_size, "kernel_size", n)
    out = _spatial(output_size, "output_size", n)
    return c_out * math.prod(out) * (c_in // g) * math.prod(k)


def _kernel_area(kernel_size) -> int:
    return math.prod(_spatial(kernel_size, "kernel_size", None))


def separable_params(in_channels, out_channels, kernel_size, depth_multiplier=1, bias=False):
    r"""Parameters of a depthwise-separable convolution: a depthwise ``k×k`` convolution
    ``C_in → m·C_in`` (``groups=C_in``) followed by a pointwise ``1×1`` convolution ``m·C_in → C_out``.

    .. math:: P = m\,C_{in} k^2 + m\,C_{in} C_{out} \;(+\, m\,C_{in} + C_{out} \text{ with biases})

    ``m`` is the depth multiplier (MobileNet's, 1 by default). Equal to
    ``conv_params(C_in, m*C_in, k, groups=C_in, bias) + conv_params(m*C_in, C_out, 1, bias=bias)``;
    chapters 20–22 check it against torch.

    Examples
    --------
    >>> separable_params(32, 64, 3)        # 32*9 + 32*64
    2336
    """
    c_in, c_out, _ = _channels(in_channels, out_channels, 1)
    m = _check_int(depth_multiplier, "depth_multiplier", 1)
    k = _spatial(kernel_size, "kernel_size", None)
    return (conv_params(c_in, m * c_in, k, groups=c_in, bias=bias)
            + conv_params(m * c_in, c_out, (1,) * len(k), bias=bias))


def separable_macs(in_channels, out_channels, kernel_size, output_size, depth_multiplier=1):
    r"""Multiply-accumulates of a depthwise-separable convolution for one input.

    .. math:: \text{MACs} = H_{out}W_{out}\,(m\,C_{in}\,k^2 + m\,C_{in}\,C_{out})

    The depthwise part runs at the output resolution (its stride), the pointwise part on its
    output. FLOPs = 2 × MACs. Compare with :func:`separable_cost_ratio`.

    Examples
    --------
    >>> separable_macs(32, 64, 3, 112)     # 112*112*(32*9 + 32*64)
    29302784
    """
    c_in, c_out, _ = _channels(in_channels, out_channels, 1)
    m = _check_int(depth_multiplier, "depth_multiplier", 1)
    k = kernel_size if isinstance(kernel_size, (tuple, list)) else None
    ones = (1,) * len(k) if k is not None else 1
    return (conv_macs(c_in, m * c_in, kernel_size, output_size, groups=c_in)
            + conv_macs(m * c_in, c_out, ones, output_size))


def separable_cost_ratio(out_channels, kernel_size):
    r"""Cost of a depthwise-separable convolution divided by the standard convolution it replaces
    (same ``C_in``, ``C_out``, kernel, output size, depth multiplier 1), exactly:

    .. math:: \frac{C_{in}HW(k^2 + C_{out})}{C_{in}HW\,k^2 C_{out}} = \frac{1}{C_{out}} + \frac{1}{k^2}

    for MACs and for bias-free parameters alike. Not ``1/k²`` (that drops the pointwise part) and
    not ``1/N + 1/k`` (a kernel of size k has k² taps). Returns a ``fractions.Fraction``.
    Explained in chapter 21.

    Examples
    --------
    >>> separable_cost_ratio(64, 3)
    Fraction(73, 576)
    """
    from fractions import Fraction

    c_out = _check_int(out_channels, "out_channels", 1)
    return Fraction(1, c_out) + Fraction(1, _kernel_area(kernel_size))
