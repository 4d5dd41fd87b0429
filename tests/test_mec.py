"""cnnlib._mec: MEC (lowering along the width only, k_h GEMMs on shifted views) against torch."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from torch.utils.flop_counter import FlopCounterMode

import cnnlib
from cnnlib import _blas, _mec


def lowered_reference(x, kernel, stride, padding, dilation):
    """``lowered`` by its definition: one zero-padded input value per entry, Python loops."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    planes = sorted({(i * dh) % sh for i in range(kh)})
    rows = ho + (kh - 1) * dh // sh
    out = np.zeros((n, len(planes), c * kw, rows * wo), dtype=x.dtype)
    for q, p in enumerate(planes):
        for ch in range(c):
            for j in range(kw):
                for y in range(rows):
                    for col in range(wo):
                        r, s = sh * y + p, sw * col + j * dw
                        if r < xp.shape[2] and s < xp.shape[3]:
                            out[:, q, ch * kw + j, y * wo + col] = xp[:, ch, r, s]
    return out


LOWER_GRID = [  # x shape, kernel, stride, padding, dilation
    ((2, 3, 9, 8), (3, 3), (1, 1), (1, 1), (1, 1)),
    ((1, 3, 20, 18), (7, 7), (2, 2), (3, 3), (1, 1)),      # the RGB stem, small
    ((1, 2, 13, 11), (5, 3), (3, 2), (2, 0), (1, 2)),      # stride 3: three planes
    ((2, 2, 10, 9), (3, 2), (2, 1), (0, 1), (2, 3)),       # dilation 2, stride 2: one plane
    ((1, 1, 4, 4), (1, 1), (2, 2), (0, 0), (1, 1)),        # 1×1 stride 2
    ((1, 2, 5, 6), (3, 3), (1, 1), (4, 4), (1, 1)),        # padding larger than the kernel
]


@pytest.mark.parametrize("x_shape,kernel,stride,padding,dilation", LOWER_GRID)
def test_lowered_matches_its_definition(x_shape, kernel, stride, padding, dilation):
    x = np.random.default_rng(0).standard_normal(x_shape)
    got = _mec.lowered(x, kernel, stride, padding, dilation)
    np.testing.assert_array_equal(got, lowered_reference(x, kernel, stride, padding, dilation))
    assert got.shape[1:] == _mec.lowered_shape(x_shape[1], kernel, stride, dilation,
                                               _out(x_shape, kernel, stride, padding, dilation))
    np.testing.assert_array_equal(_mec.lowered(x[0], kernel, stride, padding, dilation), got[0])


def _out(x_shape, kernel, stride, padding, dilation):
    return tuple(cnnlib.conv_output_size(x_shape[2 + a], kernel[a], stride[a], padding[a],
                                         dilation[a]) for a in range(2))


def test_lowered_is_kh_over_sh_times_smaller_than_im2col_on_the_stem():
    x = np.zeros((1, 3, 224, 224), np.float32)
    low, cols = _mec.lowered(x, 7, 2, 3), cnnlib.im2col(x, 7, 2, 3)
    assert low.shape == (1, 2, 21, 115 * 112) and cols.shape == (1, 147, 112 * 112)
    assert cols.size / low.size == (147 * 112 * 112) / (2 * 21 * 115 * 112)   # ≈ 3.4


def test_lowered_errors_name_the_argument():
    with pytest.raises(ValueError, match="stride"):
        _mec.lowered(np.zeros((1, 1, 5, 5)), 3, stride=0)
    with pytest.raises(TypeError, match="kernel_size"):
        _mec.lowered(np.zeros((1, 1, 5, 5)), "3")
    with pytest.raises(ValueError, match="lowered"):
        _mec.lowered(np.zeros((5, 5)), 3)


CONV_GRID = [  # x shape, w shape, keyword arguments
    ((1, 3, 30, 30), (8, 3, 7, 7), dict(stride=2, padding=3)),             # stem, bias in GEMM
    ((2, 4, 9, 8), (6, 2, 3, 3), dict(padding=1, groups=2)),               # bias filled
    ((1, 3, 13, 11), (4, 3, 5, 3), dict(padding=(2, 1), dilation=(2, 1))),
    ((1, 4, 8, 8), (4, 4, 4, 4), dict(padding="same")),                    # asymmetric padding
    ((1, 2, 17, 16), (3, 2, 5, 5), dict(stride=(3, 2), padding=1)),
    ((3, 2, 3, 3), (2, 2, 3, 3), dict()),                                  # one output pixel
    ((1, 4, 9, 9), (8, 4, 1, 1), dict(stride=2)),
    ((2, 16, 12, 12), (300, 16, 3, 3), dict(padding=1)),                   # wide: many blocks
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,w_shape,kw", CONV_GRID)
def test_conv2d_mec_matches_torch(x_shape, w_shape, kw, dtype, bias):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = (rng.standard_normal(w_shape) / math.sqrt(math.prod(w_shape[1:]))).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype) if bias else None
    out = cnnlib.conv2d(x, w, b, method="mec", **kw)
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                   None if b is None else torch.from_numpy(b), **kw).numpy()
    assert out.dtype == dtype and out.shape == ref.shape
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 2), c_g=st.integers(1, 4), k_g=st.integers(1, 3), groups=st.integers(1, 3),
       batch=st.integers(1, 3), h=st.integers(1, 12), w=st.integers(1, 12), kh=st.integers(1, 6),
       kw=st.integers(1, 6), sh=st.integers(1, 4), sw=st.integers(1, 4), ph=st.integers(0, 3),
       pw=st.integers(0, 3), dh=st.integers(1, 3), dw=st.integers(1, 3), bias=st.booleans(),
       seed=st.integers(0, 2**16))
def test_hypothesis_mec(n, c_g, k_g, groups, batch, h, w, kh, kw, sh, sw, ph, pw, dh, dw, bias,
                        seed):
    if n == 1:
        h, kh, sh, ph, dh = 1, 1, 1, 0, 1
    if dh * (kh - 1) + 1 > h + 2 * ph or dw * (kw - 1) + 1 > w + 2 * pw:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, c_g * groups, h, w))
    wt = rng.standard_normal((k_g * groups, c_g, kh, kw))
    b = rng.standard_normal(k_g * groups) if bias else None
    kwargs = dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=groups)
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(wt),
                   None if b is None else torch.from_numpy(b), **kwargs).numpy()
    if n == 1:
        got = cnnlib.conv1d(x[:, :, 0], wt[:, :, 0], b, method="mec", stride=sw, padding=pw,
                            dilation=dw, groups=groups)
        ref = ref[:, :, 0]
    else:
        got = cnnlib.conv2d(x, wt, b, method="mec", **kwargs)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)


def test_3d_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="method='mec' supports 1-D and 2-D"):
        cnnlib.conv3d(np.zeros((1, 2, 5, 5, 5)), np.zeros((2, 2, 3, 3, 3)), method="mec")


@pytest.mark.parametrize("threads", [1, 2])
def test_same_result_on_any_number_of_threads(threads):
    import numba
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 40, 40)).astype(np.float32)
    w = rng.standard_normal((16, 3, 7, 7)).astype(np.float32)
    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        got = cnnlib.conv2d(x, w, stride=2, padding=3, method="mec")
    finally:
        numba.set_num_threads(before)
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=2, padding=3).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("bias", [False, True])
def test_recorded_gemms_are_kh_products_of_depth_c_kw(bias):
    """k_h GEMMs per block, each C·k_w deep (+1 for the bias column in the first one); their
    products add up to torch's MACs (FlopCounterMode) plus C_out per pixel for the bias."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 3, 32, 32)).astype(np.float32)
    w = rng.standard_normal((8, 3, 7, 7)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32) if bias else None
    with _blas.recording() as calls:
        y = cnnlib.conv2d(x, w, b, stride=2, padding=3, method="mec")
    with FlopCounterMode(display=False) as counter:
        ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                       None if b is None else torch.from_numpy(b), stride=2, padding=3)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-4, atol=1e-4)
    assert len(calls) % 7 == 0
    depths = [k for _, k, _ in calls]
    assert set(depths[1::7]) == {21} and set(depths[::7]) == {22 if bias else 21}
    pixels = 16 * 16
    assert sum(n for _, _, n in calls[::7]) == pixels
    assert sum(m * k * n for m, k, n in calls) == counter.get_total_flops() // 2 + bias * 8 * pixels
