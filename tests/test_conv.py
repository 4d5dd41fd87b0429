"""conv1d/conv2d/conv3d (direct numba kernel) against torch and the naive reference."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings, strategies as st

import cnnlib
from cnnlib import _algorithms, _conv, _depthwise
from cnnlib._validation import conv_spec

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-12)}
OURS = {1: cnnlib.conv1d, 2: cnnlib.conv2d, 3: cnnlib.conv3d}
NAIVE = {1: _conv.conv1d_naive, 2: _conv.conv2d_naive, 3: _conv.conv3d_naive}
TORCH = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def make(rng, n_batch, c_in, c_out, spatial, kernel, groups, bias, dtype):
    """Random input/weight/bias; weights scaled by 1/sqrt(fan_in) so outputs are O(1)."""
    x = rng.standard_normal((n_batch, c_in) + tuple(spatial)).astype(dtype)
    fan_in = c_in // groups * int(np.prod(kernel))
    w = (rng.standard_normal((c_out, c_in // groups) + tuple(kernel)) / np.sqrt(fan_in)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype) if bias else None
    return x, w, b


def torch_conv(n, x, w, b, **kw):
    tb = None if b is None else torch.from_numpy(b)
    return TORCH[n](torch.from_numpy(x), torch.from_numpy(w), tb, **kw).numpy()


def check(n, x, w, b, naive=False, **kw):
    """Assert ours (and optionally the naive reference) equals torch: shape, dtype, values."""
    ref = torch_conv(n, x, w, b, **kw)
    tol = TOL[x.dtype.type]
    for fn in (OURS[n], NAIVE[n]) if naive else (OURS[n],):
        out = fn(x, w, b, **kw)
        assert out.shape == ref.shape and out.dtype == x.dtype
        np.testing.assert_allclose(out, ref, **tol)


# ---------------------------------------------------------------- parametrised grids vs torch

@pytest.mark.parametrize("kernel", [(3, 3), (2, 4), (1, 1), (5, 2)])
@pytest.mark.parametrize("stride", [1, 2, (1, 3)])
@pytest.mark.parametrize("padding", [0, 1, (2, 0), "valid", "same"])
@pytest.mark.parametrize("dilation", [1, 2, (2, 1)])
def test_conv2d_geometry_grid(kernel, stride, padding, dilation):
    if padding == "same" and stride != 1:
        pytest.skip("torch rejects padding='same' with stride > 1 (tested in the error tests)")
    rng = np.random.default_rng(0)
    x, w, b = make(rng, 2, 3, 4, (11, 10), kernel, 1, True, np.float64)
    check(2, x, w, b, stride=stride, padding=padding, dilation=dilation)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c_in, c_out, groups", [(4, 6, 1), (4, 6, 2), (6, 3, 3),
                                                 (4, 4, 4), (4, 8, 4)])  # last two: depthwise
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 0), (1, "same")])
def test_conv2d_groups_bias_dtype_grid(dtype, c_in, c_out, groups, bias, stride, padding):
    rng = np.random.default_rng(1)
    x, w, b = make(rng, 2, c_in, c_out, (9, 8), (3, 3), groups, bias, dtype)
    check(2, x, w, b, naive=True, stride=stride, padding=padding, groups=groups)


@pytest.mark.parametrize("kernel", [2, 4, (2, 3), (4, 1)])
@pytest.mark.parametrize("dilation", [1, 2, 3, (1, 2)])
def test_conv2d_same_even_kernels_pad_asymmetrically_like_torch(kernel, dilation):
    rng = np.random.default_rng(2)
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    x, w, b = make(rng, 1, 2, 3, (8, 9), k, 1, True, np.float64)
    check(2, x, w, b, naive=True, padding="same", dilation=dilation)
    assert cnnlib.conv2d(x, w, b, padding="same", dilation=dilation).shape[2:] == (8, 9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel, stride, padding, dilation, groups", [
    (3, 1, 0, 1, 1), (4, 2, 1, 1, 2), (3, 1, "same", 2, 1), (2, 1, "same", 1, 4),
    (1, 3, 2, 1, 1), (5, 2, "valid", 2, 2)])
def test_conv1d_grid(dtype, kernel, stride, padding, dilation, groups):
    rng = np.random.default_rng(3)
    x, w, b = make(rng, 2, 4, 4, (17,), (kernel,), groups, True, dtype)
    check(1, x, w, b, naive=True, stride=stride, padding=padding, dilation=dilation, groups=groups)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel, stride, padding, dilation, groups", [
    ((3, 3, 3), 1, 1, 1, 1), ((2, 3, 1), (1, 2, 1), (1, 0, 2), 1, 2),
    ((3, 2, 2), 1, "same", (1, 2, 1), 1), ((1, 1, 1), 2, 0, 1, 4), ((2, 2, 2), 1, 0, 2, 1)])
def test_conv3d_grid(dtype, kernel, stride, padding, dilation, groups):
    rng = np.random.default_rng(4)
    x, w, b = make(rng, 2, 4, 4, (6, 7, 5), kernel, groups, True, dtype)
    check(3, x, w, b, naive=True, stride=stride, padding=padding, dilation=dilation, groups=groups)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_unbatched_input_returns_unbatched_output(n):
    rng = np.random.default_rng(5)
    x, w, b = make(rng, 1, 2, 3, (6,) * n, (3,) * n, 1, True, np.float64)
    out = OURS[n](x[0], w, b, padding=1)
    ref = TORCH[n](torch.from_numpy(x[0]), torch.from_numpy(w), torch.from_numpy(b), padding=1)
    assert out.shape == tuple(ref.shape) == (3,) + (6,) * n
    np.testing.assert_allclose(out, ref.numpy(), **TOL[np.float64])
    np.testing.assert_allclose(NAIVE[n](x[0], w, b, padding=1), ref.numpy(), **TOL[np.float64])


def test_accepts_torch_tensors_and_returns_numpy():
    x, w = torch.randn(1, 2, 5, 5, generator=torch.Generator().manual_seed(0)), torch.ones(1, 2, 3, 3)
    out = cnnlib.conv2d(x, w, padding=1)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, F.conv2d(x, w, padding=1).numpy(), rtol=1e-5, atol=1e-5)


def test_non_contiguous_input_is_handled():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 10, 12))[:, :, ::2, ::3]   # strided view
    w = rng.standard_normal((2, 3, 2, 2))
    np.testing.assert_allclose(cnnlib.conv2d(x, w), torch_conv(2, np.ascontiguousarray(x), w, None),
                               **TOL[np.float64])


def test_hand_computed_example():
    # 3×3 input, 2×2 kernel of ones: each output is the sum of a 2×2 window (+ bias 1)
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    out = cnnlib.conv2d(x, np.ones((1, 1, 2, 2)), np.array([1.0]))
    np.testing.assert_array_equal(out, [[[[0 + 1 + 3 + 4 + 1, 1 + 2 + 4 + 5 + 1],
                                          [3 + 4 + 6 + 7 + 1, 4 + 5 + 7 + 8 + 1]]]])


# ---------------------------------------------------------------- hypothesis vs torch and naive

@st.composite
def conv_configs(draw, n):
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, 9)) for _ in range(n))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(n))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(n))
    padding = draw(st.one_of(st.sampled_from(["same", "valid"]),
                             st.tuples(*[st.integers(0, 3)] * n)))
    stride = (1,) * n if padding == "same" else tuple(draw(st.integers(1, 3)) for _ in range(n))
    lo_hi = 0 if isinstance(padding, str) else np.array(padding) * 2
    assume(padding == "same" or np.all(np.array(dilation) * (np.array(kernel) - 1) + 1
                                       <= np.array(spatial) + lo_hi))
    return dict(n_batch=draw(st.integers(1, 2)), c_in=c_in, c_out=c_out, spatial=spatial,
                kernel=kernel, groups=groups, stride=stride, padding=padding, dilation=dilation,
                bias=draw(st.booleans()), dtype=draw(st.sampled_from([np.float32, np.float64])),
                seed=draw(st.integers(0, 2**16)))


@pytest.mark.parametrize("n", [1, 2, 3])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_configs_match_torch_and_naive(n, data):
    cfg = data.draw(conv_configs(n))
    x, w, b = make(np.random.default_rng(cfg["seed"]), cfg["n_batch"], cfg["c_in"], cfg["c_out"],
                   cfg["spatial"], cfg["kernel"], cfg["groups"], cfg["bias"], cfg["dtype"])
    check(n, x, w, b, naive=True, stride=cfg["stride"], padding=cfg["padding"],
          dilation=cfg["dilation"], groups=cfg["groups"])


# ---------------------------------------------------------------- method dispatch

def test_direct_on_a_spec_returns_batched_output():
    rng = np.random.default_rng(7)
    x, w, b = make(rng, 1, 2, 3, (5, 5), (3, 3), 1, True, np.float64)
    spec = conv_spec(x[0], w, b, 1, 1, 1, 1, n=2, fn="conv2d")
    out = _conv.direct(spec)
    assert out.shape == (1, 3, 5, 5)
    np.testing.assert_allclose(out, torch_conv(2, x, w, b, padding=1), **TOL[np.float64])


def test_other_methods_go_to_algorithms_run_and_are_unbatched(monkeypatch):
    calls = []

    def fake_run(method, spec, n):
        calls.append((method, spec.out_spatial, n))
        return np.full((1, 3) + spec.out_spatial, 7.0)

    monkeypatch.setattr(_algorithms, "run", fake_run)
    rng = np.random.default_rng(8)
    x, w, _ = make(rng, 1, 2, 3, (6, 6), (3, 3), 1, False, np.float64)
    out = cnnlib.conv2d(x[0], w, method="im2col")
    assert calls == [("im2col", (4, 4), 2)]
    assert out.shape == (3, 4, 4) and np.all(out == 7.0)
    assert cnnlib.conv2d(x, w, method="winograd").shape == (1, 3, 4, 4)


def test_unknown_method_raises_value_error():
    x, w = np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3))
    with pytest.raises(ValueError, match="method='nope'"):
        cnnlib.conv2d(x, w, method="nope")


@pytest.mark.parametrize("method", [None, 1, ["direct"]])
def test_method_must_be_a_str(method):
    x, w = np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3))
    with pytest.raises(TypeError, match="method=.* must be a str"):
        cnnlib.conv2d(x, w, method=method)


# ---------------------------------------------------------------- error paths

X = np.zeros((1, 4, 6, 6))
W = np.zeros((2, 4, 3, 3))


@pytest.mark.parametrize("call, exc, match", [
    (lambda: cnnlib.conv2d(X, np.zeros((4, 1, 3, 3)), groups=3), ValueError,
     r"in_channels=4 is not divisible by groups=3"),
    (lambda: cnnlib.conv2d(X, np.zeros((3, 2, 3, 3)), groups=2), ValueError,
     r"out_channels=3 is not divisible by groups=2"),
    (lambda: cnnlib.conv2d(X, np.zeros((2, 3, 3, 3))), ValueError,
     r"input has 4 channels but weight of shape \(2, 3, 3, 3\)"),
    (lambda: cnnlib.conv2d(X, np.zeros((2, 4, 7, 3))), ValueError,
     r"kernel size \(7, 3\) .* larger than the padded input \(6, 6\)"),
    (lambda: cnnlib.conv2d(X, W, dilation=3), ValueError,
     r"dilated to \(7, 7\)\) is larger than the padded input"),
    (lambda: cnnlib.conv2d(X, np.zeros((2, 4, 9, 3)), padding=1), ValueError,
     r"larger than the padded input \(8, 8\)"),
    (lambda: cnnlib.conv2d(X, W, stride=0), ValueError, r"stride=0 must be positive"),
    (lambda: cnnlib.conv2d(X, W, stride=(1, -2)), ValueError, r"stride=\(1, -2\) must be positive"),
    (lambda: cnnlib.conv2d(X, W, dilation=0), ValueError, r"dilation=0 must be positive"),
    (lambda: cnnlib.conv2d(X, W, padding=-1), ValueError, r"padding=-1 must be non-negative"),
    (lambda: cnnlib.conv2d(X, W, padding=(1, 2, 3)), ValueError, r"padding=\(1, 2, 3\) must be"),
    (lambda: cnnlib.conv2d(X, W, stride=1.5), TypeError, r"stride=1.5 must be an int"),
    (lambda: cnnlib.conv2d(X, W, groups=0), ValueError, r"groups=0 must be positive"),
    (lambda: cnnlib.conv2d(X, W, groups=2.0), TypeError, r"groups=2.0 must be an int"),
    (lambda: cnnlib.conv2d(X, W, padding="full"), ValueError, r"padding='full' is not a valid"),
    (lambda: cnnlib.conv2d(X, W, stride=2, padding="same"), ValueError,
     r"padding='same' requires stride=1"),
    (lambda: cnnlib.conv2d(np.zeros((4, 6)), W), ValueError,
     r"conv2d: input must be 3-D \(unbatched\) or 4-D \(batched\), got 2-D"),
    (lambda: cnnlib.conv2d(np.zeros((1, 1, 4, 6, 6)), W), ValueError, r"got 5-D"),
    (lambda: cnnlib.conv1d(X, W), ValueError, r"conv1d: input must be 2-D .* got 4-D"),
    (lambda: cnnlib.conv2d(X, np.zeros((2, 4, 3))), ValueError, r"weight must be 4-D"),
    (lambda: cnnlib.conv3d(np.zeros((1, 4, 3, 6, 6)), W), ValueError, r"weight must be 5-D"),
    (lambda: cnnlib.conv2d(X.astype(np.float32), W), TypeError,
     r"input has dtype float32 but weight has dtype float64"),
    (lambda: cnnlib.conv2d(X, W, np.zeros(2, np.float32)), TypeError,
     r"input has dtype float64 but bias has dtype float32"),
    (lambda: cnnlib.conv2d(X.astype(np.int64), W.astype(np.int64)), TypeError,
     r"input has dtype int64; expected float32 or float64"),
    (lambda: cnnlib.conv2d(X, W.astype(np.int32)), TypeError, r"weight has dtype int32"),
    (lambda: cnnlib.conv2d(X, W, np.zeros(3)), ValueError, r"bias must have shape \(2,\), got \(3,\)"),
    (lambda: cnnlib.conv2d(X, W, np.zeros((2, 1))), ValueError, r"bias must have shape \(2,\)"),
    (lambda: cnnlib.conv2d(X, np.zeros((2, 4, 0, 3))), ValueError, r"empty kernel"),
])
def test_errors_name_the_argument_and_value(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_torch_raises_on_the_same_bad_configs():
    """Sanity check that the error grid above mirrors real torch restrictions."""
    with pytest.raises(RuntimeError):
        F.conv2d(torch.zeros(1, 4, 6, 6), torch.zeros(4, 1, 3, 3), groups=3)
    with pytest.raises(RuntimeError):
        F.conv2d(torch.zeros(1, 4, 6, 6), torch.zeros(2, 4, 7, 3))
    with pytest.raises(RuntimeError):
        F.conv2d(torch.zeros(1, 4, 6, 6), torch.zeros(2, 4, 3, 3), stride=2, padding="same")


def test_naive_reference_rejects_wrong_weight_rank():
    with pytest.raises(ValueError, match="conv2d_naive: weight must be 4-D"):
        _conv.conv2d_naive(X, np.zeros((2, 4, 3)))


# ---------------------------------------------------------------- numba on-disk cache

def test_numba_cache_is_reused_by_a_second_process(numba_cache_stats):
    call = "cnnlib.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), method='direct')"
    assert numba_cache_stats(call, "_direct._conv3d_direct_kernel") == (1, 0)


@pytest.mark.parametrize("call, kernel", [
    ("cnnlib.conv2d(np.zeros((1, 2, 6, 6)), np.zeros((3, 2, 3, 3)), method='im2col')",
     "_im2col._im2col_gemm_bands"),
    ("cnnlib.conv2d(np.zeros((1, 2, 9, 9)), np.zeros((3, 2, 7, 7)), stride=2)", "_mec._mec_gemm"),
    ("cnnlib.conv2d(np.zeros((1, 32, 6, 6)), np.zeros((3, 32, 3, 3)), stride=2)", "_im2col._im2col_gemm"),
    ("cnnlib.conv2d(np.zeros((1, 16, 16, 16), np.float32), np.zeros((16, 16, 3, 3), np.float32), "
     "padding=1, method='winograd')", "_winograd._winograd_phases"),
])
def test_fast_kernels_come_from_the_numba_cache(numba_cache_stats, call, kernel):
    """The default method's kernels (np.dot inside: SciPy's BLAS) are cached like the others."""
    assert numba_cache_stats(call, kernel) == (1, 0)


# ---------------------------------------------------------------- depthwise fast path (_depthwise)

DEPTHWISE_GRID = [  # C_in (= groups), multiplier, spatial, kernel, stride, padding, dilation
    (4, 1, (9, 8), (3, 3), 1, 1, 1),          # the benchmark case, small
    (3, 2, (7, 10), (3, 3), 1, 1, 1),         # channel multiplier 2: C_out = 6
    (4, 1, (11, 9), (3, 3), 2, 1, 1),         # stride 2 (strided block path)
    (2, 1, (12, 12), (3, 3), 1, 2, 2),        # dilation 2 (strided block path)
    (3, 1, (9, 13), (5, 5), 1, 2, 1),         # 5×5: blocks with zero-weight taps
    (2, 3, (10, 7), (4, 2), (2, 1), (0, 1), (1, 2)),
    (5, 1, (6, 6), (1, 1), 1, 0, 1),          # 1×1 depthwise: a per-channel scale
    (2, 1, (8, 8), (7, 7), 2, 3, 1),          # stem-like 7×7/2
    (2, 1, (5, 5), (3, 3), 1, 4, 1),          # padding larger than the kernel
    (3, 1, (3, 4), (3, 3), 1, 0, 1),          # one output row
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("c_in, mult, spatial, kernel, stride, padding, dilation", DEPTHWISE_GRID)
def test_depthwise_kernel_matches_torch_and_naive(dtype, bias, c_in, mult, spatial, kernel, stride,
                                                  padding, dilation):
    rng = np.random.default_rng(11)
    x, w, b = make(rng, 2, c_in, c_in * mult, spatial, kernel, c_in, bias, dtype)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=c_in)
    spec = conv_spec(x, w, b, stride, padding, dilation, c_in, n=2, fn="conv2d")
    assert _depthwise.is_depthwise(spec, 2)
    out = _depthwise.conv_depthwise(spec, 2)
    ref = torch_conv(2, x, w, b, **kw)
    assert out.shape == ref.shape and out.dtype == dtype
    np.testing.assert_allclose(out, ref, **TOL[dtype])
    check(2, x, w, b, naive=True, **kw)                       # the public path (direct → depthwise)


@pytest.mark.parametrize("method", ["direct", "auto"])
def test_depthwise_conv1d_and_unbatched(method):
    rng = np.random.default_rng(12)
    x, w, b = make(rng, 1, 6, 12, (17,), (3,), 6, True, np.float64)
    kw = dict(stride=2, padding=2, dilation=2, groups=6)
    ref = torch_conv(1, x, w, b, **kw)
    np.testing.assert_allclose(cnnlib.conv1d(x, w, b, method=method, **kw), ref, **TOL[np.float64])
    np.testing.assert_allclose(cnnlib.conv1d(x[0], w, b, method=method, **kw), ref[0],
                               **TOL[np.float64])
    x2, w2, b2 = make(rng, 1, 4, 4, (6, 7), (3, 3), 4, True, np.float32)
    np.testing.assert_allclose(cnnlib.conv2d(x2[0], w2, b2, padding="same", groups=4, method=method),
                               torch_conv(2, x2, w2, b2, padding="same", groups=4)[0],
                               **TOL[np.float32])


def test_which_layers_take_the_depthwise_kernel():
    def spec(c_in, c_out, groups, n=2):
        x, w = np.zeros((1, c_in) + (5,) * n), np.zeros((c_out, c_in // groups) + (3,) * n)
        return conv_spec(x, w, None, 1, 1, 1, groups, n=n, fn=f"conv{n}d")
    assert _depthwise.is_depthwise(spec(4, 4, 4), 2)
    assert _depthwise.is_depthwise(spec(4, 8, 4), 2)           # channel multiplier
    assert _depthwise.is_depthwise(spec(4, 4, 4, n=1), 1)
    assert not _depthwise.is_depthwise(spec(4, 4, 4, n=3), 3)  # 3-D: generic kernel
    assert not _depthwise.is_depthwise(spec(4, 4, 2), 2)       # 2 channels per group
    assert not _depthwise.is_depthwise(spec(1, 3, 1), 2)       # C_in = groups = 1: ordinary


@settings(max_examples=60, deadline=None)
@given(c_in=st.integers(1, 4), mult=st.integers(1, 3), h=st.integers(1, 12), w=st.integers(1, 12),
       kh=st.integers(1, 6), kw=st.integers(1, 6), sh=st.integers(1, 3), sw=st.integers(1, 3),
       ph=st.integers(0, 3), pw=st.integers(0, 3), dh=st.integers(1, 3), dw=st.integers(1, 3),
       bias=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**16))
def test_depthwise_hypothesis_matches_torch(c_in, mult, h, w, kh, kw, sh, sw, ph, pw, dh, dw, bias,
                                            dtype, seed):
    assume(dh * (kh - 1) + 1 <= h + 2 * ph and dw * (kw - 1) + 1 <= w + 2 * pw)
    groups = c_in if c_in > 1 else 1
    x, wt, b = make(np.random.default_rng(seed), 2, c_in, c_in * mult, (h, w), (kh, kw), groups,
                    bias, dtype)
    kw_ = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=groups)
    np.testing.assert_allclose(cnnlib.conv2d(x, wt, b, **kw_), torch_conv(2, x, wt, b, **kw_),
                               **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mult", [1, 2])
def test_depthwise_3x3_same_path_matches_torch_on_every_small_plane(dtype, mult, monkeypatch):
    """3×3, stride 1, padding 1 takes _depthwise3x3_same (the general kernel is not called):
    planes from 1×1 to 7×7 (under 3×3 pixel by pixel; from 3×3 the flat loop, the two edge
    rows, the edge columns and the corners), with and without bias, batch 2."""
    def fail(*args):
        raise AssertionError("the general depthwise kernel ran")
    monkeypatch.setattr(_depthwise, "_depthwise2d_kernel", fail)
    rng = np.random.default_rng(13)
    for h in range(1, 8):
        for w in range(1, 8):
            for bias in (True, False):
                x, wt, b = make(rng, 2, 3, 3 * mult, (h, w), (3, 3), 3, bias, dtype)
                got = cnnlib.conv2d(x, wt, b, padding=1, groups=3)
                np.testing.assert_allclose(got, torch_conv(2, x, wt, b, padding=1, groups=3),
                                           **TOL[dtype], err_msg=f"{h}×{w}, bias={bias}")


def test_depthwise_kernel_cache_is_reused_by_a_second_process(numba_cache_stats):
    call = ("from cnnlib import _depthwise, _validation\n"
            "_depthwise.conv_depthwise(_validation.conv_spec(np.zeros((1, 2, 4, 4)), "
            "np.zeros((2, 1, 3, 3)), None, 1, 0, 1, 2, n=2, fn='conv2d'), 2)")
    assert numba_cache_stats(call, "_depthwise._depthwise2d_kernel") == (1, 0)


def test_depthwise_3x3_same_kernel_cache_is_reused_by_a_second_process(numba_cache_stats):
    # 9×9 output (> 64 pixels): the copy-free 3×3 kernel; smaller ones go channels-last
    call = "cnnlib.conv2d(np.zeros((1, 2, 9, 9)), np.zeros((2, 1, 3, 3)), padding=1, groups=2)"
    assert numba_cache_stats(call, "_depthwise._depthwise3x3_same") == (1, 0)


def test_grouped_kernels_cache_is_reused_by_a_second_process(numba_cache_stats):
    call = "cnnlib.conv2d(np.zeros((1, 4, 9, 9)), np.zeros((4, 2, 3, 3)), groups=2, stride=2)"
    assert numba_cache_stats(call, "_grouped._grouped_kernel") == (1, 0)
    call = "cnnlib.conv2d(np.zeros((1, 2, 4, 4)), np.zeros((2, 1, 3, 3)), groups=2)"
    assert numba_cache_stats(call, "_grouped._depthwise_channels_last") == (1, 0)
