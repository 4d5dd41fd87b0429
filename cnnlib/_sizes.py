"""Output-size calculators for convolution, transposed convolution and pooling.

Plain Python, ints in and ints out. Any argument may be a tuple (one entry per spatial dim);
then every int argument is broadcast and the result is a tuple. Explained in chapter 23
(output size, parameters and FLOPs) and chapter 32 (transposed convolution).
"""
from __future__ import annotations

import math

from ._checks import is_int


def _check_int(value, name: str, minimum: int) -> int:
    if not is_int(value):
        raise TypeError(f"{name}={value!r} must be an int")
    if value < minimum:
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name}={value!r} must be {kind}")
    return int(value)


def per_dim(fn, **kwargs):
    """Apply the scalar calculator ``fn`` per spatial dim.

    If any argument is a tuple/list, all tuples must have the same length and ints are
    broadcast; the result is a tuple. Otherwise the result is ``fn(**kwargs)``.
    """
    lengths = {name: len(v) for name, v in kwargs.items() if isinstance(v, (tuple, list))}
    if not lengths:
        return fn(**kwargs)
    if len(set(lengths.values())) != 1:
        detail = ", ".join(f"{name}={kwargs[name]!r}" for name in lengths)
        raise ValueError(f"tuple arguments must have the same length, got {detail}")
    n = next(iter(lengths.values()))
    results = []
    for i in range(n):
        scalar = {name: (v[i] if isinstance(v, (tuple, list)) else v) for name, v in kwargs.items()}
        try:
            results.append(fn(**scalar))
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"{exc} (dimension {i})") from None
    return tuple(results)


def _conv_out(in_size, kernel_size, stride, padding, dilation):
    n = _check_int(in_size, "in_size", 1)
    k = _check_int(kernel_size, "kernel_size", 1)
    s = _check_int(stride, "stride", 1)
    d = _check_int(dilation, "dilation", 1)
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            if s != 1:
                raise ValueError(f"padding='same' requires stride=1, got stride={s}")
            return n
        else:
            raise ValueError(f"padding={padding!r} is not a valid padding string; "
                             "expected 'same' or 'valid'")
    p = _check_int(padding, "padding", 0)
    span = n + 2 * p - d * (k - 1) - 1
    if span < 0:
        raise ValueError(f"kernel_size={k} with dilation={d} (effective {d * (k - 1) + 1}) is larger "
                         f"than the padded input {n} + 2*{p} = {n + 2 * p}")
    return span // s + 1


def conv_output_size(in_size, kernel_size, stride=1, padding=0, dilation=1):
    r"""Spatial output size of a convolution (``torch.nn.Conv*d``).

    .. math:: H_{out} = \left\lfloor \frac{H_{in} + 2p - d(k-1) - 1}{s} \right\rfloor + 1

    ``padding`` may also be ``'same'`` (requires ``stride=1``; output = input) or ``'valid'`` (= 0).

    Examples
    --------
    >>> conv_output_size(224, 7, stride=2, padding=3)
    112
    >>> conv_output_size((32, 20), 3, padding=(1, 0))
    (32, 18)
    """
    return per_dim(_conv_out, in_size=in_size, kernel_size=kernel_size, stride=stride,
                   padding=padding, dilation=dilation)


def _conv_transpose_out(in_size, kernel_size, stride, padding, output_padding, dilation):
    n = _check_int(in_size, "in_size", 1)
    k = _check_int(kernel_size, "kernel_size", 1)
    s = _check_int(stride, "stride", 1)
    p = _check_int(padding, "padding", 0)
    op = _check_int(output_padding, "output_padding", 0)
    d = _check_int(dilation, "dilation", 1)
    if op >= s and op >= d:
        raise ValueError(f"output_padding={op} must be smaller than either stride={s} "
                         f"or dilation={d}")
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out <= 0:
        raise ValueError(f"padding={p} is too large: the transposed convolution of in_size={n} "
                         f"with kernel_size={k}, stride={s} would have output size {out}")
    return out


def conv_transpose_output_size(in_size, kernel_size, stride=1, padding=0, output_padding=0,
                               dilation=1):
    r"""Spatial output size of a transposed convolution (``torch.nn.ConvTranspose*d``).

    .. math:: H_{out} = (H_{in} - 1)s - 2p + d(k-1) + \text{output\_padding} + 1

    ``output_padding`` must be smaller than ``stride`` or ``dilation``, as in torch.

    Examples
    --------
    >>> conv_transpose_output_size(7, 4, stride=2, padding=1)
    14
    """
    return per_dim(_conv_transpose_out, in_size=in_size, kernel_size=kernel_size, stride=stride,
                   padding=padding, output_padding=output_padding, dilation=dilation)


def _pool_out(in_size, kernel_size, stride, padding, dilation, ceil_mode):
    n = _check_int(in_size, "in_size", 1)
    k = _check_int(kernel_size, "kernel_size", 1)
    s = k if stride is None else _check_int(stride, "stride", 1)
    p = _check_int(padding, "padding", 0)
    d = _check_int(dilation, "dilation", 1)
    if p > k // 2:
        raise ValueError(f"padding={p} must be at most half of kernel_size={k} (as in torch)")
    span = n + 2 * p - d * (k - 1) - 1
    out = (math.ceil(span / s) if ceil_mode else span // s) + 1
    # torch: with ceil_mode, the last window must start inside the input or the left padding
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    # (with ceil_mode torch keeps a window that sticks out of the padded input, e.g. in_size=1,
    # kernel_size=2, stride=2 → 1; so the test is on the output size, not on span < 0)
    if out < 1:
        raise ValueError(f"kernel_size={k} with dilation={d} (effective {d * (k - 1) + 1}) is larger "
                         f"than the padded input {n} + 2*{p} = {n + 2 * p}")
    return out


def pool_output_size(in_size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    r"""Spatial output size of a pooling layer (``torch.nn.MaxPool*d``/``AvgPool*d``).

    .. math:: H_{out} = \left\lfloor \text{or} \left\lceil \frac{H_{in} + 2p - d(k-1) - 1}{s}
              \right\rceil \right. + 1

    ``stride=None`` means ``stride = kernel_size``. With ``ceil_mode=True`` the last window is
    dropped if it would start in the right padding, exactly as torch does.

    Examples
    --------
    >>> pool_output_size(112, 3, stride=2, padding=1)
    56
    >>> pool_output_size(5, 2, ceil_mode=True)
    3
    """
    if not isinstance(ceil_mode, (bool, int)):
        raise TypeError(f"ceil_mode={ceil_mode!r} must be a bool")
    return per_dim(_pool_out, in_size=in_size, kernel_size=kernel_size, stride=stride,
                   padding=padding, dilation=dilation, ceil_mode=bool(ceil_mode))
