"""im2col / col2im against torch.nn.functional.unfold / fold, the naive references, and errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from cnnlib import col2im, fold, im2col, unfold
from cnnlib._im2col import col2im_naive, im2col_naive

TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}
CONFIGS = [  # kernel_size, stride, padding, dilation
    (3, 1, 0, 1), (3, 1, 1, 1), (3, 2, 1, 1), ((2, 3), (2, 1), (0, 2), (2, 1)),
    (1, 1, 0, 1), (4, 3, 2, 1), (3, 1, 2, 2), ((1, 5), 1, (0, 2), 1),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k,s,p,d", CONFIGS)
def test_im2col_matches_unfold(dtype, k, s, p, d):
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 8)).astype(dtype)
    cols = im2col(x, k, s, p, d)
    ref = F.unfold(torch.from_numpy(x), k, dilation=d, padding=p, stride=s).numpy()
    assert cols.dtype == dtype and cols.shape == ref.shape
    np.testing.assert_array_equal(cols, ref)          # a pure copy: bit-exact


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k,s,p,d", CONFIGS)
def test_col2im_matches_fold(dtype, k, s, p, d):
    rng = np.random.default_rng(1)
    size = (9, 8)
    ref_cols = F.unfold(torch.zeros(1, 3, *size), k, dilation=d, padding=p, stride=s)
    cols = rng.standard_normal((2,) + tuple(ref_cols.shape[1:])).astype(dtype)
    out = col2im(cols, size, k, s, p, d)
    ref = F.fold(torch.from_numpy(cols), size, k, dilation=d, padding=p, stride=s).numpy()
    assert out.dtype == dtype and out.shape == ref.shape
    np.testing.assert_allclose(out, ref, **TOL[dtype])


def test_shapes_have_the_channel_factor():
    cols = im2col(np.zeros((1, 64, 56, 56), np.float32), 3, padding=1)
    assert cols.shape == (1, 64 * 3 * 3, 56 * 56)


def test_unbatched_like_torch():
    x = np.random.default_rng(2).standard_normal((3, 7, 6))
    cols = im2col(x, 3, padding=1)
    ref = F.unfold(torch.from_numpy(x), 3, padding=1).numpy()
    assert cols.shape == ref.shape == (27, 42)
    np.testing.assert_array_equal(cols, ref)
    back = col2im(cols, (7, 6), 3, padding=1)
    np.testing.assert_allclose(back, F.fold(torch.from_numpy(cols), (7, 6), 3, padding=1).numpy(),
                               rtol=1e-12, atol=1e-12)
    assert back.shape == (3, 7, 6)


def test_accepts_torch_tensors():
    x = torch.randn(1, 2, 5, 5, dtype=torch.float64)
    np.testing.assert_array_equal(im2col(x, 2), F.unfold(x, 2).numpy())


def test_col2im_is_the_adjoint_of_im2col():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 10, 9))
    args = dict(kernel_size=(3, 2), stride=(2, 1), padding=1, dilation=(1, 2))
    cols = im2col(x, **args)
    y = rng.standard_normal(cols.shape)
    assert np.isclose(np.sum(cols * y), np.sum(x * col2im(y, (10, 9), **args)), rtol=1e-12)


def test_col2im_of_im2col_counts_overlaps():
    x = np.ones((1, 1, 4, 4))
    counts = col2im(im2col(x, 3, padding=1), 4, 3, padding=1)[0, 0]
    assert counts[0, 0] == 4 and counts[1, 1] == 9 and counts[0, 1] == 6


@pytest.mark.parametrize("k,s,p,d", CONFIGS[:5])
def test_against_naive(k, s, p, d):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 2, 7, 9))
    kk, ss, pp, dd = (tuple(v) if isinstance(v, tuple) else (v, v) for v in (k, s, p, d))
    cols = im2col(x, k, s, p, d)
    out = tuple((n + 2 * q - e * (a - 1) - 1) // b + 1 for n, q, e, a, b in zip((7, 9), pp, dd, kk, ss))
    np.testing.assert_array_equal(cols, im2col_naive(x, kk, ss, pp, pp, dd, out))
    np.testing.assert_allclose(col2im(cols, (7, 9), k, s, p, d),
                               col2im_naive(cols, (7, 9), kk, ss, pp, dd), rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(c=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9), k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       s=st.tuples(st.integers(1, 3), st.integers(1, 3)), p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       d=st.tuples(st.integers(1, 3), st.integers(1, 3)), seed=st.integers(0, 2**16))
def test_hypothesis_unfold_fold(c, h, w, k, s, p, d, seed):
    if any(dd * (kk - 1) + 1 > n + 2 * pp for dd, kk, n, pp in zip(d, k, (h, w), p)):
        with pytest.raises(ValueError):
            im2col(np.zeros((1, c, h, w)), k, s, p, d)
        return
    x = np.random.default_rng(seed).standard_normal((2, c, h, w))
    tx = torch.from_numpy(x)
    cols = im2col(x, k, s, p, d)
    np.testing.assert_array_equal(cols, F.unfold(tx, k, dilation=d, padding=p, stride=s).numpy())
    np.testing.assert_allclose(col2im(cols, (h, w), k, s, p, d),
                               F.fold(torch.from_numpy(cols), (h, w), k, dilation=d, padding=p, stride=s).numpy(),
                               rtol=1e-12, atol=1e-12)


def test_errors():
    x = np.zeros((1, 2, 5, 5), np.float32)
    with pytest.raises(ValueError, match="kernel_size=0"):
        im2col(x, 0)
    with pytest.raises(ValueError, match="stride=-1"):
        im2col(x, 2, stride=-1)
    with pytest.raises(ValueError, match="padding=-1"):
        im2col(x, 2, padding=-1)
    with pytest.raises(ValueError):
        im2col(x, 7)                                   # kernel larger than the input
    with pytest.raises(ValueError, match="3-D .*4-D"):
        im2col(np.zeros((5, 5)), 2)
    with pytest.raises(TypeError, match="dtype int64"):
        im2col(np.zeros((1, 1, 4, 4), np.int64), 2)
    with pytest.raises(TypeError, match="kernel_size"):
        im2col(x, 2.5)
    cols = im2col(x, 3)
    with pytest.raises(ValueError, match=r"input.shape\[-1\]=9"):
        col2im(cols, 6, 3)
    with pytest.raises(ValueError, match=r"input.shape\[-2\]=18 is not divisible"):
        col2im(cols, 5, 4)
    with pytest.raises(ValueError, match="2-D .*3-D"):
        col2im(np.zeros(9), 5, 3)
    with pytest.raises(ValueError, match="output_size=0"):
        col2im(cols, 0, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("w,k,p,d", [(5, 3, 4, 1), (1, 3, 1, 1), (7, 2, 3, 3), (12, 5, 0, 2), (6, 1, 2, 1)])
def test_stride1_slice_copy_with_wide_padding(dtype, w, k, p, d):
    """The stride-1 fast path (one slice copy per row) at every padding/width edge case."""
    x = np.random.default_rng(3).standard_normal((2, 3, 4, w)).astype(dtype)
    cols = im2col(x, (1, k), 1, (0, p), (1, d))
    ref = F.unfold(torch.from_numpy(x), (1, k), dilation=(1, d), padding=(0, p), stride=1).numpy()
    np.testing.assert_array_equal(cols, ref)


# ----------------------------------------------------------------------------- unfold / fold
# torch's names and positional order (kernel_size, dilation, padding, stride) for im2col/col2im

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("k,s,p,d", CONFIGS)
def test_unfold_and_fold_match_torch_positionally(dtype, batched, k, s, p, d):
    shape = (2, 3, 9, 8) if batched else (3, 9, 8)
    x = np.random.default_rng(5).standard_normal(shape).astype(dtype)
    cols = unfold(x, k, d, p, s)
    ref = F.unfold(torch.from_numpy(x), k, d, p, s).numpy()
    assert cols.dtype == dtype and cols.shape == ref.shape      # (N, C·kh·kw, L) like torch
    np.testing.assert_array_equal(cols, ref)
    np.testing.assert_array_equal(cols, im2col(x, k, s, p, d))  # the same function, reordered
    y = np.random.default_rng(6).standard_normal(ref.shape).astype(dtype)
    out = fold(y, (9, 8), k, d, p, s)
    want = F.fold(torch.from_numpy(y), (9, 8), k, d, p, s).numpy()
    assert out.dtype == dtype and out.shape == want.shape == shape
    np.testing.assert_allclose(out, want, **TOL[dtype])
    np.testing.assert_array_equal(out, col2im(y, (9, 8), k, s, p, d))


def test_unfold_fold_keywords_and_public_names():
    import cnnlib
    assert {"unfold", "fold"} <= set(cnnlib.__all__)
    x = torch.randn(1, 2, 7, 6, dtype=torch.float64)
    kw = dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    cols = cnnlib.unfold(x, **kw)
    np.testing.assert_array_equal(cols, F.unfold(x, **kw).numpy())
    np.testing.assert_allclose(cnnlib.fold(cols, output_size=(7, 6), **kw),
                               F.fold(torch.from_numpy(cols), output_size=(7, 6), **kw).numpy(),
                               rtol=1e-12, atol=1e-12)


def test_conv_is_a_matrix_product_of_unfold():
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 3, 8, 7)), rng.standard_normal((4, 3, 3, 3))
    y = (w.reshape(4, -1) @ unfold(x, 3, padding=1, stride=2)).reshape(2, 4, 4, 4)
    np.testing.assert_allclose(y, F.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1,
                                           stride=2).numpy(), rtol=1e-12, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(c=st.integers(1, 3), h=st.integers(1, 8), w=st.integers(1, 8), batched=st.booleans(),
       k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       d=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_hypothesis_unfold_fold_torch_order(c, h, w, batched, k, s, p, d, dtype, seed):
    shape = (2, c, h, w) if batched else (c, h, w)
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    try:
        want = F.unfold(torch.from_numpy(x), k, d, p, s).numpy()
    except RuntimeError:                          # kernel larger than the padded input
        with pytest.raises(ValueError, match="larger than the padded input"):
            unfold(x, k, d, p, s)
        return
    cols = unfold(x, k, d, p, s)
    np.testing.assert_array_equal(cols, want)
    np.testing.assert_allclose(fold(cols, (h, w), k, d, p, s),
                               F.fold(torch.from_numpy(cols), (h, w), k, d, p, s).numpy(),
                               **TOL[dtype])


@pytest.mark.parametrize("call,exc,match", [
    (lambda: unfold(np.zeros((5, 5)), 2), ValueError,
     r"unfold: input must be 3-D \(unbatched\) or 4-D \(batched\), got 2-D"),
    (lambda: unfold(np.zeros((1, 1, 5, 5)), 2, dilation=0), ValueError,
     r"dilation=0 must be positive"),
    (lambda: unfold(np.zeros((1, 1, 5, 5)), 2, 1, -1), ValueError,
     r"padding=-1 must be non-negative"),
    (lambda: unfold(np.zeros((1, 1, 5, 5)), 2, 1, 0, (1, 2, 3)), ValueError,
     r"stride=\(1, 2, 3\) must be an int or a sequence of 2 ints"),
    (lambda: unfold(np.zeros((1, 1, 5, 5)), 6), ValueError,
     r"kernel_size=6 .* larger than the padded input"),
    (lambda: unfold(np.zeros((1, 1, 5, 5), np.int64), 2), TypeError, r"input has dtype int64"),
    (lambda: fold(np.zeros((1, 9, 9)), 6, 3), ValueError,
     r"fold: input.shape\[-1\]=9 but output_size=\(6, 6\)"),
    (lambda: fold(np.zeros((1, 10, 9)), 5, 3), ValueError,
     r"fold: input.shape\[-2\]=10 is not divisible by the kernel's kh·kw=9"),
    (lambda: fold(np.zeros((1, 1, 9, 9)), 5, 3), ValueError,
     r"fold: input must be 2-D \(unbatched\) or 3-D \(batched\), got 4-D"),
    (lambda: fold(np.zeros((1, 9, 9)), (5, 0), 3), ValueError,
     r"output_size=\(5, 0\) must be positive"),
    (lambda: fold(np.zeros((1, 9, 9)), 5, 3, 1.5), TypeError, r"dilation=1.5 must be an int"),
])
def test_unfold_fold_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
