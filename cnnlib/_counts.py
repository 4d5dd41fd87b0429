"""Exact multiplication counts of each convolution algorithm in cnnlib.

Explained in chapter 31 (how to accelerate convolution): the algorithms differ in how many
*general* multiplications — an input value times a weight value — they perform. Winograd and
FFT trade them for transforms (additions and multiplications by constants), which are not
counted here; they grow only linearly in the number of channels.
"""
from __future__ import annotations

import math

from ._validation import check_groups, conv_padding, ntuple, positive

METHODS = ("direct", "im2col", "mec", "winograd", "winograd_f2", "winograd_f4", "fft", "auto")


def _sizes(input_size, weight_size, stride, padding, dilation, groups):
    """Normalise the arguments of :func:`conv2d_multiplications` (2-D only)."""
    inp = ntuple(input_size, len(input_size) if isinstance(input_size, (tuple, list)) else 0,
                 "input_size") if isinstance(input_size, (tuple, list)) else None
    if inp is None or len(inp) not in (3, 4) or any(v <= 0 for v in inp):
        raise ValueError(f"input_size={input_size!r} must be (N, C_in, H, W) or (C_in, H, W) "
                         "of positive ints")
    if len(inp) == 3:
        inp = (1,) + inp
    wt = (ntuple(weight_size, 4, "weight_size")
          if isinstance(weight_size, (tuple, list)) and len(weight_size) == 4 else None)
    if wt is None or any(v <= 0 for v in wt):
        raise ValueError(f"weight_size={weight_size!r} must be (C_out, C_in/groups, kh, kw) "
                         "of positive ints")
    g = check_groups(groups)
    n, c_in, h, w = inp
    c_out, c_g, kh, kw = wt
    if c_in % g or c_out % g or c_g * g != c_in:
        raise ValueError(f"input_size={input_size!r}, weight_size={weight_size!r} and "
                         f"groups={g} do not fit: need C_in = groups · weight_size[1] and "
                         "C_out divisible by groups")
    s = positive(stride, 2, "stride")
    d = positive(dilation, 2, "dilation")
    lo, hi = conv_padding(padding, 2, (kh, kw), s, d)
    out = []
    for size, k, st, dd, pl, ph, name in zip((h, w), (kh, kw), s, d, lo, hi, ("H", "W")):
        span = size + pl + ph - dd * (k - 1) - 1
        if span < 0:
            raise ValueError(f"kernel {(kh, kw)} with dilation {d} is larger than the padded "
                             f"input along {name}")
        out.append(span // st + 1)
    return n, c_in, c_out, g, (kh, kw), s, d, (lo, hi), (h, w), tuple(out)


def conv2d_multiplications(method, input_size, weight_size, stride=1, padding=0, dilation=1,
                           groups=1):
    r"""Number of general multiplications (input × weight) that ``conv2d(..., method=method)`` does.

    Parameters
    ----------
    method : str
        ``"direct"``, ``"im2col"``, ``"mec"``, ``"winograd_f2"`` (F(2×2, 3×3)), ``"winograd_f4"``
        (F(4×4, 3×3)), ``"winograd"`` (= ``"winograd_f4"``, what ``method="winograd"`` runs),
        ``"fft"``, or ``"auto"`` (the count of the method that ``auto`` picks).
    input_size : (N, C_in, H, W) or (C_in, H, W)
        Pass ``x.shape``.
    weight_size : (C_out, C_in/groups, kh, kw)
        Pass ``weight.shape``.
    stride, padding, dilation, groups
        As in ``conv2d`` (``padding`` may be ``'same'``/``'valid'``).

    Returns
    -------
    int

    Notes
    -----
    With :math:`P = N\,H_{out}W_{out}` output pixels per channel and
    :math:`C_g = C_{in}/g`:

    * direct, im2col and MEC: :math:`C_{out}\,C_g\,k_hk_w\,P` — every tap of every output,
      padding zeros included (im2col and MEC multiply them, too). Equals ``conv_macs`` × N.
      (MEC may add the bias inside its first GEMM, :math:`C_{out}P` more products by 1, not
      counted: they are not input × weight.)
    * Winograd F(m×m, 3×3): :math:`(m+2)^2\,C_{out}\,C_g\,N\lceil H_{out}/m\rceil
      \lceil W_{out}/m\rceil` — one α×α element-wise product per tile and channel pair
      (the batched GEMMs). Ratio to direct → :math:`9m^2/(m+2)^2` = 2.25 (m=2), 4 (m=4) for
      outputs divisible by ``m``.
    * FFT: :math:`4\,C_{out}\,C'_g\,N\,T\,L_h(\lfloor L_w/2\rfloor+1)` real
      multiplications — the complex products (4 real each) at every frequency of the real FFT
      of each of the :math:`T` tiles of :math:`L_h × L_w` samples, with
      :math:`C'_g = C_g\,R` rows per group (:math:`R` stride phases, 1 for stride 1). The
      tiles, their lengths and the phases are :func:`cnnlib._fft.fft_plan`'s, the ones
      ``method="fft"`` runs.

    Transforms are not counted: Winograd's are multiplications by constants, and the FFT's
    depend on pocketfft's internal factorisation (≈ :math:`\tfrac{5}{2} L \log_2 L` real
    flops per transform of :math:`L = L_hL_w` samples, done :math:`N T (C' + C_{out})` times
    per call; the kernel spectra are computed once per weight array and kept).
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {', '.join(map(repr, METHODS))}")
    n, c_in, c_out, g, kernel, s, d, (lo, hi), (h, w), (ho, wo) = _sizes(
        input_size, weight_size, stride, padding, dilation, groups)
    c_g = c_in // g
    if method == "auto":
        from ._algorithms import choose_method
        method = choose_method(c_in, c_out, kernel, s, d, g, (ho, wo))
    if method in ("direct", "im2col", "mec"):
        return c_out * c_g * kernel[0] * kernel[1] * n * ho * wo
    if method.startswith("winograd"):
        if kernel != (3, 3) or s != (1, 1) or d != (1, 1):
            raise ValueError(f"method={method!r} needs a 3×3 kernel with stride 1 and dilation 1, "
                             f"got weight_size={tuple(weight_size)!r}, stride={stride!r}, "
                             f"dilation={dilation!r}")
        m = 2 if method == "winograd_f2" else 4
        return (m + 2) ** 2 * c_out * c_g * n * math.ceil(ho / m) * math.ceil(wo / m)
    from ._fft import fft_plan
    plan = fft_plan((h, w), kernel, s, lo, hi, d, c_in, c_out, g, n)
    return 4 * c_out * (plan.channels // g) * n * math.prod(plan.tiles) * plan.frequencies
