"""Algorithm dispatcher behind ``conv{1,2,3}d(..., method=...)`` and the ``auto`` rule.

``method="auto"`` is the default of ``conv1d``/``conv2d``/``conv3d``: like torch, which picks
its own kernel for every layer, it runs the fastest method for the layer's shape
(:func:`choose_method`); ``"direct"`` is the naive reference loop, which the chapters that teach
it ask for by name.

Every method computes exactly torch's cross-correlation and returns the batched output
``(N, C_out, *out_spatial)`` in the input's dtype:

============== ===================================================== =====================
method         algorithm                                             accepts
============== ===================================================== =====================
``direct``     numba loops (:func:`cnnlib._direct.direct`;           everything
               grouped and depthwise 1-D/2-D: :mod:`cnnlib._grouped`,
               :mod:`cnnlib._depthwise`)
``im2col``     im2col + one BLAS GEMM per group                      everything
``mec``        MEC: lowered along the width only, ``k_h`` GEMMs      1-D and 2-D
               on shifted views (:mod:`cnnlib._mec`)
``winograd``   Winograd F(4×4, 3×3) (``winograd_f2``: F(2×2, 3×3))   2-D, 3×3, stride 1,
                                                                     dilation 1
``winograd_    the kernel as stacked 3×3 pieces, one Winograd        2-D, stride 1,
split``        F(4×4, 3×3) on shifted input copies (:mod:`cnnlib.     dilation 1
               _split`)
``fft``        tiled ``numpy.fft`` (overlap-save), one batched       everything
               complex product (:mod:`cnnlib._fft`)
``dilated``    sub-grid Winograd on the ``d²`` phases, or regions    2-D, stride 1
               of valid taps (:mod:`cnnlib._dilated`)
``auto``       :func:`choose_method` (below)                         everything
============== ===================================================== =====================

Threads: every method but ``fft`` runs on numba's threads (``numba.set_num_threads``,
``NUMBA_NUM_THREADS``). ``im2col`` and ``winograd`` call BLAS from inside their parallel numba
kernels (:func:`cnnlib._blas.gemm`), one chunk of the layer per thread, with BLAS itself
single-threaded meanwhile (:func:`cnnlib._threads.blas_single_threaded`): one pool of threads,
no fight between numba's and OpenBLAS' pools.

Explained in chapter 31 (how to accelerate convolution).
"""
from __future__ import annotations

import math

from ._direct import direct

METHODS = ("direct", "im2col", "mec", "winograd", "winograd_f2", "winograd_f4", "winograd_split",
           "fft", "dilated", "auto")

# Thresholds of the auto rule, measured with ``python -m cnnlib.bench`` on the book's 2-core
# machine (float32, batch 1; the Winograd/depthwise rules with OpenBLAS' AVX2 "Haswell" kernels,
# the FFT and MEC rules with the AVX-512 "SkylakeX" kernels OpenBLAS detects there); see
# choose_method.
DIRECT_MAX_CHANNELS_PER_GROUP = 4   # grouped with C_in/g at or below this: direct (depthwise)
GROUPED_MAX_CHANNELS = 16           # 2-D grouped, kernel > 1×1, C_in/g at most this: direct
GROUPED_MAX_CHANNELS_STRIDED = 32   # ... at most this when strided (cnnlib._grouped's kernel)
WINOGRAD_MIN_CHANNELS = 16          # C_in/g and C_out/g both at least this for Winograd
WINOGRAD_MIN_OUTPUT = 16            # ... and H_out, W_out both at least this (enough tiles)
WINOGRAD_F2_MIN_CHANNELS = 128     # smaller outputs (8 ≤ H_out, W_out < 16): F(2×2, 3×3) when
WINOGRAD_F2_MIN_OUTPUT = 8          # ... C_in/g and C_out/g are at least 128
FFT_MIN_KERNEL = 7                  # stride-1 kernels with min(kh, kw) >= this: FFT when
FFT_MIN_DEPTH = 1024                # ... C_in/g·kh·kw (each output's multiplications) >= this
SPLIT_MIN_KERNEL = 4                # 2-D stride-1 kernels with 4 <= max(kh, kw) <= 6 (2×2 pieces
SPLIT_MAX_KERNEL = 6                # ... of 3×3): Winograd on the stacked pieces (rule 2c)
SPLIT_MIN_CHANNELS = 64             # ... when C_in/g is at least this
SPLIT_MIN_OUT_CHANNELS = 128        # ... and C_out/g at least this (64→64 @56: MEC faster)
MEC_MIN_ROWS_PER_STRIDE = 2.5       # 2-D kernels with kh >= this × stride_h: MEC, when
MEC_MAX_CHANNELS = 256              # ... C_out/g <= this


def choose_method(c_in, c_out, kernel, stride, dilation, groups, out_spatial,
                  subgrid=True) -> str:
    """The method ``auto`` runs for a layer (a shape-only rule; 1-, 2- or 3-D).

    1. ``groups > 1`` and ``C_in/g ≤ 4`` (depthwise and nearly depthwise): ``"direct"``. There
       is no channel sum worth a GEMM; depthwise layers (``groups = C_in``) run the dedicated
       kernel of :mod:`cnnlib._depthwise` (3×3, 128 channels @56: ≈ 0.14 ms at 1 thread and
       0.07 ms at 2, 0.5–0.7× torch's time in ``python -m cnnlib.bench``; im2col is ≈ 7×
       slower). (Not for ``groups = 1``: the RGB stem, ``C_in = 3``, is
       >10× faster through im2col + GEMM.)
    1b. 2-D grouped layers with a kernel larger than 1×1 and ``C_in/g ≤ 16`` (``≤ 32`` when
       strided): ``"direct"``, whose grouped layers run :mod:`cnnlib._grouped`'s kernel, all
       groups in one parallel loop. Measured on ResNeXt's 3×3 layers with 32 and 64 groups
       (batch 1, 1 thread): 4 channels per group @56 ≈ 10× faster than the plain loops (now
       0.5× torch), 8 @28 and 16 @14 1.2–1.4× faster than MEC, stride 2 with 8–32 per group
       1.0–1.6× faster than im2col; 32 per group @7 (stride 1) MEC stays faster. 1×1 grouped
       layers (ShuffleNet) stay on im2col: one GEMM per group on the input itself.
    2. 2-D, 3×3, stride 1, dilation 1, ``C_in/g`` and ``C_out/g ≥ 16``, ``H_out, W_out ≥ 16``:
       ``"winograd"`` (F(4×4, 3×3): 4× fewer multiplications; on 64@56 and 128@28 about 1.5–2×
       faster than im2col, 0.7–1.1× torch's time, at 1 and 2 threads).
    2b. the same kernels with ``8 ≤ H_out, W_out < 16`` and ``C_in/g, C_out/g ≥ 128``:
       ``"winograd_f2"`` (F(2×2, 3×3)). At ``H_out = 14`` a 4×4 grid of F(4×4) tiles wastes
       30 % of its work on the edge, and F(2×2) needs 16 instead of 36 transformed weights per
       filter (4.2 MB instead of 9.4 MB for 256×256 filters, read on every call). Measured 256@14: 1.9 ms vs im2col 2.6 ms (1 thread),
       ≈ 1.2–1.7 vs 1.55–1.66 ms (2 threads); 256@10: 1.35 vs 1.49 ms. Not below 128
       channels (64@8, 32@14: im2col is faster) nor at 7×7 (512@7: im2col 3.6 ms, F(2×2)
       5.3 ms — the weight transform dominates).
    2c. 2-D, stride 1, dilation 1, ``4 ≤ max(k_h, k_w) ≤ 6`` (5×5), ``C_in/g ≥ 64``,
       ``C_out/g ≥ 128`` and ``H_out, W_out ≥ 16``: ``"winograd_split"`` (:mod:`cnnlib._split`: the kernel as 2×2 stacked 3×3 pieces,
       one F(4×4, 3×3) Winograd on 4·C_in channels, 9 instead of 25 multiplications per
       output). Measured side by side with OpenBLAS' detected SkylakeX kernels: 5×5
       192→192 @28 and 64→192 @27 (AlexNet) 1.2–1.3× faster than MEC at 1 and 2 threads;
       64→64 @56 1.1–1.15× slower (thin GEMMs: 64 output channels), so it stays on MEC, as do
       narrower layers (chapter 31's 32→32); not for 7×7 (3×3 pieces, 20 multiplications per
       output: FFT measured 2× faster at 1 thread).
    2d. 2-D, stride 1, any dilation > 1: ``"dilated"`` (:mod:`cnnlib._dilated`, checked before
       rule 2: sub-grid Winograd on the ``d²`` phases, or only the valid taps when most read
       padding). DeepLab's 3×3 rate 2 on 28×28: 1.15–1.3× faster than im2col/MEC at 1 and 2
       threads (rate 4's 7×7 phases stay on im2col, see :func:`subgrid_method`); ASPP rate
       18 on 33×33 (40 % of the taps read input) 1.4–1.7× at 1 and 2 threads; rates 6 and
       12 stay on MEC (their 6×6 and 3×3 phases are too small for Winograd's tiles, and rate
       12's regions lost at 2 threads).
    3. stride 1, every kernel side ``≥ 7`` and ``C_in/g·k_h·k_w ≥ 1024``: ``"fft"`` (tiled
       overlap-save FFT, whose cost grows slowly with k while the GEMM methods' grows like k²).
       Measured at 1 thread (``cnnlib.bench.fft_sweep``): FFT faster than MEC from k = 5–7 on
       64→64 @56 and from k = 9 on 16→16 @48 (depth 1296; at 7×7, depth 784, MEC is faster);
       with 3 or 8 input channels MEC won up to 9×9, hence the depth condition. At 2 threads
       MEC gains on FFT (NumPy's FFT runs on one thread): on 16→16 @48 at 9×9 it was the
       faster one.
    3b. 2-D, ``k_h ≥ 2.5·s_h`` and ``C_out/g ≤ 256``: ``"mec"`` (lowered along the width only:
       ``k_h/s_h`` times less copying than im2col, the same multiplications in ``k_h`` GEMMs).
       Measured 1.1–1.6× faster than im2col on the RGB stem (7×7/2), 5×5 and small-channel
       3×3 layers (8→8, 16→16), at 1 and 2 threads; on a 3×3 layer with 3 input channels a
       tie at 1 thread and 12 % slower at 2 (left to MEC by the rule). Not for 3×3 stride 2 (1.5 rows per stride: im2col
       measured 5–10 % faster) nor for wide layers on small maps (512→512 @7: im2col 1.15–2.5×
       faster; the copy is cheap next to the GEMM there, and three thin GEMMs are slower).
    4. otherwise ``"im2col"`` (1×1 stride-1 kernels without padding need no copy at all: one
       GEMM on the input itself).
    """
    c_g, k_g = c_in // groups, c_out // groups
    if groups > 1 and c_g <= DIRECT_MAX_CHANNELS_PER_GROUP:
        return "direct"
    if (groups > 1 and len(kernel) == 2 and math.prod(kernel) > 1
            and c_g <= (GROUPED_MAX_CHANNELS_STRIDED if max(stride) > 1
                        else GROUPED_MAX_CHANNELS)):
        return "direct"
    if (subgrid and len(kernel) == 2 and all(s == 1 for s in stride)
            and any(d > 1 for d in dilation)):
        return "dilated"
    if (len(kernel) == 2 and tuple(kernel) == (3, 3) and all(s == 1 for s in stride)
            and all(d == 1 for d in dilation) and min(c_g, k_g) >= WINOGRAD_MIN_CHANNELS
            and min(out_spatial) >= WINOGRAD_MIN_OUTPUT):
        return "winograd"
    if (len(kernel) == 2 and tuple(kernel) == (3, 3) and all(s == 1 for s in stride)
            and all(d == 1 for d in dilation) and min(c_g, k_g) >= WINOGRAD_F2_MIN_CHANNELS
            and min(out_spatial) >= WINOGRAD_F2_MIN_OUTPUT):
        return "winograd_f2"
    if (len(kernel) == 2 and all(s == 1 for s in stride) and all(d == 1 for d in dilation)
            and SPLIT_MIN_KERNEL <= max(kernel) <= SPLIT_MAX_KERNEL
            and c_g >= SPLIT_MIN_CHANNELS and k_g >= SPLIT_MIN_OUT_CHANNELS
            and min(out_spatial) >= WINOGRAD_MIN_OUTPUT):
        return "winograd_split"
    if (all(s == 1 for s in stride) and min(kernel) >= FFT_MIN_KERNEL
            and c_g * math.prod(kernel) >= FFT_MIN_DEPTH):
        return "fft"
    if (len(kernel) == 2 and kernel[0] >= MEC_MIN_ROWS_PER_STRIDE * stride[0]
            and k_g <= MEC_MAX_CHANNELS):
        return "mec"
    return "im2col"


SUBGRID_MIN_CHANNELS = 16      # dilated 3×3: sub-grid Winograd when C_in/g, C_out/g >= this
SUBGRID_MIN_OUTPUT = 8         # ... and each phase has at least this many outputs per side
#                                (DeepLab rate 4 @28, 7×7 phases: F(4×4) 1.1–1.2× slower than
#                                im2col with OpenBLAS' SkylakeX kernels; rate 2, 14×14 phases
#                                with F(2×2): 1.15–1.3× faster, at 1 and 2 threads)
REGIONS_MAX_VALID = 0.5        # dilated: cut into regions when fewer MACs than this read input
#                                (ASPP rate 12 @33, 57 %: regions 1.1× faster at 1 thread, 1.2×
#                                slower at 2; rate 18, 40 %: 1.4–1.7× faster at both)


def subgrid_method(c_in, c_out, kernel, groups, sub_out):
    """The Winograd variant for a dilated 3×3 layer's phases (dense convolutions with
    ``sub_out`` outputs each, see :mod:`cnnlib._dilated`), or ``None`` for the dilated layer's
    own im2col/MEC. F(2×2) when a phase's side is 8–15 outputs (as rule 2b of
    :func:`choose_method`: F(4×4) tiles would waste up to 30 % on the edges and read 2.25× the
    transformed weights), F(4×4) from 16; smaller phases stay on im2col/MEC."""
    c_g, k_g = c_in // groups, c_out // groups
    if (tuple(kernel) != (3, 3) or min(c_g, k_g) < SUBGRID_MIN_CHANNELS
            or min(sub_out) < SUBGRID_MIN_OUTPUT):
        return None
    return "winograd_f2" if min(sub_out) < 16 else "winograd"


def method_for(spec, n: int) -> str:
    """:func:`choose_method` applied to a :class:`~cnnlib._validation.ConvSpec`."""
    return choose_method(spec.x.shape[1], spec.w.shape[0], spec.w.shape[2:], spec.stride,
                         spec.dilation, spec.groups, spec.out_spatial)


def run(method, spec, n: int):
    """Run convolution ``method`` on a normalised ``spec`` with ``n`` spatial dims.

    Returns the batched output ``(N, C_out, *out_spatial)`` in the input's dtype. An unknown
    method, or ``winograd*`` on a layer it cannot do, raises ``ValueError`` naming it.
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {', '.join(map(repr, METHODS))}")
    if method == "auto":
        method = method_for(spec, n)
    if method == "direct":
        return direct(spec)
    if method == "im2col":
        from ._im2col import conv_im2col
        return conv_im2col(spec, n)
    if method == "mec":
        from ._mec import conv_mec
        return conv_mec(spec, n)
    if method == "dilated":
        from ._dilated import conv_dilated
        if n != 2 or any(s != 1 for s in spec.stride):
            raise ValueError(f"method='dilated' supports only conv2d with stride 1, but it is "
                             f"{n}-D with stride={spec.stride}; use method='im2col' or 'auto'")
        return conv_dilated(spec)
    if method == "winograd_split":
        from ._split import conv_split
        if n != 2:
            raise ValueError(f"method='winograd_split' supports only conv2d, but it is {n}-D; "
                             f"use method='im2col' or 'auto'")
        return conv_split(spec)
    if method.startswith("winograd"):
        from ._winograd import conv_winograd
        return conv_winograd(spec, n, m=2 if method == "winograd_f2" else 4, name=method)
    from ._fft import conv_fft
    return conv_fft(spec, n)


def macs(spec) -> int:
    """Multiply-accumulates of the layer in ``spec`` (whole batch), for GFLOP/s figures."""
    return (spec.x.shape[0] * spec.w.shape[0] * math.prod(spec.w.shape[1:])
            * math.prod(spec.out_spatial))
