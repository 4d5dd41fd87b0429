r"""Rearranging channels and pixels: ``pixel_shuffle``, ``pixel_unshuffle``, ``channel_shuffle``.

Explained in chapter 32 (sub-pixel convolution: a stride-1 convolution to :math:`C r^2`
channels followed by ``pixel_shuffle`` upsamples by :math:`r` without a checkerboard) and
chapter 19 (grouped convolution: ShuffleNet's ``channel_shuffle`` lets the next grouped layer
see every group).

All three only move data (a reshape, a transpose, a reshape), so their "kernel" is NumPy's
transpose; the index maps are

===============  =========================================================================
function         index map
===============  =========================================================================
pixel_shuffle    ``out[..., c, h·r + i, w·r + j] = in[..., c·r² + i·r + j, h, w]``
pixel_unshuffle  the inverse, ``out[..., c·r² + i·r + j, h, w] = in[..., c, h·r + i, w·r + j]``
channel_shuffle  ``out[:, i·g + j] = in[:, j·(C/g) + i]`` (channel ``i`` of group ``j``)
===============  =========================================================================
"""
from __future__ import annotations

import numpy as np

from ._checks import is_int
from ._validation import as_data_array

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "pixel_shuffle_naive",
           "channel_shuffle_naive"]


def _factor(value, name: str) -> int:
    if not is_int(value):
        raise TypeError(f"{name}={value!r} must be an int")
    if value <= 0:
        raise ValueError(f"{name}={value!r} must be positive")
    return int(value)


def _at_least_3d(x, fn: str) -> None:
    if x.ndim < 3:
        raise ValueError(f"{fn}: input must have at least 3 dimensions (*, C, H, W), got "
                         f"{x.ndim}-D input of shape {tuple(x.shape)}")


def pixel_shuffle(input, upscale_factor):
    r"""Move channel blocks into space, like ``torch.nn.functional.pixel_shuffle``.

    Parameters
    ----------
    input : array, shape (*, C·r², H, W)
        Any number of leading batch dims (at least ``(C·r², H, W)``); any numeric dtype.
    upscale_factor : int
        :math:`r > 0`.

    Returns
    -------
    ndarray, shape (*, C, H·r, W·r)
        ``out[..., c, h·r + i, w·r + j] = input[..., c·r² + i·r + j, h, w]``.

    Notes
    -----
    Sub-pixel convolution (Shi et al. 2016) computes the :math:`r^2` phases of an upsampled
    image as channels at low resolution and interleaves them with this function: it equals a
    transposed convolution with stride :math:`r` and kernel :math:`r` without the uneven
    overlap that causes checkerboard artefacts (chapter 32).
    """
    x = as_data_array(input, "input")
    r = _factor(upscale_factor, "upscale_factor")
    _at_least_3d(x, "pixel_shuffle")
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise ValueError(f"pixel_shuffle: input.shape[-3]={c} channels is not divisible by "
                         f"upscale_factor**2={r * r} (upscale_factor={r})")
    # (*, C, r, r, H, W) -> (*, C, H, r, W, r): the channel phases (i, j) go next to h and w
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    n = len(lead)
    y = y.transpose(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return np.ascontiguousarray(y).reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    r"""Move space into channel blocks, like ``torch.nn.functional.pixel_unshuffle``.

    The inverse of :func:`pixel_shuffle`.

    Parameters
    ----------
    input : array, shape (*, C, H·r, W·r)
        Any number of leading batch dims; ``H·r`` and ``W·r`` divisible by :math:`r`.
    downscale_factor : int
        :math:`r > 0`.

    Returns
    -------
    ndarray, shape (*, C·r², H, W)
        ``out[..., c·r² + i·r + j, h, w] = input[..., c, h·r + i, w·r + j]``.

    Notes
    -----
    **Departure:** torch returns an *empty* input (a dim of size 0) unchanged, shape and all;
    cnnlib returns it with the unshuffled shape ``(*, C·r², H, W)``, as for any other input.
    """
    x = as_data_array(input, "input")
    r = _factor(downscale_factor, "downscale_factor")
    _at_least_3d(x, "pixel_unshuffle")
    *lead, c, h, w = x.shape
    for name, size, axis in (("height", h, -2), ("width", w, -1)):
        if size % r:
            raise ValueError(f"pixel_unshuffle: {name} input.shape[{axis}]={size} is not "
                             f"divisible by downscale_factor={r}")
    # (*, C, H, r, W, r) -> (*, C, r, r, H, W)
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    n = len(lead)
    y = y.transpose(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return np.ascontiguousarray(y).reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input, groups):
    r"""Interleave the channels of ``groups`` groups, like ``torch.nn.functional.channel_shuffle``.

    Parameters
    ----------
    input : array, shape (N, C, *spatial)
        At least 3-D; dim 1 holds the channels (as in torch, also for 3-D input).
    groups : int
        Must divide :math:`C`.

    Returns
    -------
    ndarray, same shape
        ``out[:, i·g + j] = input[:, j·(C/g) + i]``: reshape the channels to ``(g, C/g)``,
        transpose, flatten. Equals ``torch.nn.ChannelShuffle(groups)``.

    Notes
    -----
    After a grouped convolution (chapter 19) each output channel has seen one group of
    inputs only. ShuffleNet (Zhang et al. 2018) shuffles the channels so that the next grouped
    layer's groups each take one channel from every previous group.
    """
    x = as_data_array(input, "input")
    g = _factor(groups, "groups")
    if x.ndim < 3:
        raise ValueError(f"channel_shuffle: input must have more than 2 dimensions (N, C, "
                         f"*spatial), got {x.ndim}-D input of shape {tuple(x.shape)}")
    n, c = x.shape[:2]
    if c % g:
        raise ValueError(f"channel_shuffle: in_channels={c} is not divisible by groups={g}")
    y = x.reshape(n, g, c // g, *x.shape[2:]).swapaxes(1, 2)
    return np.ascontiguousarray(y).reshape(x.shape)


# ----------------------------------------------------------------------------- references
def pixel_shuffle_naive(input, upscale_factor):
    """Reference for :func:`pixel_shuffle`: one Python loop per output pixel (tests only)."""
    x = np.asarray(input)
    r = upscale_factor
    *lead, c, h, w = x.shape
    out = np.empty((*lead, c // (r * r), h * r, w * r), dtype=x.dtype)
    for oc in range(c // (r * r)):
        for oy in range(h * r):
            for ox in range(w * r):
                i, j = oy % r, ox % r              # the phase picks the input channel
                out[..., oc, oy, ox] = x[..., oc * r * r + i * r + j, oy // r, ox // r]
    return out


def channel_shuffle_naive(input, groups):
    """Reference for :func:`channel_shuffle`: one copy per output channel (tests only)."""
    x = np.asarray(input)
    c = x.shape[1]
    out = np.empty_like(x)
    for k in range(c):
        i, j = divmod(k, groups)                   # output k is channel i of group j
        out[:, k] = x[:, j * (c // groups) + i]
    return out
