"""Dilated 2-D convolution by sub-grids (space to batch + Winograd) and by regions of valid taps
(:mod:`cnnlib._dilated`), the ``"dilated"`` method ``auto`` picks for stride-1 dilated conv2d:
same results as torch and as the dilated im2col, on grids and hypothesis examples."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

import cnnlib
from cnnlib import _algorithms, _dilated
from cnnlib._validation import conv_spec


def data(rng, n, c_in, c_out, hw, k, groups, dtype, bias=True):
    x = rng.standard_normal((n, c_in) + hw).astype(dtype)
    w = (rng.standard_normal((c_out, c_in // groups) + k) / np.sqrt(c_in // groups * np.prod(k))
         ).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype) if bias else None
    return x, w, b


def torch_conv(x, w, b, **kw):
    with torch.no_grad():
        return F.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                        None if b is None else torch.from_numpy(b), **kw).numpy()


def close(got, ref, dtype):
    tol = 2e-4 if dtype == np.float32 else 1e-10
    assert got.shape == ref.shape and got.dtype == ref.dtype
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * max(1.0, float(np.abs(ref).max())))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hw, dilation, padding", [
    ((28, 28), 2, 2), ((28, 28), 4, 4), ((33, 33), 6, 6), ((33, 33), 12, 12),
    ((33, 33), 18, 18), ((20, 17), (2, 3), (2, 3)), ((19, 21), 3, "same"), ((16, 16), 2, 0),
    ((15, 15), (1, 2), 1), ((9, 9), 5, (5, 1)), ((12, 12), 2, "valid")])
@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("method", ["auto", "dilated"])
def test_dilated_matches_torch(dtype, hw, dilation, padding, groups, method):
    rng = np.random.default_rng(0)
    x, w, b = data(rng, 2, 32 * groups, 16 * groups, hw, (3, 3), groups, dtype)
    kw = dict(padding=padding, dilation=dilation, groups=groups)
    ref = torch_conv(x, w, b, **kw)
    close(cnnlib.conv2d(x, w, b, method=method, **kw), ref, dtype)
    close(cnnlib.conv2d(x, w, b, method="im2col", **kw), ref, dtype)      # the old path


@pytest.mark.parametrize("k", [(3, 3), (2, 2), (5, 5), (1, 3), (3, 1), (4, 2)])
@pytest.mark.parametrize("dilation, padding", [(2, 2), (3, "same"), (7, 7), ((4, 2), (5, 0))])
@pytest.mark.parametrize("bias", [True, False])
def test_dilated_other_kernels_and_channels(k, dilation, padding, bias):
    rng = np.random.default_rng(1)
    for c_in, c_out in ((3, 5), (16, 24)):
        x, w, b = data(rng, 1, c_in, c_out, (22, 19), k, 1, np.float32, bias)
        kw = dict(padding=padding, dilation=dilation)
        close(cnnlib.conv2d(x, w, b, **kw), torch_conv(x, w, b, **kw), np.float32)


def test_every_tap_in_the_padding_gives_the_bias():
    rng = np.random.default_rng(2)
    x, w, b = data(rng, 1, 16, 16, (5, 5), (3, 3), 1, np.float32)
    kw = dict(padding=10, dilation=8)       # output (0, 0) reads rows and columns -10, -2, 6
    ref = torch_conv(x, w, b, **kw)
    close(cnnlib.conv2d(x, w, b, **kw), ref, np.float32)
    np.testing.assert_allclose(ref[0, :, 0, 0], b, rtol=1e-6)


def test_unbatched_and_torch_tensors():
    rng = np.random.default_rng(3)
    x, w, b = data(rng, 1, 16, 16, (20, 20), (3, 3), 1, np.float32)
    ref = torch_conv(x, w, b, padding=4, dilation=4)[0]
    got = cnnlib.conv2d(torch.from_numpy(x[0]), torch.from_numpy(w), torch.from_numpy(b),
                        padding=4, dilation=4)
    close(got, ref, np.float32)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 2), c=st.sampled_from([4, 16, 24]), h=st.integers(5, 30),
       w=st.integers(5, 30), kh=st.integers(1, 4), kw=st.integers(1, 4), dh=st.integers(1, 9),
       dw=st.integers(1, 9), ph=st.integers(0, 10), pw=st.integers(0, 10),
       groups=st.sampled_from([1, 2, 4]), bias=st.booleans())
def test_dilated_hypothesis_matches_torch(n, c, h, w, kh, kw, dh, dw, ph, pw, groups, bias):
    if dh * (kh - 1) + 1 > h + 2 * ph or dw * (kw - 1) + 1 > w + 2 * pw:
        return                                          # kernel larger than the padded input
    rng = np.random.default_rng(4)
    x, wt, b = data(rng, n, c, c, (h, w), (kh, kw), groups, np.float64, bias)
    args = dict(padding=(ph, pw), dilation=(dh, dw), groups=groups)
    ref = torch_conv(x, wt, b, **args)
    close(cnnlib.conv2d(x, wt, b, **args), ref, np.float64)
    close(cnnlib.conv2d(x, wt, b, method="dilated", **args), ref, np.float64)


def test_auto_rule_picks_dilated_for_stride_1_dilated_conv2d_only():
    one = (1, 1)
    assert _algorithms.choose_method(256, 256, (3, 3), one, (2, 2), 1, (28, 28)) == "dilated"
    assert _algorithms.choose_method(64, 64, (5, 5), one, (1, 3), 1, (20, 20)) == "dilated"
    assert _algorithms.choose_method(512, 512, (3, 3), one, (2, 2), 1, (28, 28),
                                     subgrid=False) == "im2col"      # the old rule
    assert _algorithms.choose_method(256, 256, (3, 3), (2, 2), (2, 2), 1, (14, 14)) == "im2col"
    assert _algorithms.choose_method(128, 128, (3, 3), one, (2, 2), 128, (56, 56)) == "direct"
    assert _algorithms.choose_method(64, 64, (3,), (1,), (2,), 1, (100,)) != "dilated"


def test_subgrid_rule():
    pick = _algorithms.subgrid_method
    assert pick(512, 512, (3, 3), 1, (14, 14)) == "winograd_f2"       # DeepLab d2 @28
    assert pick(512, 512, (3, 3), 1, (7, 7)) is None                  # d4 @28: im2col faster
    assert pick(256, 256, (3, 3), 1, (6, 6)) is None                  # ASPP d6 @33
    assert pick(256, 256, (3, 3), 1, (32, 32)) == "winograd"
    assert pick(8, 8, (3, 3), 1, (28, 28)) is None                    # too few channels
    assert pick(256, 256, (5, 5), 1, (28, 28)) is None                # Winograd is 3×3 only


def test_regions_and_valid_fraction():
    rng = np.random.default_rng(5)
    x, w, _ = data(rng, 1, 4, 4, (33, 33), (3, 3), 1, np.float32)
    spec = conv_spec(x, w, None, 1, 18, 18, 1, 2, "conv2d")
    rows = [r for r, _ in _dilated.regions(spec)][::3]
    assert rows == [(0, 15, 1, 2), (15, 18, 1, 1), (18, 33, 0, 1)]
    # taps per output row: 2 for 15 rows, 1 for 3, 2 for 15 → (63/99)² of the MACs
    assert _dilated.valid_fraction(spec) == pytest.approx((63 / 99) ** 2)
    full = conv_spec(x, w, None, 1, 0, 2, 1, 2, "conv2d")
    assert _dilated.valid_fraction(full) == 1.0 and len(_dilated.regions(full)) == 1


def test_subgrid_equals_torch_for_each_inner_method():
    rng = np.random.default_rng(6)
    x, w, b = data(rng, 2, 16, 16, (23, 26), (3, 3), 1, np.float32)
    spec = conv_spec(x, w, b, 1, (2, 3), (2, 3), 1, 2, "conv2d")
    ref = torch_conv(x, w, b, padding=(2, 3), dilation=(2, 3))
    for inner in ("winograd", "winograd_f2", "im2col", "mec", "direct"):
        close(_dilated.conv_subgrid(spec, inner), ref, np.float32)


def test_dilated_method_errors_name_the_problem():
    rng = np.random.default_rng(7)
    x, w, b = data(rng, 1, 4, 4, (12, 12), (3, 3), 1, np.float32)
    with pytest.raises(ValueError, match="method='dilated'.*stride"):
        cnnlib.conv2d(x, w, b, stride=2, dilation=2, method="dilated")
    with pytest.raises(ValueError, match="method='dilated'.*conv2d"):
        cnnlib.conv1d(x[:, :, 0], w[:, :, 0], b, dilation=2, method="dilated")
    with pytest.raises(ValueError, match="larger than the padded input"):
        cnnlib.conv2d(x, w, b, dilation=7)


def test_changed_weights_are_not_served_stale():
    rng = np.random.default_rng(8)
    x, w, b = data(rng, 1, 16, 16, (33, 33), (3, 3), 1, np.float32)
    kw = dict(padding=18, dilation=18)
    cnnlib.conv2d(x, w, b, **kw)
    w *= 2                                               # in place: the tap slices must follow
    close(cnnlib.conv2d(x, w, b, **kw), torch_conv(x, w, b, **kw), np.float32)
