"""Depthwise-separable cost calculators against torch: nn.Conv2d parameters and FlopCounterMode."""
from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlib import (conv_macs, conv_output_size, conv_params, separable_cost_ratio, separable_macs,
                    separable_params)


def separable_block(c_in, c_out, k, stride=1, padding=0, m=1, bias=False):
    with torch.device("meta"):
        return nn.Sequential(nn.Conv2d(c_in, m * c_in, k, stride, padding, groups=c_in, bias=bias),
                             nn.Conv2d(m * c_in, c_out, 1, bias=bias))


def torch_counts(block, c_in, H):
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        y = block(torch.zeros(1, c_in, H, H, device="meta"))
    return sum(p.numel() for p in block.parameters()), counter.get_total_flops() // 2, tuple(y.shape[2:])


@settings(max_examples=60, deadline=None)
@given(c_in=st.integers(1, 16), c_out=st.integers(1, 16), k=st.integers(1, 5), s=st.integers(1, 3),
       p=st.integers(0, 2), m=st.integers(1, 3), bias=st.booleans(), H=st.integers(5, 20))
def test_separable_params_and_macs_match_torch(c_in, c_out, k, s, p, m, bias, H):
    params, macs, H_out = torch_counts(separable_block(c_in, c_out, k, s, p, m, bias), c_in, H)
    assert H_out == conv_output_size((H, H), k, s, p)
    assert separable_params(c_in, c_out, k, depth_multiplier=m, bias=bias) == params
    assert separable_macs(c_in, c_out, k, H_out, depth_multiplier=m) == macs


@pytest.mark.parametrize("c_in, c_out, k, H", [(32, 64, 3, 112), (3, 16, 5, 32), (128, 128, 7, 14),
                                               (1, 1, 1, 1), (64, 256, (3, 5), 9)])
def test_cost_ratio_is_exact_against_torch(c_in, c_out, k, H):
    with torch.device("meta"):
        standard = nn.Conv2d(c_in, c_out, k, bias=False)
    std_params, std_macs, H_out = torch_counts(standard, c_in, H + 8)
    sep_params, sep_macs, _ = torch_counts(separable_block(c_in, c_out, k), c_in, H + 8)
    ratio = separable_cost_ratio(c_out, k)
    assert isinstance(ratio, Fraction)
    assert Fraction(sep_macs, std_macs) == ratio == Fraction(sep_params, std_params)
    assert std_params == conv_params(c_in, c_out, k, bias=False)
    assert std_macs == conv_macs(c_in, c_out, k, H_out)


def test_the_ratio_is_not_one_over_k_squared():
    assert separable_cost_ratio(64, 3) == Fraction(1, 64) + Fraction(1, 9) != Fraction(1, 9)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: separable_params(0, 4, 3), ValueError, "in_channels=0"),
    (lambda: separable_params(4, 4, 3, depth_multiplier=0), ValueError, "depth_multiplier=0"),
    (lambda: separable_macs(4, 4, 3, 0), ValueError, "output_size=0"),
    (lambda: separable_cost_ratio(4, 0), ValueError, "kernel_size=0"),
    (lambda: separable_cost_ratio(2.5, 3), TypeError, "out_channels=2.5"),
])
def test_errors_name_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
