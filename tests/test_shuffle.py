"""Tests for cnnlib._shuffle: pixel_shuffle, pixel_unshuffle, channel_shuffle vs torch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnlib
from cnnlib._shuffle import channel_shuffle_naive, pixel_shuffle_naive

DTYPES = [np.float32, np.float64]


def rand(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def same(got, want, dtype):
    want = want.numpy()
    assert got.shape == want.shape and got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, want)           # a permutation: bit-exact


# leading dims, C_out, H, W, r
PIXEL_GRID = [((), 1, 3, 4, 2), ((2,), 3, 2, 5, 2), ((2,), 2, 3, 3, 3), ((1,), 1, 1, 1, 1),
              ((2, 3), 2, 2, 3, 2), ((2, 1, 2), 1, 2, 2, 2), ((0,), 2, 2, 2, 2), ((1,), 2, 0, 3, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lead,c,h,w,r", PIXEL_GRID)
def test_pixel_shuffle_and_unshuffle_match_torch(lead, c, h, w, r, dtype):
    x = rand(lead + (c * r * r, h, w), dtype)
    up = cnnlib.pixel_shuffle(x, r)
    same(up, F.pixel_shuffle(torch.from_numpy(x), r), dtype)
    np.testing.assert_array_equal(pixel_shuffle_naive(x, r), up)
    down = cnnlib.pixel_unshuffle(up, r)
    if up.size:    # torch returns an empty input unchanged, not with the unshuffled shape
        same(down, F.pixel_unshuffle(torch.from_numpy(up), r), dtype)
    assert down.shape == x.shape
    np.testing.assert_array_equal(down, x)                # unshuffle inverts shuffle


# shape, groups
CHANNEL_GRID = [((2, 6, 3, 3), 3), ((2, 6, 3, 3), 2), ((1, 6, 4), 6), ((1, 6, 4), 1),
                ((2, 8, 2, 3, 2), 4), ((1, 4, 2, 2, 2, 2), 2), ((3, 12, 1, 1), 3),
                ((2, 0, 3, 3), 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,groups", CHANNEL_GRID)
def test_channel_shuffle_matches_torch(shape, groups, dtype):
    x = rand(shape, dtype)
    got = cnnlib.channel_shuffle(x, groups)
    same(got, F.channel_shuffle(torch.from_numpy(x), groups), dtype)
    same(got, torch.nn.ChannelShuffle(groups)(torch.from_numpy(x)), dtype)
    np.testing.assert_array_equal(channel_shuffle_naive(x, groups), got)


def test_known_values():
    x = np.arange(4.0).reshape(4, 1, 1)                    # four 1×1 channels → one 2×2 image
    assert cnnlib.pixel_shuffle(x, 2).tolist() == [[[0, 1], [2, 3]]]
    c = np.arange(6.0).reshape(1, 6, 1)                    # groups (0 1 2) (3 4 5)
    assert cnnlib.channel_shuffle(c, 2).ravel().tolist() == [0, 3, 1, 4, 2, 5]


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_integer_inputs_like_torch(dtype):
    x = (np.arange(2 * 8 * 2 * 2).reshape(2, 8, 2, 2) % 3).astype(dtype)
    same(cnnlib.pixel_shuffle(x, 2), F.pixel_shuffle(torch.from_numpy(x), 2), dtype)
    same(cnnlib.pixel_unshuffle(x, 2), F.pixel_unshuffle(torch.from_numpy(x), 2), dtype)
    same(cnnlib.channel_shuffle(x, 4), F.channel_shuffle(torch.from_numpy(x), 4), dtype)


def test_accepts_torch_tensors():
    t = torch.randn(1, 8, 3, 3)
    np.testing.assert_array_equal(cnnlib.pixel_shuffle(t, 2), F.pixel_shuffle(t, 2).numpy())
    np.testing.assert_array_equal(cnnlib.channel_shuffle(t, 2), F.channel_shuffle(t, 2).numpy())


def test_sub_pixel_convolution_is_a_transposed_convolution():
    """conv to C·r² channels + pixel_shuffle == a stride-r transposed conv (kernel r)."""
    rng = np.random.default_rng(5)
    x, r = rng.standard_normal((1, 3, 4, 5)), 2
    w = rng.standard_normal((2 * r * r, 3, 1, 1))          # 1×1 conv: the r² phases
    sub_pixel = cnnlib.pixel_shuffle(cnnlib.conv2d(x, w), r)
    wt = w.reshape(2, r, r, 3).transpose(3, 0, 1, 2)       # (C_in, C_out, r, r)
    np.testing.assert_allclose(sub_pixel, cnnlib.conv_transpose2d(x, wt, stride=r),
                               rtol=1e-12, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(n_lead=st.integers(0, 2), c=st.integers(1, 3), h=st.integers(1, 4), w=st.integers(1, 4),
       r=st.integers(1, 3), groups=st.integers(1, 4), dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 2**16))
def test_shuffles_hypothesis(n_lead, c, h, w, r, groups, dtype, seed):
    lead = (2, 1)[:n_lead]
    x = rand(lead + (c * r * r, h, w), dtype, seed)
    same(cnnlib.pixel_shuffle(x, r), F.pixel_shuffle(torch.from_numpy(x), r), dtype)
    z = rand(lead + (c, h * r, w * r), dtype, seed)
    same(cnnlib.pixel_unshuffle(z, r), F.pixel_unshuffle(torch.from_numpy(z), r), dtype)
    y = rand((2, c * groups, h, w), dtype, seed)
    same(cnnlib.channel_shuffle(y, groups), F.channel_shuffle(torch.from_numpy(y), groups), dtype)


X = rand((1, 8, 3, 4))


@pytest.mark.parametrize("call,exc,match", [
    (lambda: cnnlib.pixel_shuffle(X, 0), ValueError, r"upscale_factor=0 must be positive"),
    (lambda: cnnlib.pixel_shuffle(X, -2), ValueError, r"upscale_factor=-2 must be positive"),
    (lambda: cnnlib.pixel_shuffle(X, 2.0), TypeError, r"upscale_factor=2.0 must be an int"),
    (lambda: cnnlib.pixel_shuffle(X, True), TypeError, r"upscale_factor=True must be an int"),
    (lambda: cnnlib.pixel_shuffle(X, 3), ValueError,
     r"pixel_shuffle: input.shape\[-3\]=8 channels is not divisible by upscale_factor\*\*2=9"),
    (lambda: cnnlib.pixel_shuffle(X[0, 0], 2), ValueError,
     r"pixel_shuffle: input must have at least 3 dimensions .* got 2-D"),
    (lambda: cnnlib.pixel_unshuffle(X, 0), ValueError, r"downscale_factor=0 must be positive"),
    (lambda: cnnlib.pixel_unshuffle(X, 2.5), TypeError, r"downscale_factor=2.5 must be an int"),
    (lambda: cnnlib.pixel_unshuffle(X, 2), ValueError,
     r"pixel_unshuffle: height input.shape\[-2\]=3 is not divisible by downscale_factor=2"),
    (lambda: cnnlib.pixel_unshuffle(X, 3), ValueError,
     r"pixel_unshuffle: width input.shape\[-1\]=4 is not divisible by downscale_factor=3"),
    (lambda: cnnlib.pixel_unshuffle(X[0, 0], 1), ValueError, r"at least 3 dimensions"),
    (lambda: cnnlib.channel_shuffle(X, 3), ValueError,
     r"channel_shuffle: in_channels=8 is not divisible by groups=3"),
    (lambda: cnnlib.channel_shuffle(X, 0), ValueError, r"groups=0 must be positive"),
    (lambda: cnnlib.channel_shuffle(X, "2"), TypeError, r"groups='2' must be an int"),
    (lambda: cnnlib.channel_shuffle(X[0, 0], 2), ValueError,
     r"channel_shuffle: input must have more than 2 dimensions .* got 2-D input of shape "
     r"\(3, 4\)"),
    (lambda: cnnlib.channel_shuffle(np.array([["a"]]), 1), TypeError, r"input has dtype <U1"),
])
def test_shuffle_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("fn,x,arg", [
    (F.pixel_shuffle, X, 0), (F.pixel_shuffle, X, 3), (F.pixel_shuffle, X[0, 0], 2),
    (F.pixel_unshuffle, X, 2), (F.pixel_unshuffle, X, 3), (F.channel_shuffle, X, 3),
    (F.channel_shuffle, X, 0), (F.channel_shuffle, X[0, 0], 2),
])
def test_torch_rejects_the_same_calls(fn, x, arg):
    with pytest.raises(RuntimeError):
        fn(torch.from_numpy(x), arg)
    with pytest.raises(ValueError):
        getattr(cnnlib, fn.__name__)(x, arg)
