"""conv{1,2,3}d(method=...) — im2col, Winograd, FFT, auto — against torch; auto rule; counts."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

import cnnlib
from cnnlib import conv2d, conv2d_multiplications, conv_macs
from cnnlib._algorithms import choose_method, run
from cnnlib._fft import fft_plan, next_fast_len
from cnnlib._validation import conv_spec
from cnnlib._winograd import winograd_matrices

TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}
TORCH = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
OURS = {1: cnnlib.conv1d, 2: cnnlib.conv2d, 3: cnnlib.conv3d}
ALL = ("direct", "im2col", "mec", "winograd", "winograd_f2", "winograd_f4", "fft", "auto")


def check(n, method, dtype, x_shape, w_shape, bias=True, seed=0, **kw):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = (rng.standard_normal(w_shape) / math.sqrt(math.prod(w_shape[1:]))).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype) if bias else None
    out = OURS[n](x, w, b, method=method, **kw)
    ref = TORCH[n](torch.from_numpy(x), torch.from_numpy(w),
                   None if b is None else torch.from_numpy(b), **kw).numpy()
    assert out.dtype == dtype and out.shape == ref.shape
    np.testing.assert_allclose(out, ref, **TOL[dtype])


GRID_2D = [  # x shape, w shape, keyword arguments
    ((2, 4, 9, 8), (6, 4, 3, 3), dict(padding=1)),
    ((1, 4, 9, 8), (6, 2, 3, 3), dict(padding=1, groups=2)),
    ((2, 6, 10, 7), (6, 1, 3, 3), dict(padding=(2, 0), groups=6)),
    ((1, 3, 5, 12), (5, 3, 3, 3), dict(padding=0)),
    ((1, 3, 8, 8), (4, 3, 3, 3), dict(padding="same")),
    ((1, 2, 3, 3), (2, 2, 3, 3), dict(padding=0)),          # a single output pixel
    ((2, 4, 11, 13), (8, 4, 3, 3), dict(padding=3)),        # padding larger than the kernel
]
GRID_ANY = [  # configurations Winograd does not accept
    ((2, 4, 9, 8), (6, 2, 3, 3), dict(stride=2, padding=1, groups=2)),
    ((1, 3, 13, 11), (4, 3, 5, 3), dict(padding=(2, 1), dilation=(2, 1))),
    ((1, 4, 8, 8), (4, 4, 4, 4), dict(padding="same")),
    ((1, 4, 8, 8), (8, 4, 1, 1), dict()),
    ((1, 4, 9, 9), (8, 4, 1, 1), dict(stride=2)),
    ((1, 3, 20, 18), (4, 3, 7, 7), dict(stride=2, padding=3)),
    ((1, 2, 16, 16), (3, 2, 11, 11), dict(padding=5)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize("x_shape,w_shape,kw", GRID_2D)
def test_conv2d_3x3_every_method(dtype, method, x_shape, w_shape, kw):
    check(2, method, dtype, x_shape, w_shape, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["direct", "im2col", "mec", "fft", "auto"])
@pytest.mark.parametrize("x_shape,w_shape,kw", GRID_ANY)
def test_conv2d_general_methods(dtype, method, x_shape, w_shape, kw):
    check(2, method, dtype, x_shape, w_shape, **kw)


@pytest.mark.parametrize("method", ["im2col", "mec", "fft", "auto"])
@pytest.mark.parametrize("n,x_shape,w_shape,kw", [
    (1, (2, 4, 17), (6, 2, 3), dict(stride=2, padding=1, dilation=2, groups=2)),
    (1, (1, 3, 9), (4, 3, 4), dict(padding="same")),
    (1, (8, 9), (4, 8, 1), dict()),                                  # unbatched
    (3, (1, 4, 6, 7, 5), (6, 2, 3, 3, 3), dict(padding=1, groups=2)),
    (3, (2, 2, 7, 6, 8), (3, 2, 3, 2, 3), dict(stride=(2, 1, 2), padding=(1, 0, 1), dilation=(1, 2, 1))),
])
def test_conv1d_conv3d_methods(method, n, x_shape, w_shape, kw):
    if method == "mec" and n == 3:
        with pytest.raises(ValueError, match="method='mec' supports 1-D and 2-D"):
            check(n, method, np.float64, x_shape, w_shape, **kw)
        return
    check(n, method, np.float64, x_shape, w_shape, **kw)
    check(n, method, np.float32, x_shape, w_shape, seed=1, **kw)


@pytest.mark.parametrize("method", ALL)
def test_unbatched_and_no_bias(method):
    check(2, method, np.float64, (3, 7, 9), (4, 3, 3, 3), bias=False, padding=1)


@settings(max_examples=40, deadline=None)
@given(method=st.sampled_from(["im2col", "mec", "fft", "auto", "winograd", "winograd_f2"]),
       n=st.integers(1, 3), c_g=st.integers(1, 4), k_g=st.integers(1, 3), groups=st.integers(1, 3),
       size=st.integers(3, 10), k=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 3),
       d=st.integers(1, 2), seed=st.integers(0, 2**16))
def test_hypothesis_methods(method, n, c_g, k_g, groups, size, k, s, p, d, seed):
    if method.startswith("winograd"):
        n, k, s, d = 2, 3, 1, 1
    if method == "mec":
        n = min(n, 2)
    if d * (k - 1) + 1 > size + 2 * p:
        return
    check(n, method, np.float64, (2, c_g * groups) + (size,) * n, (k_g * groups, c_g) + (k,) * n,
          seed=seed, stride=s, padding=p, dilation=d, groups=groups)


@pytest.mark.parametrize("kw,problem", [
    (dict(stride=2), "stride=\\(2, 2\\)"), (dict(dilation=2), "dilation=\\(2, 2\\)"),
    (dict(w=(4, 3, 5, 5)), "kernel_size=\\(5, 5\\)"), (dict(w=(4, 3, 3, 1)), "kernel_size=\\(3, 1\\)"),
])
@pytest.mark.parametrize("method", ["winograd", "winograd_f2", "winograd_f4"])
def test_winograd_rejects(kw, problem, method):
    kw = dict(kw)
    w = np.zeros(kw.pop("w", (4, 3, 3, 3)))
    with pytest.raises(ValueError, match=f"method='{method}'.*{problem}"):
        conv2d(np.zeros((1, 3, 9, 9)), w, method=method, **kw)


@pytest.mark.parametrize("n", [1, 3])
def test_winograd_is_2d_only(n):
    x, w = np.zeros((1, 2) + (6,) * n), np.zeros((2, 2) + (3,) * n)
    with pytest.raises(ValueError, match=f"method='winograd'.*{n}-D"):
        OURS[n](x, w, method="winograd")


@pytest.mark.parametrize("bad", ["foo", "Winograd", ""])
def test_unknown_method(bad):
    with pytest.raises(ValueError, match=f"method={bad!r} is not one of"):
        conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), method=bad)
    spec = conv_spec(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), None, 1, 0, 1, 1, 2, "conv2d")
    with pytest.raises(ValueError, match="is not one of"):
        run(bad, spec, 2)
    with pytest.raises(ValueError, match="is not one of"):
        run(3, spec, 2)


def test_auto_rule_on_the_benchmark_layers():
    one = (1, 1)
    assert choose_method(3, 64, (7, 7), (2, 2), one, 1, (112, 112)) == "mec"
    assert choose_method(64, 64, (3, 3), one, one, 1, (56, 56)) == "winograd"
    assert choose_method(128, 128, (3, 3), one, one, 1, (28, 28)) == "winograd"
    assert choose_method(256, 256, (3, 3), one, one, 1, (14, 14)) == "winograd_f2"
    assert choose_method(512, 512, (3, 3), one, one, 1, (7, 7)) == "im2col"      # wide, tiny map
    assert choose_method(64, 64, (3, 3), one, one, 1, (14, 14)) == "mec"
    assert choose_method(8, 8, (3, 3), one, one, 1, (56, 56)) == "mec"          # < 16 channels
    assert choose_method(256, 256, (3, 3), (2, 2), one, 1, (14, 14)) == "im2col"  # 1.5 rows/stride
    assert choose_method(256, 256, (3, 3), one, one, 2, (14, 14)) == "winograd_f2"
    assert choose_method(256, 256, (3, 3), one, one, 4, (14, 14)) == "mec"      # 64 per group
    assert choose_method(256, 64, (1, 1), one, one, 1, (56, 56)) == "im2col"
    assert choose_method(128, 128, (3, 3), one, one, 128, (56, 56)) == "direct"
    assert choose_method(32, 32, (5, 5), one, one, 1, (28, 28)) == "mec"
    assert choose_method(3, 32, (5, 5), (2, 2), one, 1, (32, 32)) == "mec"      # 2.5 rows/stride
    assert choose_method(16, 16, (13, 13), one, one, 1, (64, 64)) == "fft"      # depth 2704
    assert choose_method(64, 64, (7, 7), one, one, 1, (56, 56)) == "fft"        # depth 3136
    assert choose_method(16, 16, (9, 9), one, one, 1, (48, 48)) == "fft"        # depth 1296
    assert choose_method(16, 16, (7, 7), one, one, 1, (48, 48)) == "mec"        # depth 784
    assert choose_method(3, 64, (9, 9), one, one, 1, (112, 112)) == "mec"       # depth 243
    assert choose_method(16, 16, (13, 13), (2, 2), one, 1, (32, 32)) == "mec"
    assert choose_method(64, 64, (3, 3, 3), (1, 1, 1), (1, 1, 1), 1, (16, 16, 16)) == "im2col"
    assert choose_method(64, 64, (7,), (1,), (1,), 1, (100,)) == "im2col"       # 1-D: depth 448
    assert choose_method(256, 64, (7,), (1,), (1,), 1, (100,)) == "fft"         # 1-D: depth 1792


def test_winograd_matrices_compute_a_correlation():
    rng = np.random.default_rng(5)
    for m in (2, 4):
        bt, g, at = winograd_matrices(m)
        assert bt.shape == (m + 2, m + 2) and g.shape == (m + 2, 3) and at.shape == (m, m + 2)
        d, k = rng.standard_normal(m + 2), rng.standard_normal(3)
        np.testing.assert_allclose(at @ ((g @ k) * (bt @ d)), np.correlate(d, k, "valid"), rtol=1e-12)
    with pytest.raises(ValueError, match="m=3"):
        winograd_matrices(3)


def test_next_fast_len():
    for n in [1, 2, 7, 11, 13, 97, 230, 1000, 1025]:
        L = next_fast_len(n)
        assert L >= n
        r = L
        for p in (2, 3, 5):
            while r % p == 0:
                r //= p
        assert r == 1
        assert all(not _smooth(m) for m in range(n, L))


def _smooth(m):
    for p in (2, 3, 5):
        while m % p == 0:
            m //= p
    return m == 1


# ------------------------------------------------------------------------- multiplication counts
def test_counts_direct_equals_macs():
    for method in ("direct", "im2col"):
        assert conv2d_multiplications(method, (2, 64, 56, 56), (64, 64, 3, 3), padding=1) == \
            2 * conv_macs(64, 64, 3, 56)
        assert conv2d_multiplications(method, (3, 28, 28), (6, 1, 5, 5), stride=2, padding=2,
                                      groups=3) == conv_macs(3, 6, 5, 14, groups=3)


def test_counts_winograd():
    direct = conv2d_multiplications("direct", (1, 64, 56, 56), (64, 64, 3, 3), padding=1)
    f2 = conv2d_multiplications("winograd_f2", (1, 64, 56, 56), (64, 64, 3, 3), padding=1)
    f4 = conv2d_multiplications("winograd_f4", (1, 64, 56, 56), (64, 64, 3, 3), padding=1)
    assert direct / f2 == 36 / 16 and direct / f4 == 144 / 36
    assert conv2d_multiplications("winograd", (1, 64, 56, 56), (64, 64, 3, 3), padding=1) == f4
    # 14×14 output: 4 tiles of 4 per side cover 16 > 14, so F(4×4) loses part of its gain
    assert conv2d_multiplications("winograd_f4", (256, 14, 14), (256, 256, 3, 3), padding=1) == \
        36 * 256 * 256 * 4 * 4
    with pytest.raises(ValueError, match="method='winograd'.*3×3"):
        conv2d_multiplications("winograd", (1, 3, 9, 9), (4, 3, 5, 5))
    with pytest.raises(ValueError, match="winograd_f2"):
        conv2d_multiplications("winograd_f2", (1, 3, 9, 9), (4, 3, 3, 3), stride=2)


def test_counts_fft_and_auto():
    # a small map is one tile: padded 12×12 → FFT 12×12, the real FFT keeps 12×7 frequencies,
    # 4 real multiplications per complex one (the recorded products: tests/test_fft.py)
    assert conv2d_multiplications("fft", (1, 16, 10, 10), (8, 16, 3, 3), padding=1) == \
        4 * 8 * 16 * 12 * 7
    # a larger one is cut into the tiles of fft_plan: products per tile, times the tiles
    plan = fft_plan((56, 56), (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), 64, 32, 1, 1)
    assert math.prod(plan.tiles) > 1
    assert conv2d_multiplications("fft", (1, 64, 56, 56), (32, 64, 3, 3), padding=1) == \
        4 * 32 * 64 * math.prod(plan.tiles) * plan.frequencies
    # stride 2: 2×2 phases make 4× the rows of the channel sum, on the kept outputs only
    plan = fft_plan((56, 56), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 64, 32, 1, 1)
    assert plan.channels == 4 * 64
    assert conv2d_multiplications("fft", (1, 64, 56, 56), (32, 64, 3, 3), stride=2,
                                  padding=1) == \
        4 * 32 * 4 * 64 * math.prod(plan.tiles) * plan.frequencies
    for args in [((1, 64, 56, 56), (64, 64, 3, 3)), ((1, 256, 14, 14), (256, 256, 3, 3)),
                 ((1, 16, 64, 64), (16, 16, 13, 13))]:
        x_shape, w_shape = args
        spec = conv_spec(np.zeros(x_shape), np.zeros(w_shape), None, 1, "same", 1, 1, 2, "c")
        from cnnlib._algorithms import method_for
        assert conv2d_multiplications("auto", *args, padding="same") == \
            conv2d_multiplications(method_for(spec, 2), *args, padding="same")


def test_counts_errors():
    with pytest.raises(ValueError, match="method='gemm'"):
        conv2d_multiplications("gemm", (1, 3, 8, 8), (4, 3, 3, 3))
    with pytest.raises(ValueError, match="input_size="):
        conv2d_multiplications("direct", (8, 8), (4, 3, 3, 3))
    with pytest.raises(ValueError, match="weight_size="):
        conv2d_multiplications("direct", (1, 3, 8, 8), (4, 3, 3))
    with pytest.raises(ValueError, match="groups=2"):
        conv2d_multiplications("direct", (1, 3, 8, 8), (4, 3, 3, 3), groups=2)
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv2d_multiplications("direct", (1, 3, 2, 8), (4, 3, 3, 3))
    with pytest.raises(ValueError, match="stride=0"):
        conv2d_multiplications("direct", (1, 3, 8, 8), (4, 3, 3, 3), stride=0)


# ------------------------------------------------------------------------- fast paths of chapter 31
def test_hard_coded_f4_transforms_equal_the_matrices():
    import numba
    from cnnlib._winograd import _at4, _bt4
    bt, _, at = winograd_matrices(4)
    rng = np.random.default_rng(9)
    for dtype in (np.float32, np.float64):
        d = rng.standard_normal(6).astype(dtype)
        np.testing.assert_allclose(_bt4(*d), bt @ d.astype(np.float64), **TOL[dtype])
        np.testing.assert_allclose(_at4(*d), at @ d.astype(np.float64), **TOL[dtype])
        for f in (_bt4, _at4):                           # no silent float64 promotion
            sig = [s for s in f.nopython_signatures if s.args[0] == numba.from_dtype(dtype)]
            assert {str(t) for t in sig[0].return_type} == {str(numba.from_dtype(dtype))}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,w_shape,kw", [
    ((1, 16, 30, 29), (8, 16, 3, 3), dict(padding=1)),             # cropped last tiles
    ((2, 8, 17, 22), (12, 4, 3, 3), dict(padding=(0, 2), groups=2)),
    ((1, 32, 56, 56), (16, 32, 3, 3), dict(padding=1)),            # a benchmark-sized plane
])
@pytest.mark.parametrize("method", ["winograd", "winograd_f2", "im2col", "auto"])
def test_larger_layers_every_fast_method(dtype, x_shape, w_shape, kw, method):
    check(2, method, dtype, x_shape, w_shape, **kw)


def test_blas_single_threaded_restores_and_nests():
    from threadpoolctl import threadpool_info
    from cnnlib import _threads
    from cnnlib._threads import blas_single_threaded

    # the controllers are looked up once, at the first use; a BLAS loaded since then (numba
    # links SciPy's on its first compile, e.g. of a kernel another test file compiled first)
    # is not NumPy's, which cnnlib's GEMMs call: look them up again for this test
    _threads._blas["controllers"] = None

    def counts():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    before = counts()
    with blas_single_threaded():
        assert set(counts()) == {1}
        with blas_single_threaded():
            assert set(counts()) == {1}
        assert set(counts()) == {1}                  # the inner block does not restore
    assert counts() == before
    with pytest.raises(RuntimeError):
        with blas_single_threaded():
            raise RuntimeError("boom")
    assert counts() == before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("n_batch,c,th,tw", [(1, 3, 4, 5), (2, 2, 1, 3), (1, 1, 7, 1)])
def test_hard_coded_row_kernels_equal_the_generic_ones(dtype, m, n_batch, c, th, tw):
    """The row kernels conv_winograd runs, sample by sample and channel block by channel block,
    give the whole-plane transforms written with the matrices."""
    from cnnlib import _winograd as W
    bt, _, at = (a.astype(dtype) for a in winograd_matrices(m))
    rng = np.random.default_rng(13)
    xp = rng.standard_normal((n_batch, c, th * m + 2, tw * m + 2)).astype(dtype)
    tiles = th * tw
    v_ref, v = (np.full(((m + 2) ** 2, c, n_batch * tiles), np.nan, dtype) for _ in range(2))
    W._input_transform(xp, bt, m, th, tw, v_ref)
    rows_in, rows_out = (W._input_rows4, W._output_rows4) if m == 4 else (W._input_rows2, W._output_rows2)
    for n in range(n_batch):                       # two blocks of channels per sample
        for c0, c1 in ((0, c // 2), (c // 2, c)):
            rows_in(xp, n, th, tw, c0, c1, v)
    np.testing.assert_allclose(v, v_ref, **TOL[dtype])
    mm, bias = np.ascontiguousarray(v[:, :c]), rng.standard_normal(c).astype(dtype)
    out_ref, out = (np.full((n_batch, c, th * m - 1, tw * m - 1), np.nan, dtype) for _ in range(2))
    W._output_transform(mm, at, bias, th, tw, out_ref)
    for n in range(n_batch):
        for k0, k1 in ((0, c // 2), (c // 2, c)):
            rows_out(mm, bias, n, th, tw, k0, k1, out)
    np.testing.assert_allclose(out, out_ref, **TOL[dtype])
