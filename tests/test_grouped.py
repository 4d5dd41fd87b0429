"""Grouped and depthwise direct kernels (cnnlib._grouped) against torch and the plain loops."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings, strategies as st

import cnnlib
from cnnlib import _grouped
from cnnlib._algorithms import choose_method
from cnnlib._direct import direct_loops
from cnnlib._validation import conv_spec

from test_conv import OURS, TOL, TORCH, make   # the same layers and tolerances


def every_path(n, x, w, b, **kw):
    """The output of every grouped path and of the old plain loops, with torch's, for one layer."""
    ref = TORCH[n](torch.from_numpy(x), torch.from_numpy(w),
                   None if b is None else torch.from_numpy(b), **kw).numpy()
    spec = conv_spec(x, w, b, kw.get("stride", 1), kw.get("padding", 0), kw.get("dilation", 1),
                     kw.get("groups", 1), n=n, fn=f"conv{n}d")
    outs = {"auto": OURS[n](x, w, b, **kw), "direct": OURS[n](x, w, b, method="direct", **kw),
            "grouped": _grouped.conv_grouped(spec, n), "loops": direct_loops(spec)}
    if kw.get("groups", 1) == x.shape[1] == w.shape[0]:
        outs["channels_last"] = _grouped.conv_depthwise_cl(spec, n)
    return ref, outs


def check(n, x, w, b, **kw):
    ref, outs = every_path(n, x, w, b, **kw)
    for name, out in outs.items():
        assert out.shape == ref.shape and out.dtype == x.dtype, name
        np.testing.assert_allclose(out, ref, **TOL[x.dtype.type], err_msg=name)
    np.testing.assert_allclose(outs["grouped"], outs["loops"], **TOL[x.dtype.type])


# ------------------------------------------------------------------ parametrised grids
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c_in, c_out, groups", [
    (8, 8, 2), (8, 16, 4), (12, 6, 3), (16, 16, 8), (32, 32, 4),   # grouped, 1–8 per group
    (6, 6, 6), (5, 10, 5)])                                        # depthwise, multiplier 1, 2
@pytest.mark.parametrize("kernel", [(1, 1), (3, 3), (5, 5), (7, 7), (2, 3)])
@pytest.mark.parametrize("stride", [1, 2, (3, 1)])
@pytest.mark.parametrize("padding", [0, 1, (3, 2)])
def test_grouped_grid(dtype, c_in, c_out, groups, kernel, stride, padding):
    rng = np.random.default_rng(0)
    x, w, b = make(rng, 2, c_in, c_out, (11, 12), kernel, groups, True, dtype)
    check(2, x, w, b, stride=stride, padding=padding, groups=groups)


@pytest.mark.parametrize("dilation", [2, (1, 3)])
@pytest.mark.parametrize("groups, c_in", [(4, 8), (6, 6)])
@pytest.mark.parametrize("bias", [True, False])
def test_grouped_dilation_and_bias(dilation, groups, c_in, bias):
    rng = np.random.default_rng(1)
    x, w, b = make(rng, 1, c_in, c_in, (13, 10), (3, 3), groups, bias, np.float32)
    check(2, x, w, b, stride=2, padding=2, dilation=dilation, groups=groups)


@pytest.mark.parametrize("c, h, k, s", [
    (24, 7, 5, 1), (16, 14, 5, 2), (32, 8, 3, 1), (12, 7, 3, 1), (8, 3, 7, 1)])  # ≤ 64 px out
def test_depthwise_small_outputs_channels_last(c, h, k, s):
    rng = np.random.default_rng(2)
    x, w, b = make(rng, 3, c, c, (h, h), (k, k), c, True, np.float32)
    check(2, x, w, b, stride=s, padding=k // 2, groups=c)


@pytest.mark.parametrize("padding", [0, 2, "same"])
@pytest.mark.parametrize("groups", [2, 8])
def test_grouped_conv1d(padding, groups):
    rng = np.random.default_rng(3)
    x, w, b = make(rng, 2, 8, 16, (19,), (5,), groups, True, np.float64)
    check(1, x, w, b, padding=padding, groups=groups)


def test_resnext_and_mobilenet_shapes():
    """Real-network layers at reduced width: ResNeXt 4 per group, EfficientNet 5×5/2."""
    rng = np.random.default_rng(4)
    x, w, b = make(rng, 2, 64, 64, (20, 20), (3, 3), 16, True, np.float32)
    check(2, x, w, b, stride=2, padding=1, groups=16)
    x, w, b = make(rng, 1, 48, 48, (28, 28), (5, 5), 48, True, np.float32)
    check(2, x, w, b, stride=2, padding=2, groups=48)


def test_unbatched_and_noncontiguous():
    rng = np.random.default_rng(5)
    x, w, b = make(rng, 1, 8, 8, (9, 9), (3, 3), 4, True, np.float32)
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), groups=4)
    np.testing.assert_allclose(cnnlib.conv2d(x[0], w, b, groups=4), ref[0].numpy(), **TOL[np.float32])
    xt = np.asfortranarray(x)
    np.testing.assert_allclose(cnnlib.conv2d(xt, w, b, groups=4), ref.numpy(), **TOL[np.float32])


# ------------------------------------------------------------------ hypothesis
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_grouped_configs(data):
    n = data.draw(st.sampled_from([1, 2]))
    groups = data.draw(st.integers(2, 5))
    c_in = groups * data.draw(st.integers(1, 5))
    c_out = groups * data.draw(st.integers(1, 3))
    spatial = tuple(data.draw(st.integers(1, 12)) for _ in range(n))
    kernel = tuple(data.draw(st.integers(1, 7)) for _ in range(n))
    dilation = tuple(data.draw(st.integers(1, 3)) for _ in range(n))
    padding = tuple(data.draw(st.integers(0, 3)) for _ in range(n))
    stride = tuple(data.draw(st.integers(1, 4)) for _ in range(n))
    assume(all(d * (k - 1) + 1 <= s + 2 * p
               for d, k, s, p in zip(dilation, kernel, spatial, padding)))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    x, w, b = make(np.random.default_rng(data.draw(st.integers(0, 2**16))),
                   data.draw(st.integers(1, 3)), c_in, c_out, spatial, kernel, groups,
                   data.draw(st.booleans()), dtype)
    check(n, x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)


# ------------------------------------------------------------------ dispatch and errors
def test_auto_rule_for_grouped_layers():
    one = (1, 1)
    assert choose_method(128, 128, (3, 3), one, one, 32, (56, 56)) == "direct"     # 4 per group
    assert choose_method(512, 512, (3, 3), one, one, 32, (14, 14)) == "direct"     # 16 per group
    assert choose_method(1024, 1024, (3, 3), (2, 2), one, 32, (7, 7)) == "direct"  # 32, strided
    assert choose_method(1024, 1024, (3, 3), one, one, 32, (7, 7)) == "mec"        # 32, stride 1
    assert choose_method(240, 60, (1, 1), one, one, 3, (28, 28)) == "im2col"       # ShuffleNet 1×1
    assert choose_method(672, 672, (5, 5), (2, 2), one, 672, (7, 7)) == "direct"   # depthwise


@pytest.mark.parametrize("call, exc, match", [
    (lambda: cnnlib.conv2d(np.zeros((1, 6, 5, 5), np.float32), np.zeros((6, 2, 3, 3), np.float32),
                           groups=4), ValueError, "groups"),
    (lambda: cnnlib.conv2d(np.zeros((1, 6, 5, 5), np.float32), np.zeros((6, 2, 3, 3), np.float32),
                           groups=3, stride=0), ValueError, "stride"),
    (lambda: cnnlib.conv2d(np.zeros((1, 6, 5, 5), np.float32), np.zeros((6, 2, 7, 7), np.float32),
                           groups=3), ValueError, "kernel|input"),
    (lambda: cnnlib.conv2d(np.zeros((1, 6, 5, 5), np.float32), np.zeros((6, 1, 3, 3), np.float64),
                           groups=6), (TypeError, ValueError), "dtype|weight"),
])
def test_grouped_errors_name_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
