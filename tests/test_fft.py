"""cnnlib._fft: tiled (overlap-save) FFT convolution against torch; plan, counts, spectra cache."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

import cnnlib
from cnnlib import _wcache
from cnnlib._fft import (FFTPlan, conv_fft, fft_plan, fft_sizes, kernel_spectra,
                         next_fast_len)
from cnnlib._validation import conv_spec

TOL = {np.float32: dict(rtol=2e-4, atol=2e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}
TORCH = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
OURS = {1: cnnlib.conv1d, 2: cnnlib.conv2d, 3: cnnlib.conv3d}


def data(x_shape, w_shape, dtype, seed=0, bias=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = (rng.standard_normal(w_shape) / math.sqrt(math.prod(w_shape[1:]))).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype) if bias else None
    return x, w, b


def check(n, x_shape, w_shape, dtype=np.float64, seed=0, bias=True, lengths=None, **kw):
    """``method="fft"`` (or ``conv_fft`` with forced tile lengths) equals torch."""
    x, w, b = data(x_shape, w_shape, dtype, seed, bias)
    ref = TORCH[n](torch.from_numpy(x), torch.from_numpy(w),
                   None if b is None else torch.from_numpy(b), **kw).numpy()
    if lengths is None:
        out = OURS[n](x, w, b, method="fft", **kw)
    else:
        args = {k: kw.get(k, v) for k, v in
                dict(stride=1, padding=0, dilation=1, groups=1).items()}
        spec = conv_spec(x, w, b, args["stride"], args["padding"], args["dilation"],
                         args["groups"], n, f"conv{n}d")
        out = conv_fft(spec, n, lengths)
        if spec.unbatched:
            out = out[0]
    assert out.dtype == dtype and out.shape == ref.shape
    np.testing.assert_allclose(out, ref, **TOL[dtype])
    return out


# ----------------------------------------------------------------------------- against torch
GRID = [  # n, x shape, w shape, keyword arguments
    (2, (2, 4, 9, 8), (6, 4, 3, 3), dict(padding=1)),                  # batch 2
    (2, (3, 7, 9), (4, 3, 3, 3), dict(padding=1)),                     # unbatched
    (2, (1, 3, 12, 10), (4, 3, 12, 10), dict()),                       # kernel = whole input
    (2, (1, 4, 8, 8), (8, 4, 1, 1), dict()),                           # k = 1
    (2, (1, 4, 9, 9), (8, 4, 1, 1), dict(stride=2)),                   # k = 1, strided
    (2, (1, 4, 10, 9), (4, 4, 4, 2), dict(padding="same")),            # even kernels, 'same'
    (2, (1, 3, 20, 18), (4, 3, 7, 7), dict(stride=2, padding=3)),      # the stem, small
    (2, (2, 3, 23, 19), (5, 3, 5, 4), dict(stride=3, padding=(2, 1))),
    (2, (1, 2, 17, 16), (3, 2, 5, 5), dict(stride=(2, 3), padding=2)),
    (2, (1, 3, 13, 11), (4, 3, 5, 3), dict(padding=(2, 1), dilation=(2, 1))),
    (2, (1, 4, 23, 19), (6, 2, 5, 5), dict(stride=2, padding=3, dilation=2, groups=2)),
    (2, (1, 4, 23, 19), (6, 4, 3, 3), dict(stride=2, padding=1, dilation=3)),
    (2, (2, 6, 10, 7), (6, 1, 3, 3), dict(padding=(2, 0), groups=6)),  # depthwise
    (2, (1, 4, 11, 12), (8, 1, 5, 5), dict(padding=2, groups=4)),      # depthwise, multiplier 2
    (2, (1, 2, 40, 37), (3, 2, 11, 11), dict(padding=5)),              # large kernel
    (2, (1, 3, 64, 64), (4, 3, 3, 3), dict(padding=1)),                # tiled by the cost model
    (1, (2, 4, 17), (6, 2, 3), dict(stride=2, padding=1, dilation=2, groups=2)),
    (1, (1, 3, 9), (4, 3, 4), dict(padding="same")),
    (1, (8, 9), (4, 8, 1), dict()),                                    # unbatched
    (1, (1, 2, 300), (3, 2, 9), dict(padding=4)),
    (3, (1, 4, 6, 7, 5), (6, 2, 3, 3, 3), dict(padding=1, groups=2)),
    (3, (2, 2, 7, 6, 8), (3, 2, 3, 2, 3), dict(stride=(2, 1, 2), padding=(1, 0, 1),
                                               dilation=(1, 2, 1))),
    (3, (1, 2, 9, 10, 11), (3, 2, 3, 3, 3), dict(stride=(1, 2, 3), padding=1)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,x_shape,w_shape,kw", GRID)
def test_fft_equals_torch(dtype, n, x_shape, w_shape, kw):
    check(n, x_shape, w_shape, dtype, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,x_shape,w_shape,kw", GRID)
def test_fft_without_bias(dtype, n, x_shape, w_shape, kw):
    check(n, x_shape, w_shape, dtype, seed=1, bias=False, **kw)


# Tile edges: a tile of length L = 8 with k' = 3 taps yields v = 6 outputs. Outputs of 5, 6, 7,
# 12 and 13 samples: one partial tile, one full tile, one sample past it, two full tiles, ...
@pytest.mark.parametrize("out_size", [1, 5, 6, 7, 12, 13])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tile_edges(out_size, dtype):
    size = out_size + 2                                   # k = 3, no padding
    y = check(2, (2, 3, size, size + 1), (4, 3, 3, 3), dtype, lengths=(8, 8))
    plan = fft_plan((size, size + 1), (3, 3), (1, 1), (0, 0), (0, 0), (1, 1), 3, 4, 1, 2, (8, 8))
    assert plan.valid == (6, 6) and plan.tiles == (math.ceil(out_size / 6),
                                                   math.ceil((out_size + 1) / 6))
    assert y.shape[2:] == (out_size, out_size + 1)


@pytest.mark.parametrize("n,x_shape,w_shape,kw,lengths", [
    (2, (1, 3, 20, 18), (4, 3, 7, 7), dict(stride=2, padding=3), (5, 6)),   # 4 taps per phase
    (2, (1, 3, 23, 19), (6, 3, 5, 5), dict(stride=3, padding=3, dilation=2), (3, 4)),
    (2, (1, 4, 21, 21), (4, 2, 5, 5), dict(padding="same", groups=2), (5, 16)),
    (2, (2, 4, 16, 16), (4, 4, 3, 3), dict(padding=1, dilation=2), (5, 7)),
    (1, (2, 3, 30), (4, 3, 5), dict(stride=2, padding=2), (6,)),
    (3, (2, 3, 9, 10, 11), (4, 3, 3, 2, 3), dict(stride=(1, 2, 3), padding=1), (4, 4, 2)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forced_small_tiles(n, x_shape, w_shape, kw, lengths, dtype):
    check(n, x_shape, w_shape, dtype, lengths=lengths, **kw)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3), batch=st.integers(1, 2), c_g=st.integers(1, 3),
       k_g=st.integers(1, 3), groups=st.integers(1, 3), size=st.integers(1, 14),
       k=st.integers(1, 5), s=st.integers(1, 3), p=st.integers(0, 3), d=st.integers(1, 2),
       seed=st.integers(0, 2**16), tiles=st.data())
def test_hypothesis_against_torch(n, batch, c_g, k_g, groups, size, k, s, p, d, seed, tiles):
    if d * (k - 1) + 1 > size + 2 * p:
        return
    x_shape = (batch, c_g * groups) + (size,) * n
    w_shape = (k_g * groups, c_g) + (k,) * n
    kw = dict(stride=s, padding=p, dilation=d, groups=groups)
    check(n, x_shape, w_shape, np.float64, seed=seed, **kw)
    # and with tile lengths drawn between k' and one tile covering the whole input
    plan = fft_plan((size,) * n, (k,) * n, (s,) * n, (p,) * n, (p,) * n, (d,) * n,
                    c_g * groups, k_g * groups, groups, batch)
    lengths = tuple(tiles.draw(st.integers(kp, next_fast_len(o + kp - 1)), label=f"L{i}")
                    for i, (kp, o) in enumerate(zip(plan.taps, plan.out)))
    check(n, x_shape, w_shape, np.float64, seed=seed, lengths=lengths, **kw)


# ----------------------------------------------------------------------------- the plan
def test_plan_fields():
    # 3×3 on 56×56 with padding 1: k' = 3, 56 outputs per dim
    plan = fft_plan((56, 56), (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), 64, 64, 1, 1)
    assert isinstance(plan, FFTPlan)
    assert plan.taps == (3, 3) and plan.out == (56, 56) and plan.phases == ((0,), (0,))
    assert all(3 <= L <= 60 for L in plan.lengths)              # never beyond one whole tile
    assert all(L == next_fast_len(L) for L in plan.lengths)
    assert plan.valid == tuple(L - 2 for L in plan.lengths)
    assert plan.tiles == tuple(math.ceil(56 / v) for v in plan.valid)
    assert plan.frequencies == plan.lengths[0] * (plan.lengths[1] // 2 + 1)
    assert plan.channels == 64


def test_plan_small_image_is_one_tile():
    # 16 channels on 12×12: one tile covering the padded input (the old, untiled FFT)
    plan = fft_plan((12, 12), (5, 5), (1, 1), (2, 2), (2, 2), (1, 1), 16, 16, 1, 1)
    assert plan.tiles == (1, 1) and plan.lengths == fft_sizes((16, 16)) == (16, 16)


def test_plan_large_image_is_tiled():
    plan = fft_plan((224, 224), (7, 7), (1, 1), (3, 3), (3, 3), (1, 1), 64, 64, 1, 1)
    assert math.prod(plan.tiles) > 1
    assert all(L < f for L, f in zip(plan.lengths, fft_sizes((230, 230))))


def test_plan_polyphase_stride():
    # 7×7 stride 2: 2×2 phases of 4×4 taps, 3 → 12 channels, outputs only where kept
    plan = fft_plan((224, 224), (7, 7), (2, 2), (3, 3), (3, 3), (1, 1), 3, 64, 1, 1)
    assert plan.phases == ((0, 1), (0, 1)) and plan.taps == (4, 4) and plan.channels == 12
    assert plan.out == (112, 112)
    # dilation 2 with stride 2: every tap sits on an even offset, odd phases are dropped
    plan = fft_plan((32, 32), (3, 3), (2, 2), (2, 2), (2, 2), (2, 2), 4, 4, 1, 1)
    assert plan.phases == ((0,), (0,)) and plan.taps == (3, 3) and plan.channels == 4
    # stride 3 and dilation 2: phases 0, 2, 1 of taps 0, 2, 4
    plan = fft_plan((32,), (3,), (3,), (0,), (0,), (2,), 4, 4, 1, 1)
    assert plan.phases == ((0, 1, 2),) and plan.taps == (2,)


def test_plan_forced_lengths_are_checked():
    with pytest.raises(ValueError, match="lengths=\\(2, 8\\)"):
        fft_plan((16, 16), (3, 3), (1, 1), (0, 0), (0, 0), (1, 1), 2, 2, 1, 1, (2, 8))


def test_next_fast_len_and_sizes():
    # 2·3·5-smooth: 14 = 2·7 and 63 = 9·7 are skipped (radix 7 is slower in pocketfft)
    assert [next_fast_len(n) for n in (1, 2, 7, 11, 13, 17, 58, 63, 97, 230)] == \
        [1, 2, 8, 12, 15, 18, 60, 64, 100, 240]
    assert fft_sizes((58, 230)) == (60, 240)


# ----------------------------------------------------------------------------- precision
def test_complex64_for_float32():
    x, w, _ = data((1, 3, 30, 30), (4, 3, 5, 5), np.float32)
    plan = fft_plan((30, 30), (5, 5), (1, 1), (2, 2), (2, 2), (1, 1), 3, 4, 1, 1)
    wf = kernel_spectra(w, plan, (1, 1), (1, 1), 1)
    assert wf.dtype == np.complex64 and wf.flags.c_contiguous
    assert wf.shape == (plan.frequencies, 1, 4, 3)
    assert kernel_spectra(w.astype(np.float64), plan, (1, 1), (1, 1), 1).dtype == np.complex128


@pytest.mark.parametrize("dtype,spectra", [(np.float32, np.complex64),
                                           (np.float64, np.complex128)])
def test_products_run_in_the_input_precision(monkeypatch, dtype, spectra):
    x, w, _ = data((2, 4, 20, 20), (6, 4, 5, 5), dtype)
    calls = []
    real_matmul = np.matmul

    def matmul(a, b, *args, **kw):
        calls.append((a.dtype, b.dtype, a.flags.c_contiguous, b.flags.c_contiguous))
        return real_matmul(a, b, *args, **kw)

    monkeypatch.setattr(np, "matmul", matmul)
    assert cnnlib.conv2d(x, w, padding=2, method="fft").dtype == dtype
    assert calls == [(spectra, spectra, True, True)]          # one product, contiguous operands


# ----------------------------------------------------------------------------- counts
@pytest.mark.parametrize("x_shape,w_shape,kw", [
    ((1, 64, 56, 56), (64, 64, 3, 3), dict(padding=1)),
    ((1, 16, 48, 48), (16, 16, 11, 11), dict(padding=5)),
    ((2, 3, 64, 64), (8, 3, 7, 7), dict(stride=2, padding=3)),
    ((1, 8, 30, 27), (8, 2, 5, 3), dict(padding=(2, 1), dilation=(1, 2), groups=4)),
    ((3, 9, 9), (4, 3, 1, 1), dict()),
])
def test_counts_equal_the_recorded_products(monkeypatch, x_shape, w_shape, kw):
    x, w, _ = data(x_shape, w_shape, np.float32)
    shapes = []
    real_matmul = np.matmul

    def matmul(a, b, *args, **kwargs):
        shapes.append((a.shape, b.shape))
        return real_matmul(a, b, *args, **kwargs)

    monkeypatch.setattr(np, "matmul", matmul)
    cnnlib.conv2d(x, w, method="fft", **kw)
    assert len(shapes) == 1
    (f, g, k_g, c_g), (f2, g2, c_g2, cols) = shapes[0]
    assert (f, g, c_g) == (f2, g2, c_g2)
    complex_macs = f * g * k_g * c_g * cols
    assert cnnlib.conv2d_multiplications("fft", x.shape, w.shape, **kw) == 4 * complex_macs


# ----------------------------------------------------------------------------- spectra cache
def test_spectra_are_reused_and_follow_in_place_changes():
    x, w, b = data((1, 4, 40, 40), (6, 4, 9, 9), np.float32)
    _wcache.clear()
    y1 = cnnlib.conv2d(x, w, b, padding=4, method="fft")
    assert _wcache.info()["misses"] == 1 and _wcache.info()["hits"] == 0
    y2 = cnnlib.conv2d(x, w, b, padding=4, method="fft")
    assert _wcache.info()["hits"] == 1 and _wcache.info()["misses"] == 1
    np.testing.assert_array_equal(y1, y2)
    w[0, 0, 4, 4] += 1.0                                       # a training step, in place
    y3 = cnnlib.conv2d(x, w, b, padding=4, method="fft")
    assert _wcache.info()["misses"] == 2                       # transformed again, not stale
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b),
                   padding=4).numpy()
    np.testing.assert_allclose(y3, ref, **TOL[np.float32])
    assert not np.allclose(y3, y1, **TOL[np.float32])
    _wcache.clear()


def test_spectra_depend_on_the_layer():
    # same weights, other tile lengths or stride: other spectra, never a wrong hit
    x, w, _ = data((1, 2, 33, 33), (3, 2, 5, 5), np.float64)
    _wcache.clear()
    for kw in (dict(padding=2), dict(stride=2), dict(dilation=2), dict(padding=2)):
        y = cnnlib.conv2d(x, w, method="fft", **kw)
        np.testing.assert_allclose(y, F.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                                               **kw).numpy(), **TOL[np.float64])
    assert _wcache.info()["misses"] == 3 and _wcache.info()["hits"] == 1
    _wcache.clear()


# ----------------------------------------------------------------------------- benchmark sweep
def test_fft_sweep_and_report(monkeypatch):
    from cnnlib import bench
    monkeypatch.setattr(bench, "FFT_LAYERS", [("4→4 @12", 4, 4, 12)])
    monkeypatch.setattr(bench, "FFT_KERNELS", (1, 5))
    sweep = bench.fft_sweep(quick=True)
    rows = sweep["layers"][0]["rows"]
    assert [r["k"] for r in rows] == [1, 5]
    assert all(set(r["times"]) == {"im2col", "mec", "fft", "torch"} for r in rows)
    assert rows[1]["plan"]["lengths"] == fft_plan((12, 12), (5, 5), (1, 1), (2, 2), (2, 2),
                                                  (1, 1), 4, 4, 1, 1).lengths
    text = bench.report_fft(sweep)
    assert "4→4 @12: FFT faster than im2col" in text and "; than mec " in text
    assert text.count("\n") == 4


def test_report_fft_crossover():
    from cnnlib.bench import report_fft

    def rows(fft, im2col):
        return [{"k": k, "times": {"im2col": b, "mec": 1.5, "fft": a, "torch": 1.0},
                 "plan": {"lengths": [8, 8], "tiles": [1, 1]}}
                for k, a, b in zip((1, 3, 5, 7), fft, im2col)]

    sweep = {"threads": 1, "blas": "test", "layers": [
        {"layer": "wins", "rows": rows([2, 2, 1, 1], [1, 3, 2, 3])},      # loses, wins, …
        {"layer": "late", "rows": rows([2, 1, 3, 1], [1, 3, 2, 3])},      # … only from k = 7
        {"layer": "never", "rows": rows([2, 2, 2, 4], [1, 1, 1, 3])}]}
    text = report_fft(sweep)
    assert "wins: FFT faster than im2col from k = 3" in text
    assert "late: FFT faster than im2col from k = 7" in text
    assert "never: FFT faster than im2col never, up to k = 7; than mec never, up to k = 7" in text
    assert "wins: FFT faster than im2col from k = 3; than mec from k = 5" in text
