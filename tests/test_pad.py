"""Tests for cnnlib._pad: pad vs its naive reference vs torch.nn.functional.pad."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnlib
from cnnlib._pad import pad_naive, source_index

DTYPES = [np.float32, np.float64]
MODES = ["constant", "reflect", "replicate", "circular"]


def rand(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def check(x, pad, **kw):
    """cnnlib == torch == naive reference, bit for bit (pad only copies); returns cnnlib's."""
    got = cnnlib.pad(x, pad, **kw)
    want = F.pad(torch.from_numpy(x), pad, **kw).numpy()
    assert got.shape == want.shape and got.dtype == x.dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(pad_naive(x, pad, **kw), got)
    return got


# (spatial shape, pad) for 1-, 2- and 3-D padding; every pad is valid for every mode
# (reflect: each pad < size; negative pads leave a non-empty dim to wrap around)
GRID = [
    ((5,), (1, 2)), ((5,), (4, 0)), ((5,), (0, 0)), ((5,), (-1, 3)), ((5,), (3, -2)),
    ((5,), (-2, -1)), ((1,), (0, 0)),
    ((4, 5), (1, 1, 2, 2)), ((4, 5), (0, 4, 3, 0)), ((4, 5), (-1, 2, 1, -2)),
    ((4, 5), (2, 3, 0, 0)), ((1, 3), (2, 1, 0, 0)),
    ((3, 4, 5), (1, 1, 1, 1, 1, 1)), ((3, 4, 5), (2, 0, 0, 3, 1, 2)),
    ((3, 4, 5), (-1, 1, 2, -1, 0, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("spatial,pad", GRID)
@pytest.mark.parametrize("mode", MODES)
def test_pad_matches_torch(mode, spatial, pad, batched, dtype):
    assert len(pad) == 2 * len(spatial)
    shape = ((2, 3) if batched else (3,)) + spatial
    check(rand(shape, dtype), pad, mode=mode)


@pytest.mark.parametrize("shape,pad", [
    ((2, 3, 4, 5), (1, 2)),                    # one trailing dim of a 4-D input
    ((2, 3, 4, 5), (1, 2, 0, 1, 1, 0, 2, 1)),  # every dim, also batch and channels
    ((7,), (2, 3)), ((2, 3, 4, 5, 2, 3), (1, 0, 0, 1, 1, 1, 2, 0)),
    ((3, 4), (-3, 1)), ((3, 4), (-4, 0)), ((3, 4), (-2, -2)), ((3, 4), (-4, 1, 1, -3)),
    ((0, 4), (1, 1, 1, 1)), ((2, 0), (1, 1)),
])
@pytest.mark.parametrize("value", [None, 0.0, -1.5, float("nan")])
def test_constant_any_number_of_dims_and_cropping(shape, pad, value):
    check(rand(shape), pad, mode="constant", value=value)


def test_modes_on_one_row():
    x = np.arange(4.0)[None]                   # abcd = 0 1 2 3
    assert cnnlib.pad(x, (2, 2), mode="reflect").tolist() == [[2, 1, 0, 1, 2, 3, 2, 1]]
    assert cnnlib.pad(x, (2, 2), mode="replicate").tolist() == [[0, 0, 0, 1, 2, 3, 3, 3]]
    assert cnnlib.pad(x, (2, 2), mode="circular").tolist() == [[2, 3, 0, 1, 2, 3, 0, 1]]
    assert cnnlib.pad(x, (2, 2), value=9).tolist() == [[9, 9, 0, 1, 2, 3, 9, 9]]
    assert cnnlib.pad(x, (-1, 2), mode="circular").tolist() == [[1, 2, 3, 1, 2]]   # crop, wrap


@pytest.mark.parametrize("mode", MODES)
def test_index_maps_are_the_module_table(mode):
    for n, lo, hi in [(5, 2, 3), (5, -2, 3), (5, 3, -1), (4, 0, 0)]:
        if mode == "reflect" and max(lo, hi) >= n:
            continue
        idx = source_index(n, lo, hi, mode)
        want = pad_naive(np.arange(n, dtype=np.float64)[None], (lo, hi), mode=mode,
                         value=-1 if mode == "constant" else None)[0]
        np.testing.assert_array_equal(idx, want)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_])
@pytest.mark.parametrize("mode", MODES)
def test_integer_and_bool_inputs_like_torch(mode, dtype):
    x = (np.arange(2 * 3 * 4).reshape(2, 3, 4) % 5).astype(dtype)
    kw = dict(value=2.7) if mode == "constant" else {}           # torch truncates to 2 (True)
    if dtype == np.bool_ and mode != "constant":   # torch has no bool kernels for these modes
        got = cnnlib.pad(x, (1, 2, 2, 1), mode=mode)
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, check(x.astype(np.uint8), (1, 2, 2, 1), mode=mode))
        return
    check(x, (1, 2, 2, 1), mode=mode, **kw)


def test_accepts_torch_tensors_and_lists():
    t = torch.randn(1, 2, 3, 4)
    np.testing.assert_array_equal(cnnlib.pad(t, [1, 2, 0, 1], mode="reflect"),
                                  F.pad(t, [1, 2, 0, 1], mode="reflect").numpy())
    np.testing.assert_array_equal(cnnlib.pad(t, (np.int64(1), 1)), F.pad(t, (1, 1)).numpy())


def test_padding_then_conv_equals_conv_padding():
    x, w = rand((1, 2, 6, 7)), rand((3, 2, 3, 3), seed=1)
    np.testing.assert_allclose(cnnlib.conv2d(cnnlib.pad(x, (1, 1, 1, 1)), w),
                               cnnlib.conv2d(x, w, padding=1), rtol=1e-12, atol=1e-12)


def _pads(data, spatial, mode):
    """A pad tuple (last dim first) that torch accepts for ``mode``."""
    pad = []
    for n in reversed(spatial):
        if mode == "reflect":
            lo, hi = (data.draw(st.integers(-n + 1, n - 1)) for _ in range(2))
        elif mode == "circular":
            lo = data.draw(st.integers(-n + 1, n))
            hi = data.draw(st.integers(-(n + min(lo, 0)) + 1, n + min(lo, 0)))
            if lo > n + min(hi, 0):             # torch reads garbage here (see pad's docstring)
                lo = n + min(hi, 0)
        else:
            lo = data.draw(st.integers(-n, 4))
            hi = data.draw(st.integers(-(n + min(lo, 0)), 4))
        pad += [lo, hi]
    return tuple(pad)


@settings(max_examples=50, deadline=None)
@given(mode=st.sampled_from(MODES), nd=st.integers(1, 3), batched=st.booleans(),
       dtype=st.sampled_from(DTYPES), data=st.data(), seed=st.integers(0, 2**16))
def test_pad_hypothesis(mode, nd, batched, dtype, data, seed):
    spatial = tuple(data.draw(st.lists(st.integers(1, 6), min_size=nd, max_size=nd)))
    x = rand(((2, 2) if batched else (2,)) + spatial, dtype, seed)
    pad = _pads(data, spatial, mode)
    try:
        want = F.pad(torch.from_numpy(x), pad, mode=mode).numpy()
    except RuntimeError:          # e.g. every padded dim cropped to 0 (reflect/replicate)
        with pytest.raises(ValueError, match=r"pad="):
            cnnlib.pad(x, pad, mode=mode)
        return
    got = cnnlib.pad(x, pad, mode=mode)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


X3 = rand((1, 2, 4))


@pytest.mark.parametrize("call,exc,match", [
    (lambda: cnnlib.pad(X3, 1), TypeError, r"pad=1 must be a tuple of ints, not int"),
    (lambda: cnnlib.pad(X3, (1.0, 1)), TypeError, r"pad=\(1.0, 1\) must be a tuple of ints"),
    (lambda: cnnlib.pad(X3, (True, 1)), TypeError, r"pad=\(True, 1\) must be a tuple of ints"),
    (lambda: cnnlib.pad(X3, (1, 2, 3)), ValueError, r"pad=\(1, 2, 3\) has odd length 3"),
    (lambda: cnnlib.pad(X3, (1,) * 8), ValueError, r"pads 4 dimensions but input has only 3"),
    (lambda: cnnlib.pad(X3, (1, 1), mode=3), TypeError, r"mode=3 must be a str"),
    (lambda: cnnlib.pad(X3, (1, 1), mode="zeros"), ValueError,
     r"mode='zeros' is not one of 'constant', 'reflect', 'replicate', 'circular'"),
    (lambda: cnnlib.pad(X3, (1, 1), value="a"), TypeError, r"value='a' must be a number"),
    (lambda: cnnlib.pad(X3, (1, 1), mode="reflect", value=1.0), ValueError,
     r"value=1.0 can only be given with mode='constant' \(mode='reflect'"),
    (lambda: cnnlib.pad(X3, (-5, 1)), ValueError,
     r"pad=\(-5, 1\) crops 5 elements from dimension 2 .* which has only 4"),
    (lambda: cnnlib.pad(X3, (1,) * 6, mode="reflect"), ValueError,
     r"mode='reflect' with pad=\(1, 1, 1, 1, 1, 1\) \(length 6\) needs 4-D \(unbatched\) or "
     r"5-D \(batched\) input, got 3-D"),
    (lambda: cnnlib.pad(X3[0, 0], (1, 1), mode="replicate"), ValueError,
     r"needs 2-D \(unbatched\) or 3-D \(batched\) input, got 1-D input of shape \(4,\)"),
    (lambda: cnnlib.pad(X3[None, None], (1, 1), mode="circular"), ValueError, r"got 5-D"),
    (lambda: cnnlib.pad(X3, (), mode="reflect"), ValueError,
     r"mode='reflect' pads the last 1, 2 or 3 dimensions: pad must have length 2, 4 or 6, "
     r"got pad=\(\)"),
    (lambda: cnnlib.pad(X3, (4, 0), mode="reflect"), ValueError,
     r"mode='reflect' needs padding smaller than the dimension it pads, got padding \(4, 0\) "
     r"for dimension 2 of size 4"),
    (lambda: cnnlib.pad(X3, (0, 5), mode="circular"), ValueError,
     r"mode='circular' pads at most the size .* padding \(0, 5\) for dimension 2 of size 4"),
    (lambda: cnnlib.pad(X3, (-4, 1), mode="circular"), ValueError,
     r"pad=\(-4, 1\): mode='circular' cannot pad dimension 2 of size 4"),
    (lambda: cnnlib.pad(X3, (4, -5), mode="circular"), ValueError,
     r"pad=\(4, -5\): mode='circular' cannot pad"),
    (lambda: cnnlib.pad(X3, (-3, -2), mode="circular"), ValueError,
     r"pad=\(-3, -2\) crops dimension 2 of size 4 to -1"),
    (lambda: cnnlib.pad(X3, (-2, -2), mode="replicate"), ValueError,
     r"pad=\(-2, -2\) with mode='replicate' is too small .* sizes \(0,\)"),
    (lambda: cnnlib.pad(rand((1, 3, 4)), (-2, -2, -1, -2), mode="reflect"), ValueError,
     r"too small .* sizes \(0, 0\)"),
    (lambda: cnnlib.pad(rand((1, 0, 4)), (1, 1), mode="reflect"), ValueError,
     r"mode='reflect' needs non-empty dimensions \(except the batch\), got input of shape "
     r"\(1, 0, 4\)"),
    (lambda: cnnlib.pad(np.array(["a"]), (1, 1)), TypeError, r"input has dtype <U1"),
])
def test_pad_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("pad,kw", [
    ((1, 2, 3), {}), ((1,) * 8, {}), ((1, 1), dict(mode="zeros")),
    ((1, 1), dict(mode="reflect", value=1.0)), ((-5, 1), {}), ((4, 0), dict(mode="reflect")),
    ((0, 5), dict(mode="circular")), ((-3, -2), dict(mode="circular")),
    ((-2, -2), dict(mode="replicate")), ((1, 1, 1, 1, 1, 1), dict(mode="reflect")),
])
def test_torch_rejects_the_same_calls(pad, kw):
    """The errors above are torch's errors too (RuntimeError/NotImplementedError there)."""
    with pytest.raises((RuntimeError, NotImplementedError)):
        F.pad(torch.from_numpy(X3), pad, **kw)
    with pytest.raises(ValueError):
        cnnlib.pad(X3, pad, **kw)


def test_empty_batch_and_size_zero_outputs_like_torch():
    check(rand((0, 2, 3)), (1, 1), mode="reflect")            # an empty batch is fine
    check(rand((1, 2, 3, 4)), (-2, -2, 1, 1), mode="replicate")  # one padded dim empty
    check(rand((1, 2, 4)), (-2, -2), mode="circular")         # circular may empty a dim
    check(rand((1, 2, 0)), (0, 0), mode="circular")
