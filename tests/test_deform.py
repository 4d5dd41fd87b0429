"""deform_conv2d (DCN v1/v2) against a reference built on torch's grid_sample, conv2d, and errors.

torchvision is not installed, so the reference samples every kernel tap with
``torch.nn.functional.grid_sample(mode="bilinear", padding_mode="zeros", align_corners=True)``
— the same bilinear rule as ``torchvision.ops.deform_conv2d`` (zero outside the image) — and
multiplies the columns by the weight. Layout (torchvision's): offset channel
``2(g·kh·kw + i·kw + j)`` is Δy and ``+1`` is Δx of tap (i, j) in offset group g; mask channel
``g·kh·kw + i·kw + j``.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from cnnlib import deform_conv2d
from cnnlib._deform import deform_conv2d_naive

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


def pair(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


def reference(x, offset, weight, bias, stride, padding, dilation, mask):
    """DCN through grid_sample (float64 torch)."""
    x, off, w = (torch.from_numpy(np.asarray(a, np.float64)) for a in (x, offset, weight))
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    n, c, h, wd = x.shape
    k, c_g, kh, kw = w.shape
    _, _, ho, wo = off.shape
    og = off.shape[1] // (2 * kh * kw)
    per = c // og
    m = (torch.ones(n, og * kh * kw, ho, wo, dtype=torch.float64) if mask is None
         else torch.from_numpy(np.asarray(mask, np.float64)))
    base_y = (torch.arange(ho, dtype=torch.float64) * sh - ph)[:, None]
    base_x = (torch.arange(wo, dtype=torch.float64) * sw - pw)[None, :]
    cols = torch.zeros(n, c, kh * kw, ho, wo, dtype=torch.float64)
    for g in range(og):
        for i in range(kh):
            for j in range(kw):
                t = g * kh * kw + i * kw + j
                y = base_y + i * dh + off[:, 2 * t]
                xx = base_x + j * dw + off[:, 2 * t + 1]
                # align_corners=True: -1 ↔ pixel 0, +1 ↔ pixel size-1
                grid = torch.stack([2 * xx / (wd - 1) - 1, 2 * y / (h - 1) - 1], dim=-1)
                sample = F.grid_sample(x[:, g * per:(g + 1) * per], grid, mode="bilinear",
                                       padding_mode="zeros", align_corners=True)
                cols[:, g * per:(g + 1) * per, i * kw + j] = sample * m[:, t, None]
    groups = c // c_g
    cols = cols.reshape(n, groups, c_g * kh * kw, ho * wo)
    out = torch.matmul(w.reshape(groups, k // groups, c_g * kh * kw), cols).reshape(n, k, ho, wo)
    if bias is not None:
        out = out + torch.from_numpy(np.asarray(bias, np.float64))[:, None, None]
    return out.numpy()


def make(rng, n, c, k, h, w, ks, stride, padding, dilation, groups, og, spread, use_mask, dtype):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = pair(ks), pair(stride), pair(padding), pair(dilation)
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((k, c // groups, kh, kw)).astype(dtype)
    bias = rng.standard_normal(k).astype(dtype)
    offset = rng.uniform(-spread, spread, (n, 2 * og * kh * kw, ho, wo)).astype(dtype)
    mask = rng.uniform(0, 1, (n, og * kh * kw, ho, wo)).astype(dtype) if use_mask else None
    return x, offset, weight, bias, mask


CASES = [  # n, c, k, h, w, kernel, stride, padding, dilation, groups, offset groups
    (2, 4, 6, 7, 8, 3, 1, 1, 1, 1, 1),
    (1, 4, 6, 7, 8, 3, 1, 1, 1, 2, 2),
    (1, 3, 2, 6, 5, (2, 3), (2, 1), (1, 0), (1, 2), 1, 1),
    (1, 4, 4, 9, 9, 3, 2, 2, 2, 4, 4),
    (2, 6, 3, 5, 6, 1, 1, 0, 1, 3, 3),
    (1, 4, 8, 6, 6, 3, 1, 0, 1, 1, 2),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("use_mask", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_against_grid_sample_reference(case, use_mask, dtype):
    n, c, k, h, w, ks, s, p, d, g, og = case
    x, off, wt, b, m = make(np.random.default_rng(0), n, c, k, h, w, ks, s, p, d, g, og, 3.0, use_mask, dtype)
    out = deform_conv2d(x, off, wt, b, s, p, d, mask=m)
    ref = reference(x, off, wt, b, s, p, d, m)
    assert out.dtype == dtype and out.shape == ref.shape
    np.testing.assert_allclose(out, ref, **TOL[dtype])


@pytest.mark.parametrize("case", CASES[:4])
def test_against_naive(case):
    n, c, k, h, w, ks, s, p, d, g, og = case
    x, off, wt, b, m = make(np.random.default_rng(1), n, c, k, h, w, ks, s, p, d, g, og, 2.0, True, np.float64)
    np.testing.assert_allclose(deform_conv2d(x, off, wt, b, s, p, d, mask=m),
                               deform_conv2d_naive(x, off, wt, b, pair(s), pair(p), pair(d), m),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_zero_offsets_equal_conv2d(case, dtype):
    n, c, k, h, w, ks, s, p, d, g, og = case
    x, off, wt, b, _ = make(np.random.default_rng(2), n, c, k, h, w, ks, s, p, d, g, og, 0.0, False, dtype)
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(wt), torch.from_numpy(b), s, p, d, g).numpy()
    np.testing.assert_allclose(deform_conv2d(x, np.zeros_like(off), wt, b, s, p, d), ref, **TOL[dtype])
    ones = np.ones((n, og * pair(ks)[0] * pair(ks)[1]) + off.shape[2:], dtype)
    np.testing.assert_allclose(deform_conv2d(x, np.zeros_like(off), wt, b, s, p, d, mask=ones), ref,
                               **TOL[dtype])


@pytest.mark.parametrize("dy,dx", [(1, 0), (0, -2), (2, 3), (-1, -1)])
def test_integer_offsets_shift_the_input(dy, dx):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 3, 9, 10))
    wt = rng.standard_normal((4, 3, 3, 3))
    off = np.zeros((1, 18, 9, 10))
    off[:, 0::2], off[:, 1::2] = dy, dx
    # every tap reads x[y + dy, x + dx] (zero outside): a valid conv2d over the zero-padded
    # image, cut at a window moved by (dy, dx)
    big = np.pad(x, [(0, 0), (0, 0), (5, 5), (5, 5)])
    h, w = x.shape[2:]
    shifted = big[:, :, 4 + dy:4 + dy + h + 2, 4 + dx:4 + dx + w + 2]
    ref = F.conv2d(torch.from_numpy(np.ascontiguousarray(shifted)), torch.from_numpy(wt)).numpy()
    np.testing.assert_allclose(deform_conv2d(x, off, wt, padding=1), ref, rtol=1e-12, atol=1e-12)


def test_mask_scales_taps():
    rng = np.random.default_rng(4)
    x, off, wt, b, _ = make(rng, 1, 2, 3, 6, 6, 3, 1, 1, 1, 1, 1, 1.5, False, np.float64)
    half = np.full((1, 9, 6, 6), 0.5)
    full = deform_conv2d(x, off, wt, None, padding=1)
    np.testing.assert_allclose(deform_conv2d(x, off, wt, None, padding=1, mask=half), 0.5 * full, rtol=1e-12)


def test_unbatched_and_torch_tensors():
    rng = np.random.default_rng(5)
    x, off, wt, b, m = make(rng, 1, 2, 3, 6, 7, 3, 1, 1, 1, 1, 1, 2.0, True, np.float64)
    out = deform_conv2d(torch.from_numpy(x[0]), torch.from_numpy(off[0]), torch.from_numpy(wt),
                        torch.from_numpy(b), 1, 1, 1, mask=torch.from_numpy(m[0]))
    assert out.shape == (3, 6, 7)
    np.testing.assert_allclose(out, reference(x, off, wt, b, 1, 1, 1, m)[0], rtol=1e-10, atol=1e-10)


def test_far_outside_samples_are_zero():
    x = np.ones((1, 1, 5, 5))
    off = np.full((1, 2, 5, 5), 100.0)
    assert not deform_conv2d(x, off, np.ones((1, 1, 1, 1))).any()


@settings(max_examples=40, deadline=None)
@given(c_g=st.integers(1, 3), groups=st.integers(1, 2), og=st.sampled_from([1, 2]), k=st.integers(1, 4),
       h=st.integers(3, 8), w=st.integers(3, 8), ks=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       s=st.integers(1, 2), p=st.integers(0, 2), d=st.integers(1, 2), use_mask=st.booleans(),
       seed=st.integers(0, 2**16))
def test_hypothesis(c_g, groups, og, k, h, w, ks, s, p, d, use_mask, seed):
    c = c_g * groups * og
    if any(d * (kk - 1) + 1 > n + 2 * p for kk, n in zip(ks, (h, w))):
        return
    x, off, wt, b, m = make(np.random.default_rng(seed), 1, c, k * groups, h, w, ks, s, p, d, groups,
                            og, 3.0, use_mask, np.float64)
    np.testing.assert_allclose(deform_conv2d(x, off, wt, b, s, p, d, mask=m),
                               reference(x, off, wt, b, s, p, d, m), rtol=1e-10, atol=1e-10)


def test_errors():
    x = np.zeros((1, 4, 6, 6))
    w = np.zeros((2, 4, 3, 3))
    off = np.zeros((1, 18, 4, 4))
    with pytest.raises(ValueError, match=r"offset.shape\[1\]=10 is not a positive multiple of 2·kh·kw=18"):
        deform_conv2d(x, np.zeros((1, 10, 4, 4)), w)
    with pytest.raises(ValueError, match="offset must have shape"):
        deform_conv2d(x, np.zeros((1, 18, 6, 6)), w)
    with pytest.raises(ValueError, match="in_channels=4 is not divisible by offset_groups=3"):
        deform_conv2d(x, np.zeros((1, 54, 4, 4)), w)
    with pytest.raises(ValueError, match="mask must have shape"):
        deform_conv2d(x, off, w, mask=np.zeros((1, 18, 4, 4)))
    with pytest.raises(TypeError, match="offset has dtype float32"):
        deform_conv2d(x, off.astype(np.float32), w)
    with pytest.raises(TypeError, match="mask has dtype float32"):
        deform_conv2d(x, off, w, mask=np.zeros((1, 9, 4, 4), np.float32))
    with pytest.raises(ValueError, match="not a multiple of weight.shape\\[1\\]=3"):
        deform_conv2d(x, off, np.zeros((2, 3, 3, 3)))
    with pytest.raises(ValueError, match="weight must be 4-D"):
        deform_conv2d(x, off, np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="input must be 3-D"):
        deform_conv2d(np.zeros((6, 6)), off, w)
    with pytest.raises(ValueError, match="stride=0"):
        deform_conv2d(x, off, w, stride=0)
    with pytest.raises(ValueError, match="bias must have shape"):
        deform_conv2d(x, off, w, bias=np.zeros(3))
