"""Benchmark cnnlib's convolution algorithms against torch: ``python -m cnnlib.bench``.

For six ResNet-style layers (batch 1, float32) it prints the time per call of every method of
``cnnlib.conv2d`` and of ``torch.nn.functional.conv2d``, the GFLOP/s (FLOPs = 2 × MACs of the
direct convolution, whatever the algorithm actually does) and the time ratio cnnlib/torch, at
1 and 2 threads, plus the geometric mean of the ratios. Then, at one thread, it sweeps the
kernel size (1 to 15, 'same' padding) on two layers and reports from which ``k`` the FFT beats
im2col and MEC (:func:`fft_sweep`). Used by chapter 31.

Each thread setting runs in its own subprocess (OpenBLAS reads ``OPENBLAS_NUM_THREADS`` and
its kernel settings when NumPy is imported); inside it every method and torch are timed side
by side in 16 interleaved rounds (a new shuffled order each round), each as a short block of
calls (0.02 s) after a short pause (see :func:`median_times`). The time reported for each
method and torch is the median of its calls in its best round (``best_round=True``: slow
spells of a shared machine last longer than a block, and noise only adds time). The protocol
was chosen by the agreement of columns that run identical code (``winograd`` and ``auto`` on
the 3×3 layers), not by the ratios to torch. At 2 threads on the book's virtual machine they
still disagree: in three runs each, by up to 2.1× with 8 rounds of 0.05 s blocks after
0.12 s pauses, and by up to 1.6× with 16 rounds of 0.02 s blocks after 0.02 s pauses (the
present setting); at 1 thread by a few per cent. Read single 2-thread figures with that in
mind. The timings also need a quiet machine: another busy process on a 2-core machine turns
2-thread timings into multiples of the scheduler's time slice (8 ms).

BLAS kernels: OpenBLAS (bundled with NumPy) picks its kernels from the CPU, unless the
environment variables ``OPENBLAS_CORETYPE`` (a kernel family) or ``OPENBLAS_L2_SIZE`` (the cache
size its blocking assumes) override that. Some machines set them (the book's sets ``Haswell``,
AVX2 kernels, on a CPU with AVX-512); readers' machines do not. The benchmark therefore runs its
workers, and only them, with both variables removed, as a reader's machine would run
(``--blas-core keep`` keeps the environment, ``--blas-core NAME`` forces a kernel family).
Tests and CI keep the environment. Each table's header prints what actually ran, as reported
by ``threadpoolctl``: the BLAS library, its version, kernel family ("architecture") and threads.

Transformed weights: ``winograd``, ``mec``, ``fft`` and ``auto`` (running one of them) keep the
transformed weights of recent layers (:mod:`cnnlib._wcache`) and check on every call that the
weights are unchanged (a bit-for-bit comparison with a copy), so repeated calls with the same
weights — what the benchmark times, and what a network does at inference — skip the weight
transform but not the check. A weight changed in place is transformed again.

Options: ``--threads 1 2``, ``--quick`` (fewer repeats), ``--blas-core detect|keep|NAME``,
``--no-fft`` (skip the sweep). A full run takes about 2–3 minutes on the book's machine.

Kinds (issue #20): ``--kinds [KIND ...]`` runs, instead of the methods table and the sweep,
one table per kind of convolution the book teaches — ``transposed`` (1-D and 2-D, stride 2 and
4, kernels 2–4), ``grouped`` (ResNeXt's 32 and 64 groups, ShuffleNet's 3 and 8),
``depthwise`` (k = 3, 5, 7 at stride 1 and 2), ``dense`` (5×5 and 7×7), ``dilated`` (rates 2
and 4 of DeepLabv3, 6/12/18 of ASPP), ``1d``, ``3d`` and ``batch8`` (the six layers above at
batch 8); none named means all (:data:`KINDS`). Each layer is a real network's shape; the
default call of the matching cnnlib function (``conv1d``/``2d``/``3d`` with ``groups`` and
``dilation``, ``conv_transpose1d``/``2d``) is checked against torch's and then timed against
it by the same protocol (one subprocess per thread count, shuffled interleaved rounds, best
round, BLAS printed), and the report gives the ratio per layer, the geometric mean per kind
and over all, and how many layers exceed 1.5× and 1.0× torch's time. The default run (no
``--kinds``) is unchanged.

The timing protocol is importable, and the chapters use it for their live timings:
:func:`conv_callables` (one zero-argument callable per method plus torch, each checked against
torch first), :func:`median_times` (warm-up, interleaved rounds, medians), and :func:`this_run`
(the two together on one thread, what a chapter prints as "this run").
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import subprocess
import sys
import time

LAYERS = [
    # name, C_in, C_out, H (=W), kernel, stride, padding, groups
    ("stem 7×7/2, 3→64 @224", 3, 64, 224, 7, 2, 3, 1),
    ("3×3, 64→64 @56", 64, 64, 56, 3, 1, 1, 1),
    ("3×3, 128→128 @28", 128, 128, 28, 3, 1, 1, 1),
    ("3×3, 256→256 @14", 256, 256, 14, 3, 1, 1, 1),
    ("1×1, 256→64 @56", 256, 64, 56, 1, 1, 0, 1),
    ("depthwise 3×3, 128 @56", 128, 128, 56, 3, 1, 1, 128),
]
METHODS = ("direct", "im2col", "mec", "winograd", "fft", "auto")


def blas_info() -> str:
    """What NumPy's BLAS runs: library, version, kernel family and threads (``threadpoolctl``)."""
    from threadpoolctl import threadpool_info

    libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not libs:
        return "no BLAS found by threadpoolctl"
    # Other libraries load their own BLAS too (numba links SciPy's when SciPy is installed): report
    # the one inside NumPy's wheel, which is the one cnnlib's GEMMs call, when it can be told apart.
    libs = [i for i in libs if "numpy" in i.get("filepath", "")] or libs
    return "; ".join(f"{i['internal_api']} {i.get('version') or '?'}, kernels "
                     f"{i.get('architecture') or '?'}, {i['num_threads']} thread(s)" for i in libs)


def _blas_env() -> str:
    """The two OpenBLAS overrides as set in this process (for the table header)."""
    return ", ".join(f"{v}={os.environ[v]}" if v in os.environ else f"{v} unset"
                     for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"))


def _keep_large_buffers_in_the_heap() -> None:
    """Allocate and free a 16 MB block once, before timing anything.

    glibc serves multi-MB allocations with fresh ``mmap``s (a page fault per 4 KiB on first
    touch) until a large block has been freed, which raises its threshold: in a new process
    torch's stem layer measured up to 4× slower than after one such free.
    """
    import numpy as np
    block = np.ones(2 << 20)
    del block


def median_times(funcs: dict, rounds: int = 5, block: float = 0.0, settle: float = 0.0,
                 shuffle: bool = False, best_round: bool = False, seed: int = 0) -> dict:
    """Median seconds per call of each zero-argument callable, timed side by side.

    Parameters
    ----------
    funcs : dict
        ``name -> callable()``, e.g. from :func:`conv_callables`.
    rounds : int
        Rounds of interleaved timing: every round times each callable in turn, so that a drift of
        the machine (another process starting, the clock changing) hits all of them alike.
    block : float
        Seconds of consecutive calls timed per callable and round (2 to 50 calls, from the
        warm-up's estimate of one call); ``0`` times one call per round.
    settle : float
        Pause in seconds before each block; ``0``: no pause.
    shuffle : bool
        Time the callables in a new order every round (seeded, so repeatable) instead of the
        dict's order. In the benchmark the first callable after torch's block measured up to
        30 % slower than the same code timed later in the round; shuffling spreads such an
        effect over all of them instead of charging it to one.
    best_round : bool
        Return, per callable, the median of its *best round* (the round whose timed calls have
        the lowest median) instead of the median over all rounds. On a shared machine slow
        spells last longer than one block: in 2-thread runs of ``python -m cnnlib.bench`` two
        columns running identical code (``winograd`` and ``auto``) differed by up to 40 % in
        their all-round medians, because a spell had hit one of them in most rounds. Noise only
        ever adds time, so the best round is the closest to the machine's real speed (the
        reasoning of ``timeit``'s advice to take the minimum of its repeats); every callable,
        torch included, is measured the same way.
    seed : int
        Seed of the shuffled orders.

    Returns
    -------
    dict
        ``name -> median seconds per call`` over all timed calls (or over the best round's).

    Notes
    -----
    Each callable first runs twice untimed (numba compilation or cache load, BLAS threads
    starting; the second call estimates the time of one call). In every round, each block of
    timed calls is preceded by one untimed call: the callables timed before it have evicted its
    data and code from the caches, and a first call after another method measured 1.5–4×
    slower than the next one (torch's 0.15 ms 3×3 layer of chapter 31 took 0.6 ms), which
    would penalise whichever method runs after a memory-hungry one. The median is therefore
    the time of a call repeated in a loop, as ``timeit`` measures it.

    Why pauses: torch (OpenMP), numba (OpenMP) and OpenBLAS each keep their own worker
    threads, which spin for a while after a call (OpenBLAS' for ~0.1 s). With 2 threads on
    2 cores, a method timed right after another library's call shares the cores with those
    spinning threads and runs several times slower. The pause lets the other libraries' threads
    go to sleep; within a block each method pays only for its own threads (as it would in a loop
    of its own). With one thread per library (as in chapter 31) there is nothing to wait for:
    ``settle=0``. The benchmark pauses 0.02 s and relies on the best of 16 rounds: pauses of
    0.12 s (enough for OpenBLAS' spinning) did not make identical code agree better, and idle
    virtual CPUs are slow to wake.
    """
    per_call = {}
    for name, f in funcs.items():     # warm-up: numba compilation / cache load, BLAS threads
        f()
        t0 = time.perf_counter()
        f()
        per_call[name] = time.perf_counter() - t0
    samples = {name: [] for name in funcs}
    best = {name: math.inf for name in funcs}
    order, rng = list(funcs), random.Random(seed)
    for _ in range(rounds):
        if shuffle:
            rng.shuffle(order)
        for name in order:
            f = funcs[name]
            if settle > 0:
                time.sleep(settle)
            f()                        # untimed: refill the caches the other callables used
            calls = 1 if block <= 0 else int(min(50, max(2, block / max(per_call[name], 1e-9))))
            this_round = []
            for _ in range(calls):
                t0 = time.perf_counter()
                f()
                this_round.append(time.perf_counter() - t0)
            samples[name] += this_round
            best[name] = min(best[name], sorted(this_round)[len(this_round) // 2])
    if best_round:
        return best
    return {name: sorted(v)[len(v) // 2] for name, v in samples.items()}


@contextlib.contextmanager
def one_thread():
    """torch, numba and NumPy's BLAS on one thread inside the block (each restored afterwards).

    What the chapters time with: on a shared 2-core machine one thread per library measures the
    work of the code, not how the libraries' thread pools share the cores with each other and
    with other processes.
    """
    import numba
    import torch
    from threadpoolctl import threadpool_limits

    saved = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        numba.set_num_threads(saved[1])      # numba first: with OpenMP it may touch torch's count
        torch.set_num_threads(saved[0])


def this_run(funcs: dict, rounds: int = 9, block: float = 0.005) -> dict:
    """Seconds per call of each zero-argument callable, this run, by the benchmark's protocol.

    The protocol for timings shown in a chapter: glibc's large-block threshold raised first
    (:func:`_keep_large_buffers_in_the_heap`: without it a 56×56 depthwise layer took 2–5 ms
    instead of 0.17 ms, at random, in chapter 21), one thread per library (:func:`one_thread`),
    the callables interleaved in ``rounds`` shuffled rounds of short blocks of calls
    (``block`` seconds each, at least 2 calls), and for each the median of its best round
    (:func:`median_times` explains why). A chapter prints the result labelled "this run"
    and asserts on it only a robust inequality with a wide margin that an argument backs
    (e.g. counted bytes per MAC); never the value itself.

    Parameters
    ----------
    funcs : dict
        ``name -> callable()``; e.g. ``{"depthwise": lambda: dw(x), "pointwise": lambda: pw(x)}``.
        Wrap torch modules in ``torch.no_grad()`` yourself when timing inference.
    rounds, block : int, float
        More rounds or longer blocks steady the estimate and cost time (the page's 30 s).

    Returns
    -------
    dict
        ``name -> seconds per call``.
    """
    _keep_large_buffers_in_the_heap()
    with one_thread():
        return median_times(funcs, rounds=rounds, block=block, shuffle=True, best_round=True)


def conv_callables(x, w, methods, stride=1, padding=0, dilation=1, groups=1, rtol=1e-4) -> dict:
    """One zero-argument callable per ``cnnlib.conv2d`` method, plus ``"torch"``, for timing.

    Every method's output is first checked against ``torch.nn.functional.conv2d`` (largest
    error relative to the largest output value at most ``rtol``; ``AssertionError`` naming the
    method otherwise), so that nothing wrong is ever timed. ``x``, ``w``: NumPy arrays (NCHW,
    ``(C_out, C_in/groups, kh, kw)``); ``methods``: names accepted by ``conv2d(method=...)``.
    The ``"torch"`` callable runs under ``torch.no_grad()`` on the same data.
    """
    import numpy as np
    import torch

    import cnnlib

    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)

    def run_torch():
        with torch.no_grad():
            return torch.nn.functional.conv2d(tx, tw, None, **kw)

    ref = run_torch().numpy()
    funcs = {}
    for m in methods:
        funcs[m] = (lambda m=m: cnnlib.conv2d(x, w, None, method=m, **kw))
        err = float(np.abs(funcs[m]() - ref).max() / np.abs(ref).max())
        if not err <= rtol:
            raise AssertionError(f"method {m!r} differs from torch (relative error {err:.2e} > {rtol:g})")
    funcs["torch"] = run_torch
    return funcs


def worker(threads: int, quick: bool) -> dict:
    """Time every layer and method with ``threads`` threads (runs inside the subprocess)."""
    import numba
    import numpy as np
    import torch

    from cnnlib._algorithms import method_for
    from cnnlib._validation import conv_spec

    torch.set_num_threads(threads)
    numba.set_num_threads(threads)
    _keep_large_buffers_in_the_heap()
    rng = np.random.default_rng(0)
    results = []
    for name, c_in, c_out, h, k, s, p, g in LAYERS:
        x = rng.standard_normal((1, c_in, h, h), dtype=np.float32)
        w = rng.standard_normal((c_out, c_in // g, k, k), dtype=np.float32) / math.sqrt(c_in // g * k * k)
        spec = conv_spec(x, w, None, s, p, 1, g, 2, "conv2d")
        methods = [m for m in METHODS if m != "winograd" or (k == 3 and s == 1)]
        try:       # every method must agree with torch before it is timed
            funcs = conv_callables(x, w, methods, stride=s, padding=p, groups=g)
        except AssertionError as err:
            raise AssertionError(f"{name}: {err}") from None
        times = median_times(funcs, rounds=2 if quick else 16, block=0.02,
                             settle=0.02, shuffle=True, best_round=True, seed=len(results))
        macs = c_out * (c_in // g) * k * k * ((h + 2 * p - k) // s + 1) ** 2
        results.append({"layer": name, "flops": 2 * macs, "times": times,
                        "auto": method_for(spec, 2)})
    return {"threads": threads, "numba_layer": numba.threading_layer(), "results": results,
            "blas": blas_info(), "blas_env": _blas_env()}


def _geomean(values):
    values = [v for v in values if v is not None]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def report(run: dict) -> str:
    """Format one worker's results as a table (ms, GFLOP/s, ratio to torch)."""
    cols = list(METHODS) + ["torch"]
    lines = [f"threads = {run['threads']}   (numba layer: {run['numba_layer']}; BLAS: {run['blas']}; "
             f"{run['blas_env']})",
             f"{'layer':26s} {'':9s}" + "".join(f"{c:>10s}" for c in cols) + "   auto picks"]
    ratios = {m: [] for m in METHODS}
    for r in run["results"]:
        t = r["times"]
        row_ms = [f"{t[c] * 1e3:10.3f}" if c in t else f"{'—':>10s}" for c in cols]
        row_gf = [f"{r['flops'] / t[c] / 1e9:10.1f}" if c in t else f"{'—':>10s}" for c in cols]
        row_ratio = [f"{t[c] / t['torch']:10.2f}" if c in t else f"{'—':>10s}" for c in cols]
        for m in METHODS:
            ratios[m].append(t[m] / t["torch"] if m in t else None)
        lines.append(f"{r['layer']:26s} {'ms':9s}" + "".join(row_ms) + f"   {r['auto']}")
        lines.append(f"{'':26s} {'GFLOP/s':9s}" + "".join(row_gf))
        lines.append(f"{'':26s} {'/torch':9s}" + "".join(row_ratio))
    lines.append(f"{'geometric mean of /torch':36s}"
                 + "".join(f"{_geomean(ratios[m]):10.2f}" for m in METHODS)
                 + f"{1.0:10.2f}   (winograd: its 3×3 stride-1 layers only)")
    return "\n".join(lines)



# ----------------------------------------------------------------------------- kinds (issue #20)
def _conv(name, c_in, c_out, spatial, k, stride=1, padding=0, dilation=1, groups=1, batch=1):
    """A ``conv{n}d`` layer: ``spatial`` and ``k`` are ints (square/cubic) or tuples."""
    n = len(spatial) if isinstance(spatial, tuple) else 2
    spatial = spatial if isinstance(spatial, tuple) else (spatial,) * n
    k = k if isinstance(k, tuple) else (k,) * n
    return {"name": name, "fn": f"conv{n}d", "x": (batch, c_in) + spatial,
            "w": (c_out, c_in // groups) + k,
            "kw": dict(stride=stride, padding=padding, dilation=dilation, groups=groups)}


def _convt(name, c_in, c_out, spatial, k, stride, padding=0, output_padding=0, batch=1):
    """A ``conv_transpose{n}d`` layer (weight in torch's layout ``(C_in, C_out, *k)``)."""
    n = len(spatial)
    return {"name": name, "fn": f"conv_transpose{n}d", "x": (batch, c_in) + spatial,
            "w": (c_in, c_out) + (k,) * n,
            "kw": dict(stride=stride, padding=padding, output_padding=output_padding)}


# Each kind of issue #20 on layers of real networks (float32, batch 1 unless said). The name
# says the network the shape comes from; "@56" is H = W = 56 of the input.
KINDS = {
    "transposed": [
        _convt("DCGAN G 4×4/2, 512→256 @8", 512, 256, (8, 8), 4, 2, 1),
        _convt("DCGAN G 4×4/2, 128→64 @32", 128, 64, (32, 32), 4, 2, 1),
        _convt("U-Net up 2×2/2, 256→128 @28", 256, 128, (28, 28), 2, 2),
        _convt("LinkNet dec 3×3/2, 128→64 @28", 128, 64, (28, 28), 3, 2, 1, 1),
        _convt("FPN-style 4×4/4, 256→64 @14", 256, 64, (14, 14), 4, 4),
        _convt("1-D 4/2, 256→128 ×512 (MelGAN)", 256, 128, (512,), 4, 2, 1),
        _convt("1-D 2/2, 128→64 ×1024", 128, 64, (1024,), 2, 2),
        _convt("1-D 4/4, 64→32 ×1024", 64, 32, (1024,), 4, 4),
    ],
    "grouped": [
        _conv("ResNeXt50 3×3 g32, 128 @56", 128, 128, 56, 3, 1, 1, groups=32),
        _conv("ResNeXt50 3×3 g32, 256 @28", 256, 256, 28, 3, 1, 1, groups=32),
        _conv("ResNeXt50 3×3 g32, 512 @14", 512, 512, 14, 3, 1, 1, groups=32),
        _conv("ResNeXt101 64x4d 3×3 g64, 256 @56", 256, 256, 56, 3, 1, 1, groups=64),
        _conv("ResNeXt101 64x4d 3×3 g64, 512 @28", 512, 512, 28, 3, 1, 1, groups=64),
        _conv("ShuffleNet g3 1×1, 240→60 @28", 240, 60, 28, 1, groups=3),
        _conv("ShuffleNet g3 1×1, 60→240 @28", 60, 240, 28, 1, groups=3),
        _conv("ShuffleNet g8 1×1, 384→96 @28", 384, 96, 28, 1, groups=8),
        _conv("ShuffleNet g8 1×1, 96→384 @28", 96, 384, 28, 1, groups=8),
    ],
    "depthwise": [
        _conv("MobileNetV2 dw 3×3, 144 @56", 144, 144, 56, 3, 1, 1, groups=144),
        _conv("MobileNetV2 dw 3×3/2, 144 @56", 144, 144, 56, 3, 2, 1, groups=144),
        _conv("EfficientNet dw 5×5, 240 @28", 240, 240, 28, 5, 1, 2, groups=240),
        _conv("MobileNetV3 dw 5×5/2, 72 @56", 72, 72, 56, 5, 2, 2, groups=72),
        _conv("ConvNeXt-T dw 7×7, 96 @56", 96, 96, 56, 7, 1, 3, groups=96),
        _conv("MixNet-style dw 7×7/2, 192 @28", 192, 192, 28, 7, 2, 3, groups=192),
    ],
    "dense": [
        _conv("5×5, 64→64 @56", 64, 64, 56, 5, 1, 2),
        _conv("AlexNet conv2 5×5, 64→192 @27", 64, 192, 27, 5, 1, 2),
        _conv("5×5, 192→192 @28", 192, 192, 28, 5, 1, 2),
        _conv("ResNet stem 7×7/2, 3→64 @224", 3, 64, 224, 7, 2, 3),
        _conv("7×7, 64→64 @56", 64, 64, 56, 7, 1, 3),
    ],
    "dilated": [
        _conv("DeepLabv3 3×3 d2, 256→256 @28", 256, 256, 28, 3, 1, 2, dilation=2),
        _conv("DeepLabv3 3×3 d2, 512→512 @28", 512, 512, 28, 3, 1, 2, dilation=2),
        _conv("DeepLabv3 3×3 d4, 512→512 @28", 512, 512, 28, 3, 1, 4, dilation=4),
        _conv("ASPP 3×3 d6, 256→256 @33", 256, 256, 33, 3, 1, 6, dilation=6),
        _conv("ASPP 3×3 d12, 256→256 @33", 256, 256, 33, 3, 1, 12, dilation=12),
        _conv("ASPP 3×3 d18, 256→256 @33", 256, 256, 33, 3, 1, 18, dilation=18),
    ],
    "1d": [
        _conv("1-D 3-tap, 256→256 ×1024", 256, 256, (1024,), 3, 1, 1),
        _conv("1-D 5-tap, 128→128 ×2048", 128, 128, (2048,), 5, 1, 2),
        _conv("1-D 3-tap/2, 256→512 ×1024", 256, 512, (1024,), 3, 2, 1),
    ],
    "3d": [
        _conv("R3D-18 stem 3×7×7/(1,2,2), 3→64", 3, 64, (8, 112, 112), (3, 7, 7),
              (1, 2, 2), (1, 3, 3)),
        _conv("C3D-style 3×3×3, 64→64 @8×28×28", 64, 64, (8, 28, 28), 3, 1, 1),
        _conv("R3D-18 3×3×3, 256→256 @4×14×14", 256, 256, (4, 14, 14), 3, 1, 1),
    ],
    "batch8": [_conv(f"N=8 {name}", c_in, c_out, h, k, s, p, groups=g, batch=8)
               for name, c_in, c_out, h, k, s, p, g in LAYERS],
}


def kind_callables(layer: dict, x, w, rtol=1e-4) -> dict:
    """``{"cnnlib": ..., "torch": ...}``: the default call of the layer's cnnlib function and
    torch's, as zero-argument callables; cnnlib's result is first checked against torch's
    (``AssertionError`` naming the layer otherwise), so that nothing wrong is ever timed."""
    import numpy as np
    import torch

    import cnnlib

    ours, theirs = getattr(cnnlib, layer["fn"]), getattr(torch.nn.functional, layer["fn"])
    tx, tw, kw = torch.from_numpy(x), torch.from_numpy(w), layer["kw"]

    def run_torch():
        with torch.no_grad():
            return theirs(tx, tw, None, **kw)

    def run_cnnlib():
        return ours(x, w, None, **kw)

    ref, got = run_torch().numpy(), run_cnnlib()
    if got.shape != ref.shape:
        raise AssertionError(f"{layer['name']}: {layer['fn']} returned shape {got.shape}, "
                             f"torch {ref.shape}")
    err = float(np.abs(got - ref).max() / np.abs(ref).max())
    if not err <= rtol:
        raise AssertionError(f"{layer['name']}: {layer['fn']} differs from torch "
                             f"(relative error {err:.2e} > {rtol:g})")
    return {"cnnlib": run_cnnlib, "torch": run_torch}


def _picks(layer: dict, x, w) -> str:
    """What the default call runs: ``auto``'s method for convolutions; '—' otherwise."""
    if not layer["fn"].startswith("conv") or "transpose" in layer["fn"]:
        return "—"
    from cnnlib._algorithms import method_for
    from cnnlib._validation import conv_spec
    n = len(layer["x"]) - 2
    kw = layer["kw"]
    spec = conv_spec(x, w, None, kw["stride"], kw["padding"], kw["dilation"], kw["groups"], n,
                     layer["fn"])
    return method_for(spec, n)


def kinds_worker(threads: int, kinds, quick: bool) -> dict:
    """Time the default call of every layer of ``kinds`` against torch (inside the subprocess)."""
    import numba
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    numba.set_num_threads(threads)
    _keep_large_buffers_in_the_heap()
    rng = np.random.default_rng(0)
    out, seed = {}, 0
    for kind in kinds:
        rows = []
        for layer in KINDS[kind]:
            x = rng.standard_normal(layer["x"], dtype=np.float32)
            fan_in = math.prod(layer["w"][1:])
            w = rng.standard_normal(layer["w"], dtype=np.float32) / np.float32(math.sqrt(fan_in))
            funcs = kind_callables(layer, x, w)
            seed += 1
            times = median_times(funcs, rounds=2 if quick else 16, block=0.02, settle=0.02,
                                 shuffle=True, best_round=True, seed=seed)
            rows.append({"layer": layer["name"], "fn": layer["fn"], "times": times,
                         "picks": _picks(layer, x, w)})
        out[kind] = rows
    return {"threads": threads, "numba_layer": numba.threading_layer(), "kinds": out,
            "blas": blas_info(), "blas_env": _blas_env()}


def report_kinds(run: dict) -> str:
    """Format :func:`kinds_worker`: per kind a table (ms, ratio) and its geometric mean, then the
    geometric mean over every layer and the layers above 1.5× torch's time."""
    lines = [f"threads = {run['threads']}   (numba layer: {run['numba_layer']}; BLAS: {run['blas']}; "
             f"{run['blas_env']})"]
    every = []
    for kind, rows in run["kinds"].items():
        lines.append(f"[{kind}]")
        lines.append(f"{'layer':36s}{'cnnlib':>9s}{'torch':>9s}{'/torch':>8s}   runs")
        ratios = []
        for r in rows:
            t = r["times"]
            ratios.append(t["cnnlib"] / t["torch"])
            lines.append(f"{r['layer']:36s}{t['cnnlib'] * 1e3:9.3f}{t['torch'] * 1e3:9.3f}"
                         f"{ratios[-1]:8.2f}   {r['fn']} {r['picks']}")
        every += ratios
        lines.append(f"{'geometric mean ' + kind:54s}{_geomean(ratios):8.2f}   "
                     f"({sum(v > 1.5 for v in ratios)} of {len(ratios)} above 1.5)")
    lines.append(f"{'geometric mean, every kind':54s}{_geomean(every):8.2f}   "
                 f"({sum(v > 1.5 for v in every)} of {len(every)} above 1.5, "
                 f"{sum(v > 1.0 for v in every)} above 1.0)")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- FFT sweep
FFT_LAYERS = [
    # name, C_in, C_out, H (=W); kernels k = 1, 3, …, 15 with 'same' padding, stride 1
    ("16→16 @48", 16, 16, 48),
    ("64→64 @56", 64, 64, 56),
]
FFT_KERNELS = (1, 3, 5, 7, 9, 11, 13, 15)
SWEEP_METHODS = ("im2col", "mec", "fft")


def fft_sweep(quick: bool) -> dict:
    """Time ``im2col``, ``mec``, ``fft`` and torch at 1 thread over kernels on :data:`FFT_LAYERS`.

    Batch 1, float32, stride 1, ``padding = k // 2``. Every method is checked against torch
    first (:func:`conv_callables`). BLAS, numba and torch are limited to one thread inside the
    call (and restored afterwards), so the sweep can run in any process. Returns
    ``{"threads": 1, "blas": …, "layers": [{"layer", "rows": [{"k", "times", "plan"}]}]}``
    with ``times`` in seconds (5 shuffled rounds, median of the best round, as the main table)
    and ``plan`` the FFT's tile lengths and tile counts.
    """
    import numba
    import numpy as np
    import torch

    from cnnlib._fft import fft_plan
    from cnnlib._threads import blas_single_threaded

    _keep_large_buffers_in_the_heap()
    rng = np.random.default_rng(0)
    layers = []
    torch_threads, numba_threads = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    try:
        with blas_single_threaded():
            blas = blas_info()
            for name, c_in, c_out, h in FFT_LAYERS:
                x = rng.standard_normal((1, c_in, h, h), dtype=np.float32)
                rows = []
                for k in FFT_KERNELS:
                    w = (rng.standard_normal((c_out, c_in, k, k), dtype=np.float32)
                         / np.float32(math.sqrt(c_in * k * k)))
                    try:
                        funcs = conv_callables(x, w, list(SWEEP_METHODS), padding=k // 2)
                    except AssertionError as err:
                        raise AssertionError(f"{name}, k={k}: {err}") from None
                    times = median_times(funcs, rounds=2 if quick else 5,
                                         block=0.01 if quick else 0.05, shuffle=True,
                                         best_round=True, seed=k)
                    p = k // 2
                    plan = fft_plan((h, h), (k, k), (1, 1), (p, p), (p, p), (1, 1),
                                    c_in, c_out, 1, 1)
                    rows.append({"k": k, "times": times,
                                 "plan": {"lengths": plan.lengths, "tiles": plan.tiles}})
                layers.append({"layer": name, "rows": rows})
    finally:
        torch.set_num_threads(torch_threads)
        numba.set_num_threads(numba_threads)
    return {"threads": 1, "blas": blas, "layers": layers}


def fft_crossover(ks, t_fft, t_rival):
    """Smallest ``k`` from which FFT is faster at every larger ``k`` of the sweep (None: never)."""
    for i, k in enumerate(ks):
        if all(a < b for a, b in zip(t_fft[i:], t_rival[i:])):
            return k
    return None


def report_fft(sweep: dict) -> str:
    """Format :func:`fft_sweep`: a table (ms) and, per layer, where FFT beats im2col and MEC."""
    lines = [f"FFT vs im2col vs MEC vs torch over kernel size — batch 1, float32, stride 1, "
             f"'same' padding, {sweep['threads']} thread (BLAS: {sweep['blas']}); ms per call",
             f"{'layer':12s}{'k':>4s}{'im2col':>10s}{'mec':>10s}{'fft':>10s}{'torch':>10s}"
             f"{'fft/im2col':>12s}{'fft/mec':>9s}{'fft/torch':>11s}   FFT tiles (L × count)"]
    verdicts = []
    for layer in sweep["layers"]:
        for r in layer["rows"]:
            t, plan = r["times"], r["plan"]
            tiles = ("×".join(map(str, plan["lengths"])) + " × "
                     + "×".join(map(str, plan["tiles"])))
            lines.append(f"{layer['layer']:12s}{r['k']:4d}{t['im2col'] * 1e3:10.3f}"
                         f"{t['mec'] * 1e3:10.3f}{t['fft'] * 1e3:10.3f}{t['torch'] * 1e3:10.3f}"
                         f"{t['fft'] / t['im2col']:12.2f}{t['fft'] / t['mec']:9.2f}"
                         f"{t['fft'] / t['torch']:11.2f}   {tiles}")
        ks = [r["k"] for r in layer["rows"]]
        found = []
        for rival in ("im2col", "mec"):
            k0 = fft_crossover(ks, [r["times"]["fft"] for r in layer["rows"]],
                               [r["times"][rival] for r in layer["rows"]])
            found.append(f"than {rival} " + (f"from k = {k0}" if k0 is not None
                                              else f"never, up to k = {ks[-1]}"))
        verdicts.append(f"{layer['layer']}: FFT faster " + "; ".join(found))
    return "\n".join(lines + verdicts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnlib.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="thread counts, one subprocess each (default: 1 2)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke test)")
    parser.add_argument("--blas-core", default="detect",
                        help="'detect' (default: unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for "
                             "the workers, so OpenBLAS detects the CPU as on readers' machines), "
                             "'keep' (keep the environment) or a kernel family such as SkylakeX")
    parser.add_argument("--no-fft", action="store_true",
                        help="skip the FFT-vs-im2col-vs-MEC sweep over kernel sizes")
    parser.add_argument("--kinds", nargs="*", choices=list(KINDS) + ["all"], metavar="KIND",
                        help="instead of the methods table and the FFT sweep, time the default "
                             "call of each kind's real-network layers against torch: "
                             + ", ".join(KINDS) + " or all (the default when none is named)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fft-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kinds-worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    kinds = None
    if args.kinds is not None:
        kinds = list(KINDS) if not args.kinds or "all" in args.kinds else list(
            dict.fromkeys(args.kinds))
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.quick)))
        return 0
    if args.kinds_worker is not None:
        print(json.dumps(kinds_worker(args.kinds_worker, kinds, args.quick)))
        return 0
    if args.fft_worker:
        print(json.dumps(fft_sweep(args.quick)))
        return 0
    env = dict(os.environ)
    if args.blas_core != "keep":          # the two overrides go together (see the docstring)
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
        if args.blas_core != "detect":
            env["OPENBLAS_CORETYPE"] = args.blas_core
    quick = ["--quick"] if args.quick else []

    def run_worker(flags, t):
        wenv = dict(env, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t),
                    MKL_NUM_THREADS=str(t), NUMBA_NUM_THREADS=str(t))
        proc = subprocess.run([sys.executable, "-m", "cnnlib.bench"] + flags + quick, env=wenv,
                              capture_output=True, text=True)
        if proc.returncode:
            print(proc.stderr, file=sys.stderr)
            return None
        return json.loads(proc.stdout.strip().splitlines()[-1])

    if kinds is not None:
        print("cnnlib's default call vs torch.nn.functional, per kind of convolution — float32,\n"
              f"batch 1 unless the layer says N=8; ms per call (median of the best of "
              f"{2 if args.quick else 16} interleaved\n"
              "rounds); /torch = time ratio; runs = the function and, for convolutions, the method\n"
              "auto picks.\n")
        summary = {}
        for t in args.threads:
            run = run_worker(["--kinds-worker", str(t), "--kinds"] + kinds, t)
            if run is None:
                return 1
            print(report_kinds(run) + "\n")
            summary[t] = (_geomean([r["times"]["cnnlib"] / r["times"]["torch"]
                                    for rows in run["kinds"].values() for r in rows]), run["blas"])
        for t, (g, blas) in summary.items():
            print(f"geometric-mean time ratio cnnlib/torch over {', '.join(kinds)} at {t} "
                  f"thread(s): {g:.2f}   (BLAS: {blas})")
        return 0
    print("cnnlib.conv2d(method=...) vs torch.nn.functional.conv2d — batch 1, float32, time per call\n"
          "(median of the best of 16 interleaved rounds);\n"
          "GFLOP/s counts FLOPs = 2 × MACs of the direct convolution; /torch = time ratio.\n")

    summary = {}
    for t in args.threads:
        run = run_worker(["--worker", str(t)], t)
        if run is None:
            return 1
        print(report(run) + "\n")
        summary[t] = (_geomean([r["times"]["auto"] / r["times"]["torch"] for r in run["results"]]),
                      run["blas"])
    if not args.no_fft:
        sweep = run_worker(["--fft-worker"], 1)
        if sweep is None:
            return 1
        print(report_fft(sweep) + "\n")
    for t, (g, blas) in summary.items():
        print(f"geometric-mean time ratio auto/torch at {t} thread(s): {g:.2f}   (BLAS: {blas})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
