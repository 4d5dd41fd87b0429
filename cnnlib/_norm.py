"""Normalisation layers: batch norm and conv–BN fusion; layer, group, instance and local response norm.

Explained in chapter 12 (role of BN), chapter 13 (where BN goes), chapter 25 (conv–BN fusion) and
the normalisation chapter (layer, group, instance norm, LRN). All are reductions plus
element-wise maps, so plain vectorised NumPy is as fast as a numba kernel here.
"""
from __future__ import annotations

import numpy as np

from ._checks import is_int
from ._validation import as_array


def _channel_vector(v, name: str, c, dtype) -> np.ndarray:
    """``v`` as an array of ``dtype`` and shape ``(c,)`` (or ``c`` itself when it is a shape
    tuple), else a TypeError/ValueError naming the argument."""
    shape = tuple(c) if isinstance(c, tuple) else (c,)
    arr = as_array(v, name)
    if arr.dtype != dtype:
        raise TypeError(f"{name} has dtype {arr.dtype} but input has dtype {dtype}; they must match")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(arr.shape)}")
    return arr


def _momentum_update_(running: np.ndarray, value, momentum) -> None:
    """torch's running-statistic update, in place: running ← (1 − momentum)·running + momentum·value."""
    running *= 1 - momentum
    running += momentum * value


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
            _momentum_update_(running_mean, batch_mean, momentum)
        if isinstance(running_var, np.ndarray):
            _momentum_update_(running_var, batch_var * count / (count - 1), momentum)
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



# ---------------------------------------------------------------------------------------------
# Per-sample normalisations (LayerNorm, GroupNorm, InstanceNorm) and AlexNet's LRN.
# Explained in the normalisation chapter ("Normalisation beyond BN"), book/w05_normalisation.
# ---------------------------------------------------------------------------------------------

def _check_eps(eps):
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps < 0:
        raise ValueError(f"eps={eps!r} must be a non-negative number")


def _standardise(x: np.ndarray, axes: tuple, eps) -> np.ndarray:
    """(x - mean) / sqrt(var + eps) over ``axes``, biased variance, in x's dtype."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=axes, keepdims=True)
    return centred / np.sqrt(var + x.dtype.type(eps))


def _affine(y: np.ndarray, weight, bias, shape: tuple, bshape: tuple) -> np.ndarray:
    """y * weight + bias, both optional, of ``shape``, broadcast as ``bshape``."""
    if weight is not None:
        y = y * _channel_vector(weight, "weight", shape, y.dtype).reshape(bshape)
    if bias is not None:
        y = y + _channel_vector(bias, "bias", shape, y.dtype).reshape(bshape)
    return y


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    r"""Layer normalisation over the trailing dims, like ``torch.nn.functional.layer_norm``.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}}\,\gamma + \beta

    with the mean and biased variance taken, separately for every leading index, over the last
    ``len(normalized_shape)`` dims, whose sizes must equal ``normalized_shape``.

    Parameters
    ----------
    input : ndarray, shape (*, *normalized_shape)
    normalized_shape : int or sequence of ints
        For an ``(N, C, H, W)`` feature map, ``(C, H, W)`` is Ba et al.'s layer norm (GroupNorm
        with one group); ``C`` on a channels-last ``(N, H, W, C)`` map is the per-position
        LayerNorm of transformers and ConvNeXt.
    weight, bias : ndarray of shape ``normalized_shape``, optional
        Element-wise :math:`\gamma` and :math:`\beta`.
    eps : float
    """
    x = as_array(input, "input")
    if is_int(normalized_shape):
        shape = (int(normalized_shape),)
    elif isinstance(normalized_shape, (tuple, list)) and all(is_int(s) for s in normalized_shape):
        shape = tuple(int(s) for s in normalized_shape)
    else:
        raise TypeError(f"normalized_shape={normalized_shape!r} must be an int or a sequence "
                        f"of ints")
    if len(shape) == 0 or len(shape) > x.ndim or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ValueError(f"normalized_shape={normalized_shape!r} does not match the last dims "
                         f"of input shape {tuple(x.shape)}")
    _check_eps(eps)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    y = _standardise(x, axes, eps)
    return _affine(y, weight, bias, shape, shape)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    r"""Group normalisation, like ``torch.nn.functional.group_norm``.

    The ``C`` channels of each sample are cut into ``num_groups`` consecutive groups; each group
    is standardised with its own mean and biased variance over its ``C/G`` channels and all
    positions; then a per-channel :math:`\gamma`, :math:`\beta`. ``num_groups=1`` is layer norm
    over ``(C, *)``, ``num_groups=C`` is instance norm.

    Parameters
    ----------
    input : ndarray, shape (N, C, *)
    num_groups : int
        Must divide ``C``.
    weight, bias : ndarray, shape (C,), optional
    eps : float
    """
    x = as_array(input, "input")
    if x.ndim < 2:
        raise ValueError(f"group_norm: input must be at least 2-D (N, C, ...), "
                         f"got shape {tuple(x.shape)}")
    if not is_int(num_groups):
        raise TypeError(f"num_groups={num_groups!r} must be an int")
    n, c = x.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise ValueError(f"num_groups={num_groups!r} must be positive and divide the "
                         f"{c} channels of input")
    _check_eps(eps)
    if n * (c // num_groups) * (x[0, 0].size if x.ndim > 2 else 1) == 1:
        # torch's own check (F.group_norm → _verify_batch_size): a batch of one sample whose
        # groups hold a single value each
        raise ValueError(f"group_norm: expected more than 1 value per group, "
                         f"got input shape {tuple(x.shape)} with num_groups={num_groups}")
    g = x.reshape(n, int(num_groups), -1)                   # (N, G, C/G · positions)
    y = _standardise(g, (2,), eps).reshape(x.shape)
    return _affine(y, weight, bias, (c,), (1, c) + (1,) * (x.ndim - 2))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    r"""Instance normalisation, like ``torch.nn.functional.instance_norm``.

    Each (sample, channel) plane is standardised over its own positions (biased variance), then
    a per-channel :math:`\gamma`, :math:`\beta`. With ``use_input_stats=False`` the given
    running statistics are used instead (BN's inference form, per channel). With
    ``use_input_stats=True`` and running statistics given, they are updated in place, as torch
    does: by ``momentum`` toward the batch average of the per-instance means and *unbiased*
    variances.

    Parameters
    ----------
    input : ndarray, shape (N, C, *), at least one spatial dim
    running_mean, running_var : ndarray, shape (C,), optional
    weight, bias : ndarray, shape (C,), optional
    use_input_stats : bool
    momentum, eps : float
    """
    x = as_array(input, "input")
    if x.ndim < 3:
        raise ValueError(f"instance_norm: input must be at least 3-D (N, C, *spatial), "
                         f"got shape {tuple(x.shape)}")
    _check_eps(eps)
    n, c = x.shape[:2]
    count = x[0, 0].size
    bshape = (1, c) + (1,) * (x.ndim - 2)
    mean = None if running_mean is None else _channel_vector(running_mean, "running_mean", c, x.dtype)
    var = None if running_var is None else _channel_vector(running_var, "running_var", c, x.dtype)
    if not use_input_stats:
        if mean is None or var is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and "
                             "running_var")
        y = (x - mean.reshape(bshape)) / np.sqrt(var.reshape(bshape) + x.dtype.type(eps))
        return _affine(y, weight, bias, (c,), bshape)
    if count <= 1:
        raise ValueError(f"instance_norm: needs more than 1 spatial element per channel, "
                         f"got input shape {tuple(x.shape)}")
    axes = tuple(range(2, x.ndim))
    if isinstance(running_mean, np.ndarray):
        _momentum_update_(running_mean, x.mean(axis=axes).mean(axis=0), momentum)
    if isinstance(running_var, np.ndarray):
        _momentum_update_(running_var, x.var(axis=axes, ddof=1).mean(axis=0), momentum)
    return _affine(_standardise(x, axes, eps), weight, bias, (c,), bshape)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    r"""Local response normalisation across channels, like ``torch.nn.functional.local_response_norm``.

    .. math:: b_c = a_c \Big/ \Big(k + \frac{\alpha}{n} \sum_{c'} a_{c'}^2\Big)^{\beta}

    with :math:`n` = ``size`` and the sum over channels ``c - size//2 … c + (size-1)//2`` that
    exist (missing ones count as zero, but the divisor stays :math:`n`). Note the
    :math:`\alpha/n`: Krizhevsky et al.'s formula has :math:`\alpha` without the division, so
    their :math:`\alpha = 10^{-4}`, :math:`n = 5` is ``alpha=5e-4`` here.

    Parameters
    ----------
    input : ndarray, shape (N, C, *)
        At least 3-D, as torch requires.
    size : int
        Number of neighbouring channels summed (AlexNet: 5).
    alpha, beta, k : float
        AlexNet: :math:`\alpha = 10^{-4}` (its own convention), :math:`\beta = 0.75`, :math:`k = 2`.
    """
    x = as_array(input, "input")
    if x.ndim < 3:
        raise ValueError(f"local_response_norm: input must be at least 3-D (N, C, *), "
                         f"got shape {tuple(x.shape)}")
    if not is_int(size):
        raise TypeError(f"size={size!r} must be an int")
    if size <= 0:
        raise ValueError(f"size={size!r} must be positive")
    c = x.shape[1]
    sq = x * x
    pad = [(0, 0)] * x.ndim
    pad[1] = (size // 2 + 1, (size - 1) // 2)               # one extra zero in front for the cumsum
    csum = np.cumsum(np.pad(sq, pad), axis=1)
    window = csum[:, size:size + c] - csum[:, :c]           # sum of the `size` channels per c
    div = (x.dtype.type(k) + x.dtype.type(alpha) / size * window) ** x.dtype.type(beta)
    return x / div
