r"""Padding: ``pad`` (constant, reflect, replicate, circular) and a naive reference.

Explained in chapter 24 (why kernels are odd: asymmetric and TensorFlow-style ``SAME``
padding) and chapter 30 (handling inputs of different sizes).

``pad`` lists ``(left, right)`` pairs **last dimension first**: ``(1, 2)`` pads the last dim by
1 before and 2 after, ``(1, 2, 3, 4)`` also the second-to-last by 3 and 4. Output index
:math:`o` along a padded dim of size :math:`n` sits at input coordinate :math:`i = o - \text{left}`
and reads

==========  =====================================================================
mode        source of output :math:`o` (:math:`i = o - \text{left}`)
==========  =====================================================================
constant    :math:`x_i` if :math:`0 \le i < n`, else ``value``
reflect     :math:`x_{|i|}` for :math:`i < n`, else :math:`x_{2(n-1) - i}` (the edge is not
            repeated: ``abcd`` → ``cb|abcd|cb``)
replicate   :math:`x_{\min(\max(i, 0), n - 1)}` (``aa|abcd|dd``)
circular    the dim after cropping (negative pads), read periodically (``cd|abcd|ab``)
==========  =====================================================================

A negative pad crops. The argument checks are torch's: ``constant`` pads any number of
trailing dims (and cannot crop more than a dim holds); the other modes pad the last 1, 2 or 3
dims of an input with 1 or 2 more dims (unbatched or batched), ``reflect`` needs every pad
smaller than the dim it pads, ``circular`` at most as large. Like torch, ``pad`` also takes
integer, bool and complex arrays: it only moves data.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._checks import is_int
from ._validation import as_data_array

__all__ = ["pad", "pad_naive"]

MODES = ("constant", "reflect", "replicate", "circular")


# ----------------------------------------------------------------------------- arguments
def _parse(input, pad, mode, value):
    """Check the arguments in torch's order; return ``(x, pairs, mode, value)``.

    ``pairs`` is a list of ``(dim, left, right)``, one per padded dim, in dim order.
    """
    x = as_data_array(input, "input")
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad={pad!r} must be a tuple of ints, not {type(pad).__name__}")
    if not all(is_int(p) for p in pad):
        raise TypeError(f"pad={pad!r} must be a tuple of ints")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise ValueError(f"pad={pad!r} has odd length {len(pad)}; it lists (left, right) pairs, "
                         "last dimension first")
    k = len(pad) // 2                                   # number of padded dims
    if k > x.ndim:
        raise ValueError(f"pad={pad!r} pads {k} dimensions but input has only {x.ndim} "
                         f"(shape {tuple(x.shape)})")
    if not isinstance(mode, str):
        raise TypeError(f"mode={mode!r} must be a str, not {type(mode).__name__}")
    if mode not in MODES:
        raise ValueError(f"mode={mode!r} is not one of {', '.join(map(repr, MODES))}")
    if value is not None and not isinstance(value, numbers.Number):
        raise TypeError(f"value={value!r} must be a number or None")
    # pad[0:2] is the last dim, pad[2:4] the one before, ...
    pairs = [(x.ndim - 1 - j, pad[2 * j], pad[2 * j + 1]) for j in range(k)][::-1]
    if mode == "constant":
        for dim, lo, hi in pairs:
            if x.shape[dim] + min(lo, 0) + min(hi, 0) < 0:
                raise ValueError(f"pad={pad!r} crops {-min(lo, 0) - min(hi, 0)} elements from "
                                 f"dimension {dim} of input shape {tuple(x.shape)}, which has "
                                 f"only {x.shape[dim]}")
        return x, pairs, mode, 0 if value is None else value
    if value is not None and value != 0:
        raise ValueError(f"value={value!r} can only be given with mode='constant' "
                         f"(mode={mode!r} takes no fill value)")
    _check_shape(x, pad, pairs, mode)
    return x, pairs, mode, None


def _check_shape(x, pad, pairs, mode):
    """torch's checks of the non-constant modes (reflect, replicate, circular)."""
    k = len(pairs)
    if k not in (1, 2, 3):
        raise ValueError(f"mode={mode!r} pads the last 1, 2 or 3 dimensions: pad must have "
                         f"length 2, 4 or 6, got pad={pad!r}")
    if x.ndim not in (k + 1, k + 2):
        raise ValueError(f"mode={mode!r} with pad={pad!r} (length {2 * k}) needs {k + 1}-D "
                         f"(unbatched) or {k + 2}-D (batched) input, got {x.ndim}-D input of "
                         f"shape {tuple(x.shape)}")
    sizes = [(dim, x.shape[dim], lo, hi, x.shape[dim] + lo + hi) for dim, lo, hi in pairs]
    if mode == "circular":
        for dim, n, lo, hi, out in sizes:
            if lo > n or hi > n:
                raise ValueError(f"pad={pad!r}: mode='circular' pads at most the size of the "
                                 f"dimension (it would wrap around more than once), got padding "
                                 f"({lo}, {hi}) for dimension {dim} of size {n}")
            if out < 0:
                raise ValueError(f"pad={pad!r} crops dimension {dim} of size {n} to {out} "
                                 "elements")
            if out > 0 and n + min(lo, 0) + min(hi, 0) <= 0:
                raise ValueError(f"pad={pad!r}: mode='circular' cannot pad dimension {dim} of "
                                 f"size {n}: the negative padding crops all of it (torch reads "
                                 "uninitialised memory here)")
        return
    # reflect / replicate: every dim but the batch must be non-empty
    batch = 1 if x.ndim == k + 2 else 0
    if any(s == 0 for s in x.shape[batch:]):
        raise ValueError(f"mode={mode!r} needs non-empty dimensions (except the batch), got "
                         f"input of shape {tuple(x.shape)}")
    if mode == "reflect":
        for dim, n, lo, hi, _ in sizes:
            if lo >= n or hi >= n:
                raise ValueError(f"pad={pad!r}: mode='reflect' needs padding smaller than the "
                                 f"dimension it pads, got padding ({lo}, {hi}) for dimension "
                                 f"{dim} of size {n}")
    outs = [out for *_, out in sizes]
    if any(out < 0 for out in outs) or all(out == 0 for out in outs):   # torch: not all empty
        raise ValueError(f"pad={pad!r} with mode={mode!r} is too small for input of shape "
                         f"{tuple(x.shape)}: the padded dims would have sizes {tuple(outs)}")


# ----------------------------------------------------------------------------- index maps
def source_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """Input index read by each of the ``n + lo + hi`` outputs along one dim (module table).

    For ``constant``, ``-1`` marks outputs that take the fill value. Assumes the arguments
    passed :func:`pad`'s checks.
    """
    i = np.arange(n + lo + hi) - lo                   # output o sits at input coordinate o - lo
    if mode == "constant":
        return np.where((i >= 0) & (i < n), i, -1)
    if mode == "reflect":                             # mirror about 0 and about n - 1
        return np.where(i < 0, -i, np.where(i < n, i, 2 * (n - 1) - i))
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    # circular: crop first (negative pads), then read the cropped dim periodically
    start = max(-lo, 0)
    m = n - start - max(-hi, 0)                       # size after cropping
    return start + (np.arange(n + lo + hi) - max(lo, 0)) % max(m, 1)


def pad(input, pad, mode="constant", value=None):
    r"""Pad (or crop) the trailing dims of an array, like ``torch.nn.functional.pad``.

    Parameters
    ----------
    input : array, any shape
        For ``constant`` any number of dims. For the other modes: ``(C, W)`` or ``(N, C, W)``
        with a pad of length 2, ``(C, H, W)`` or ``(N, C, H, W)`` with length 4, ``(C, D, H, W)``
        or ``(N, C, D, H, W)`` with length 6. Any numeric dtype (torch tensors accepted).
    pad : tuple of ints, even length
        ``(left_W, right_W, top_H, bottom_H, front_D, back_D)``, **last dim first**, as many
        pairs as dims to pad. Negative entries crop.
    mode : {'constant', 'reflect', 'replicate', 'circular'}
        See the module docstring; ``reflect`` needs every pad smaller than the dim it pads,
        ``circular`` at most as large.
    value : number, optional
        Fill value of ``constant`` mode (default 0, cast to the input's dtype as torch does).
        The other modes take no value (``None`` or 0).

    Returns
    -------
    ndarray, same dtype, shape ``input.shape`` with dim ``-1-j`` grown by
    ``pad[2j] + pad[2j+1]``

    Notes
    -----
    Every mode is an index map per padded dim (:func:`source_index`) followed by a gather.
    ``conv2d(pad(x, (p, p, p, p)), w)`` equals ``conv2d(x, w, padding=p)``; asymmetric pads
    ``(0, 1, 0, 1)`` reproduce TensorFlow's ``SAME`` for even kernels (chapter 24);
    ``reflect`` avoids the dark border that zero padding leaves in image filters.
    **Departure:** with ``circular``, a positive pad larger than what a negative pad on the
    other side leaves of the dim makes torch copy from parts of its output it has not written
    yet (uninitialised memory; the result varies from call to call). cnnlib repeats the
    cropped dim periodically instead, and raises ``ValueError`` if nothing is left to repeat.

    Examples
    --------
    >>> pad(np.arange(4.0)[None], (2, 2), mode="reflect")
    array([[2., 1., 0., 1., 2., 3., 2., 1.]])
    """
    x, pairs, mode, value = _parse(input, pad, mode, value)
    if mode == "constant":
        # crop-then-fill: one slice of the input lands in the middle of a full array
        shape, dst, src = list(x.shape), [slice(None)] * x.ndim, [slice(None)] * x.ndim
        for dim, lo, hi in pairs:
            n = x.shape[dim]
            shape[dim] = n + lo + hi
            src[dim] = slice(max(-lo, 0), n - max(-hi, 0))
            dst[dim] = slice(max(lo, 0), max(lo, 0) + n - max(-lo, 0) - max(-hi, 0))
        out = np.full(shape, np.array(value).astype(x.dtype), dtype=x.dtype)  # torch's cast
        out[tuple(dst)] = x[tuple(src)]
        return out
    out = x
    for dim, lo, hi in pairs:                         # a gather along each padded dim
        out = np.take(out, source_index(x.shape[dim], lo, hi, mode), axis=dim)
    return np.ascontiguousarray(out)


def pad_naive(input, pad, mode="constant", value=None):
    """Reference for :func:`pad`: one Python loop per output element (tests only).

    Maps each output coordinate to its source with scalar arithmetic, one branch per mode,
    independently of the vectorised :func:`source_index`.
    """
    x, pairs, mode, value = _parse(input, pad, mode, value)
    out_shape = list(x.shape)
    for dim, lo, hi in pairs:
        out_shape[dim] += lo + hi
    out = np.empty(out_shape, dtype=x.dtype)
    padded = {dim: (lo, hi) for dim, lo, hi in pairs}

    def source(i, n, lo, hi):
        if mode == "constant":
            return i if 0 <= i < n else None
        if mode == "reflect":
            return -i if i < 0 else (i if i < n else 2 * (n - 1) - i)
        if mode == "replicate":
            return 0 if i < 0 else min(i, n - 1)
        first, last = max(-lo, 0), n - 1 - max(-hi, 0)   # circular: the cropped dim
        while i < first:
            i += last - first + 1
        while i > last:
            i -= last - first + 1
        return i

    for o in np.ndindex(*out_shape):
        src = []
        for dim, c in enumerate(o):
            lo, hi = padded.get(dim, (0, 0))
            src.append(source(c - lo, x.shape[dim], lo, hi))
        out[o] = value if None in src else x[tuple(src)]
    return out
