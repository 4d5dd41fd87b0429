"""Argument checking and normalisation shared by every public function.

Every public wrapper in cnnlib funnels its arguments through these helpers, so that a bad
argument raises a ``ValueError``/``TypeError`` naming the argument and its value, and never a
numba traceback or a silently wrong shape.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import is_int
from ._sizes import conv_output_size

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def ntuple(value, n: int, name: str) -> tuple:
    """Normalise an int or a length-``n`` sequence of ints to a tuple of ``n`` Python ints.

    A length-1 sequence is broadcast, as torch does for ``stride=(2,)`` on a 2-D op.
    """
    if is_int(value):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        items = list(value)
        if len(items) == 1:
            items = items * n
        if len(items) != n:
            raise ValueError(f"{name}={value!r} must be an int or a sequence of {n} ints")
        if not all(is_int(v) for v in items):
            raise TypeError(f"{name}={value!r} must contain only ints")
        return tuple(int(v) for v in items)
    raise TypeError(f"{name}={value!r} must be an int or a sequence of {n} ints, "
                    f"not {type(value).__name__}")


def positive(value, n: int, name: str) -> tuple:
    """``ntuple`` whose entries must all be > 0."""
    out = ntuple(value, n, name)
    if any(v <= 0 for v in out):
        raise ValueError(f"{name}={value!r} must be positive")
    return out


def non_negative(value, n: int, name: str) -> tuple:
    """``ntuple`` whose entries must all be >= 0."""
    out = ntuple(value, n, name)
    if any(v < 0 for v in out):
        raise ValueError(f"{name}={value!r} must be non-negative")
    return out


def check_groups(groups) -> int:
    if not is_int(groups):
        raise TypeError(f"groups={groups!r} must be an int")
    if groups <= 0:
        raise ValueError(f"groups={groups!r} must be positive")
    return int(groups)


def as_array(x, name: str, dtype=None) -> np.ndarray:
    """Convert ``x`` (NumPy array, torch tensor, nested list) to a float32/float64 ndarray.

    Integer and bool inputs are rejected (torch's convolutions reject them too); pass
    ``dtype`` to convert instead of rejecting.
    """
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # a torch tensor
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"{name} of type {type(x).__name__} cannot be converted to an array") from exc
    if dtype is not None:
        return np.ascontiguousarray(arr, dtype=dtype)
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} has dtype {arr.dtype}; expected float32 or float64")
    return arr


def as_data_array(x, name: str) -> np.ndarray:
    """:func:`as_array` for functions that only move data (``pad``, the shuffles).

    Like torch, these accept any bool, integer, float or complex dtype, not only float32/float64.
    """
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # a torch tensor
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"{name} of type {type(x).__name__} cannot be converted to an "
                        "array") from exc
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{name} has dtype {arr.dtype}; expected a numeric dtype")
    return arr


def same_dtype(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.dtype != b.dtype:
        raise TypeError(f"{name_a} has dtype {a.dtype} but {name_b} has dtype {b.dtype}; "
                        "they must match (as in torch)")


def batched(x: np.ndarray, n_spatial: int, fn: str, name: str = "input"):
    """Return ``(x_batched, unbatched)`` for an op over ``n_spatial`` spatial dims.

    Accepts ``(N, C, *spatial)`` or the unbatched ``(C, *spatial)``, like torch.
    """
    if x.ndim == n_spatial + 2:
        return x, False
    if x.ndim == n_spatial + 1:
        return x[None], True
    raise ValueError(f"{fn}: {name} must be {n_spatial + 1}-D (unbatched) or {n_spatial + 2}-D "
                     f"(batched), got {x.ndim}-D with shape {tuple(x.shape)}")


def conv_padding(padding, n: int, kernel: tuple, stride: tuple, dilation: tuple):
    """Normalise ``padding`` (int, tuple, ``'same'``, ``'valid'``) to ``(lo, hi)`` per dim.

    ``'same'`` pads ``d*(k-1)`` in total per dim; when that is odd, the extra pixel goes to the
    end (right/bottom), exactly as torch does.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * n, (0,) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"padding='same' requires stride=1, got stride={stride!r} "
                                 "(torch does not support 'same' for strided convolutions)")
            total = [d * (k - 1) for k, d in zip(kernel, dilation)]
            lo = tuple(t // 2 for t in total)
            hi = tuple(t - t // 2 for t in total)
            return lo, hi
        raise ValueError(f"padding={padding!r} is not a valid padding string; "
                         "expected 'same' or 'valid'")
    pad = non_negative(padding, n, "padding")
    return pad, pad


class ConvSpec(NamedTuple):
    """Normalised arguments of an N-d convolution (see :func:`conv_spec`)."""
    x: np.ndarray          # (N, C_in, *spatial), contiguous
    w: np.ndarray          # (C_out, C_in/groups, *kernel), contiguous, same dtype as x
    b: np.ndarray          # (C_out,) — zeros when bias is None
    has_bias: bool
    stride: tuple
    pad_lo: tuple
    pad_hi: tuple
    dilation: tuple
    groups: int
    out_spatial: tuple
    unbatched: bool


def conv_tensors(input, weight, groups, stride, dilation, n: int, fn: str, weight_layout: str):
    """The checks shared by ``conv{n}d`` and ``conv_transpose{n}d``.

    Converts ``input``/``weight`` (same float dtype; input batched or not), checks the weight's
    ndim (its layout, e.g. ``"C_out, C_in/groups, *kernel"``, goes into the message), normalises
    ``groups``, ``stride`` and ``dilation``, and checks that ``groups`` divides the input channels.

    Returns ``(x, w, unbatched, groups, stride, dilation, kernel)`` with ``x`` batched.
    """
    x = as_array(input, "input")
    w = as_array(weight, "weight")
    same_dtype(x, w, "input", "weight")
    x, unbatched = batched(x, n, fn)
    if w.ndim != n + 2:
        raise ValueError(f"{fn}: weight must be {n + 2}-D ({weight_layout}), "
                         f"got shape {tuple(w.shape)}")
    groups = check_groups(groups)
    stride = positive(stride, n, "stride")
    dilation = positive(dilation, n, "dilation")
    kernel = tuple(int(k) for k in w.shape[2:])
    if any(k == 0 for k in kernel):
        raise ValueError(f"{fn}: weight has an empty kernel, shape {tuple(w.shape)}")
    if x.shape[1] % groups:
        raise ValueError(f"in_channels={x.shape[1]} is not divisible by groups={groups}")
    return x, w, unbatched, groups, stride, dilation, kernel


def conv_spec(input, weight, bias, stride, padding, dilation, groups, n: int, fn: str) -> ConvSpec:
    """Check and normalise the arguments of ``conv{n}d``; compute the output size.

    The output size comes from :func:`cnnlib.conv_output_size`, the same calculator the book
    teaches.
    """
    x, w, unbatched, groups, stride, dilation, kernel = conv_tensors(
        input, weight, groups, stride, dilation, n, fn, "C_out, C_in/groups, *kernel")
    c_in, c_out = x.shape[1], w.shape[0]
    if c_out % groups:
        raise ValueError(f"out_channels={c_out} is not divisible by groups={groups}")
    if w.shape[1] * groups != c_in:
        raise ValueError(f"{fn}: input has {c_in} channels but weight of shape {tuple(w.shape)} "
                         f"with groups={groups} expects {w.shape[1] * groups}")
    pad_lo, pad_hi = conv_padding(padding, n, kernel, stride, dilation)
    spatial = tuple(int(s) for s in x.shape[2:])
    padded = tuple(s + lo + hi for s, lo, hi in zip(spatial, pad_lo, pad_hi))
    effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(e > p for e, p in zip(effective, padded)):
        raise ValueError(f"{fn}: kernel size {kernel} (dilated to {effective}) is larger than the "
                         f"padded input {padded}")
    out_spatial = tuple(conv_output_size(s + hi - lo, k, st, lo, d)
                        for s, k, st, lo, hi, d in zip(spatial, kernel, stride, pad_lo, pad_hi, dilation))
    if bias is None:
        b, has_bias = np.zeros(c_out, dtype=x.dtype), False
    else:
        b = as_array(bias, "bias")
        same_dtype(x, b, "input", "bias")
        if b.shape != (c_out,):
            raise ValueError(f"{fn}: bias must have shape ({c_out},), got {tuple(b.shape)}")
        has_bias = True
    return ConvSpec(np.ascontiguousarray(x), np.ascontiguousarray(w), np.ascontiguousarray(b),
                    has_bias, stride, pad_lo, pad_hi, dilation, groups, out_spatial, unbatched)


def pad_input(x: np.ndarray, pad_lo: tuple, pad_hi: tuple, value: float = 0.0) -> np.ndarray:
    """Pad the spatial dims of an ``(N, C, *spatial)`` array with ``value``."""
    if not any(pad_lo) and not any(pad_hi):
        return x
    widths = [(0, 0), (0, 0)] + list(zip(pad_lo, pad_hi))
    return np.pad(x, widths, mode="constant", constant_values=value)
