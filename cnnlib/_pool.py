r"""Pooling and unpooling: max, average, Lp, adaptive and max-unpooling, with naive references.

Explained in chapter 28 (global average pooling), chapter 30 (adaptive pooling for inputs of
different sizes), chapter 32 (unpooling) and the "pooling zoo" chapter of *Beyond the 33*.

Every fast function here has the signature, defaults and results of its
``torch.nn.functional`` namesake, including unbatched ``(C, H, W)`` inputs, ``(out, indices)``
returns and torch's corner cases:

* ``max_pool2d`` pads with :math:`-\infty`; its indices are flat indices ``h * W + w`` into the
  *unpadded* ``H x W`` plane. Ties go to the first maximum in row-major scan order; a NaN
  always wins, and among several NaNs the *last* one wins (torch's ``val > max or isnan(val)``).
* ``avg_pool2d`` divides by the window area clipped to the padded input (``count_include_pad``)
  or to the input itself (``count_include_pad=False``), unless ``divisor_override`` is given.
* Output sizes come from :func:`cnnlib.pool_output_size`, the calculator the book teaches.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
from numba import njit, prange

from ._checks import is_int
from ._sizes import pool_output_size
from ._validation import as_array, batched, non_negative, positive

__all__ = ["max_pool2d", "avg_pool2d", "lp_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
           "max_unpool2d", "max_pool2d_naive", "avg_pool2d_naive", "adaptive_avg_pool2d_naive",
           "adaptive_max_pool2d_naive", "max_unpool2d_naive"]


# ----------------------------------------------------------------------------------------------
# argument handling
# ----------------------------------------------------------------------------------------------

def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)) and not (is_int(value) and value in (0, 1)):
        raise TypeError(f"{name}={value!r} must be a bool")
    return bool(value)


def _pool_setup(input, kernel_size, stride, padding, dilation, ceil_mode, fn: str):
    """Normalise pooling arguments; return ``(x, unbatched, k, s, p, d, out_hw)``.

    ``x`` is a contiguous ``(N, C, H, W)`` float array; ``stride=None`` (or an empty sequence,
    as torch accepts) means ``stride = kernel_size``.
    """
    x = as_array(input, "input")
    x, unbatched = batched(x, 2, fn)
    k = positive(kernel_size, 2, "kernel_size")
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        s = k
    else:
        s = positive(stride, 2, "stride")
    p = non_negative(padding, 2, "padding")
    d = positive(dilation, 2, "dilation")
    ceil_mode = _check_bool(ceil_mode, "ceil_mode")
    h, w = int(x.shape[2]), int(x.shape[3])
    if h == 0 or w == 0:
        raise ValueError(f"{fn}: input has an empty spatial dim, shape {tuple(x.shape)}")
    try:
        out_hw = pool_output_size((h, w), k, s, p, d, ceil_mode)
    except ValueError as exc:
        raise ValueError(f"{fn}: {exc} (input shape {tuple(x.shape)})") from None
    return np.ascontiguousarray(x), unbatched, k, s, p, d, out_hw


def _finish(out, unbatched):
    return out[0] if unbatched else out


# ----------------------------------------------------------------------------------------------
# max pooling
# ----------------------------------------------------------------------------------------------

@njit(cache=True, parallel=True)
def _max_pool2d_kernel(x, kh, kw, sh, sw, ph, pw, dh, dw, out, idx):
    """Max pooling of ``x`` (P, H, W) planes into ``out``/``idx`` (P, oH, oW).

    Assumes ``out``'s size came from ``pool_output_size``; padding is virtual (-inf), so
    only in-bounds taps are read and indices are flat ``h * W + w`` into the unpadded plane.
    """
    n_planes, h, w = x.shape
    o_h, o_w = out.shape[1], out.shape[2]
    for pl in prange(n_planes):                      # planes are independent
        for oh in range(o_h):
            h0 = oh * sh - ph                        # first (maybe padded) input row of window
            h1 = min(h0 + (kh - 1) * dh + 1, h)      # one past the last in-bounds row
            while h0 < 0:                            # skip taps in the top padding
                h0 += dh
            for ow in range(o_w):
                w0 = ow * sw - pw
                w1 = min(w0 + (kw - 1) * dw + 1, w)
                while w0 < 0:
                    w0 += dw
                best = -np.inf
                best_i = h0 * w + w0                 # torch's default: first in-bounds tap
                for ih in range(h0, h1, dh):
                    for iw in range(w0, w1, dw):
                        v = x[pl, ih, iw]
                        # strict '>' keeps the first maximum; a NaN always replaces
                        if v > best or np.isnan(v):
                            best = v
                            best_i = ih * w + iw
                out[pl, oh, ow] = best
                idx[pl, oh, ow] = best_i


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    r"""2-D max pooling, like ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W) or (C, H, W)
        float32 or float64 (torch tensors are accepted and converted).
    kernel_size, stride, padding, dilation : int or (int, int)
        ``stride=None`` means ``stride = kernel_size``; ``padding <= kernel_size // 2``.
    ceil_mode : bool
        Round the output size up; a window that would start in the right/bottom padding is
        dropped (see :func:`cnnlib.pool_output_size`).
    return_indices : bool
        Also return the int64 flat indices ``h * W + w`` of each maximum in its input plane,
        the format :func:`max_unpool2d` takes.

    Returns
    -------
    out : ndarray, shape (N, C, H_out, W_out) (or (C, H_out, W_out)), dtype of ``input``
    indices : ndarray of int64, same shape as ``out`` (only if ``return_indices``)

    Notes
    -----
    .. math:: y[n, c, i, j] = \max_{a < k_H,\ b < k_W}
              x_{pad}[n, c,\ i s_H + a d_H,\ j s_W + b d_W]

    with :math:`x_{pad}` padded by :math:`-\infty`. Ties go to the first maximum in row-major
    order of the window; NaN propagates (the last NaN of the window is reported), as in torch.
    """
    x, unbatched, k, s, p, d, (o_h, o_w) = _pool_setup(
        input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    return_indices = _check_bool(return_indices, "return_indices")
    n, c, h, w = x.shape
    out = np.empty((n * c, o_h, o_w), dtype=x.dtype)
    idx = np.empty((n * c, o_h, o_w), dtype=np.int64)
    _max_pool2d_kernel(x.reshape(n * c, h, w), k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1],
                       out, idx)
    out = _finish(out.reshape(n, c, o_h, o_w), unbatched)
    if return_indices:
        return out, _finish(idx.reshape(n, c, o_h, o_w), unbatched)
    return out


def _window_taps(o, s, p, k, d, size):
    """In-bounds input coordinates of the window of output ``o`` along one dim."""
    return [o * s - p + t * d for t in range(k) if 0 <= o * s - p + t * d < size]


def _first_tap(o, s, p, d):
    """First tap of a window at or after 0 (torch's default index, even when out of range)."""
    t = o * s - p
    while t < 0:
        t += d
    return t


def _max_with_index(values, flat, default):
    """torch's reduction: the last NaN if any, else the first maximum (values 1-D).

    A window with no tap inside the input (possible with ``ceil_mode`` and a large dilation)
    gives ``-inf`` at index ``default``, as torch does.
    """
    if values.size == 0:
        return -np.inf, default
    nan = np.flatnonzero(np.isnan(values))
    if nan.size:
        return values[nan[-1]], flat[nan[-1]]
    j = int(np.argmax(values))                   # argmax returns the first maximum
    return values[j], flat[j]


def max_pool2d_naive(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                     return_indices=False):
    """Reference for :func:`max_pool2d`: Python loops over output pixels (for tests only)."""
    x, unbatched, k, s, p, d, (o_h, o_w) = _pool_setup(
        input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    n, c, h, w = x.shape
    out = np.empty((n, c, o_h, o_w), dtype=x.dtype)
    idx = np.empty((n, c, o_h, o_w), dtype=np.int64)
    for i in range(o_h):
        rows = _window_taps(i, s[0], p[0], k[0], d[0], h)
        for j in range(o_w):
            cols = _window_taps(j, s[1], p[1], k[1], d[1], w)
            flat = np.array([r * w + q for r in rows for q in cols], dtype=np.int64)
            default = _first_tap(i, s[0], p[0], d[0]) * w + _first_tap(j, s[1], p[1], d[1])
            for a in range(n):
                for b in range(c):
                    vals = x[a, b].reshape(-1)[flat]
                    out[a, b, i, j], idx[a, b, i, j] = _max_with_index(vals, flat, default)
    if return_indices:
        return _finish(out, unbatched), _finish(idx, unbatched)
    return _finish(out, unbatched)


# ----------------------------------------------------------------------------------------------
# average and Lp pooling
# ----------------------------------------------------------------------------------------------

@njit(cache=True, parallel=True)
def _avg_pool2d_kernel(x, kh, kw, sh, sw, ph, pw, count_include_pad, divisor, out):
    """Average pooling of ``x`` (P, H, W) planes into ``out`` (P, oH, oW).

    ``divisor == 0`` means "no override". Assumes ``out``'s size came from
    ``pool_output_size`` (so no window is empty); padding is virtual (zeros).
    """
    n_planes, h, w = x.shape
    o_h, o_w = out.shape[1], out.shape[2]
    for pl in prange(n_planes):
        for oh in range(o_h):
            h0 = oh * sh - ph                        # window rows [h0, h1) in padded coords
            h1 = min(h0 + kh, h + ph)                # clipped to the padded input (ceil_mode)
            for ow in range(o_w):
                w0 = ow * sw - pw
                w1 = min(w0 + kw, w + pw)
                pool_size = (h1 - h0) * (w1 - w0)    # area inside the padded input
                a0, a1 = max(h0, 0), min(h1, h)      # rows inside the input itself
                b0, b1 = max(w0, 0), min(w1, w)
                acc = 0.0
                for ih in range(a0, a1):
                    for iw in range(b0, b1):
                        acc += x[pl, ih, iw]
                if divisor != 0:
                    div = divisor
                elif count_include_pad:
                    div = pool_size
                else:
                    div = (a1 - a0) * (b1 - b0)
                out[pl, oh, ow] = acc / div


def _avg_setup(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
               divisor_override, fn):
    x, unbatched, k, s, p, _, out_hw = _pool_setup(input, kernel_size, stride, padding, 1,
                                                    ceil_mode, fn)
    count_include_pad = _check_bool(count_include_pad, "count_include_pad")
    if divisor_override is None:
        divisor = 0
    else:
        if not is_int(divisor_override):
            raise TypeError(f"divisor_override={divisor_override!r} must be an int or None")
        if divisor_override == 0:
            raise ValueError("divisor_override=0 must be non-zero (torch: 'divisor must be not zero')")
        divisor = int(divisor_override)
    return x, unbatched, k, s, p, out_hw, count_include_pad, divisor


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    r"""2-D average pooling, like ``torch.nn.functional.avg_pool2d``.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W) or (C, H, W)
    kernel_size, stride, padding : int or (int, int)
        ``stride=None`` means ``stride = kernel_size``; ``padding <= kernel_size // 2``.
    ceil_mode : bool
    count_include_pad : bool
        Count the zero padding in the divisor (default, as torch).
    divisor_override : int, optional
        Divide every window sum by this (non-zero) number instead.

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out) (or (C, H_out, W_out)), dtype of ``input``

    Notes
    -----
    .. math:: y[n, c, i, j] = \frac{1}{D_{ij}} \sum_{(a, b) \in W_{ij}} x[n, c, a, b]

    where :math:`W_{ij}` is the window intersected with the input. The divisor
    :math:`D_{ij}` is, as in torch: ``divisor_override`` if given; else with
    ``count_include_pad`` the window area clipped to the *padded* input (smaller than
    :math:`k_H k_W` only for the extra windows of ``ceil_mode``); else :math:`|W_{ij}|`.
    """
    x, unbatched, k, s, p, (o_h, o_w), cip, divisor = _avg_setup(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
        "avg_pool2d")
    n, c, h, w = x.shape
    out = np.empty((n * c, o_h, o_w), dtype=x.dtype)
    _avg_pool2d_kernel(x.reshape(n * c, h, w), k[0], k[1], s[0], s[1], p[0], p[1], cip, divisor,
                       out)
    return _finish(out.reshape(n, c, o_h, o_w), unbatched)


def avg_pool2d_naive(input, kernel_size, stride=None, padding=0, ceil_mode=False,
                     count_include_pad=True, divisor_override=None):
    """Reference for :func:`avg_pool2d`: explicit padding and NumPy window sums (tests only)."""
    x, unbatched, k, s, p, (o_h, o_w), cip, divisor = _avg_setup(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
        "avg_pool2d")
    n, c, h, w = x.shape
    # pad generously (zeros) so that ceil_mode windows running off the end can be sliced
    extra = (k[0] + s[0], k[1] + s[1])
    xp = np.zeros((n, c, h + p[0] + extra[0], w + p[1] + extra[1]), dtype=np.float64)
    xp[:, :, p[0]:p[0] + h, p[1]:p[1] + w] = x
    ones = np.zeros(xp.shape[2:])
    ones[p[0]:p[0] + h, p[1]:p[1] + w] = 1.0              # marks real input pixels
    out = np.empty((n, c, o_h, o_w), dtype=x.dtype)
    for i in range(o_h):
        for j in range(o_w):
            r, q = i * s[0], j * s[1]                    # window corner in padded coordinates
            total = xp[:, :, r:r + k[0], q:q + k[1]].sum(axis=(2, 3))
            if divisor:
                div = divisor
            elif cip:                                    # area inside the padded input
                div = (min(r + k[0], h + 2 * p[0]) - r) * (min(q + k[1], w + 2 * p[1]) - q)
            else:
                div = ones[r:r + k[0], q:q + k[1]].sum()
            out[:, :, i, j] = total / div
    return _finish(out, unbatched)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    r"""2-D power-average pooling, like ``torch.nn.functional.lp_pool2d``.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W) or (C, H, W)
    norm_type : int or float
        :math:`p`; ``inf`` gives max pooling of :math:`|x|` and ``-inf`` min pooling of
        :math:`|x|`, as in torch.
    kernel_size, stride : int or (int, int)
        No padding (torch's ``lp_pool2d`` has none).
    ceil_mode : bool

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out) (or (C, H_out, W_out))

    Notes
    -----
    .. math:: y = \Big(k_H k_W \cdot \operatorname{avg\_pool2d}(x^p)\Big)^{1/p}
              = \Big(\sum_{\text{window}} x^p\Big)^{1/p}

    computed exactly as torch does: ``avg_pool2d(x**p)`` then ``sign(a) * relu(|a|)``, times
    :math:`k_H k_W`, to the power :math:`1/p`. Consequences kept on purpose: a window clipped
    by ``ceil_mode`` is averaged over its clipped area and then multiplied by the full
    :math:`k_H k_W`; a negative sum (odd :math:`p`) or a negative :math:`x` with fractional
    :math:`p` gives NaN. :math:`p = 1` is sum pooling, :math:`p = 2` is L2 pooling.
    """
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"norm_type={norm_type!r} must be an int or a float")
    norm_type = float(norm_type)
    if math.isnan(norm_type):
        raise ValueError(f"norm_type={norm_type!r} must not be NaN")
    x = as_array(input, "input")
    if norm_type == math.inf:
        return max_pool2d(np.abs(x), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -max_pool2d(-np.abs(x), kernel_size, stride, 0, 1, ceil_mode)
    kh, kw = positive(kernel_size, 2, "kernel_size")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        avg = avg_pool2d(np.power(x, x.dtype.type(norm_type)), kernel_size, stride, 0, ceil_mode)
        # torch.sign(nan) is 0 and 0 * nan is nan, so NaN survives either way
        signed = np.sign(avg) * np.maximum(np.abs(avg), 0)
        out = np.power(signed * x.dtype.type(kh * kw), x.dtype.type(1.0 / norm_type))
    return out.astype(x.dtype, copy=False)


# ----------------------------------------------------------------------------------------------
# adaptive pooling
# ----------------------------------------------------------------------------------------------

def _adaptive_setup(input, output_size, fn):
    x = as_array(input, "input")
    x, unbatched = batched(x, 2, fn)
    h, w = int(x.shape[2]), int(x.shape[3])
    if h == 0 or w == 0:
        raise ValueError(f"{fn}: input has an empty spatial dim, shape {tuple(x.shape)}")
    if is_int(output_size):
        sizes = [output_size, output_size]
    elif isinstance(output_size, (tuple, list)) and len(output_size) in (1, 2):
        sizes = list(output_size) * (2 if len(output_size) == 1 else 1)
    else:
        raise TypeError(f"output_size={output_size!r} must be an int or a pair of "
                        "ints/None")
    out = []
    for v, full in zip(sizes, (h, w)):
        if v is None:                                # None: keep the input size
            out.append(full)
        elif not is_int(v):
            raise TypeError(f"output_size={output_size!r} must contain only ints or None")
        elif v < 0:
            raise ValueError(f"output_size={output_size!r} must be non-negative")
        else:
            out.append(int(v))
    return np.ascontiguousarray(x), unbatched, tuple(out)


@njit(cache=True)
def _adaptive_bounds(o, n_in, n_out):
    """Window [start, end) of output ``o``: floor(o*n_in/n_out), ceil((o+1)*n_in/n_out)."""
    return (o * n_in) // n_out, -((-(o + 1) * n_in) // n_out)


@njit(cache=True, parallel=True)
def _adaptive_pool2d_kernel(x, is_max, out, idx):
    """Adaptive average (``is_max=False``) or max pooling of (P, H, W) planes.

    ``out``/``idx`` are (P, oH, oW); ``idx`` is only written for max pooling.
    Windows may overlap or have different sizes; none is empty.
    """
    n_planes, h, w = x.shape
    o_h, o_w = out.shape[1], out.shape[2]
    for pl in prange(n_planes):
        for oh in range(o_h):
            h0, h1 = _adaptive_bounds(oh, h, o_h)
            for ow in range(o_w):
                w0, w1 = _adaptive_bounds(ow, w, o_w)
                if is_max:
                    best = -np.inf
                    best_i = h0 * w + w0
                    for ih in range(h0, h1):
                        for iw in range(w0, w1):
                            v = x[pl, ih, iw]
                            if v > best or np.isnan(v):      # first max; NaN wins (as torch)
                                best = v
                                best_i = ih * w + iw
                    out[pl, oh, ow] = best
                    idx[pl, oh, ow] = best_i
                else:
                    acc = 0.0
                    for ih in range(h0, h1):
                        for iw in range(w0, w1):
                            acc += x[pl, ih, iw]
                    out[pl, oh, ow] = acc / ((h1 - h0) * (w1 - w0))


def _adaptive(input, output_size, is_max, fn):
    x, unbatched, (o_h, o_w) = _adaptive_setup(input, output_size, fn)
    n, c, h, w = x.shape
    out = np.empty((n * c, o_h, o_w), dtype=x.dtype)
    idx = np.empty((n * c, o_h, o_w), dtype=np.int64)
    if out.size:
        _adaptive_pool2d_kernel(x.reshape(n * c, h, w), is_max, out, idx)
    return (_finish(out.reshape(n, c, o_h, o_w), unbatched),
            _finish(idx.reshape(n, c, o_h, o_w), unbatched))


def adaptive_avg_pool2d(input, output_size):
    r"""Adaptive 2-D average pooling, like ``torch.nn.functional.adaptive_avg_pool2d``.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W) or (C, H, W)
    output_size : int or (int or None, int or None)
        ``(H_out, W_out)``; a ``None`` entry keeps that input size. ``1`` is global average pooling.

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out) (or (C, H_out, W_out))

    Notes
    -----
    Output row :math:`i` averages input rows
    :math:`[\lfloor iH/H_{out} \rfloor, \lceil (i+1)H/H_{out} \rceil)` (likewise for columns):
    windows cover the input, may overlap by one pixel and may differ in size.
    """
    return _adaptive(input, output_size, False, "adaptive_avg_pool2d")[0]


def adaptive_max_pool2d(input, output_size, return_indices=False):
    r"""Adaptive 2-D max pooling, like ``torch.nn.functional.adaptive_max_pool2d``.

    Same windows as :func:`adaptive_avg_pool2d`; with ``return_indices`` also returns the
    int64 flat indices ``h * W + w`` of the maxima (ties and NaN as in :func:`max_pool2d`).
    """
    return_indices = _check_bool(return_indices, "return_indices")
    out, idx = _adaptive(input, output_size, True, "adaptive_max_pool2d")
    return (out, idx) if return_indices else out


def _adaptive_naive(input, output_size, is_max, fn):
    x, unbatched, (o_h, o_w) = _adaptive_setup(input, output_size, fn)
    n, c, h, w = x.shape
    out = np.empty((n, c, o_h, o_w), dtype=x.dtype)
    idx = np.empty((n, c, o_h, o_w), dtype=np.int64)
    for i in range(o_h):
        r0, r1 = math.floor(i * h / o_h), math.ceil((i + 1) * h / o_h)
        for j in range(o_w):
            q0, q1 = math.floor(j * w / o_w), math.ceil((j + 1) * w / o_w)
            if not is_max:
                out[:, :, i, j] = x[:, :, r0:r1, q0:q1].mean(axis=(2, 3), dtype=np.float64)
                continue
            flat = (np.arange(r0, r1)[:, None] * w + np.arange(q0, q1)).reshape(-1)
            for a in range(n):
                for b in range(c):
                    vals = x[a, b].reshape(-1)[flat]
                    out[a, b, i, j], idx[a, b, i, j] = _max_with_index(vals, flat, flat[0])
    return _finish(out, unbatched), _finish(idx, unbatched)


def adaptive_avg_pool2d_naive(input, output_size):
    """Reference for :func:`adaptive_avg_pool2d` using ``math.floor``/``math.ceil`` (tests only)."""
    return _adaptive_naive(input, output_size, False, "adaptive_avg_pool2d")[0]


def adaptive_max_pool2d_naive(input, output_size, return_indices=False):
    """Reference for :func:`adaptive_max_pool2d` (tests only)."""
    out, idx = _adaptive_naive(input, output_size, True, "adaptive_max_pool2d")
    return (out, idx) if return_indices else out


# ----------------------------------------------------------------------------------------------
# max unpooling
# ----------------------------------------------------------------------------------------------

def _unpool_setup(input, indices, kernel_size, stride, padding, output_size):
    x = as_array(input, "input")
    if x.ndim not in (3, 4):
        raise ValueError(f"max_unpool2d: input must be 3-D (unbatched) or 4-D (batched), "
                         f"got {x.ndim}-D with shape {tuple(x.shape)}")
    if hasattr(indices, "detach") and hasattr(indices, "numpy"):   # a torch tensor
        indices = indices.detach().cpu().numpy()
    ind = np.asarray(indices)
    if ind.dtype != np.int64:
        raise TypeError(f"indices has dtype {ind.dtype}; expected int64 (as in torch)")
    if ind.shape != x.shape:
        raise ValueError(f"max_unpool2d: indices of shape {tuple(ind.shape)} must have the "
                         f"shape of input {tuple(x.shape)}")
    k = positive(kernel_size, 2, "kernel_size")
    s = k if stride is None else positive(stride, 2, "stride")
    p = non_negative(padding, 2, "padding")
    h, w = x.shape[-2:]
    default = tuple((n - 1) * st - 2 * pd + kk for n, st, pd, kk in zip((h, w), s, p, k))
    if output_size is None:
        size = default
    else:
        if not isinstance(output_size, (tuple, list)) or len(output_size) not in (2, 4):
            raise ValueError(f"output_size={output_size!r} must be a sequence of 2 or 4 ints "
                             "((H, W) or (N, C, H, W))")
        size = tuple(output_size)[-2:]
        if not all(is_int(v) for v in size):
            raise TypeError(f"output_size={output_size!r} must contain only ints")
        size = tuple(int(v) for v in size)
        for dim in range(2):                  # torch allows default ± (stride - 1)
            lo, hi = default[dim] - s[dim], default[dim] + s[dim]
            if not lo < size[dim] < hi:
                raise ValueError(f"output_size={output_size!r} is invalid: dim {dim} must be "
                                 f"between {lo} and {hi} (exclusive)")
    if any(v < 0 for v in size):
        raise ValueError(f"max_unpool2d: output size {size} must be non-negative "
                         f"(kernel_size={kernel_size!r}, stride={stride!r}, padding={padding!r})")
    if ind.size and size[0] * size[1] > 0:      # torch skips the check for empty planes
        lo_i, hi_i = int(ind.min()), int(ind.max())
        bad = lo_i if lo_i < 0 else hi_i if hi_i >= size[0] * size[1] else None
        if bad is not None:
            raise ValueError(f"indices contains an invalid max index {bad}: the output planes "
                             f"are {size[0]}x{size[1]}")
    x4, unbatched = batched(x, 2, "max_unpool2d")
    return (np.ascontiguousarray(x4), np.ascontiguousarray(ind.reshape(x4.shape)), unbatched,
            size)


@njit(cache=True, parallel=True)
def _max_unpool2d_kernel(x, ind, out):
    """Scatter ``x`` (P, L) into zeroed ``out`` (P, oH*oW) at flat indices ``ind`` (P, L).

    Assumes every index is in range (checked by the wrapper). Within a plane writes are
    sequential, so a repeated index keeps the last value, as torch's CPU kernel does.
    """
    n_planes, length = x.shape
    for pl in prange(n_planes):                 # planes write disjoint rows of out
        for t in range(length):
            out[pl, ind[pl, t]] = x[pl, t]


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    r"""Partial inverse of :func:`max_pool2d`, like ``torch.nn.functional.max_unpool2d``.

    Parameters
    ----------
    input : ndarray, shape (N, C, H, W) or (C, H, W)
    indices : ndarray of int64, same shape as ``input``
        Flat indices ``h * W_out + w`` into each output plane, as returned by
        ``max_pool2d(..., return_indices=True)``.
    kernel_size, stride, padding : int or (int, int)
        Those of the max pooling being undone (``stride=None`` means ``kernel_size``).
    output_size : (H_out, W_out) or (N, C, H_out, W_out), optional
        Resolves the ambiguity of floor division in the pooling output size; must lie
        strictly within ``default ± stride``.

    Returns
    -------
    ndarray, shape (N, C, H_out, W_out) (or (C, H_out, W_out))
        Zeros everywhere except ``out.flat[indices] = input`` per plane.

    Notes
    -----
    .. math:: H_{out} = (H_{in} - 1) s - 2p + k \quad\text{(default)}

    Raises ``ValueError`` if an index is outside ``[0, H_out W_out)``.
    """
    x, ind, unbatched, (o_h, o_w) = _unpool_setup(input, indices, kernel_size, stride, padding,
                                                   output_size)
    n, c, h, w = x.shape
    out = np.zeros((n * c, o_h * o_w), dtype=x.dtype)
    if o_h * o_w:   # empty planes: nothing to scatter (and the kernel must not write into them)
        _max_unpool2d_kernel(x.reshape(n * c, h * w), ind.reshape(n * c, h * w), out)
    return _finish(out.reshape(n, c, o_h, o_w), unbatched)


def max_unpool2d_naive(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Reference for :func:`max_unpool2d`: a Python loop of scatters (tests only)."""
    x, ind, unbatched, (o_h, o_w) = _unpool_setup(input, indices, kernel_size, stride, padding,
                                                   output_size)
    n, c = x.shape[:2]
    out = np.zeros((n, c, o_h * o_w), dtype=x.dtype)
    for a in range(n):
        for b in range(c):
            for v, i in zip(x[a, b].reshape(-1), ind[a, b].reshape(-1)):
                out[a, b, i] = v
    return _finish(out.reshape(n, c, o_h, o_w), unbatched)
