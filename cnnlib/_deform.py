"""Deformable convolution, DCN v1 (learned offsets) and v2 (offsets + modulation mask).

Every kernel tap samples the input at its regular grid position plus a learned, fractional
offset (bilinear interpolation); DCN v2 also multiplies each sample by a mask in [0, 1].
Implemented as a *deformable* im2col (numba) followed by the same GEMM as ``method="im2col"``.
Semantics and tensor layout of ``torchvision.ops.deform_conv2d``. Explained in the chapter on
deformable convolution ("Beyond the 33").
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._im2col import conv_from_columns
from ._validation import as_array, conv_spec, same_dtype


@njit(cache=True, inline="always")
def _bilinear(img, y, x):
    """``img`` (H, W) at the real point (y, x); pixels outside the image count as 0.

    Exactly torchvision's rule: 0 if the point is at least one pixel outside, otherwise the
    four neighbours weighted by ``(1-ly)(1-lx)``, ``(1-ly)lx``, ``ly(1-lx)``, ``ly·lx``.
    """
    h, w = img.shape
    if y <= -1 or y >= h or x <= -1 or x >= w:
        return 0.0
    y0, x0 = int(math.floor(y)), int(math.floor(x))
    ly, lx = y - y0, x - x0
    v00 = img[y0, x0] if y0 >= 0 and x0 >= 0 else 0.0
    v01 = img[y0, x0 + 1] if y0 >= 0 and x0 + 1 < w else 0.0
    v10 = img[y0 + 1, x0] if y0 + 1 < h and x0 >= 0 else 0.0
    v11 = img[y0 + 1, x0 + 1] if y0 + 1 < h and x0 + 1 < w else 0.0
    return ((1 - ly) * (1 - lx) * v00 + (1 - ly) * lx * v01
            + ly * (1 - lx) * v10 + ly * lx * v11)


@njit(parallel=True, cache=True)
def _deform_im2col(x, offset, mask, kh, kw, sh, sw, ph, pw, dh, dw, cols):
    """Fill ``cols (N, C·kh·kw, ho·wo)`` with bilinear samples at the deformed tap positions.

    Tap ``t = i·kw + j`` of output ``(oy, ox)`` for a channel in offset group ``og`` samples
    ``(oy·sh - ph + i·dh + Δy, ox·sw - pw + j·dw + Δx)`` with
    ``Δy = offset[n, 2(og·kh·kw + t), oy, ox]``, ``Δx = offset[n, 2(og·kh·kw + t) + 1, oy, ox]``,
    times ``mask[n, og·kh·kw + t, oy, ox]``.
    """
    n_batch, c_in = x.shape[:2]
    _, _, ho, wo = offset.shape
    per_group = c_in // (offset.shape[1] // (2 * kh * kw))   # channels per offset group
    for nc in prange(n_batch * c_in):
        n, c = nc // c_in, nc % c_in
        og = c // per_group
        for i in range(kh):
            for j in range(kw):
                t = i * kw + j
                row = c * kh * kw + t
                for oy in range(ho):
                    for ox in range(wo):
                        y = oy * sh - ph + i * dh + offset[n, 2 * (og * kh * kw + t), oy, ox]
                        xx = ox * sw - pw + j * dw + offset[n, 2 * (og * kh * kw + t) + 1, oy, ox]
                        cols[n, row, oy * wo + ox] = (_bilinear(x[n, c], y, xx)
                                                      * mask[n, og * kh * kw + t, oy, ox])


def deform_conv2d_naive(x, offset, weight, bias, stride, padding, dilation, mask):
    """Reference DCN: Python loops over every output pixel, tap and channel (tiny inputs only).

    Arguments are already normalised: batched arrays, int pairs, ``mask`` an array.
    """
    n_batch, c_in, h, w = x.shape
    c_out, c_g, kh, kw = weight.shape
    groups = c_in // c_g
    _, _, ho, wo = offset.shape
    per_group = c_in // (offset.shape[1] // (2 * kh * kw))
    out = np.zeros((n_batch, c_out, ho, wo), dtype=x.dtype)

    def sample(img, y, xx):
        total = 0.0
        for yy in (math.floor(y), math.floor(y) + 1):
            for xc in (math.floor(xx), math.floor(xx) + 1):
                if 0 <= yy < h and 0 <= xc < w:
                    total += (1 - abs(y - yy)) * (1 - abs(xx - xc)) * img[yy, xc]
        return total

    for n in range(n_batch):
        for k in range(c_out):
            g = k // (c_out // groups)
            for oy in range(ho):
                for ox in range(wo):
                    acc = bias[k] if bias is not None else 0.0
                    for cg in range(c_g):
                        c = g * c_g + cg
                        og = c // per_group
                        for i in range(kh):
                            for j in range(kw):
                                t = og * kh * kw + i * kw + j
                                y = oy * stride[0] - padding[0] + i * dilation[0] + offset[n, 2 * t, oy, ox]
                                xx = ox * stride[1] - padding[1] + j * dilation[1] + offset[n, 2 * t + 1, oy, ox]
                                acc += weight[k, cg, i, j] * mask[n, t, oy, ox] * sample(x[n, c], y, xx)
                    out[n, k, oy, ox] = acc
    return out


def deform_conv2d(input, offset, weight, bias=None, stride=1, padding=0, dilation=1, mask=None):
    r"""Deformable 2-D convolution (``torchvision.ops.deform_conv2d``): DCN v1, v2 with ``mask``.

    Parameters
    ----------
    input : array, shape (N, C_in, H, W) or unbatched (C_in, H, W)
    offset : array, shape (N, 2·G_off·kh·kw, H_out, W_out) (no N if unbatched)
        Channel ``2(g·kh·kw + i·kw + j)`` is the **row** offset Δy and channel
        ``2(g·kh·kw + i·kw + j) + 1`` the **column** offset Δx of tap ``(i, j)`` for offset group
        ``g``. The number of offset groups ``G_off`` is inferred from the channel count;
        input channel ``c`` uses group ``c // (C_in / G_off)``.
    weight : array, shape (C_out, C_in/groups, kh, kw)
        ``groups = C_in / weight.shape[1]`` is inferred, as in torchvision.
    bias : array, shape (C_out,), optional
    stride, padding, dilation : int or (int, int)
    mask : array, shape (N, G_off·kh·kw, H_out, W_out), optional
        DCN v2 modulation: channel ``g·kh·kw + i·kw + j`` scales tap ``(i, j)`` of group ``g``.
        ``None`` means all ones (DCN v1).

    Returns
    -------
    output : array, shape (N, C_out, H_out, W_out) or (C_out, H_out, W_out)

    Notes
    -----
    .. math:: y[k, o] = b_k + \sum_{c, t} w[k, c, t]\; m_t(o)\;
              x_c\big(s\,o - p + d\,t + \Delta_t(o)\big)

    where :math:`x_c(\cdot)` is bilinear interpolation with zeros outside the image (torchvision's
    rule: a point one pixel or more outside is 0). Zero offsets and no mask give ``conv2d``;
    integer offsets sample the input shifted by whole pixels.
    """
    fn = "deform_conv2d"
    x = as_array(input, "input")
    w = as_array(weight, "weight")
    if x.ndim not in (3, 4):
        raise ValueError(f"{fn}: input must be 3-D (unbatched) or 4-D (batched), got "
                         f"{x.ndim}-D with shape {tuple(x.shape)}")
    if w.ndim != 4:
        raise ValueError(f"{fn}: weight must be 4-D (C_out, C_in/groups, kh, kw), got shape "
                         f"{tuple(w.shape)}")
    c_in = x.shape[-3]
    if w.shape[1] == 0 or c_in % w.shape[1]:
        raise ValueError(f"{fn}: input has {c_in} channels, not a multiple of "
                         f"weight.shape[1]={w.shape[1]}")
    spec = conv_spec(x, w, bias, stride, padding, dilation, c_in // w.shape[1], 2, fn)
    kh, kw = w.shape[2:]
    off = as_array(offset, "offset")
    same_dtype(spec.x, off, "input", "offset")
    off = off[None] if spec.unbatched and off.ndim == 3 else off
    n_batch = spec.x.shape[0]
    expected = (n_batch, None) + tuple(spec.out_spatial)
    if off.ndim != 4 or off.shape[0] != n_batch or off.shape[2:] != expected[2:]:
        raise ValueError(f"{fn}: offset must have shape (N={n_batch}, 2·offset_groups·kh·kw, "
                         f"{spec.out_spatial[0]}, {spec.out_spatial[1]}), got {tuple(np.shape(offset))}")
    if off.shape[1] == 0 or off.shape[1] % (2 * kh * kw):
        raise ValueError(f"{fn}: offset.shape[1]={off.shape[1]} is not a positive multiple of "
                         f"2·kh·kw={2 * kh * kw}")
    off_groups = off.shape[1] // (2 * kh * kw)
    if c_in % off_groups:
        raise ValueError(f"in_channels={c_in} is not divisible by offset_groups={off_groups} "
                         f"(offset has {off.shape[1]} channels)")
    if mask is None:
        m = np.ones((n_batch, off_groups * kh * kw) + tuple(spec.out_spatial), dtype=spec.x.dtype)
    else:
        m = as_array(mask, "mask")
        same_dtype(spec.x, m, "input", "mask")
        m = m[None] if spec.unbatched and m.ndim == 3 else m
        if m.shape != (n_batch, off_groups * kh * kw) + tuple(spec.out_spatial):
            raise ValueError(f"{fn}: mask must have shape (N={n_batch}, offset_groups·kh·kw="
                             f"{off_groups * kh * kw}, {spec.out_spatial[0]}, "
                             f"{spec.out_spatial[1]}), got {tuple(np.shape(mask))}")
    (sh, sw), (ph, pw), (dh, dw) = spec.stride, spec.pad_lo, spec.dilation
    ho, wo = spec.out_spatial
    cols = np.empty((n_batch, c_in * kh * kw, ho * wo), dtype=spec.x.dtype)
    _deform_im2col(spec.x, np.ascontiguousarray(off), np.ascontiguousarray(m),
                   kh, kw, sh, sw, ph, pw, dh, dw, cols)
    out = conv_from_columns(cols, spec.w, spec.b if spec.has_bias else None, spec.groups,
                            spec.out_spatial)
    return out[0] if spec.unbatched else out
