"""conv_transpose1d/conv_transpose2d, every method (auto, phase, gemm, gather), against torch
and the naive scatter reference."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import cnnlib
from cnnlib import _conv_transpose as ct

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-12)}
OURS = {1: cnnlib.conv_transpose1d, 2: cnnlib.conv_transpose2d}
NAIVE = {1: ct.conv_transpose1d_naive, 2: ct.conv_transpose2d_naive}
TORCH = {1: F.conv_transpose1d, 2: F.conv_transpose2d}
METHODS = ("auto", "phase", "gemm", "gather")


def make(rng, n_batch, c_in, c_out, spatial, kernel, groups, bias, dtype):
    """Random input, weight (C_in, C_out/groups, *kernel) and bias with O(1) outputs."""
    x = rng.standard_normal((n_batch, c_in) + tuple(spatial)).astype(dtype)
    w = (rng.standard_normal((c_in, c_out // groups) + tuple(kernel))
         / np.sqrt(c_in // groups * np.prod(kernel))).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype) if bias else None
    return x, w, b


def check(n, x, w, b, **kw):
    """Assert every method and the naive scatter reference equal torch: shape, dtype, values."""
    tb = None if b is None else torch.from_numpy(b)
    ref = TORCH[n](torch.from_numpy(x), torch.from_numpy(w), tb, **kw).numpy()
    fns = [NAIVE[n]] + [lambda *a, m=m, **k: OURS[n](*a, method=m, **k) for m in METHODS]
    for fn in fns:
        out = fn(x, w, b, **kw)
        assert out.shape == ref.shape and out.dtype == x.dtype
        np.testing.assert_allclose(out, ref, **TOL[x.dtype.type])


# ---------------------------------------------------------------- parametrised grids vs torch

@pytest.mark.parametrize("kernel", [(3, 3), (4, 4), (2, 3), (1, 1)])
@pytest.mark.parametrize("stride", [1, 2, (3, 1)])
@pytest.mark.parametrize("padding", [0, 1, (2, 0)])
@pytest.mark.parametrize("output_padding", [0, 1])
@pytest.mark.parametrize("dilation", [1, 2])
def test_conv_transpose2d_geometry_grid(kernel, stride, padding, output_padding, dilation):
    s = stride if isinstance(stride, tuple) else (stride, stride)
    if output_padding and min(s) <= output_padding and dilation <= output_padding:
        pytest.skip("output_padding must be smaller than stride or dilation (error test below)")
    rng = np.random.default_rng(0)
    x, w, b = make(rng, 2, 3, 4, (6, 5), kernel, 1, True, np.float64)
    check(2, x, w, b, stride=stride, padding=padding, output_padding=output_padding,
          dilation=dilation)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c_in, c_out, groups", [(4, 6, 1), (4, 6, 2), (6, 3, 3), (4, 4, 4),
                                                 (4, 8, 4)])  # last two: depthwise
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("stride, padding, output_padding", [(1, 0, 0), (2, 1, 1), (3, 2, 2)])
def test_conv_transpose2d_groups_bias_dtype_grid(dtype, c_in, c_out, groups, bias, stride,
                                                 padding, output_padding):
    rng = np.random.default_rng(1)
    x, w, b = make(rng, 2, c_in, c_out, (5, 4), (3, 3), groups, bias, dtype)
    check(2, x, w, b, stride=stride, padding=padding, output_padding=output_padding, groups=groups)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel, stride, padding, output_padding, groups, dilation", [
    (3, 1, 0, 0, 1, 1), (4, 2, 1, 0, 2, 1), (4, 2, 1, 1, 1, 1), (3, 3, 0, 2, 4, 1),
    (3, 1, 2, 1, 1, 2), (1, 2, 0, 1, 2, 1), (5, 4, 3, 3, 1, 3)])
def test_conv_transpose1d_grid(dtype, kernel, stride, padding, output_padding, groups, dilation):
    rng = np.random.default_rng(2)
    x, w, b = make(rng, 2, 4, 4, (7,), (kernel,), groups, True, dtype)
    check(1, x, w, b, stride=stride, padding=padding, output_padding=output_padding,
          groups=groups, dilation=dilation)


@pytest.mark.parametrize("n", [1, 2])
def test_unbatched_input_returns_unbatched_output(n):
    rng = np.random.default_rng(3)
    x, w, b = make(rng, 1, 2, 3, (4,) * n, (3,) * n, 1, True, np.float64)
    out = OURS[n](x[0], w, b, stride=2, padding=1, output_padding=1)
    ref = TORCH[n](torch.from_numpy(x[0]), torch.from_numpy(w), torch.from_numpy(b), stride=2,
                   padding=1, output_padding=1).numpy()
    assert out.shape == ref.shape == (3,) + (8,) * n
    np.testing.assert_allclose(out, ref, **TOL[np.float64])
    np.testing.assert_allclose(NAIVE[n](x[0], w, b, stride=2, padding=1, output_padding=1), ref,
                               **TOL[np.float64])


def test_is_the_adjoint_of_conv2d():
    """<conv(x), y> == <x, conv_transpose(y)> for the same weight, stride, padding, dilation."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 9, 8))
    w = rng.standard_normal((5, 3, 3, 2))
    kw = dict(stride=2, padding=1, dilation=(1, 2))
    y = rng.standard_normal(cnnlib.conv2d(x, w, **kw).shape)
    back = cnnlib.conv_transpose2d(y, w, output_padding=(0, 1), **kw)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.vdot(cnnlib.conv2d(x, w, **kw), y), np.vdot(x, back), rtol=1e-10)


def test_hand_computed_stride_2_example():
    # each input pixel stamps the 2×2 kernel of ones at 2i: no overlap, so a 2× nearest upsample
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    out = cnnlib.conv_transpose2d(x, np.ones((1, 1, 2, 2)), stride=2)
    np.testing.assert_array_equal(out[0, 0], np.kron(x[0, 0], np.ones((2, 2))))


# ---------------------------------------------------------------- hypothesis vs torch and naive

@pytest.mark.parametrize("n", [1, 2])
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_random_configs_match_torch_and_naive(n, data):
    groups = data.draw(st.integers(1, 3))
    c_in, c_out = groups * data.draw(st.integers(1, 3)), groups * data.draw(st.integers(1, 3))
    dims = lambda lo, hi: tuple(data.draw(st.integers(lo, hi)) for _ in range(n))  # noqa: E731
    spatial, kernel, stride, dilation = dims(1, 6), dims(1, 4), dims(1, 3), dims(1, 3)
    padding = dims(0, 3)
    output_padding = tuple(data.draw(st.integers(0, max(s, d) - 1))
                           for s, d in zip(stride, dilation))
    out = [(i - 1) * s - 2 * p + d * (k - 1) + op + 1 for i, s, p, d, k, op in
           zip(spatial, stride, padding, dilation, kernel, output_padding)]
    assume(min(out) > 0)
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    x, w, b = make(np.random.default_rng(data.draw(st.integers(0, 2**16))),
                   data.draw(st.integers(1, 2)), c_in, c_out, spatial, kernel, groups,
                   data.draw(st.booleans()), dtype)
    check(n, x, w, b, stride=stride, padding=padding, output_padding=output_padding,
          groups=groups, dilation=dilation)


@pytest.fixture
def small_blocks(monkeypatch):
    """Work items of a few pixels: many bands and blocks, so their edges are exercised."""
    monkeypatch.setattr(ct, "PHASE_BAND_BYTES", 1)
    monkeypatch.setattr(ct, "COL2IM_BAND_BYTES", 1)
    monkeypatch.setattr(ct, "COL2IM_MIN_BAND", 3)
    monkeypatch.setattr(ct, "COL2IM_ROWS", 1)


@pytest.mark.parametrize("n", [1, 2])
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # a constant setting
@given(data=st.data())
def test_fast_methods_in_small_blocks_match_torch(n, data, small_blocks):
    """Bands of one phase row / three pixels and one output channel per block, vs torch."""
    test_random_configs_match_torch_and_naive.hypothesis.inner_test(n, data)


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("method", ["phase", "gemm"])
@pytest.mark.parametrize("n_batch", [1, 3])
def test_fast_methods_equal_the_old_gather_path_on_decoder_layers(n_threads, method, n_batch):
    """A 4×4 stride-2 decoder layer (and a 1-D one) with bias, at 1 and 2 threads: the new
    methods against the gather kernel (the old default) and torch, float32."""
    import numba
    rng = np.random.default_rng(5)
    saved = numba.get_num_threads()
    numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))
    try:
        for n, spatial, k in [(2, (9, 7), 4), (1, (33,), 4)]:
            x, w, b = make(rng, n_batch, 32, 24, spatial, (k,) * n, 1, True, np.float32)
            kw = dict(stride=2, padding=1)
            old = OURS[n](x, w, b, method="gather", **kw)
            new = OURS[n](x, w, b, method=method, **kw)
            np.testing.assert_allclose(new, old, rtol=1e-5, atol=1e-5)
            ref = TORCH[n](*map(torch.from_numpy, (x, w, b)), **kw).numpy()
            np.testing.assert_allclose(new, ref, **TOL[np.float32])
    finally:
        numba.set_num_threads(saved)


@pytest.mark.parametrize("stride, kernel, groups", [(4, 2, 1), (4, 4, 2), (3, 5, 1), (2, 3, 4)])
@pytest.mark.parametrize("padding, output_padding, dilation", [(0, 0, 1), (1, 1, 2), (2, 1, 3)])
def test_phase_method_strides_larger_than_kernels_and_dilations(stride, kernel, groups, padding,
                                                                output_padding, dilation):
    """Phases that no tap reaches (kernel < stride: bias only), dilation sharing a factor with
    the stride, and enough channels that ``auto`` picks the phase method."""
    rng = np.random.default_rng(6)
    x, w, b = make(rng, 2, 16 * groups, 16 * groups, (8, 9), (kernel, kernel), groups, True,
                   np.float64)
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups,
              dilation=dilation)
    try:
        ref = F.conv_transpose2d(*map(torch.from_numpy, (x, w, b)), **kw).numpy()
    except RuntimeError:
        pytest.skip("torch rejects this configuration (padding too large)")
    for m in ("auto", "phase", "gemm"):
        np.testing.assert_allclose(cnnlib.conv_transpose2d(x, w, b, method=m, **kw), ref,
                                   **TOL[np.float64])


def test_auto_picks_phase_for_decoder_layers_and_gemm_for_small_ones():
    def spec(c_in, c_out, spatial, k, s, groups=1):
        x = np.zeros((1, c_in) + spatial, np.float32)
        w = np.zeros((c_in, c_out // groups) + (k,) * len(spatial), np.float32)
        return ct._transpose_spec(x, w, None, s, 0, 0, groups, 1, len(spatial), "t")
    assert ct.choose_method(spec(512, 256, (16, 16), 4, 2)) == "phase"
    assert ct.choose_method(spec(256, 128, (512,), 4, 2)) == "phase"
    assert ct.choose_method(spec(100, 512, (1, 1), 4, 1)) == "gemm"     # DCGAN's first layer
    assert ct.choose_method(spec(64, 3, (64, 64), 4, 2)) == "gemm"      # ... and its RGB layer
    assert ct.choose_method(spec(64, 64, (16, 16), 3, 1)) == "gemm"     # stride 1
    assert ct.choose_method(spec(64, 64, (16, 16), 4, 2, groups=64)) == "gemm"


@pytest.mark.parametrize("method", ["phase", "gemm"])
def test_recorded_gemms_do_the_layers_multiplications(method):
    """``_blas.recording`` sees every GEMM: col2im's do exactly the layer's N·C_in·C_out/g·k²·H·W
    multiplications; the phase GEMMs do them plus the dropped columns of the padded width."""
    from cnnlib._blas import recording
    x = np.ones((2, 8, 6, 5), np.float32)
    w = np.ones((8, 3, 4, 4), np.float32)
    with recording() as calls:
        cnnlib.conv_transpose2d(x, w, stride=2, padding=1, groups=2, method=method)
    macs = sum(m * k * n for m, k, n in calls)
    exact = 2 * 8 * 3 * 16 * 6 * 5
    assert macs == exact if method == "gemm" else exact <= macs <= exact * 8 // 5


# ---------------------------------------------------------------- error paths

X = np.zeros((1, 4, 5, 5))
W = np.zeros((4, 2, 3, 3))


@pytest.mark.parametrize("call, exc, match", [
    (lambda: cnnlib.conv_transpose2d(X, W, padding="same"), ValueError,
     r"padding='same' is not supported"),
    (lambda: cnnlib.conv_transpose2d(X, W, padding="valid"), ValueError,
     r"padding='valid' is not supported"),
    (lambda: cnnlib.conv_transpose2d(X, W, stride=2, output_padding=2), ValueError,
     r"output_padding=2 must be smaller than either stride=2 or dilation=1"),
    (lambda: cnnlib.conv_transpose2d(X, W, output_padding=1), ValueError,
     r"output_padding=1 must be smaller than either stride=1 or dilation=1"),
    (lambda: cnnlib.conv_transpose2d(X, W, padding=4), ValueError,
     r"padding=4 is too large"),
    (lambda: cnnlib.conv_transpose2d(X, W, padding=-1), ValueError,
     r"padding=-1 must be non-negative"),
    (lambda: cnnlib.conv_transpose2d(X, W, output_padding=-1), ValueError,
     r"output_padding=-1 must be non-negative"),
    (lambda: cnnlib.conv_transpose2d(X, W, stride=0), ValueError, r"stride=0 must be positive"),
    (lambda: cnnlib.conv_transpose2d(X, W, dilation=(1, 0)), ValueError,
     r"dilation=\(1, 0\) must be positive"),
    (lambda: cnnlib.conv_transpose2d(X, W, groups=3), ValueError,
     r"in_channels=4 is not divisible by groups=3"),
    (lambda: cnnlib.conv_transpose2d(X, W, groups=0), ValueError, r"groups=0 must be positive"),
    (lambda: cnnlib.conv_transpose2d(X, np.zeros((3, 2, 3, 3))), ValueError,
     r"input has 4 channels but weight of shape \(3, 2, 3, 3\) expects 3"),
    (lambda: cnnlib.conv_transpose2d(np.zeros((5, 5)), W), ValueError,
     r"conv_transpose2d: input must be 3-D \(unbatched\) or 4-D \(batched\), got 2-D"),
    (lambda: cnnlib.conv_transpose1d(X, W), ValueError, r"conv_transpose1d: input must be 2-D"),
    (lambda: cnnlib.conv_transpose2d(X, np.zeros((4, 2, 3))), ValueError, r"weight must be 4-D"),
    (lambda: cnnlib.conv_transpose2d(X.astype(np.float32), W), TypeError,
     r"input has dtype float32 but weight has dtype float64"),
    (lambda: cnnlib.conv_transpose2d(X.astype(np.int64), W), TypeError,
     r"input has dtype int64; expected float32 or float64"),
    (lambda: cnnlib.conv_transpose2d(X, W, np.zeros(4, np.float32)), TypeError,
     r"input has dtype float64 but bias has dtype float32"),
    (lambda: cnnlib.conv_transpose2d(X, W, np.zeros(4)), ValueError,
     r"bias must have shape \(2,\), got \(4,\)"),
    (lambda: cnnlib.conv_transpose2d(X, W, np.zeros(2), groups=2), ValueError,
     r"bias must have shape \(4,\), got \(2,\)"),
    (lambda: cnnlib.conv_transpose2d(X, W, stride=(1, 2, 3)), ValueError,
     r"stride=\(1, 2, 3\) must be an int or a sequence of 2 ints"),
    (lambda: cnnlib.conv_transpose2d(X, np.zeros((4, 2, 0, 3))), ValueError, r"empty kernel"),
    (lambda: cnnlib.conv_transpose2d(X, W, method="fft"), ValueError,
     r"conv_transpose2d: method='fft' is not one of \('auto', 'gather', 'gemm', 'phase'\)"),
    (lambda: cnnlib.conv_transpose1d(X[0], W[..., 0], method=None), TypeError,
     r"conv_transpose1d: method=None must be a str"),
])
def test_errors_name_the_argument_and_value(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_torch_raises_on_the_same_bad_configs():
    """Sanity check that the error grid above mirrors real torch restrictions."""
    x, w = torch.zeros(1, 4, 5, 5), torch.zeros(4, 2, 3, 3)
    with pytest.raises(RuntimeError):
        F.conv_transpose2d(x, w, stride=2, output_padding=2)
    with pytest.raises(RuntimeError):
        F.conv_transpose2d(x, w, padding=4)
    with pytest.raises(TypeError):
        F.conv_transpose2d(x, w, padding="same")


@pytest.mark.parametrize("method, kernel", [("gather", "_conv_transpose3d_kernel"),
                                            ("gemm", "_gemm_col2im_kernel"),
                                            ("phase", "_phase_kernel")])
def test_numba_cache_is_reused_by_a_second_process(numba_cache_stats, method, kernel):
    call = (f"cnnlib.conv_transpose2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), stride=2, "
            f"method={method!r})")
    assert numba_cache_stats(call, f"_conv_transpose.{kernel}") == (1, 0)
