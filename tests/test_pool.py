"""Tests for cnnlib._pool: fast kernels vs naive references vs torch.nn.functional."""
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnlib
from cnnlib import _pool

DTYPES = [np.float32, np.float64]


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def rand(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def torch_of(x):
    return torch.from_numpy(np.ascontiguousarray(x))


def assert_close(got, want, dtype, equal_nan=False):
    want = want.numpy() if isinstance(want, torch.Tensor) else want
    assert got.shape == want.shape
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, equal_nan=equal_nan, **tol(dtype))


# ------------------------------------------------------------------------------ max_pool2d

MAX_GRID = [
    # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 2, 1, 1, True), (2, 2, 1, 1, True),
    ((2, 3), (1, 2), (1, 0), (2, 1), True), (3, 1, 1, 2, False), ((3, 1), (2, 3), (1, 0), 1, True),
    (4, 3, 2, 1, True), (1, 1, 0, 1, False), ((5, 2), (3, 1), (2, 1), (1, 3), False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k,s,p,d,ceil", MAX_GRID)
def test_max_pool2d_matches_torch_and_naive(k, s, p, d, ceil, dtype):
    x = rand((2, 3, 11, 10), dtype)
    out, idx = cnnlib.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
    t_out, t_idx = F.max_pool2d(torch_of(x), k, s, p, d, ceil, return_indices=True)
    assert_close(out, t_out, dtype)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, t_idx.numpy())
    n_out, n_idx = _pool.max_pool2d_naive(x, k, s, p, d, ceil, return_indices=True)
    np.testing.assert_array_equal(out, n_out)
    np.testing.assert_array_equal(idx, n_idx)
    np.testing.assert_array_equal(cnnlib.max_pool2d(x, k, s, p, d, ceil), out)


def test_max_pool2d_unbatched_and_torch_tensor_input():
    x = rand((3, 8, 9), np.float32)
    out, idx = cnnlib.max_pool2d(torch_of(x), 3, 2, 1, return_indices=True)
    t_out, t_idx = F.max_pool2d(torch_of(x), 3, 2, 1, return_indices=True)
    assert out.shape == (3, 4, 5)
    np.testing.assert_array_equal(out, t_out.numpy())
    np.testing.assert_array_equal(idx, t_idx.numpy())


def test_max_pool2d_ties_nan_and_all_minus_inf_match_torch():
    nan, inf = np.nan, np.inf
    x = np.array([[[[1, 1, nan, 2, 5, 5],
                    [1, 0, 3, nan, 5, 5],
                    [-inf, -inf, 2, 2, nan, 0],
                    [-inf, -inf, 2, 2, 1, nan]]]], dtype=np.float64)
    for k, s, p in [(2, 2, 0), (2, 1, 1), (3, 1, 1), ((2, 3), (2, 3), 0)]:
        out, idx = cnnlib.max_pool2d(x, k, s, p, return_indices=True)
        t_out, t_idx = F.max_pool2d(torch_of(x), k, s, p, return_indices=True)
        np.testing.assert_array_equal(out, t_out.numpy())          # NaN == NaN here
        np.testing.assert_array_equal(idx, t_idx.numpy())
        n_out, n_idx = _pool.max_pool2d_naive(x, k, s, p, return_indices=True)
        np.testing.assert_array_equal(idx, n_idx)
    # spelled out: first max of a tie, last NaN, first in-bounds tap when all are -inf
    out, idx = cnnlib.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(idx[0, 0], [[0, 9, 4], [12, 14, 23]])
    assert out[0, 0, 1, 0] == -inf


# ------------------------------------------------------------------------------ avg_pool2d

AVG_GRID = [
    # kernel, stride, padding, ceil_mode
    (2, None, 0, False), (3, 2, 1, False), (3, 2, 1, True), (2, 2, 1, True), (4, 3, 2, True),
    ((3, 2), (2, 1), (1, 1), True), ((5, 3), (4, 2), (2, 0), True), (1, 1, 0, False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("divisor_override", [None, 5, -2])
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("k,s,p,ceil", AVG_GRID)
def test_avg_pool2d_matches_torch_and_naive(k, s, p, ceil, count_include_pad, divisor_override,
                                            dtype):
    x = rand((2, 2, 10, 11), dtype)
    args = (k, s, p, ceil, count_include_pad, divisor_override)
    out = cnnlib.avg_pool2d(x, *args)
    assert_close(out, F.avg_pool2d(torch_of(x), *args), dtype)
    assert_close(out, _pool.avg_pool2d_naive(x, *args), dtype)


def test_avg_pool2d_divisor_of_clipped_ceil_mode_window():
    # 5x5 ones, k=2, s=2, ceil_mode: the last row/column windows hang off the input.
    x = np.ones((1, 1, 5, 5))
    out = cnnlib.avg_pool2d(x, 2, ceil_mode=True)
    assert out.shape == (1, 1, 3, 3)
    # torch clips the window to the (padded) input, so clipped windows still average to 1
    np.testing.assert_array_equal(out, np.ones((1, 1, 3, 3)))
    np.testing.assert_array_equal(out, F.avg_pool2d(torch_of(x), 2, ceil_mode=True).numpy())
    # with padding=1 and count_include_pad the border windows count the zero padding
    out = cnnlib.avg_pool2d(x, 2, 2, 1, count_include_pad=True)
    assert out[0, 0, 0, 0] == 0.25
    out = cnnlib.avg_pool2d(x, 2, 2, 1, count_include_pad=False)
    assert out[0, 0, 0, 0] == 1.0


# ------------------------------------------------------------------------------ lp_pool2d

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_type", [1, 2, 3, 1.5, 0.5, math.inf, -math.inf])
@pytest.mark.parametrize("k,s,ceil", [(2, None, False), (3, 2, True), ((2, 3), (1, 2), True)])
def test_lp_pool2d_matches_torch(norm_type, k, s, ceil, dtype):
    x = rand((2, 3, 9, 8), dtype)         # negative entries: NaN for fractional p, as torch
    out = cnnlib.lp_pool2d(x, norm_type, k, s, ceil)
    assert_close(out, F.lp_pool2d(torch_of(x), norm_type, k, s, ceil), dtype, equal_nan=True)
    xa = np.abs(x)
    out = cnnlib.lp_pool2d(xa, norm_type, k, s, ceil)
    assert not np.isnan(out).any()
    assert_close(out, F.lp_pool2d(torch_of(xa), norm_type, k, s, ceil), dtype)


def test_lp_pool2d_is_torch_formula_not_true_norm_on_clipped_windows():
    x = np.ones((1, 4, 5), dtype=np.float64)
    out = cnnlib.lp_pool2d(x, 2, 2, ceil_mode=True)
    # full 2x2 window: sqrt(4) = 2; the 1x1 corner window: avg 1 * (2*2) -> sqrt(4) = 2, not 1
    np.testing.assert_allclose(out, np.full((1, 2, 3), 2.0))
    np.testing.assert_allclose(out, F.lp_pool2d(torch_of(x), 2, 2, ceil_mode=True).numpy())


# ------------------------------------------------------------------------------ adaptive

ADAPTIVE_SIZES = [1, 3, (2, 5), (None, 3), (4, None), (7, 13), (11, 2), (None, None), (0, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output_size", ADAPTIVE_SIZES)
@pytest.mark.parametrize("shape", [(2, 3, 7, 11), (3, 5, 4)])
def test_adaptive_pools_match_torch_and_naive(shape, output_size, dtype):
    x = rand(shape, dtype)
    avg = cnnlib.adaptive_avg_pool2d(x, output_size)
    assert_close(avg, F.adaptive_avg_pool2d(torch_of(x), output_size), dtype)
    assert_close(avg, _pool.adaptive_avg_pool2d_naive(x, output_size), dtype)
    mx, idx = cnnlib.adaptive_max_pool2d(x, output_size, return_indices=True)
    t_mx, t_idx = F.adaptive_max_pool2d(torch_of(x), output_size, return_indices=True)
    assert_close(mx, t_mx, dtype)
    np.testing.assert_array_equal(idx, t_idx.numpy())
    n_mx, n_idx = _pool.adaptive_max_pool2d_naive(x, output_size, return_indices=True)
    np.testing.assert_array_equal(mx, n_mx)
    np.testing.assert_array_equal(idx, n_idx)
    np.testing.assert_array_equal(cnnlib.adaptive_max_pool2d(x, output_size), mx)


def test_adaptive_windows_overlap_and_global_pooling():
    x = np.arange(5.0).reshape(1, 1, 1, 5)
    # 5 -> 3: windows [0,2), [1,4), [3,5) overlap
    np.testing.assert_allclose(cnnlib.adaptive_avg_pool2d(x, (1, 3))[0, 0, 0], [0.5, 2.0, 3.5])
    y = rand((2, 4, 6, 7), np.float64)
    np.testing.assert_allclose(cnnlib.adaptive_avg_pool2d(y, 1)[..., 0, 0], y.mean(axis=(2, 3)))


def test_adaptive_max_nan_and_ties_match_torch():
    x = np.array([[[1.0, np.nan, 1.0, np.nan, 3.0], [3.0, 0.0, 3.0, 3.0, 2.0]]])
    for size in [(1, 1), (1, 2), (2, 3)]:
        out, idx = cnnlib.adaptive_max_pool2d(x, size, return_indices=True)
        t_out, t_idx = F.adaptive_max_pool2d(torch_of(x), size, return_indices=True)
        np.testing.assert_array_equal(out, t_out.numpy())
        np.testing.assert_array_equal(idx, t_idx.numpy())


# ------------------------------------------------------------------------------ max_unpool2d

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k,s,p,in_hw,out_size", [
    (2, None, 0, (8, 10), None), (2, 2, 0, (9, 11), (9, 11)), (3, 2, 1, (9, 9), None),
    (3, 2, 1, (9, 9), (9, 9)), (3, 2, 1, (10, 9), (10, 9)), ((3, 2), (2, 1), (1, 0), (7, 6), None),
    (3, 3, 1, (10, 10), (2, 3, 10, 10)), (3, 1, 1, (6, 7), None),     # overlapping windows
])
def test_max_pool_unpool_round_trip_matches_torch(k, s, p, in_hw, out_size, dtype):
    x = rand((2, 3) + in_hw, dtype)
    pooled, idx = cnnlib.max_pool2d(x, k, s, p, return_indices=True)
    un = cnnlib.max_unpool2d(pooled, idx, k, s, p, output_size=out_size)
    t_un = F.max_unpool2d(torch_of(pooled), torch_of(idx), k, s, p, output_size=out_size)
    np.testing.assert_array_equal(un, t_un.numpy())
    np.testing.assert_array_equal(un, _pool.max_unpool2d_naive(pooled, idx, k, s, p, out_size))
    # every pooled maximum sits at its original place; everything else is zero
    if un.shape == x.shape:
        mask = un != 0
        np.testing.assert_array_equal(un[mask], x[mask])
        # unbatched input gives the unbatched result
        np.testing.assert_array_equal(
            cnnlib.max_unpool2d(pooled[0], idx[0], k, s, p, output_size=in_hw), un[0])


def test_max_unpool2d_repeated_index_keeps_last_value_like_torch():
    x = np.array([[[[1.0, 2.0, 3.0]]]])
    idx = np.array([[[[4, 4, 0]]]], dtype=np.int64)
    out = cnnlib.max_unpool2d(x, idx, (2, 1), (1, 1), output_size=(2, 3))
    np.testing.assert_array_equal(out, [[[[3.0, 0, 0], [0, 2.0, 0]]]])
    t = F.max_unpool2d(torch_of(x), torch_of(idx), (2, 1), (1, 1), output_size=(2, 3))
    np.testing.assert_array_equal(out, t.numpy())


# ------------------------------------------------------------------------------ hypothesis

@st.composite
def pool_configs(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))   # may be too small: rejected
    shape = (draw(st.integers(1, 3)),) + ((draw(st.integers(1, 2)),) if draw(st.booleans()) else ())
    return dict(shape=shape[::-1] + (h, w), k=(kh, kw), s=(sh, sw), p=(ph, pw), d=(dh, dw),
                ceil=draw(st.booleans()), dtype=draw(st.sampled_from(DTYPES)),
                stride_none=draw(st.booleans()), seed=draw(st.integers(0, 2**16)))


@settings(max_examples=120, deadline=None)
@given(cfg=pool_configs())
def test_max_pool2d_hypothesis(cfg):
    x = rand(cfg["shape"], cfg["dtype"], cfg["seed"])
    x[x > 1.5] = np.round(x[x > 1.5])                  # some exact ties
    s = None if cfg["stride_none"] else cfg["s"]
    args = (cfg["k"], s, cfg["p"], cfg["d"], cfg["ceil"])
    try:
        t_out, t_idx = F.max_pool2d(torch_of(x), *args, return_indices=True)
    except RuntimeError:
        with pytest.raises(ValueError, match="larger than the padded input"):
            cnnlib.max_pool2d(x, *args)
        return
    out, idx = cnnlib.max_pool2d(x, *args, return_indices=True)
    np.testing.assert_array_equal(out, t_out.numpy())
    np.testing.assert_array_equal(idx, t_idx.numpy())
    n_out, n_idx = _pool.max_pool2d_naive(x, *args, return_indices=True)
    np.testing.assert_array_equal(idx, n_idx)


@settings(max_examples=120, deadline=None)
@given(cfg=pool_configs(), cip=st.booleans(), div=st.sampled_from([None, 1, 3, 7]))
def test_avg_pool2d_hypothesis(cfg, cip, div):
    x = rand(cfg["shape"], cfg["dtype"], cfg["seed"])
    s = None if cfg["stride_none"] else cfg["s"]
    args = (cfg["k"], s, cfg["p"], cfg["ceil"], cip, div)
    try:
        want = F.avg_pool2d(torch_of(x), *args)
    except RuntimeError:
        with pytest.raises(ValueError, match="larger than the padded input"):
            cnnlib.avg_pool2d(x, *args)
        return
    assert_close(cnnlib.avg_pool2d(x, *args), want, cfg["dtype"])
    assert_close(cnnlib.avg_pool2d(x, *args), _pool.avg_pool2d_naive(x, *args), cfg["dtype"])


@settings(max_examples=60, deadline=None)
@given(cfg=pool_configs(), norm=st.sampled_from([1, 2, 3, 1.5, math.inf]))
def test_lp_pool2d_hypothesis(cfg, norm):
    x = np.abs(rand(cfg["shape"], cfg["dtype"], cfg["seed"]))
    s = None if cfg["stride_none"] else cfg["s"]
    try:
        want = F.lp_pool2d(torch_of(x), norm, cfg["k"], s, cfg["ceil"])
    except RuntimeError:                                      # lp_pool2d has no padding
        with pytest.raises(ValueError, match="larger than the padded input"):
            cnnlib.lp_pool2d(x, norm, cfg["k"], s, cfg["ceil"])
        return
    assert_close(cnnlib.lp_pool2d(x, norm, cfg["k"], s, cfg["ceil"]), want, cfg["dtype"])


@settings(max_examples=100, deadline=None)
@given(h=st.integers(1, 12), w=st.integers(1, 12), oh=st.one_of(st.none(), st.integers(0, 14)),
       ow=st.one_of(st.none(), st.integers(1, 14)), batched=st.booleans(),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**16))
def test_adaptive_pools_hypothesis(h, w, oh, ow, batched, dtype, seed):
    x = rand(((2,) if batched else ()) + (3, h, w), dtype, seed)
    size = (oh, ow)
    assert_close(cnnlib.adaptive_avg_pool2d(x, size), F.adaptive_avg_pool2d(torch_of(x), size),
                 dtype)
    out, idx = cnnlib.adaptive_max_pool2d(x, size, return_indices=True)
    t_out, t_idx = F.adaptive_max_pool2d(torch_of(x), size, return_indices=True)
    np.testing.assert_array_equal(out, t_out.numpy())
    np.testing.assert_array_equal(idx, t_idx.numpy())


@settings(max_examples=80, deadline=None)
@given(cfg=pool_configs(), extra=st.tuples(st.integers(-3, 3), st.integers(-3, 3)))
def test_max_unpool2d_hypothesis(cfg, extra):
    x = rand(cfg["shape"], cfg["dtype"], cfg["seed"])
    k, s, p = cfg["k"], cfg["s"], cfg["p"]
    try:
        pooled, idx = F.max_pool2d(torch_of(x), k, s, p, return_indices=True)
    except RuntimeError:
        return
    default = [(n - 1) * st_ - 2 * pd + kk
               for n, st_, pd, kk in zip(pooled.shape[-2:], s, p, k)]
    size = [d_ + e for d_, e in zip(default, extra)]
    try:
        want = F.max_unpool2d(pooled, idx, k, s, p, output_size=size).numpy()
    except (ValueError, RuntimeError):
        with pytest.raises(ValueError):
            cnnlib.max_unpool2d(pooled.numpy(), idx.numpy(), k, s, p, output_size=size)
        return
    got = cnnlib.max_unpool2d(pooled.numpy(), idx.numpy(), k, s, p, output_size=size)
    np.testing.assert_array_equal(got, want)


def test_max_unpool2d_into_empty_planes_writes_nothing():
    """Default size (1-1)*2 - 2*1 + 2 = 0: torch skips the index check and returns empty planes;
    the scatter kernel must not run (it would write out of bounds)."""
    x = rand((1, 64, 1, 1), np.float32)
    pooled, idx = F.max_pool2d(torch_of(x), 2, 2, 1, return_indices=True)
    for size in ([0, 1], [1, 0], [0, 0]):
        want = F.max_unpool2d(pooled, idx, 2, 2, 1, output_size=size)
        got = cnnlib.max_unpool2d(pooled.numpy(), idx.numpy(), 2, 2, 1, output_size=size)
        assert got.shape == tuple(want.shape) and got.size == 0


# ------------------------------------------------------------------------------ errors

X = rand((1, 2, 6, 6), np.float32)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: cnnlib.max_pool2d(X[0, 0], 2), ValueError, r"max_pool2d: input must be 3-D"),
    (lambda: cnnlib.max_pool2d(X[None], 2), ValueError, r"got 5-D"),
    (lambda: cnnlib.max_pool2d(X.astype(np.int64), 2), TypeError, r"input has dtype int64"),
    (lambda: cnnlib.max_pool2d(X, 0), ValueError, r"kernel_size=0 must be positive"),
    (lambda: cnnlib.max_pool2d(X, (2, 2, 2)), ValueError, r"kernel_size=\(2, 2, 2\)"),
    (lambda: cnnlib.max_pool2d(X, 2.0), TypeError, r"kernel_size=2.0"),
    (lambda: cnnlib.max_pool2d(X, 2, stride=-1), ValueError, r"stride=-1 must be positive"),
    (lambda: cnnlib.max_pool2d(X, 2, dilation=0), ValueError, r"dilation=0 must be positive"),
    (lambda: cnnlib.max_pool2d(X, 2, padding=-1), ValueError, r"padding=-1 must be non-negative"),
    (lambda: cnnlib.max_pool2d(X, 3, padding=2), ValueError,
     r"padding=2 must be at most half of kernel_size=3"),
    (lambda: cnnlib.max_pool2d(X, 7), ValueError, r"kernel_size=7 .* larger than the padded input"),
    (lambda: cnnlib.max_pool2d(X, 3, dilation=3), ValueError, r"effective 7"),
    (lambda: cnnlib.max_pool2d(X, 2, ceil_mode="yes"), TypeError, r"ceil_mode='yes' must be a bool"),
    (lambda: cnnlib.max_pool2d(X, 2, return_indices=None), TypeError, r"return_indices=None"),
    (lambda: cnnlib.max_pool2d(np.zeros((1, 0, 3), np.float32), 1), ValueError,
     r"empty spatial dim"),
    (lambda: cnnlib.avg_pool2d(X, 2, divisor_override=0), ValueError, r"divisor_override=0"),
    (lambda: cnnlib.avg_pool2d(X, 2, divisor_override=2.5), TypeError,
     r"divisor_override=2.5 must be an int"),
    (lambda: cnnlib.avg_pool2d(X, 2, count_include_pad="no"), TypeError, r"count_include_pad='no'"),
    (lambda: cnnlib.avg_pool2d(X, 4, padding=3), ValueError, r"padding=3 must be at most half"),
    (lambda: cnnlib.lp_pool2d(X, "2", 2), TypeError, r"norm_type='2' must be an int or a float"),
    (lambda: cnnlib.lp_pool2d(X, True, 2), TypeError, r"norm_type=True"),
    (lambda: cnnlib.lp_pool2d(X, math.nan, 2), ValueError, r"norm_type=nan must not be NaN"),
    (lambda: cnnlib.lp_pool2d(X, 2, 0), ValueError, r"kernel_size=0 must be positive"),
    (lambda: cnnlib.lp_pool2d(X, 2, 7), ValueError, r"larger than the padded input"),
    (lambda: cnnlib.adaptive_avg_pool2d(X, -1), ValueError, r"output_size=-1 must be non-negative"),
    (lambda: cnnlib.adaptive_avg_pool2d(X, (1, 2, 3)), TypeError, r"output_size=\(1, 2, 3\)"),
    (lambda: cnnlib.adaptive_avg_pool2d(X, 2.0), TypeError, r"output_size=2.0"),
    (lambda: cnnlib.adaptive_avg_pool2d(X, None), TypeError, r"output_size=None must be an int"),
    (lambda: cnnlib.adaptive_max_pool2d(X, (2, 1.5)), TypeError, r"must contain only ints or None"),
    (lambda: cnnlib.adaptive_max_pool2d(X[0, 0], 2), ValueError, r"adaptive_max_pool2d: input"),
    (lambda: cnnlib.adaptive_max_pool2d(X, 2, return_indices="x"), TypeError, r"return_indices='x'"),
])
def test_pool_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


POOLED, IDX = cnnlib.max_pool2d(X, 2, return_indices=True)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: cnnlib.max_unpool2d(POOLED, IDX.astype(np.int32), 2), TypeError,
     r"indices has dtype int32; expected int64"),
    (lambda: cnnlib.max_unpool2d(POOLED, IDX[..., :1], 2), ValueError,
     r"indices of shape \(1, 2, 3, 1\) must have the shape of input \(1, 2, 3, 3\)"),
    (lambda: cnnlib.max_unpool2d(POOLED, IDX + 100, 2), ValueError,
     r"invalid max index 1\d\d: the output planes are 6x6"),
    (lambda: cnnlib.max_unpool2d(POOLED, IDX - 100, 2), ValueError, r"invalid max index -\d+: the output planes are 6x6"),
    (lambda: cnnlib.max_unpool2d(POOLED, IDX, 2, output_size=(9, 9)), ValueError,
     r"output_size=\(9, 9\) is invalid: dim 0 must be between 4 and 8"),
    (lambda: cnnlib.max_unpool2d(POOLED, IDX, 2, output_size=(6, 6, 6)), ValueError,
     r"must be a sequence of 2 or 4 ints"),
    (lambda: cnnlib.max_unpool2d(POOLED, IDX, 2, output_size=(6.0, 6)), TypeError,
     r"must contain only ints"),
    (lambda: cnnlib.max_unpool2d(POOLED[0, 0], IDX[0, 0], 2), ValueError,
     r"max_unpool2d: input must be 3-D .* got 2-D"),
    (lambda: cnnlib.max_unpool2d(POOLED, IDX, 0), ValueError, r"kernel_size=0 must be positive"),
    (lambda: cnnlib.max_unpool2d(POOLED, IDX, 2, padding=4), ValueError,
     r"output size \(-2, -2\) must be non-negative"),
])
def test_max_unpool2d_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_errors_agree_with_torch_on_rejection():
    """Every configuration torch rejects, cnnlib rejects too (and vice versa) on a small grid."""
    x = rand((1, 1, 5, 4), np.float64)
    for k, s, p, d, ceil in itertools.product([1, 2, 3, 6], [1, 2], [0, 1, 2], [1, 2],
                                              [False, True]):
        try:
            want = F.max_pool2d(torch_of(x), k, s, p, d, ceil).numpy()
        except RuntimeError:
            with pytest.raises(ValueError):
                cnnlib.max_pool2d(x, k, s, p, d, ceil)
            continue
        np.testing.assert_array_equal(cnnlib.max_pool2d(x, k, s, p, d, ceil), want)
