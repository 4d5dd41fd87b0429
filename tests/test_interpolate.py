"""Tests for cnnlib._interpolate: interpolate vs its naive reference vs torch.nn.functional."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnlib
from cnnlib._interpolate import InterpolateNdimError, interpolate_naive

DTYPES = [np.float32, np.float64]
NDIM = {"linear": 3, "bilinear": 4, "bicubic": 4}


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def rand(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def check(x, **kw):
    """cnnlib == torch == naive reference for one call; returns cnnlib's output."""
    got = cnnlib.interpolate(x, **kw)
    want = F.interpolate(torch.from_numpy(x), **kw).numpy()
    assert got.shape == want.shape and got.dtype == x.dtype
    np.testing.assert_allclose(got, want, **tol(x.dtype))
    np.testing.assert_allclose(interpolate_naive(x, **kw), got, **tol(x.dtype))
    return got


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
@pytest.mark.parametrize("shape,kw", [
    ((2, 3, 7), dict(size=12)), ((2, 3, 7), dict(scale_factor=2)), ((1, 2, 9), dict(size=4)),
    ((2, 3, 5, 6), dict(size=(8, 3))), ((2, 3, 5, 6), dict(scale_factor=(1.7, 0.6))),
    ((1, 2, 5, 6), dict(scale_factor=2.1)), ((1, 2, 5, 6), dict(scale_factor=1.1)),
    ((1, 2, 5, 6), dict(scale_factor=1.1, recompute_scale_factor=True)),
    ((1, 2, 3, 4, 5), dict(size=(5, 2, 7))), ((1, 2, 3, 4, 5), dict(scale_factor=(2.5, 1.3, 0.5))),
])
def test_nearest_modes_match_torch(shape, kw, mode, dtype):
    check(rand(shape, dtype), mode=mode, **kw)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("mode,shape,kw", [
    ("linear", (2, 3, 7), dict(size=15)), ("linear", (2, 3, 7), dict(size=3)),
    ("linear", (2, 3, 7), dict(scale_factor=1.6)), ("linear", (1, 1, 1), dict(size=4)),
    ("linear", (1, 2, 6), dict(size=1)), ("linear", (1, 2, 5), dict(scale_factor=1.1)),
    ("bilinear", (2, 3, 5, 6), dict(size=(11, 4))), ("bilinear", (2, 3, 5, 6), dict(scale_factor=2)),
    ("bilinear", (1, 2, 5, 6), dict(scale_factor=(1.7, 0.55))),
    ("bilinear", (1, 2, 5, 6), dict(scale_factor=(1.7, 0.55), recompute_scale_factor=True)),
    ("bilinear", (1, 1, 4, 4), dict(size=(1, 7))),
])
def test_linear_modes_match_torch(mode, shape, kw, align_corners, dtype):
    check(rand(shape, dtype), mode=mode, align_corners=align_corners, **kw)


def test_align_corners_known_values():
    x = np.array([[[0.0, 1.0]]])
    np.testing.assert_allclose(cnnlib.interpolate(x, size=4, mode="linear", align_corners=True),
                               [[[0, 1 / 3, 2 / 3, 1]]])
    np.testing.assert_allclose(cnnlib.interpolate(x, size=4, mode="linear", align_corners=False),
                               [[[0, 0.25, 0.75, 1]]])
    assert cnnlib.interpolate(x, size=4, mode="linear").tolist() == [[[0, 0.25, 0.75, 1]]]


@pytest.mark.parametrize("mode,align", [("nearest", None), ("nearest-exact", None),
                                        ("linear", False)])
def test_scale_factor_maps_with_one_over_scale_unless_recomputed(mode, align):
    # 5 * 1.7 = 8.5 -> 8 outputs; the mapping uses 1/1.7, not 5/8, unless recomputed
    x = np.arange(5.0).reshape(1, 1, 5)
    kw = dict(mode=mode, align_corners=align)
    kept = check(x, scale_factor=1.7, **kw)
    recomputed = check(x, scale_factor=1.7, recompute_scale_factor=True, **kw)
    by_size = check(x, size=8, **kw)
    assert kept.shape == recomputed.shape == (1, 1, 8)
    np.testing.assert_array_equal(recomputed, by_size)
    assert not np.array_equal(kept, recomputed)
    np.testing.assert_array_equal(check(x, scale_factor=1.7, recompute_scale_factor=False, **kw),
                                  kept)


def test_nearest_4d_shortcuts_match_torch():
    # torch's 2-D 'nearest' copies an unchanged dim and halves indices for an exact doubling,
    # whatever the scale factor; its 1-D and 3-D kernels do not
    x4 = np.arange(5.0).reshape(1, 1, 5, 1)
    assert cnnlib.interpolate(x4, scale_factor=(1.1, 1.0)).ravel().tolist() == [0, 1, 2, 3, 4]
    assert cnnlib.interpolate(x4, scale_factor=(2.1, 1.0)).ravel().tolist() == \
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    x3 = np.arange(5.0).reshape(1, 1, 5)
    assert cnnlib.interpolate(x3, scale_factor=1.1).ravel().tolist() == [0, 0, 1, 2, 3]
    for x in (x3, x4):
        for s in (1.1, 2.1, 2.19, 1.19):
            sf = (s,) + (1.0,) * (x.ndim - 3)
            check(x, scale_factor=sf)
            check(x, scale_factor=sf, mode="nearest-exact")


def test_accepts_torch_tensor_input():
    t = torch.randn(1, 2, 4, 5)
    got = cnnlib.interpolate(t, size=(7, 3), mode="bilinear")
    np.testing.assert_allclose(got, F.interpolate(t, size=(7, 3), mode="bilinear").numpy(),
                               **tol(np.float32))


MODES = st.sampled_from(["nearest", "nearest-exact", "linear", "bilinear"])


def check_random_case(mode, nd, data, dtype, seed, align_corners, max_in=9, max_out=16):
    """One random interpolate call (size or scale_factor, recompute_scale_factor) vs torch."""
    spatial = tuple(data.draw(st.lists(st.integers(1, max_in), min_size=nd, max_size=nd)))
    x = rand((data.draw(st.integers(1, 2)), 2) + spatial, dtype, seed)
    kw = dict(mode=mode)
    if align_corners:
        kw["align_corners"] = data.draw(st.booleans())
    if data.draw(st.booleans()):
        kw["size"] = tuple(data.draw(st.lists(st.integers(1, max_out), min_size=nd, max_size=nd)))
    else:
        factors = st.floats(0.2, 3.5).map(lambda f: round(f, 2))
        kw["scale_factor"] = tuple(data.draw(st.lists(factors, min_size=nd, max_size=nd)))
        kw["recompute_scale_factor"] = data.draw(st.sampled_from([None, False, True]))
    try:
        want = F.interpolate(torch.from_numpy(x), **kw).numpy()
    except RuntimeError:                     # an output size of 0 (tiny scale factor)
        with pytest.raises(ValueError, match="must be positive"):
            cnnlib.interpolate(x, **kw)
        return
    got = cnnlib.interpolate(x, **kw)
    assert got.shape == want.shape and got.dtype == dtype
    np.testing.assert_allclose(got, want, **tol(dtype))


@settings(max_examples=150, deadline=None)
@given(mode=MODES, nd=st.integers(1, 3), data=st.data(), dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 2**16))
def test_interpolate_hypothesis(mode, nd, data, dtype, seed):
    nd = NDIM[mode] - 2 if mode in NDIM else nd
    check_random_case(mode, nd, data, dtype, seed, align_corners=mode in NDIM)


# ------------------------------------------------------------------------- bicubic and area

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("shape,kw", [
    ((2, 3, 5, 6), dict(size=(11, 4))), ((2, 3, 5, 6), dict(size=(2, 13))),
    ((2, 3, 5, 6), dict(scale_factor=2)), ((1, 2, 5, 6), dict(scale_factor=(1.7, 0.55))),
    ((1, 2, 5, 6), dict(scale_factor=(1.7, 0.55), recompute_scale_factor=True)),
    ((1, 2, 5, 6), dict(scale_factor=1.1)), ((1, 2, 5, 6), dict(size=(5, 6))),
    ((1, 1, 1, 1), dict(size=(3, 4))), ((1, 2, 2, 3), dict(size=(1, 1))),
    ((1, 1, 8, 8), dict(scale_factor=0.25)), ((1, 1, 3, 7), dict(scale_factor=(3.3, 1.9))),
])
def test_bicubic_matches_torch(shape, kw, align_corners, dtype):
    check(rand(shape, dtype), mode="bicubic", align_corners=align_corners, **kw)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,kw", [
    ((2, 3, 7), dict(size=3)), ((2, 3, 7), dict(size=10)), ((2, 3, 7), dict(scale_factor=0.5)),
    ((2, 3, 6, 9), dict(size=(2, 3))), ((2, 3, 6, 9), dict(size=(4, 5))),
    ((2, 3, 6, 9), dict(scale_factor=(0.5, 1.7))),
    ((1, 2, 6, 9), dict(scale_factor=0.7, recompute_scale_factor=True)),
    ((1, 2, 6, 9), dict(size=1)), ((1, 2, 4, 5, 6), dict(size=(2, 3, 4))),
    ((1, 2, 4, 5, 6), dict(scale_factor=(0.5, 1.5, 0.8))), ((1, 2, 4, 5, 6), dict(size=1)),
])
def test_area_matches_torch_and_adaptive_avg_pool(shape, kw, dtype):
    got = check(rand(shape, dtype), mode="area", **kw)
    if len(shape) == 4:
        np.testing.assert_array_equal(got, cnnlib.adaptive_avg_pool2d(rand(shape, dtype),
                                                                      got.shape[2:]))


@pytest.mark.parametrize("shape", [(1, 2, 5), (1, 2, 5, 6), (1, 2, 3, 5, 6)])
def test_area_may_be_empty_like_torch(shape):
    """Adaptive pooling to size 0 is allowed (in torch too): an empty output, not an error."""
    assert check(rand(shape, np.float64), scale_factor=0.1, mode="area").size == 0


def test_bicubic_overshoots_where_bilinear_does_not():
    step = np.repeat(np.repeat(np.array([[0.0, 0.0, 1.0, 1.0]]), 4, 0)[None, None], 1, 0)
    cubic = check(step, size=(4, 12), mode="bicubic", align_corners=False)
    linear = check(step, size=(4, 12), mode="bilinear", align_corners=False)
    assert cubic.max() > 1 and cubic.min() < 0                 # ringing at the edge
    assert linear.max() <= 1 and linear.min() >= 0


def test_bicubic_weights_sum_to_one_and_clamp_at_the_border():
    from cnnlib._bicubic import cubic_taps
    src = np.array([-0.75, -0.25, 0.0, 0.4, 2.5, 3.9, 4.2], np.float64)
    index, weight = cubic_taps(src, 5)
    np.testing.assert_allclose(weight.sum(0), 1, rtol=1e-14)
    assert index.min() == 0 and index.max() == 4               # taps beyond the border clamp
    assert index[:, 0].tolist() == [0, 0, 0, 1] and index[:, -1].tolist() == [3, 4, 4, 4]
    x = np.full((1, 1, 5, 5), 2.5)
    np.testing.assert_allclose(cnnlib.interpolate(x, size=(9, 3), mode="bicubic"), 2.5,
                               rtol=1e-14)                     # constants are reproduced


@settings(max_examples=50, deadline=None)
@given(mode=st.sampled_from(["bicubic", "area"]), nd=st.integers(1, 3), data=st.data(),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**16))
def test_bicubic_and_area_hypothesis(mode, nd, data, dtype, seed):
    nd = 2 if mode == "bicubic" else nd
    check_random_case(mode, nd, data, dtype, seed, align_corners=mode == "bicubic", max_in=8,
                      max_out=14)


X3 = rand((1, 2, 5), np.float32)
X4 = rand((1, 2, 5, 6), np.float32)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: cnnlib.interpolate(X4, size=3, scale_factor=2), ValueError,
     r"only one of size=3 or scale_factor=2 should be defined"),
    (lambda: cnnlib.interpolate(X4), ValueError, r"either size or scale_factor should be defined"),
    (lambda: cnnlib.interpolate(X4, size=3, align_corners=True), ValueError,
     r"align_corners=True can only be set with the interpolating modes"),
    (lambda: cnnlib.interpolate(X4, size=3, mode="nearest-exact", align_corners=False),
     ValueError, r"align_corners=False .* not mode='nearest-exact'"),
    (lambda: cnnlib.interpolate(X4, size=3, mode="trilinear"), ValueError,
     r"mode='trilinear' is not supported \(torch has it"),
    (lambda: cnnlib.interpolate(X4, size=3, mode="cubic"), ValueError,
     r"mode='cubic' is not supported; expected one of"),
    (lambda: cnnlib.interpolate(X4, size=3, mode="bilinear", antialias=True), ValueError,
     r"antialias=True is not supported"),
    (lambda: cnnlib.interpolate(X4, size=3, mode="bicubic", antialias=True), ValueError,
     r"antialias=True is not supported"),
    (lambda: cnnlib.interpolate(X3, size=3, mode="bicubic"), InterpolateNdimError,
     r"mode='bicubic' needs 4-D input .* got 3-D"),
    (lambda: cnnlib.interpolate(X4[None], size=3, mode="bicubic"), NotImplementedError,
     r"mode='bicubic' needs 4-D input .* got 5-D"),
    (lambda: cnnlib.interpolate(X4, size=3, mode="area", align_corners=True), ValueError,
     r"align_corners=True can only be set with the interpolating modes 'linear' \| "
     r"'bilinear' \| 'bicubic', not mode='area'"),
    (lambda: cnnlib.interpolate(X4, size=3, mode="bicubic", align_corners=1), TypeError,
     r"align_corners=1 must be a bool"),
    (lambda: cnnlib.interpolate(X4, size=-1, mode="area"), ValueError,
     r"output size \(-1, -1\)"),
    (lambda: cnnlib.interpolate(X4[0, 0], size=3, mode="area"), ValueError,
     r"mode='area' needs 3-D, 4-D or 5-D input"),
    (lambda: cnnlib.interpolate(X4, size=3, mode="linear"), InterpolateNdimError,
     r"mode='linear' needs 3-D input .* got 4-D"),
    (lambda: cnnlib.interpolate(X3, size=3, mode="bilinear"), ValueError,
     r"mode='bilinear' needs 4-D input .* got 3-D"),
    (lambda: cnnlib.interpolate(X3, size=3, mode="bilinear"), NotImplementedError,
     r"needs 4-D input"),
    (lambda: cnnlib.interpolate(X4[0, 0], size=3), ValueError,
     r"mode='nearest' needs 3-D, 4-D or 5-D input"),
    (lambda: cnnlib.interpolate(X4[None, None], size=3), ValueError, r"got 6-D"),
    (lambda: cnnlib.interpolate(X4, size=3, align_corners="yes", mode="bilinear"), TypeError,
     r"align_corners='yes' must be a bool"),
    (lambda: cnnlib.interpolate(X4, size=(3, 4), recompute_scale_factor=True), ValueError,
     r"recompute_scale_factor=True is not meaningful with an explicit size=\(3, 4\)"),
    (lambda: cnnlib.interpolate(X4, scale_factor=2, recompute_scale_factor="y"), TypeError,
     r"recompute_scale_factor='y' must be a bool"),
    (lambda: cnnlib.interpolate(X4, size=(3, 4, 5)), ValueError,
     r"size=\(3, 4, 5\) must have 2 entries"),
    (lambda: cnnlib.interpolate(X4, size=(3.0, 4)), TypeError, r"size=\(3.0, 4\) must be an int"),
    (lambda: cnnlib.interpolate(X4, size=0), ValueError, r"output size \(0, 0\)"),
    (lambda: cnnlib.interpolate(X4, scale_factor=(2,)), ValueError,
     r"scale_factor=\(2,\) must have 2 entries"),
    (lambda: cnnlib.interpolate(X4, scale_factor="2"), TypeError,
     r"scale_factor='2' must be a number"),
    (lambda: cnnlib.interpolate(X4, scale_factor=float("inf")), ValueError,
     r"scale_factor=inf must be finite"),
    (lambda: cnnlib.interpolate(X4, scale_factor=0.1), ValueError,
     r"input and output sizes must be positive, .* output size \(0, 0\)"),
    (lambda: cnnlib.interpolate(X4, scale_factor=-2), ValueError, r"must be positive"),
    (lambda: cnnlib.interpolate(X4.astype(np.int32), size=3), TypeError,
     r"input has dtype int32"),
])
def test_interpolate_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("kw", [
    dict(size=3, scale_factor=2), dict(), dict(size=3, align_corners=True),
    dict(size=3, antialias=True), dict(size=(3, 4), recompute_scale_factor=True),
    dict(size=(3, 4, 5)), dict(size=3, mode="area", align_corners=False),
])
def test_torch_rejects_the_same_calls(kw):
    """The argument errors above are torch's errors too (not cnnlib inventions)."""
    with pytest.raises(ValueError):
        F.interpolate(torch.from_numpy(X4), **kw)
    with pytest.raises(ValueError):
        cnnlib.interpolate(X4, **kw)
