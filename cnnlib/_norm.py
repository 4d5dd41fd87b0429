"""Batch normalisation (inference form) and conv–BN fusion.

Explained in chapter 12 (role of BN), chapter 13 (where BN goes) and chapter 25 (conv–BN fusion).
Both are per-channel affine maps, so plain vectorised NumPy is as fast as a numba kernel here.
"""
from __future__ import annotations

import numpy as np

from ._validation import as_array


def _channel_vector(v, name: str, c: int, dtype) -> np.ndarray:
    arr = as_array(v, name)
    if arr.dtype != dtype:
        raise TypeError(f"{name} has dtype {arr.dtype} but input has dtype {dtype}; they must match")
    if arr.shape != (c,):
        raise ValueError(f"{name} must have shape ({c},), got {tuple(arr.shape)}")
    return arr


def batch_norm(input, running_mean, running_var, weight=None, bias=None, eps=1e-5, *,
               training=False, momentum=0.1):
    r"""Batch normalisation over the channel dim 1, like ``torch.nn.functional.batch_norm``.

    .. math:: y = \frac{x - \mu_c}{\sqrt{\sigma^2_c + \epsilon}}\,\gamma_c + \beta_c

    Parameters
    ----------
    input : ndarray, shape (N, C, *)
        ``(N, C)``, ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
    running_mean, running_var : ndarray, shape (C,)
        The statistics used in inference mode.
    weight, bias : ndarray, shape (C,), optional
        :math:`\gamma` and :math:`\beta` (default 1 and 0).
    eps : float
    training : bool, keyword-only
        ``False`` (default) is the inference form used by ``model.eval()``. ``True`` normalises
        with the batch statistics (biased variance) and updates ``running_mean``/``running_var``
        in place with ``momentum`` and the *unbiased* variance, as torch does.

    Notes
    -----
    Departure from torch: torch's positional order is ``(..., weight, bias, training, momentum,
    eps)``; here ``eps`` is the sixth positional argument (the inference form of the book's API)
    and ``training``/``momentum`` are keyword-only.
    """
    x = as_array(input, "input")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must be at least 2-D (N, C, ...), got shape {tuple(x.shape)}")
    if not isinstance(eps, (int, float)) or eps < 0:
        raise ValueError(f"eps={eps!r} must be a non-negative number")
    c = x.shape[1]
    mean = _channel_vector(running_mean, "running_mean", c, x.dtype)
    var = _channel_vector(running_var, "running_var", c, x.dtype)
    gamma = np.ones(c, x.dtype) if weight is None else _channel_vector(weight, "weight", c, x.dtype)
    beta = np.zeros(c, x.dtype) if bias is None else _channel_vector(bias, "bias", c, x.dtype)
    shape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        axes = (0,) + tuple(range(2, x.ndim))
        count = x.size // c
        if count <= 1:
            raise ValueError(f"batch_norm: training needs more than 1 value per channel, "
                             f"got input shape {tuple(x.shape)}")
        batch_mean = x.mean(axis=axes)
        batch_var = x.var(axis=axes)
        if isinstance(running_mean, np.ndarray):
            running_mean *= 1 - momentum
            running_mean += momentum * batch_mean
        if isinstance(running_var, np.ndarray):
            running_var *= 1 - momentum
            running_var += momentum * batch_var * count / (count - 1)
        mean, var = batch_mean, batch_var
    scale = (gamma / np.sqrt(var + x.dtype.type(eps))).astype(x.dtype)
    shift = (beta - mean * scale).astype(x.dtype)
    return x * scale.reshape(shape) + shift.reshape(shape)


def fuse_conv_bn(conv_weight, conv_bias, bn_mean, bn_var, bn_weight, bn_bias, eps=1e-5):
    r"""Fold an inference-mode BatchNorm into the preceding convolution.

    .. math::
        W' = W \cdot \frac{\gamma}{\sqrt{\sigma^2 + \epsilon}}, \qquad
        b' = (b - \mu)\,\frac{\gamma}{\sqrt{\sigma^2 + \epsilon}} + \beta

    (scales broadcast over the output-channel dim 0 of ``W``). Works for any
    ``conv{1,2,3}d`` weight ``(C_out, C_in/groups, *kernel)``; ``conv_bias`` may be ``None``.
    ``bn_weight``/``bn_bias`` may be ``None`` for a BN without affine parameters.

    Returns
    -------
    (weight, bias) : ndarrays of shapes ``conv_weight.shape`` and ``(C_out,)``.

    Derived in chapter 25 (conv–BN fusion).
    """
    w = as_array(conv_weight, "conv_weight")
    if w.ndim < 3:
        raise ValueError(f"conv_weight must be (C_out, C_in/groups, *kernel), got shape {tuple(w.shape)}")
    c = w.shape[0]
    if conv_bias is None:
        b = np.zeros(c, w.dtype)
    else:
        b = _channel_vector(conv_bias, "conv_bias", c, w.dtype)
    mean = _channel_vector(bn_mean, "bn_mean", c, w.dtype)
    var = _channel_vector(bn_var, "bn_var", c, w.dtype)
    gamma = np.ones(c, w.dtype) if bn_weight is None else _channel_vector(bn_weight, "bn_weight", c, w.dtype)
    beta = np.zeros(c, w.dtype) if bn_bias is None else _channel_vector(bn_bias, "bn_bias", c, w.dtype)
    if not isinstance(eps, (int, float)) or eps < 0:
        raise ValueError(f"eps={eps!r} must be a non-negative number")
    scale = gamma / np.sqrt(var + w.dtype.type(eps))
    fused_w = w * scale.reshape((c,) + (1,) * (w.ndim - 1))
    fused_b = (b - mean) * scale + beta
    return fused_w.astype(w.dtype), fused_b.astype(w.dtype)

