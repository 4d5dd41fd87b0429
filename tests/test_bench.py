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


def test_grouped_worker_times_auto_and_torch_and_reports():
    from cnnlib import bench
    layers = [("tiny grouped", 8, 8, 9, 3, 2, 1, 4), ("tiny depthwise", 6, 6, 9, 5, 1, 2, 6)]
    with bench.one_thread():          # the worker sets the thread counts; restore them after
        run = bench.grouped_worker(1, 2, True, layers=layers)
    assert [r["layer"] for r in run["results"]] == ["tiny grouped", "tiny depthwise"]
    assert all(set(r["times"]) == {"auto", "torch"} for r in run["results"])
    text = bench.report_grouped(run)
    assert "tiny depthwise" in text and "geometric mean of /torch" in text
