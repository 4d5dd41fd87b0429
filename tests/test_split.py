"""Large kernels as stacks of 3×3 pieces run by Winograd (:mod:`cnnlib._split`,
``method="winograd_split"``): same results as torch and as im2col, on grids and hypothesis."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

import cnnlib
from cnnlib import _algorithms
from cnnlib._split import split_weight


def torch_conv(x, w, b, **kw):
    with torch.no_grad():
        return F.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                        None if b is None else torch.from_numpy(b), **kw).numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [(5, 5), (7, 7), (4, 4), (6, 2), (9, 9), (3, 5)])
@pytest.mark.parametrize("padding", [0, 2, "same", (3, 1)])
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("bias", [True, False])
def test_split_matches_torch_and_im2col(dtype, k, padding, groups, bias):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 16, 19, 23)).astype(dtype)
    w = (rng.standard_normal((12, 16 // groups) + k) / 20).astype(dtype)
    b = rng.standard_normal(12).astype(dtype) if bias else None
    kw = dict(padding=padding, groups=groups)
    if padding == "same" and (k[0] % 2 == 0 or k[1] % 2 == 0):
        pytest.skip("even kernels with 'same': covered by the hypothesis test")
    ref = torch_conv(x, w, b, **kw)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for method in ("winograd_split", "im2col"):
        got = cnnlib.conv2d(x, w, b, method=method, **kw)
        assert got.shape == ref.shape and got.dtype == ref.dtype
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * np.abs(ref).max())


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 2), c=st.sampled_from([1, 4, 8]), h=st.integers(4, 20),
       w=st.integers(4, 20), kh=st.integers(1, 9), kw=st.integers(1, 9), ph=st.integers(0, 4),
       pw=st.integers(0, 4), groups=st.sampled_from([1, 2]), bias=st.booleans(),
       same=st.booleans())
def test_split_hypothesis_matches_torch(n, c, h, w, kh, kw, ph, pw, groups, bias, same):
    if c % groups or kh > h + 2 * ph or kw > w + 2 * pw:
        return
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((4, c // groups, kh, kw))
    b = rng.standard_normal(4) if bias else None
    args = dict(padding="same" if same else (ph, pw), groups=groups)
    ref = torch_conv(x, wt, b, **args)
    got = cnnlib.conv2d(x, wt, b, method="winograd_split", **args)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9 * max(1, np.abs(ref).max()))


def test_split_weight_places_each_piece():
    w = np.arange(2 * 3 * 5 * 5, dtype=np.float32).reshape(2, 3, 5, 5)
    s = split_weight(w, 2)
    assert s.shape == (2, 4 * 3, 3, 3)
    # piece (a, b) = (1, 0), channel 2: rows 3..5 (5 is padding), columns 0..2
    np.testing.assert_array_equal(s[:, (1 * 2 + 0) * 3 + 2, :2], w[:, 2, 3:5, 0:3])
    assert not s[:, (1 * 2 + 0) * 3 + 2, 2].any()


def test_split_errors_name_the_problem():
    x = np.zeros((1, 2, 10, 10), np.float32)
    w = np.zeros((2, 2, 5, 5), np.float32)
    with pytest.raises(ValueError, match="winograd_split.*stride 1"):
        cnnlib.conv2d(x, w, stride=2, method="winograd_split")
    with pytest.raises(ValueError, match="winograd_split.*dilation 1"):
        cnnlib.conv2d(x, w, dilation=2, method="winograd_split")
    with pytest.raises(ValueError, match="winograd_split.*conv2d"):
        cnnlib.conv1d(x[:, :, 0], w[:, :, 0], method="winograd_split")
    assert "winograd_split" in _algorithms.METHODS


def test_auto_picks_split_for_5x5_stride_1_only():
    one = (1, 1)
    pick = _algorithms.choose_method
    assert pick(64, 64, (5, 5), one, one, 1, (56, 56)) == "mec"            # 64 outputs: MEC
    assert pick(192, 192, (5, 5), one, one, 1, (28, 28)) == "winograd_split"
    assert pick(64, 192, (5, 5), one, one, 1, (27, 27)) == "winograd_split"   # AlexNet conv2
    assert pick(64, 64, (7, 7), one, one, 1, (56, 56)) == "fft"            # 7×7: FFT
    assert pick(3, 64, (7, 7), (2, 2), one, 1, (112, 112)) == "mec"        # stride 2
    assert pick(32, 32, (5, 5), one, one, 1, (28, 28)) == "mec"            # < 64 channels
    assert pick(64, 64, (5, 5), one, one, 1, (8, 8)) == "mec"              # few tiles
    assert pick(64, 64, (5, 5), one, (2, 2), 1, (28, 28)) == "dilated"


@pytest.mark.parametrize("shape, padding", [((1, 64, 30, 30), 2), ((2, 64, 21, 18), "same")])
def test_auto_5x5_layer_equals_torch(shape, padding):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape, dtype=np.float32)
    w = rng.standard_normal((128, shape[1], 5, 5), dtype=np.float32) / 40
    b = rng.standard_normal(128).astype(np.float32)
    ref = torch_conv(x, w, b, padding=padding)
    got = cnnlib.conv2d(x, w, b, padding=padding)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
