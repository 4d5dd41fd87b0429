r"""Resampling: ``interpolate`` (nearest, (bi)linear, bicubic, area) and a naive reference.

Explained in chapter 30 (resizing inputs of different sizes) and chapter 32 (upsampling,
bilinear interpolation, ``align_corners``).

Each output coordinate :math:`i` along a dim of input size :math:`n` and output size
:math:`m` is mapped to a source coordinate, exactly as torch's CPU kernels do it:

==================  ================================================================
mode                source coordinate
==================  ================================================================
nearest             :math:`\min(\lfloor i\,r \rfloor, n - 1)`
nearest-exact       :math:`\min(\lfloor (i + 0.5)\,r \rfloor, n - 1)`
linear, bilinear    :math:`r (i + 0.5) - 0.5` clamped at 0 (``align_corners=False``);
                    :math:`i (n-1)/(m-1)` (``align_corners=True``)
bicubic             the same without the clamp at 0; four taps around it, the ones
                    beyond the border clamped to the edge (:mod:`cnnlib._bicubic`)
area                none: output :math:`i` averages inputs
                    :math:`[\lfloor i n/m \rfloor, \lceil (i+1) n/m \rceil)`, i.e.
                    adaptive average pooling (:func:`cnnlib.adaptive_avg_pool2d`)
==================  ================================================================

where :math:`r = 1/\text{scale\_factor}` when a scale factor is given (and
``recompute_scale_factor`` is not ``True``), else :math:`r = n / m`. The two differ when
:math:`n \cdot \text{scale\_factor}` is not an integer: the output size is floored, but
the mapping keeps the exact factor. Like torch, the ratio and the source coordinate are
computed in float32 (float64 for float64 linear modes), and a linear dim whose output size
equals its input size is copied unchanged. torch's 4-D ``'nearest'`` kernel (and only that
one) also copies a dim of unchanged size and maps :math:`i \mapsto \lfloor i/2 \rfloor` when
the size exactly doubles, whatever the scale factor; this is reproduced too.
"""
from __future__ import annotations

import numbers

import numpy as np
from numba import njit, prange

from ._bicubic import A, cubic_taps, separable_resample
from ._checks import is_int
from ._pool import adaptive_avg_pool2d
from ._validation import as_array

__all__ = ["interpolate", "interpolate_naive"]

_OURS = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "area")
_TORCH_ONLY = ("trilinear", "lanczos")
_NDIM = {"linear": 3, "bilinear": 4, "bicubic": 4}
_NO_ALIGN = ("nearest", "nearest-exact", "area")     # modes without align_corners


class InterpolateNdimError(ValueError, NotImplementedError):
    """Input of the wrong dimensionality for the mode.

    A ``ValueError`` (cnnlib's convention) that is also a ``NotImplementedError``, the type
    torch raises here, so code written for either catches it.
    """


def _parse(input, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias):
    """Check arguments in torch's order; return ``(x, out_sizes, scales, align_corners)``.

    ``scales[d]`` is the user's scale factor for dim ``d``, or ``None`` when the mapping
    must use ``in/out`` (size given, or ``recompute_scale_factor=True``).
    """
    if not isinstance(mode, str) or mode not in _OURS:
        extra = " (torch has it; cnnlib does not implement it)" if mode in _TORCH_ONLY else ""
        raise ValueError(f"mode={mode!r} is not supported{extra}; expected one of "
                         f"{', '.join(repr(m) for m in _OURS)}")
    if mode in _NO_ALIGN:
        if align_corners is not None:
            raise ValueError(f"align_corners={align_corners!r} can only be set with the "
                             "interpolating modes 'linear' | 'bilinear' | 'bicubic', not "
                             f"mode={mode!r}")
    else:
        if align_corners is None:
            align_corners = False
        if not isinstance(align_corners, (bool, np.bool_)):
            raise TypeError(f"align_corners={align_corners!r} must be a bool or None")
        align_corners = bool(align_corners)
    x = as_array(input, "input")
    if x.ndim not in (3, 4, 5) or (mode in _NDIM and x.ndim != _NDIM[mode]):
        need = f"{_NDIM[mode]}-D" if mode in _NDIM else "3-D, 4-D or 5-D"
        raise InterpolateNdimError(f"mode={mode!r} needs {need} input (N, C, *spatial), got "
                                   f"{x.ndim}-D input of shape {tuple(x.shape)}")
    dim = x.ndim - 2
    spatial = tuple(int(v) for v in x.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError(f"only one of size={size!r} or scale_factor={scale_factor!r} "
                         "should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined (both are None)")
    if recompute_scale_factor is not None and not isinstance(recompute_scale_factor,
                                                             (bool, np.bool_)):
        raise TypeError(f"recompute_scale_factor={recompute_scale_factor!r} must be a bool "
                        "or None")
    if size is not None:
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * dim
        if len(sizes) != dim:
            raise ValueError(f"size={size!r} must have {dim} entries for input with spatial "
                             f"shape {spatial}")
        if not all(is_int(v) for v in sizes):
            raise TypeError(f"size={size!r} must be an int or a tuple of ints")
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor=True is not meaningful with an explicit "
                             f"size={size!r}")
        out, scales = [int(v) for v in sizes], [None] * dim
    else:
        factors = (list(scale_factor) if isinstance(scale_factor, (tuple, list))
                   else [scale_factor] * dim)
        if len(factors) != dim:
            raise ValueError(f"scale_factor={scale_factor!r} must have {dim} entries for input "
                             f"with spatial shape {spatial}")
        if not all(isinstance(f, numbers.Real) and not isinstance(f, (bool, np.bool_))
                   for f in factors):
            raise TypeError(f"scale_factor={scale_factor!r} must be a number or a tuple of "
                            "numbers")
        factors = [float(f) for f in factors]
        if not all(np.isfinite(f) for f in factors):
            raise ValueError(f"scale_factor={scale_factor!r} must be finite")
        out = [int(np.floor(n * f)) for n, f in zip(spatial, factors)]   # torch floors
        scales = [None] * dim if recompute_scale_factor else factors
    if antialias:
        raise ValueError(f"antialias={antialias!r} is not supported by cnnlib")
    # 'area' is adaptive pooling, which (in torch too) may produce an empty output
    if any(n <= 0 for n in spatial) or any(m < (0 if mode == "area" else 1) for m in out):
        raise ValueError(f"input and output sizes must be positive, got input spatial shape "
                         f"{spatial} and output size {tuple(out)}")
    return x, tuple(out), scales, align_corners


def _ratio(n_in, n_out, scale, dtype):
    """torch's ``compute_scales_value``: ``1/scale`` if a scale is given, else ``in/out``."""
    t = np.dtype(dtype).type
    if scale is not None and scale > 0:
        return t(1.0 / scale)
    return t(n_in) / t(n_out)


def _nearest_index(n_in, n_out, scale, exact, shortcut):
    """Source index of every output index along one dim (int64, length ``n_out``).

    ``shortcut``: torch's 2-D ``'nearest'`` kernel (only that one) copies a dim whose size is
    unchanged and maps ``i -> i // 2`` when the size exactly doubles, whatever the scale.
    """
    i = np.arange(n_out)
    if shortcut and n_out == n_in:
        return i
    if shortcut and n_out == 2 * n_in:
        return i >> 1
    r = _ratio(n_in, n_out, scale, np.float32)          # torch uses a float32 ratio here
    if exact:   # (i + 0.5) is a double in torch; the product is rounded to float for floorf
        src = np.floor(((i + 0.5) * np.float64(r)).astype(np.float32))
    else:       # i * r in float32
        src = np.floor(i.astype(np.float32) * r)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _source(n_in, n_out, scale, align_corners, dtype, clamp=True):
    """Source coordinate of every output index along one dim (linear/cubic modes).

    torch's ``area_pixel_compute_source_index``; ``clamp=False`` (bicubic) keeps negative
    coordinates near the left/top border instead of clamping them at 0.
    """
    t = np.dtype(dtype).type
    i = np.arange(n_out).astype(dtype)
    if align_corners:
        r = t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)
        return r * i
    r = _ratio(n_in, n_out, scale, dtype)
    src = r * (i + t(0.5)) - t(0.5)                      # half-pixel centres
    return np.maximum(src, t(0)) if clamp else src


def _linear_weights(n_in, n_out, scale, align_corners, dtype):
    """``(i0, i1, l0, l1)`` along one dim: out[i] = l0[i] * x[i0[i]] + l1[i] * x[i1[i]]."""
    t = np.dtype(dtype).type
    i = np.arange(n_out)
    if n_out == n_in:                                    # torch copies this dim unchanged
        return i, i.copy(), np.ones(n_out, dtype), np.zeros(n_out, dtype)
    src = _source(n_in, n_out, scale, align_corners, dtype)
    i0 = np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), n_in - 1)  # floorf
    l1 = np.clip(src - i0.astype(dtype), t(0), t(1)).astype(dtype)
    i1 = i0 + (i0 < n_in - 1)
    return i0, i1, (t(1) - l1).astype(dtype), l1


@njit(cache=True, parallel=True)
def _bilinear_kernel(x, h0, h1, lh0, lh1, w0, w1, lw0, lw1, out):
    """Bilinear resampling of ``x`` (P, H, W) into ``out`` (P, oH, oW).

    Row ``oh`` blends input rows ``h0[oh]``/``h1[oh]`` with weights ``lh0``/``lh1``; column
    ``ow`` blends columns ``w0[ow]``/``w1[ow]`` with ``lw0``/``lw1`` (indices in range).
    """
    n_planes = x.shape[0]
    o_h, o_w = out.shape[1], out.shape[2]
    for pl in prange(n_planes):
        for oh in range(o_h):
            top = x[pl, h0[oh]]                  # the two input rows under output row oh
            bot = x[pl, h1[oh]]
            for ow in range(o_w):
                a, b = w0[ow], w1[ow]            # the two input columns under output column ow
                out[pl, oh, ow] = (lh0[oh] * (lw0[ow] * top[a] + lw1[ow] * top[b])
                                   + lh1[oh] * (lw0[ow] * bot[a] + lw1[ow] * bot[b]))


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    r"""Resize by nearest, (bi)linear, bicubic or area interpolation (``F.interpolate``).

    Parameters
    ----------
    input : ndarray, shape (N, C, L), (N, C, H, W) or (N, C, D, H, W)
        Always batched (as in torch): the number of spatial dims is ``input.ndim - 2``.
        ``'linear'`` needs 3-D input, ``'bilinear'`` and ``'bicubic'`` 4-D; the nearest modes
        and ``'area'`` take all three.
    size : int or tuple of ints, optional
        Output spatial size. Exactly one of ``size`` and ``scale_factor`` must be given.
    scale_factor : float or tuple of floats, optional
        Output size is ``floor(input_size * scale_factor)``.
    mode : {'nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', 'area'}
        ``'nearest'`` is torch's legacy rule ``floor(i * r)`` (shifts the image by up to half
        an input pixel); ``'nearest-exact'`` uses pixel centres ``floor((i + 0.5) r)``.
        ``'bicubic'`` blends 4×4 pixels with Keys' cubic kernel, :math:`A = -0.75`
        (:mod:`cnnlib._bicubic`); ``'area'`` is adaptive average pooling to the output size.
    align_corners : bool, optional
        Linear and bicubic modes only (default ``False``): ``True`` maps the corner pixel
        centres onto each other, ``False`` maps the corner pixel edges (half-pixel centres).
    recompute_scale_factor : bool, optional
        ``True``: compute the output size from ``scale_factor``, then map with ``in/out`` as
        if that size had been passed. Otherwise a given ``scale_factor`` maps with
        ``1/scale_factor``.
    antialias : bool
        Must be ``False`` (torch's anti-aliased resize is not implemented; departure).

    Returns
    -------
    ndarray, shape (N, C, *output_size), dtype of ``input``

    Notes
    -----
    With source coordinate :math:`u` (module docstring), linear interpolation is
    :math:`y_i = (1 - \lambda) x_{\lfloor u \rfloor} + \lambda x_{\lfloor u \rfloor + 1}`,
    :math:`\lambda = u - \lfloor u \rfloor` (the right neighbour is clamped at the border);
    bilinear applies it along H and W. Bicubic uses four taps per dim and can overshoot the
    input's range; ``'area'`` ignores ``scale_factor`` except for the output size (the windows
    depend only on input and output sizes). Modes ``'trilinear'`` and ``'lanczos'`` raise
    ``ValueError``. Input of the wrong dimensionality for the mode raises
    :class:`InterpolateNdimError` (both a ``ValueError`` and torch's ``NotImplementedError``).
    Chapter 32 compares the modes; chapter 30 resizes inputs of different sizes.
    """
    x, out_size, scales, align_corners = _parse(input, size, scale_factor, mode, align_corners,
                                                recompute_scale_factor, antialias)
    n, c = x.shape[:2]
    if mode in ("nearest", "nearest-exact"):
        # a gather along each spatial axis; NumPy's take is already a tight loop
        out = x
        for axis, (n_in, n_out, s) in enumerate(zip(x.shape[2:], out_size, scales)):
            index = _nearest_index(n_in, n_out, s, mode == "nearest-exact",
                                   shortcut=(mode == "nearest" and x.ndim == 4))
            out = np.take(out, index, axis=axis + 2)
        return np.ascontiguousarray(out)
    if mode == "area":
        return _area(x, out_size)
    dt = x.dtype
    if mode == "bicubic":
        (ih, wh), (iw, ww) = (cubic_taps(_source(n_in, n_out, s, align_corners, dt, clamp=False),
                                         n_in)
                              for n_in, n_out, s in zip(x.shape[2:], out_size, scales))
        out = np.empty((n * c,) + out_size, dtype=dt)
        separable_resample(np.ascontiguousarray(x).reshape((n * c,) + x.shape[2:]),
                           ih, wh, iw, ww, out)
        return out.reshape((n, c) + out_size)
    if mode == "linear":
        h_w = (np.zeros(1, np.int64), np.zeros(1, np.int64), np.ones(1, dt), np.zeros(1, dt))
        x3 = np.ascontiguousarray(x).reshape(n * c, 1, x.shape[2])
        o_h = 1
    else:
        h_w = _linear_weights(x.shape[2], out_size[0], scales[0], align_corners, dt)
        x3 = np.ascontiguousarray(x).reshape(n * c, x.shape[2], x.shape[3])
        o_h = out_size[0]
    w_w = _linear_weights(x.shape[-1], out_size[-1], scales[-1], align_corners, dt)
    out = np.empty((n * c, o_h, out_size[-1]), dtype=dt)
    _bilinear_kernel(x3, *h_w, *w_w, out)
    return out.reshape((n, c) + out_size)


def _area(x, out_size):
    """Mode ``'area'``: adaptive average pooling over 1, 2 or 3 spatial dims (as torch).

    Built on :func:`cnnlib.adaptive_avg_pool2d`: a 1-D input is a 2-D one of height 1, and a
    3-D box average is a 2-D one over (H, W) followed by one over D (the boxes are products
    of per-dim windows, so averaging per dim in turn gives the same mean).
    """
    n, c, *spatial = x.shape
    if 0 in out_size:
        return np.zeros((n, c) + out_size, dtype=x.dtype)
    if len(spatial) == 1:
        return adaptive_avg_pool2d(x[:, :, None, :], (1,) + out_size)[:, :, 0, :]
    if len(spatial) == 2:
        return adaptive_avg_pool2d(x, out_size)
    d, h, w = spatial
    o_d, o_h, o_w = out_size
    hw = adaptive_avg_pool2d(x.reshape(n, c * d, h, w), (o_h, o_w))
    out = adaptive_avg_pool2d(hw.reshape(n, c, d, o_h * o_w), (o_d, o_h * o_w))
    return out.reshape(n, c, o_d, o_h, o_w)


def interpolate_naive(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                      recompute_scale_factor=None, antialias=False):
    """Reference for :func:`interpolate`: one Python loop per output pixel (tests only).

    Recomputes every source coordinate with scalar float32 arithmetic (float64 for float64
    linear/cubic modes), independently of the vectorised index maps of :func:`interpolate`;
    bicubic weights come from the piecewise formula of Keys' kernel, area weights from the
    pooling windows.
    """
    x, out_size, scales, align_corners = _parse(input, size, scale_factor, mode, align_corners,
                                                recompute_scale_factor, antialias)
    f32 = np.float32
    t = f32 if (mode.startswith("nearest") or x.dtype == np.float32) else np.float64

    def ratio(n_in, n_out, s, typ):
        return typ(1.0 / s) if s is not None else typ(n_in) / typ(n_out)

    def nearest(i, n_in, n_out, s):
        if mode == "nearest" and x.ndim == 4 and n_out in (n_in, 2 * n_in):
            return i * n_in // n_out                     # torch's 2-D shortcut: i or i // 2
        r = ratio(n_in, n_out, s, f32)
        u = f32((i + 0.5) * float(r)) if mode == "nearest-exact" else f32(i) * r
        return min(int(np.floor(u)), n_in - 1)

    def linear(i, n_in, n_out, s):
        if n_in == n_out:
            return [(i, t(1))]
        if align_corners:
            u = (t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)) * t(i)
        else:
            u = max(ratio(n_in, n_out, s, t) * (t(i) + t(0.5)) - t(0.5), t(0))
        i0 = min(int(np.floor(f32(u))), n_in - 1)
        lam = min(max(u - t(i0), t(0)), t(1))
        return [(i0, t(1) - lam), (min(i0 + 1, n_in - 1), lam)]

    def keys(d):                                         # Keys' cubic kernel W(d), A = -0.75
        d = abs(d)
        if d <= 1:
            return (A + 2) * d ** 3 - (A + 3) * d ** 2 + 1
        return A * d ** 3 - 5 * A * d ** 2 + 8 * A * d - 4 * A if d < 2 else 0.0

    def cubic(i, n_in, n_out, s):
        if align_corners:
            u = (t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)) * t(i)
        else:                                            # not clamped at 0
            u = ratio(n_in, n_out, s, t) * (t(i) + t(0.5)) - t(0.5)
        i0 = min(int(np.floor(f32(u))), n_in - 1)
        lam = min(max(float(u) - i0, 0.0), 1.0)
        # tap j sits at i0 - 1 + j (clamped to the border), at distance |lam + 1 - j| from u
        return [(min(max(i0 - 1 + j, 0), n_in - 1), keys(lam + 1 - j)) for j in range(4)]

    def area(i, n_in, n_out, s):                         # the adaptive-pooling window
        lo, hi = (i * n_in) // n_out, -(-(i + 1) * n_in // n_out)
        return [(k, 1.0 / (hi - lo)) for k in range(lo, hi)]

    rule = {"linear": linear, "bilinear": linear, "bicubic": cubic, "area": area}.get(mode)
    out = np.zeros(x.shape[:2] + out_size, dtype=x.dtype)
    spatial = x.shape[2:]
    for o in np.ndindex(*out_size):
        if mode.startswith("nearest"):
            src = tuple(nearest(i, n, m, s) for i, n, m, s in zip(o, spatial, out_size, scales))
            out[(...,) + o] = x[(...,) + src]
            continue
        taps = [rule(i, n, m, s) for i, n, m, s in zip(o, spatial, out_size, scales)]
        acc = np.zeros(x.shape[:2], dtype=np.float64)
        for combo in np.ndindex(*(len(tp) for tp in taps)):
            weight = np.prod([float(taps[d][j][1]) for d, j in enumerate(combo)])
            src = tuple(taps[d][j][0] for d, j in enumerate(combo))
            acc += weight * x[(...,) + src]
        out[(...,) + o] = acc
    return out
