"""batch_norm, fuse_conv_bn, layer_norm, group_norm, instance_norm, local_response_norm against torch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from hypothesis import assume, given, settings, strategies as st

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


# --- layer_norm, group_norm, instance_norm, local_response_norm against torch ---------------

def _affine_args(rng, shape, dtype, affine):
    if not affine:
        return None, None
    return (rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, normalized_shape", [
    ((4, 6), 6), ((2, 3, 5), (5,)), ((2, 3, 4, 5), (3, 4, 5)), ((2, 4, 4, 3), [3]),
    ((3, 2, 4), (2, 4))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(dtype, shape, normalized_shape, affine):
    rng = np.random.default_rng(3)
    x = (3 * rng.standard_normal(shape) + 1).astype(dtype)
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    w, b = _affine_args(rng, ns, dtype, affine)
    ours = cnnlib.layer_norm(x, normalized_shape, w, b, 1e-3)
    ref = F.layer_norm(t(x), ns, t(w), t(b), 1e-3).numpy()
    assert ours.dtype == dtype and ours.shape == shape
    np.testing.assert_allclose(ours, ref, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, groups", [((2, 6), 3), ((2, 6, 5), 2), ((3, 8, 4, 5), 4),
                                           ((2, 8, 3, 3), 1), ((2, 8, 3, 3), 8),
                                           ((1, 4, 2, 3, 2), 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_torch(dtype, shape, groups, affine):
    rng = np.random.default_rng(4)
    x = (2 * rng.standard_normal(shape) - 1).astype(dtype)
    w, b = _affine_args(rng, (shape[1],), dtype, affine)
    ours = cnnlib.group_norm(x, groups, w, b)
    ref = F.group_norm(t(x), groups, t(w), t(b)).numpy()
    assert ours.dtype == dtype and ours.shape == shape
    np.testing.assert_allclose(ours, ref, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 3, 7), (2, 5, 6, 4), (1, 2, 3, 4, 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm_matches_torch(dtype, shape, affine):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(shape) + 2).astype(dtype)
    w, b = _affine_args(rng, (shape[1],), dtype, affine)
    ours = cnnlib.instance_norm(x, weight=w, bias=b, eps=1e-3)
    ref = F.instance_norm(t(x), weight=t(w), bias=t(b), eps=1e-3).numpy()
    assert ours.dtype == dtype and ours.shape == shape
    np.testing.assert_allclose(ours, ref, **TOL[dtype])


def test_instance_norm_running_stats_match_torch():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 3, 5, 6)) * 2 + 1
    mean, var, w, b = bn_args(rng, 3, np.float64)
    tm, tv = t(mean), t(var)
    ours = cnnlib.instance_norm(x, mean, var, w, b, True, 0.3, 1e-5)      # updates in place
    ref = F.instance_norm(t(x), tm, tv, t(w), t(b), True, 0.3, 1e-5).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mean, tm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(var, tv.numpy(), rtol=1e-12)
    ours = cnnlib.instance_norm(x, mean, var, w, b, use_input_stats=False)
    ref = F.instance_norm(t(x), tm, tv, t(w), t(b), use_input_stats=False).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 7, 5), (2, 6, 4, 3), (1, 9, 2, 3, 2), (1, 2, 3, 3)])
@pytest.mark.parametrize("size, alpha, beta, k", [(5, 1e-4, 0.75, 1.0), (5, 5e-4, 0.75, 2.0),
                                                 (2, 0.5, 0.5, 1.0), (4, 2.0, 1.0, 0.5),
                                                 (1, 1.0, 0.75, 1.0), (12, 1e-2, 0.75, 2.0)])
def test_local_response_norm_matches_torch(dtype, shape, size, alpha, beta, k):
    rng = np.random.default_rng(7)
    x = (5 * rng.standard_normal(shape)).astype(dtype)
    ours = cnnlib.local_response_norm(x, size, alpha, beta, k)
    ref = F.local_response_norm(t(x), size, alpha, beta, k).numpy()
    assert ours.dtype == dtype and ours.shape == shape
    np.testing.assert_allclose(ours, ref, **TOL[dtype])


def test_new_norms_match_torch_modules_defaults():
    x = torch.randn(3, 8, 5, 4, dtype=torch.float64)
    xn = x.numpy()
    torch.testing.assert_close(torch.from_numpy(cnnlib.local_response_norm(xn, 3)),
                               nn.LocalResponseNorm(3)(x))
    torch.testing.assert_close(torch.from_numpy(cnnlib.group_norm(xn, 2)),
                               nn.GroupNorm(2, 8, affine=False).double()(x))
    torch.testing.assert_close(torch.from_numpy(cnnlib.instance_norm(xn)),
                               nn.InstanceNorm2d(8)(x))
    torch.testing.assert_close(torch.from_numpy(cnnlib.layer_norm(xn, (8, 5, 4))),
                               nn.LayerNorm((8, 5, 4), elementwise_affine=False).double()(x))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), g=st.integers(1, 4), per_group=st.integers(1, 3),
       hw=st.tuples(st.integers(1, 4), st.integers(1, 4)), size=st.integers(1, 7),
       seed=st.integers(0, 2**16))
def test_per_sample_norms_random_configs(n, g, per_group, hw, size, seed):
    rng = np.random.default_rng(seed)
    c = g * per_group
    assume(n * per_group * hw[0] * hw[1] > 1)         # else torch's group_norm refuses too
    x = rng.standard_normal((n, c) + hw) * rng.uniform(0.1, 10) + rng.uniform(-5, 5)
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    torch.testing.assert_close(torch.from_numpy(cnnlib.group_norm(x, g, w, b)),
                               F.group_norm(t(x), g, t(w), t(b)), rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(torch.from_numpy(cnnlib.layer_norm(x, x.shape[1:])),
                               F.layer_norm(t(x), x.shape[1:]), rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(torch.from_numpy(cnnlib.local_response_norm(x, size, 1e-2, 0.75, 2.0)),
                               F.local_response_norm(t(x), size, 1e-2, 0.75, 2.0),
                               rtol=1e-12, atol=1e-12)
    if hw[0] * hw[1] > 1:
        torch.testing.assert_close(torch.from_numpy(cnnlib.instance_norm(x, weight=w, bias=b)),
                                   F.instance_norm(t(x), weight=t(w), bias=t(b)),
                                   rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: cnnlib.layer_norm(np.zeros((2, 3)), 4), ValueError, "normalized_shape=4 does not match"),
    (lambda: cnnlib.layer_norm(np.zeros((2, 3)), 3.0), TypeError, "normalized_shape=3.0"),
    (lambda: cnnlib.layer_norm(np.zeros((2, 3)), 3, np.ones(4)), ValueError, r"weight must have shape \(3,\)"),
    (lambda: cnnlib.layer_norm(np.zeros((2, 3)), 3, eps=-1.0), ValueError, "eps=-1.0"),
    (lambda: cnnlib.layer_norm(np.zeros((2, 3), np.int64), 3), TypeError, "int64"),
    (lambda: cnnlib.group_norm(np.zeros((2, 6, 3)), 4), ValueError, "num_groups=4 must be positive and divide"),
    (lambda: cnnlib.group_norm(np.zeros((2, 6, 3)), 2.0), TypeError, "num_groups=2.0"),
    (lambda: cnnlib.group_norm(np.zeros(6), 2), ValueError, "at least 2-D"),
    (lambda: cnnlib.group_norm(np.zeros((1, 4, 1, 1)), 4), ValueError, "more than 1 value per group"),
    (lambda: cnnlib.group_norm(np.zeros((2, 6, 3), np.float32), 2, np.ones(6)), TypeError, "weight has dtype float64"),
    (lambda: cnnlib.instance_norm(np.zeros((2, 3))), ValueError, "at least 3-D"),
    (lambda: cnnlib.instance_norm(np.zeros((2, 3, 1))), ValueError, "more than 1 spatial element"),
    (lambda: cnnlib.instance_norm(np.zeros((2, 3, 4)), use_input_stats=False), ValueError, "needs running_mean"),
    (lambda: cnnlib.instance_norm(np.zeros((2, 3, 4)), np.zeros(2), np.ones(3)), ValueError, r"running_mean must have shape \(3,\)"),
    (lambda: cnnlib.local_response_norm(np.zeros((2, 3)), 2), ValueError, "at least 3-D"),
    (lambda: cnnlib.local_response_norm(np.zeros((2, 3, 4)), 0), ValueError, "size=0 must be positive"),
    (lambda: cnnlib.local_response_norm(np.zeros((2, 3, 4)), 2.5), TypeError, "size=2.5"),
])
def test_new_norm_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
