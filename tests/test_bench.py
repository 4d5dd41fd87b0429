"""The README's benchmark command runs and prints the full table (speed itself is not asserted),
and the timing protocol it shares with chapter 31 (``median_times``, ``conv_callables``)."""
import re
import subprocess
import sys

import pytest

from cnnlib import bench


def test_bench_quick_run_prints_every_layer_and_the_geometric_mean():
    import os
    env = dict(os.environ, OPENBLAS_CORETYPE="Haswell", OPENBLAS_L2_SIZE="512")
    out = subprocess.run([sys.executable, "-m", "cnnlib.bench", "--quick", "--threads", "1",
                          "--no-fft"], capture_output=True, text=True, timeout=300, check=True,
                         env=env).stdout
    header = next(line for line in out.splitlines() if line.startswith("threads = 1"))
    # the workers run as on a reader's machine: both OpenBLAS overrides removed, together,
    # and the header says which BLAS kernels ran (threadpoolctl)
    assert "OPENBLAS_CORETYPE unset" in header and "OPENBLAS_L2_SIZE unset" in header
    assert "BLAS: openblas" in header and "kernels" in header
    for name, *_ in bench.LAYERS:
        row = next(line for line in out.splitlines() if line.startswith(name))
        assert row.split()[-1] in ("direct", "im2col", "mec", "winograd", "winograd_f2", "fft")
    ratio = re.search(r"geometric-mean time ratio auto/torch at 1 thread\(s\): ([0-9.]+)", out)
    assert ratio is not None and float(ratio.group(1)) > 0


def test_bench_keeps_the_environment_when_asked():
    import os
    env = dict(os.environ, OPENBLAS_CORETYPE="Haswell", OPENBLAS_L2_SIZE="512")
    out = subprocess.run([sys.executable, "-m", "cnnlib.bench", "--quick", "--threads", "1",
                          "--no-fft", "--blas-core", "keep"], capture_output=True, text=True,
                         timeout=300, check=True, env=env).stdout
    header = next(line for line in out.splitlines() if line.startswith("threads = 1"))
    assert "OPENBLAS_CORETYPE=Haswell" in header and "kernels Haswell" in header


# --- The timing protocol shared with chapter 31 -------------------------------------------------

class FakeClock:
    """Stands in for the ``time`` module inside cnnlib.bench: time passes only when told to."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_median_times_warms_up_interleaves_and_takes_the_median(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(bench, "time", clock)
    # warm-up (2 calls), then per round an untimed call (here: a cold, slow one) and a timed one
    durations = {"fast": iter([1, 1] + [7, 1, 7, 9, 7, 1, 7, 1, 7, 1]),
                 "slow": iter([5, 5] + [70, 5, 70, 5, 70, 50, 70, 5, 70, 5])}
    order = []

    def make(name):
        def f():
            order.append(name)
            clock.now += next(durations[name])
        return f

    times = bench.median_times({name: make(name) for name in durations}, rounds=5)
    assert times == {"fast": 1, "slow": 5}     # untimed calls and one outlier each do not count
    assert order == ["fast"] * 2 + ["slow"] * 2 + ["fast", "fast", "slow", "slow"] * 5


def test_median_times_blocks_and_settle_pauses(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(bench, "time", clock)
    calls = []

    def f():
        calls.append(clock.now)
        clock.now += 1.0

    times = bench.median_times({"f": f}, rounds=2, block=3.0, settle=0.5)
    # 2 warm-up calls, then per round: a pause, one untimed call, a block of 3 timed calls
    assert len(calls) == 2 + 2 * (1 + 3)
    assert calls[2] == calls[1] + 1.0 + 0.5                # the pause comes before the round
    assert times == {"f": 1.0}


def test_conv_callables_checks_each_method_against_torch_before_timing(monkeypatch):
    import numpy as np
    import pytest

    import cnnlib

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 8, 8), dtype=np.float32)
    w = rng.standard_normal((4, 3, 3, 3), dtype=np.float32)
    funcs = bench.conv_callables(x, w, ["direct", "im2col"], padding=1)
    assert list(funcs) == ["direct", "im2col", "torch"]
    np.testing.assert_allclose(funcs["im2col"](), funcs["torch"]().numpy(), rtol=1e-5, atol=1e-5)
    real = cnnlib.conv2d
    monkeypatch.setattr(cnnlib, "conv2d", lambda *args, **kwargs: real(*args, **kwargs) + 1)
    with pytest.raises(AssertionError, match="method 'direct' differs from torch"):
        bench.conv_callables(x, w, ["direct"], padding=1)


def test_median_times_shuffle_gives_every_callable_every_round_in_new_orders(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(bench, "time", clock)
    order = []

    def make(name):
        def f():
            order.append(name)
            clock.now += 1.0
        return f
    names = ["a", "b", "c", "d"]
    times = bench.median_times({n: make(n) for n in names}, rounds=6, shuffle=True)
    assert times == {n: 1.0 for n in names}
    rounds = [order[8 + 8 * r: 16 + 8 * r][::2] for r in range(6)]   # untimed + timed per name
    assert all(sorted(r) == names for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1                        # the order changes
    first = list(order)
    order.clear()
    bench.median_times({n: make(n) for n in names}, rounds=6, shuffle=True)
    assert order == first                                            # seeded: repeatable


def test_median_times_best_round_takes_the_median_of_the_fastest_round(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(bench, "time", clock)
    # per round: one untimed call, then a block of 3 timed calls (3 s of block / 1 s per call)
    durations = {"a": iter([1, 1] + [9, 5, 5, 5] + [9, 2, 9, 2] + [9, 3, 3, 3]),
                 "b": iter([1, 1] + [9, 4, 4, 9] + [9, 4, 4, 4] + [9, 9, 9, 9])}

    def make(name):
        def f():
            clock.now += next(durations[name])
        return f
    funcs = {name: make(name) for name in durations}
    times = bench.median_times(funcs, rounds=3, block=3.0, best_round=True)
    assert times == {"a": 2, "b": 4}    # round 2's median for a (2, 2, 9 → 2), rounds 1–2 for b
    durations.update({"a": iter([1, 1] + [9, 5, 5, 5] + [9, 2, 9, 2] + [9, 3, 3, 3]),
                      "b": iter([1, 1] + [9, 4, 4, 9] + [9, 4, 4, 4] + [9, 9, 9, 9])})
    assert bench.median_times(funcs, rounds=3, block=3.0) == {"a": 3, "b": 4}   # all rounds


def test_one_thread_sets_torch_numba_and_blas_to_one_and_restores_them():
    import numba
    import torch
    from threadpoolctl import threadpool_info

    before = torch.get_num_threads(), numba.get_num_threads()
    blas_before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    with bench.one_thread():
        assert torch.get_num_threads() == 1 and numba.get_num_threads() == 1
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    assert (torch.get_num_threads(), numba.get_num_threads()) == before
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == blas_before


def test_this_run_times_every_callable_on_one_thread_by_the_protocol(monkeypatch):
    import torch

    seen = {}

    def fake_median_times(funcs, **kw):
        seen.update(kw, threads=torch.get_num_threads())
        return {name: 1.0 for name in funcs}

    monkeypatch.setattr(bench, "median_times", fake_median_times)
    assert bench.this_run({"a": lambda: 1, "b": lambda: 2}, rounds=3) == {"a": 1.0, "b": 1.0}
    assert seen == dict(rounds=3, block=0.005, shuffle=True, best_round=True, threads=1)


def test_cnnlib_bench_loads_on_first_access_after_a_plain_import():
    code = ("import sys, cnnlib; assert 'cnnlib.bench' not in sys.modules; "
            "f = cnnlib.bench.this_run; assert 'torch' not in sys.modules; print(f.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "this_run"


def test_blas_info_reports_numpys_blas_when_another_is_loaded():
    """numba links SciPy's BLAS when SciPy is installed, so two OpenBLAS builds can be loaded at
    once; blas_info names the one in NumPy's wheel (the one cnnlib's GEMMs call)."""
    from threadpoolctl import threadpool_info
    pytest.importorskip("scipy.linalg")          # loads SciPy's own BLAS next to NumPy's
    from cnnlib.bench import blas_info
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    ours = [i for i in blas if "numpy" in i.get("filepath", "")]
    if len(blas) < 2 or len(ours) != 1:
        pytest.skip("needs NumPy's BLAS and one other loaded")
    info = blas_info()
    assert info.count("thread(s)") == 1
    assert info.startswith(f"{ours[0]['internal_api']} {ours[0].get('version') or '?'},")


# --- The kinds of issue #20: real-network layers, default call vs torch --------------------------

def _kind_layers():
    return [(kind, layer) for kind, layers in bench.KINDS.items() for layer in layers]


def test_kinds_cover_every_kind_the_issue_names():
    kinds = bench.KINDS
    assert list(kinds) == ["transposed", "grouped", "depthwise", "dense", "dilated", "1d", "3d",
                           "batch8"]
    fns = {layer["fn"] for layers in kinds.values() for layer in layers}
    assert fns == {"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d"}
    t = kinds["transposed"]
    assert {layer["fn"] for layer in t} == {"conv_transpose1d", "conv_transpose2d"}
    assert {layer["kw"]["stride"] for layer in t} == {2, 4}
    assert {layer["w"][2] for layer in t} == {2, 3, 4}
    for fn in ("conv_transpose1d", "conv_transpose2d"):       # both strides in both dims
        assert {layer["kw"]["stride"] for layer in t if layer["fn"] == fn} == {2, 4}
    assert {layer["kw"]["groups"] for layer in kinds["grouped"]} == {3, 8, 32, 64}
    dw = {(layer["w"][2], layer["kw"]["stride"]) for layer in kinds["depthwise"]}
    assert dw == {(k, s) for k in (3, 5, 7) for s in (1, 2)}
    for layer in kinds["depthwise"]:                            # groups = C_in = C_out
        assert layer["kw"]["groups"] == layer["x"][1] == layer["w"][0] and layer["w"][1] == 1
    assert {layer["w"][2:] for layer in kinds["dense"]} == {(5, 5), (7, 7)}
    assert {layer["kw"]["dilation"] for layer in kinds["dilated"]} == {2, 4, 6, 12, 18}
    assert all(layer["w"][2:] == (3, 3) for layer in kinds["dilated"])
    assert all(layer["fn"] == "conv1d" for layer in kinds["1d"])
    assert ("1-D 3-tap, 256→256 ×1024" in [layer["name"] for layer in kinds["1d"]])
    assert all(layer["fn"] == "conv3d" for layer in kinds["3d"])
    b8 = kinds["batch8"]                           # the six layers of the methods table at N=8
    assert [(layer["x"][1:], layer["w"][0], layer["w"][2], layer["kw"]["stride"],
             layer["kw"]["padding"], layer["kw"]["groups"]) for layer in b8] == [
        ((c_in, h, h), c_out, k, s, p, g) for _, c_in, c_out, h, k, s, p, g in bench.LAYERS]
    assert all(layer["x"][0] == 8 for layer in b8)
    others = [layer for kind, layer in _kind_layers() if kind != "batch8"]
    assert all(layer["x"][0] == 1 for layer in others)
    names = [layer["name"] for _, layer in _kind_layers()]
    assert len(set(names)) == len(names) and max(map(len, names)) <= 36


@pytest.mark.parametrize("kind, layer", _kind_layers(), ids=lambda v: v if isinstance(v, str)
                         else v["name"])
def test_every_kind_layer_matches_torch_before_it_is_timed(kind, layer):
    import numpy as np
    rng = np.random.default_rng(1)
    x = rng.standard_normal(layer["x"], dtype=np.float32)
    w = rng.standard_normal(layer["w"], dtype=np.float32)
    funcs = bench.kind_callables(layer, x, w)       # raises AssertionError if cnnlib differs
    assert list(funcs) == ["cnnlib", "torch"]
    ref = funcs["torch"]().numpy()
    got = funcs["cnnlib"]()
    assert got.shape == ref.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4 * float(np.abs(ref).max()))


def test_kind_callables_refuse_to_time_a_wrong_result(monkeypatch):
    import numpy as np

    import cnnlib
    layer = bench.KINDS["dilated"][0]
    small = dict(layer, x=(1, 4, 9, 9), w=(4, 4, 3, 3))
    rng = np.random.default_rng(0)
    x = rng.standard_normal(small["x"], dtype=np.float32)
    w = rng.standard_normal(small["w"], dtype=np.float32)
    bench.kind_callables(small, x, w)
    real = cnnlib.conv2d
    monkeypatch.setattr(cnnlib, "conv2d", lambda *a, **k: real(*a, **k) + 1)
    with pytest.raises(AssertionError, match="DeepLabv3.*differs from torch"):
        bench.kind_callables(small, x, w)
    monkeypatch.setattr(cnnlib, "conv2d", lambda *a, **k: real(*a, **k)[:, :, 1:])
    with pytest.raises(AssertionError, match="returned shape"):
        bench.kind_callables(small, x, w)


def test_report_kinds_prints_each_layer_the_geometric_means_and_the_outliers():
    run = {"threads": 2, "numba_layer": "omp", "blas": "openblas 0.3, kernels Haswell, 2 thread(s)",
           "blas_env": "OPENBLAS_CORETYPE unset, OPENBLAS_L2_SIZE unset",
           "kinds": {"dense": [{"layer": "a", "fn": "conv2d", "picks": "mec",
                                "times": {"cnnlib": 2e-3, "torch": 1e-3}},
                               {"layer": "b", "fn": "conv2d", "picks": "fft",
                                "times": {"cnnlib": 1e-3, "torch": 2e-3}}],
                     "1d": [{"layer": "c", "fn": "conv1d", "picks": "im2col",
                             "times": {"cnnlib": 4e-3, "torch": 1e-3}}]}}
    out = bench.report_kinds(run).splitlines()
    assert out[0].startswith("threads = 2") and "kernels Haswell" in out[0]
    assert "OPENBLAS_CORETYPE unset" in out[0]
    assert out[1] == "[dense]" and out[2].split() == ["layer", "cnnlib", "torch", "/torch", "runs"]
    assert out[3].split() == ["a", "2.000", "1.000", "2.00", "conv2d", "mec"]
    assert out[4].split() == ["b", "1.000", "2.000", "0.50", "conv2d", "fft"]
    assert out[5].split()[:4] == ["geometric", "mean", "dense", "1.00"]
    assert out[5].endswith("(1 of 2 above 1.5)")
    assert out[6] == "[1d]" and out[8].split()[1:4] == ["4.000", "1.000", "4.00"]
    assert out[10].split()[:5] == ["geometric", "mean,", "every", "kind", "1.59"]  # (2·.5·4)^⅓
    assert out[10].endswith("(2 of 3 above 1.5, 2 above 1.0)")


def test_bench_kinds_quick_run_prints_the_chosen_kinds_only():
    import os
    env = dict(os.environ, OPENBLAS_CORETYPE="Haswell", OPENBLAS_L2_SIZE="512")
    out = subprocess.run([sys.executable, "-m", "cnnlib.bench", "--quick", "--threads", "1",
                          "--kinds", "1d"], capture_output=True, text=True, timeout=300,
                         check=True, env=env).stdout
    header = next(line for line in out.splitlines() if line.startswith("threads = 1"))
    assert "OPENBLAS_CORETYPE unset" in header and "BLAS: openblas" in header
    assert "[1d]" in out and "[dense]" not in out and "FFT vs im2col" not in out
    for layer in bench.KINDS["1d"]:
        row = next(line for line in out.splitlines() if line.startswith(layer["name"]))
        assert float(row.split()[-3]) > 0 and row.split()[-2] == "conv1d"
    ratio = re.search(r"cnnlib/torch over 1d at 1 thread\(s\): ([0-9.]+)", out)
    assert ratio is not None and float(ratio.group(1)) > 0


def test_bench_rejects_an_unknown_kind():
    proc = subprocess.run([sys.executable, "-m", "cnnlib.bench", "--kinds", "sparse"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "invalid choice: 'sparse'" in proc.stderr
