"""batch_norm and fuse_conv_bn against torch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

import cnnlib

TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def bn_args(rng, c, dtype, affine=True):
    mean = rng.standard_normal(c).astype(dtype)
    var = rng.uniform(0.1, 2.0, c).astype(dtype)
    w = rng.standard_normal(c).astype(dtype) if affine else None
    b = rng.standard_normal(c).astype(dtype) if affine else None
    return mean, var, w, b


def t(a):
    return None if a is None else torch.from_numpy(np.array(a))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 7), (2, 5, 6, 4), (1, 2, 3, 4, 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_inference_matches_torch(dtype, shape, affine):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    mean, var, w, b = bn_args(rng, shape[1], dtype, affine)
    ours = cnnlib.batch_norm(x, mean, var, w, b, 1e-3)
    ref = F.batch_norm(t(x), t(mean), t(var), t(w), t(b), False, 0.1, 1e-3).numpy()
    assert ours.dtype == dtype and ours.shape == shape
    np.testing.assert_allclose(ours, ref, **TOL[dtype])


def test_batch_norm_training_matches_torch_and_updates_running_stats():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 3, 5, 5))
    mean, var, w, b = bn_args(rng, 3, np.float64)
    tm, tv = t(mean), t(var)
    ours = cnnlib.batch_norm(x, mean, var, w, b, training=True, momentum=0.2)
    ref = F.batch_norm(t(x), tm, tv, t(w), t(b), True, 0.2, 1e-5).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mean, tm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(var, tv.numpy(), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), c_in=st.integers(1, 4), c_out=st.integers(1, 6), k=st.integers(1, 4),
       bias=st.booleans(), seed=st.integers(0, 2**16))
def test_fuse_conv_bn_equals_conv_then_bn(n, c_in, c_out, k, bias, seed):
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.standard_normal((n, c_in, 9, 9)))
    w = rng.standard_normal((c_out, c_in, k, k))
    b = rng.standard_normal(c_out) if bias else None
    mean, var, gamma, beta = bn_args(rng, c_out, np.float64)
    ref = F.batch_norm(F.conv2d(x, t(w), t(b)), t(mean), t(var), t(gamma), t(beta), False, 0.1, 1e-5)
    fw, fb = cnnlib.fuse_conv_bn(w, b, mean, var, gamma, beta)
    fused = F.conv2d(x, t(fw), t(fb))
    torch.testing.assert_close(fused, ref, rtol=1e-10, atol=1e-10)


def test_fuse_conv_bn_float32_and_no_affine():
    rng = np.random.default_rng(2)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    mean, var, _, _ = bn_args(rng, 4, np.float32, affine=False)
    fw, fb = cnnlib.fuse_conv_bn(w, None, mean, var, None, None)
    assert fw.dtype == np.float32 and fb.dtype == np.float32
    np.testing.assert_allclose(fb, -mean / np.sqrt(var + 1e-5), rtol=1e-6)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: cnnlib.batch_norm(np.zeros(3), np.zeros(3), np.ones(3)), ValueError, "at least 2-D"),
    (lambda: cnnlib.batch_norm(np.zeros((2, 3)), np.zeros(4), np.ones(3)), ValueError, r"running_mean must have shape \(3,\)"),
    (lambda: cnnlib.batch_norm(np.zeros((2, 3)), np.zeros(3), np.ones(3), eps=-1), ValueError, "eps=-1"),
    (lambda: cnnlib.batch_norm(np.zeros((2, 3), np.int64), np.zeros(3), np.ones(3)), TypeError, "int64"),
    (lambda: cnnlib.batch_norm(np.zeros((2, 3), np.float32), np.zeros(3), np.ones(3)), TypeError, "running_mean has dtype float64"),
    (lambda: cnnlib.batch_norm(np.zeros((1, 3)), np.zeros(3), np.ones(3), training=True), ValueError, "more than 1 value"),
    (lambda: cnnlib.fuse_conv_bn(np.zeros((4, 2, 3, 3)), np.zeros(3), np.zeros(4), np.ones(4), None, None), ValueError, r"conv_bias must have shape \(4,\)"),
    (lambda: cnnlib.fuse_conv_bn(np.zeros((4, 2)), None, np.zeros(4), np.ones(4), None, None), ValueError, "conv_weight must be"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
