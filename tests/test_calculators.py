"""Calculators (conv_output_size, conv_transpose_output_size, pool_output_size, conv_params,
conv_macs) against the shapes and counts torch actually produces."""
import itertools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlib import (conv_macs, conv_output_size, conv_params, conv_transpose_output_size,
                    pool_output_size)


def torch_size(fn):
    """Output length of ``fn()``, or 'error' if torch refuses the configuration."""
    try:
        return fn().shape[-1]
    except RuntimeError:
        return "error"


def ours(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ValueError:
        return "error"


# --------------------------------------------------------------------- conv_output_size
@pytest.mark.parametrize("k,s,d", list(itertools.product([1, 2, 3, 5], [1, 2, 3], [1, 2, 3])))
def test_conv_output_size_grid(k, s, d):
    w = torch.zeros(1, 1, k)
    for n, p in itertools.product(range(1, 13), range(0, 4)):
        expected = torch_size(lambda: F.conv1d(torch.zeros(1, 1, n), w, stride=s, padding=p,
                                               dilation=d))
        assert ours(conv_output_size, n, k, s, p, d) == expected, (n, k, s, p, d)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("k,d", [(1, 1), (2, 1), (3, 1), (4, 2), (5, 3)])
def test_conv_output_size_strings(padding, k, d):
    for n in range(1, 12):
        expected = torch_size(lambda: F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k),
                                               padding=padding, dilation=d))
        assert ours(conv_output_size, n, k, padding=padding, dilation=d) == expected


def test_conv_output_size_tuples_2d():
    x = torch.zeros(1, 1, 17, 9)
    y = F.conv2d(x, torch.zeros(1, 1, 3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 3))
    assert conv_output_size((17, 9), (3, 2), (2, 1), (1, 0), (1, 3)) == tuple(y.shape[2:])
    assert conv_output_size((17, 9), 3, padding=1) == (17, 9)          # ints broadcast
    assert conv_output_size(224, 7, stride=2, padding=3) == 112


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 7), s=st.integers(1, 5), p=st.integers(0, 6),
       d=st.integers(1, 4))
def test_conv_output_size_hypothesis(n, k, s, p, d):
    expected = torch_size(lambda: F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k),
                                           stride=s, padding=p, dilation=d))
    assert ours(conv_output_size, n, k, s, p, d) == expected


# ------------------------------------------------------------ conv_transpose_output_size
@pytest.mark.parametrize("k,s,d", list(itertools.product([1, 2, 3, 4], [1, 2, 3], [1, 2])))
def test_conv_transpose_output_size_grid(k, s, d):
    w = torch.zeros(1, 1, k)
    for n, p, op in itertools.product(range(1, 8), range(0, 4), range(0, 3)):
        expected = torch_size(lambda: F.conv_transpose1d(
            torch.zeros(1, 1, n), w, stride=s, padding=p, output_padding=op, dilation=d))
        assert ours(conv_transpose_output_size, n, k, s, p, op, d) == expected, (n, k, s, p, op, d)


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 20), k=st.integers(1, 6), s=st.integers(1, 4), p=st.integers(0, 5),
       op=st.integers(0, 3), d=st.integers(1, 3))
def test_conv_transpose_output_size_hypothesis(n, k, s, p, op, d):
    expected = torch_size(lambda: F.conv_transpose1d(
        torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, output_padding=op,
        dilation=d))
    assert ours(conv_transpose_output_size, n, k, s, p, op, d) == expected


def test_conv_transpose_output_size_2d():
    y = F.conv_transpose2d(torch.zeros(1, 1, 7, 5), torch.zeros(1, 1, 4, 3), stride=(2, 3),
                           padding=(1, 0), output_padding=(1, 2))
    assert conv_transpose_output_size((7, 5), (4, 3), (2, 3), (1, 0), (1, 2)) == tuple(y.shape[2:])
    assert conv_transpose_output_size(7, 4, stride=2, padding=1) == 14


# ---------------------------------------------------------------------- pool_output_size
def torch_pool(kind, n, k, s, p, d, ceil_mode):
    x = torch.zeros(1, 1, n)
    if kind == "max":
        return torch_size(lambda: F.max_pool1d(x, k, s, p, d, ceil_mode=ceil_mode))
    return torch_size(lambda: F.avg_pool1d(x, k, s, p, ceil_mode=ceil_mode))


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("k,s", list(itertools.product([1, 2, 3, 4, 5], [None, 1, 2, 3, 4])))
def test_pool_output_size_grid(k, s, ceil_mode):
    for n, p, d in itertools.product(range(1, 12), range(0, k // 2 + 1), (1, 2, 3)):
        for kind in ("max", "avg") if d == 1 else ("max",):
            expected = torch_pool(kind, n, k, s, p, d, ceil_mode)
            assert ours(pool_output_size, n, k, s, p, d, ceil_mode) == expected, \
                (kind, n, k, s, p, d, ceil_mode)


@pytest.mark.parametrize("n,k,s,p,expected", [
    (5, 2, 2, 0, 3),      # the last window starts at 4, inside the input: kept
    (6, 3, 2, 1, 4),      # a window starting in the right padding (index 6 ≥ n+p-1 …) dropped
    (1, 2, 2, 0, 1),      # the window sticks out of the input: torch keeps it
    (4, 2, 3, 1, 2),
    (112, 3, 2, 1, 57),   # ResNet stem max-pool with ceil_mode would give 57, not 56
])
def test_pool_output_size_ceil_mode_edges(n, k, s, p, expected):
    assert pool_output_size(n, k, s, p, ceil_mode=True) == expected
    assert torch_pool("max", n, k, s, p, 1, True) == expected


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 7), s=st.one_of(st.none(), st.integers(1, 6)),
       data=st.data(), d=st.integers(1, 4), ceil_mode=st.booleans())
def test_pool_output_size_hypothesis(n, k, s, data, d, ceil_mode):
    p = data.draw(st.integers(0, k // 2))
    assert ours(pool_output_size, n, k, s, p, d, ceil_mode) == torch_pool("max", n, k, s, p, d,
                                                                          ceil_mode)
    if d == 1:
        assert ours(pool_output_size, n, k, s, p, 1, ceil_mode) == torch_pool("avg", n, k, s, p,
                                                                              1, ceil_mode)


def test_pool_output_size_2d():
    y = F.max_pool2d(torch.zeros(1, 1, 13, 8), (3, 2), (2, 1), (1, 0), (1, 2), ceil_mode=True)
    assert pool_output_size((13, 8), (3, 2), (2, 1), (1, 0), (1, 2), True) == tuple(y.shape[2:])
    assert pool_output_size(112, 3, stride=2, padding=1) == 56


# ----------------------------------------------------------------- conv_params, conv_macs
@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("c_in,c_out,k,g,bias", [
    (3, 64, 3, 1, True), (64, 64, 3, 64, False), (8, 12, 1, 4, True), (6, 9, 5, 3, False),
    (4, 4, 2, 2, True)])
def test_conv_params_vs_torch(dims, c_in, c_out, k, g, bias):
    conv = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[dims - 1](c_in, c_out, k, groups=g, bias=bias)
    expected = sum(p.numel() for p in conv.parameters())
    assert conv_params(c_in, c_out, (k,) * dims, groups=g, bias=bias) == expected
    if dims == 2:
        assert conv_params(c_in, c_out, k, groups=g, bias=bias) == expected


def test_conv_params_rectangular():
    conv = nn.Conv2d(5, 10, (1, 7), groups=5)
    assert conv_params(5, 10, (1, 7), groups=5) == sum(p.numel() for p in conv.parameters())


def flop_counter_flops(fn):
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("c_in,c_out,k,s,p,d,g", [
    (3, 8, 3, 1, 1, 1, 1), (8, 8, 3, 2, 1, 1, 8), (6, 12, 2, 1, 0, 2, 3), (4, 6, 1, 1, 0, 1, 2),
    (2, 4, 5, 3, 2, 1, 1)])
def test_conv_macs_vs_flop_counter(dims, c_in, c_out, k, s, p, d, g):
    spatial = (9, 7, 6)[:dims]
    x = torch.zeros((1, c_in) + spatial)
    w = torch.zeros((c_out, c_in // g) + (k,) * dims)
    conv = (F.conv1d, F.conv2d, F.conv3d)[dims - 1]
    out = conv_output_size(spatial, k, s, p, d)
    flops = flop_counter_flops(lambda: conv(x, w, stride=s, padding=p, dilation=d, groups=g))
    assert 2 * conv_macs(c_in, c_out, (k,) * dims, out, groups=g) == flops
    assert 2 * conv_macs(c_in, c_out, k, out, groups=g) == flops      # int kernel broadcast


@settings(max_examples=60, deadline=None)
@given(c_in_g=st.integers(1, 4), c_out_g=st.integers(1, 4), g=st.integers(1, 3),
       kh=st.integers(1, 4), kw=st.integers(1, 4), h=st.integers(4, 10), w=st.integers(4, 10),
       s=st.integers(1, 3), batch=st.integers(1, 3))
def test_conv_macs_hypothesis(c_in_g, c_out_g, g, kh, kw, h, w, s, batch):
    c_in, c_out = c_in_g * g, c_out_g * g
    x = torch.zeros(batch, c_in, h, w)
    weight = torch.zeros(c_out, c_in_g, kh, kw)
    flops = flop_counter_flops(lambda: F.conv2d(x, weight, stride=s, groups=g))
    out = conv_output_size((h, w), (kh, kw), s)
    assert 2 * batch * conv_macs(c_in, c_out, (kh, kw), out, groups=g) == flops


def test_conv_macs_worked_example():
    assert conv_macs(3, 64, 3, 224) == 3 * 64 * 9 * 224 * 224 == 86_704_128
    assert conv_macs(3, 64, (3, 3), 224) == conv_macs(3, 64, 3, (224, 224))


# --------------------------------------------------------------------------- error paths
@pytest.mark.parametrize("call,exc,match", [
    (lambda: conv_output_size(2.0, 3), TypeError, r"in_size=2\.0 must be an int"),
    (lambda: conv_output_size(True, 3), TypeError, r"in_size=True must be an int"),
    (lambda: conv_output_size(0, 3), ValueError, r"in_size=0 must be positive"),
    (lambda: conv_output_size(8, 0), ValueError, r"kernel_size=0 must be positive"),
    (lambda: conv_output_size(8, 3, stride=0), ValueError, r"stride=0 must be positive"),
    (lambda: conv_output_size(8, 3, padding=-1), ValueError, r"padding=-1 must be non-negative"),
    (lambda: conv_output_size(8, 3, dilation=0), ValueError, r"dilation=0 must be positive"),
    (lambda: conv_output_size(4, 3, dilation=2), ValueError, r"effective 5\) is larger than the "
                                                             r"padded input 4"),
    (lambda: conv_output_size(8, 3, stride=2, padding="same"), ValueError,
     r"padding='same' requires stride=1, got stride=2"),
    (lambda: conv_output_size(8, 3, padding="full"), ValueError,
     r"padding='full' is not a valid padding string"),
    (lambda: conv_output_size((8, 8), (3, 3, 3)), ValueError,
     r"tuple arguments must have the same length"),
    (lambda: conv_output_size((8, 2), 3), ValueError, r"\(dimension 1\)"),
    (lambda: conv_transpose_output_size(4, 3, stride=2, output_padding=2), ValueError,
     r"output_padding=2 must be smaller than either stride=2 or dilation=1"),
    (lambda: conv_transpose_output_size(1, 1, padding=1), ValueError,
     r"padding=1 is too large.*output size -1"),
    (lambda: conv_transpose_output_size(4, 3, output_padding=-1), ValueError,
     r"output_padding=-1 must be non-negative"),
    (lambda: pool_output_size(8, 3, padding=2), ValueError,
     r"padding=2 must be at most half of kernel_size=3"),
    (lambda: pool_output_size(2, 3), ValueError, r"kernel_size=3 .* larger than the padded input"),
    (lambda: pool_output_size(1, 3, 2, ceil_mode=True), ValueError, r"larger than the padded"),
    (lambda: pool_output_size(8, 2, stride=0), ValueError, r"stride=0 must be positive"),
    (lambda: pool_output_size(8, 2, ceil_mode="yes"), TypeError, r"ceil_mode='yes' must be a bool"),
    (lambda: conv_params(6, 8, 3, groups=4), ValueError, r"in_channels=6 is not divisible by "
                                                          r"groups=4"),
    (lambda: conv_params(8, 6, 3, groups=4), ValueError, r"out_channels=6 is not divisible by "
                                                          r"groups=4"),
    (lambda: conv_params(0, 8, 3), ValueError, r"in_channels=0 must be positive"),
    (lambda: conv_params(3, 8, 3, groups=0), ValueError, r"groups=0 must be positive"),
    (lambda: conv_params(3, 8, 3, bias="no"), TypeError, r"bias='no' must be a bool"),
    (lambda: conv_params(3, 8, ()), ValueError, r"kernel_size=\(\) must not be empty"),
    (lambda: conv_params(3, 8, 2.5), TypeError, r"kernel_size=2\.5 must be an int"),
    (lambda: conv_macs(3, 8, (3, 3), (5, 5, 5)), ValueError,
     r"kernel_size=\(3, 3\) and output_size=\(5, 5, 5\) must have the same length"),
    (lambda: conv_macs(3, 8, 3, 0), ValueError, r"output_size=0 must be positive"),
    (lambda: conv_macs(4, 8, 3, 5, groups=3), ValueError, r"in_channels=4 is not divisible"),
])
def test_error_paths(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
