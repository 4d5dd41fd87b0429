"""cnnlib._blas.gemm: NumPy's own CBLAS called from numba kernels, checked against NumPy."""
import numpy as np
import pytest

from cnnlib import _blas


def test_numpy_ships_an_ilp64_cblas():
    """The NumPy wheels pinned in requirements.txt: the fast path, not the fallback loops."""
    assert _blas.HAVE_CBLAS and _blas.BLAS_LIBRARY


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (3, 5, 7), (64, 147, 300), (17, 1, 9), (8, 33, 1)])
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_gemm_matches_numpy(dtype, m, k, n, beta):
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    c = rng.standard_normal((m, n)).astype(dtype)
    expected = a.astype(np.float64) @ b + beta * c
    _blas.gemm(a, b, c, beta)
    np.testing.assert_allclose(c, expected, rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-4 if dtype == np.float32 else 1e-12)


def test_gemm_on_blocks_of_larger_arrays_touches_only_the_block():
    """Row strides other than the width (blocks of a bigger matrix) are leading dimensions."""
    rng = np.random.default_rng(3)
    big_a = rng.standard_normal((10, 12)).astype(np.float32)
    big_b = rng.standard_normal((9, 20)).astype(np.float32)
    big_c = np.zeros((8, 30), np.float32)
    a, b, c = big_a[2:6, 1:8], big_b[1:8, 3:14], big_c[2:6, 5:16]
    _blas.gemm(a, b, c, 0.0)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)
    untouched = big_c.copy()
    untouched[2:6, 5:16] = 0
    assert not untouched.any()


def test_gemm_with_an_empty_dimension_does_nothing():
    c = np.ones((0, 4), np.float32)
    _blas.gemm(np.ones((0, 3), np.float32), np.ones((3, 4), np.float32), c, 0.0)
    c = np.full((2, 3), 7.0)
    _blas.gemm(np.ones((2, 0)), np.ones((0, 3)), c, 1.0)     # k = 0: c = beta·c
    np.testing.assert_array_equal(c, 7.0)


@pytest.mark.parametrize("method,kw,x_shape,w_shape", [
    ("im2col", dict(padding=1), (2, 8, 12, 12), (6, 8, 3, 3)),
    ("im2col", dict(stride=2, groups=2), (1, 8, 11, 11), (4, 4, 3, 3)),
    ("im2col", dict(), (1, 8, 9, 9), (5, 8, 1, 1)),                  # 1×1: no copy
    ("im2col", dict(padding=1), (1, 4, 5, 5, 5), (3, 4, 3, 3, 3)),   # 3-D: NumPy's matmul
    ("mec", dict(stride=2, padding=3), (2, 3, 20, 20), (8, 3, 7, 7)),
    ("mec", dict(padding=1, groups=2, dilation=2), (1, 8, 11, 11), (4, 4, 3, 3)),
    ("winograd_f4", dict(padding=1), (2, 16, 20, 20), (16, 16, 3, 3)),
    ("winograd_f2", dict(padding=1, groups=2), (1, 32, 9, 9), (32, 16, 3, 3)),
])
def test_recording_sees_every_product(method, kw, x_shape, w_shape):
    """Σ m·k·n of the recorded GEMMs is the method's multiplication count (torch's MACs for im2col)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import cnnlib
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape).astype(np.float32), rng.standard_normal(w_shape).astype(np.float32)
    conv = cnnlib.conv2d if len(x_shape) == 4 else cnnlib.conv3d
    with _blas.recording() as calls:
        y = conv(x, w, method=method, **kw)
    products = sum(m * k * n for m, k, n in calls)
    fn = torch.nn.functional.conv2d if len(x_shape) == 4 else torch.nn.functional.conv3d
    with FlopCounterMode(display=False) as counter:
        ref = fn(torch.from_numpy(x), torch.from_numpy(w), **kw)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-3, atol=1e-3)
    if method in ("im2col", "mec"):
        assert products == counter.get_total_flops() // 2
    else:
        assert products == cnnlib.conv2d_multiplications(method, x_shape, w_shape, **kw)
    with _blas.recording() as outside:
        pass
    assert outside == []
