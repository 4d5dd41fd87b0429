"""The interview drill: practice problems generated without end, each with its worked solution.

``generate(kind)`` draws a layer of interview size (224, 56, 3×3, 64–512 channels …) and asks for
one number: an output size (with dilation, floor or ``ceil_mode``), a transposed convolution's
output size, a parameter count (groups, bias), MACs or FLOPs (FLOPs = 2 × MACs), the receptive
field of a stack, the depthwise-separable cost ratio, or the bytes of an activation. The answer
is computed by cnnlib's calculators (:func:`solve`), never by a second copy of a formula; the
working substitutes the numbers into the formula, step by step. ``check(problem, text)`` reads
the reader's answer ("1,024", "86.7M", "12.3 MiB", "73/576", "0.127", "12.7%", "8670万").

The book's static site has a JavaScript port of the same formulas (``book/_static/drill.js``);
``tests/browser/test_drill_page.py`` holds it against these calculators on thousands of cases.
The page is ``book/back/drill.ipynb``; the live widget is :func:`cnnlib.widgets.drill`.
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from ._checks import is_int
from ._cost import conv_macs, conv_params, separable_cost_ratio
from ._receptive import receptive_field
from ._sizes import conv_output_size, conv_transpose_output_size, pool_output_size

__all__ = ["KINDS", "Problem", "generate", "solve", "check", "parse_answer", "activation_bytes",
           "formula_cards", "DTYPE_BYTES", "torch_answer", "answer_text", "ARGS"]

#: Problem kinds, in the order the drill offers them, with a short label for menus.
KINDS = {
    "conv_output": "Conv output size",
    "pool_output": "Pooling output size",
    "transposed_output": "Transposed-conv output size",
    "params": "Conv parameters",
    "grouped_params": "Grouped-conv parameters",
    "macs": "Conv MACs",
    "flops": "Conv FLOPs",
    "receptive_field": "Receptive field of a stack",
    "separable_ratio": "Separable vs standard cost",
    "activation_memory": "Activation memory",
}

#: Bytes per element of the dtypes the memory problems use.
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}

UNITS = {"conv_output": "pixels", "pool_output": "pixels", "transposed_output": "pixels",
         "params": "parameters", "grouped_params": "parameters", "macs": "MACs",
         "flops": "FLOPs", "receptive_field": "pixels", "separable_ratio": "",
         "activation_memory": "bytes"}


class Problem(NamedTuple):
    """One drill problem.

    ``kind`` is a key of :data:`KINDS`; ``text`` the question; ``answer`` an int, or a
    :class:`fractions.Fraction` for ``separable_ratio``; ``unit`` e.g. ``"MACs"``; ``working``
    the worked solution (lines of at most 80 characters); ``args`` the layer, as the keyword
    arguments :func:`solve` takes (the JavaScript port uses the same names).
    """

    kind: str
    text: str
    answer: Any
    unit: str
    working: str
    args: dict


# ----------------------------------------------------------------------------- the answers
def activation_bytes(shape, dtype="float32") -> int:
    """Bytes of a dense tensor of ``shape`` and ``dtype``: the product of the shape times the
    element size (:data:`DTYPE_BYTES`). Chapter 23 (activation memory)."""
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"dtype={dtype!r} is not one of {sorted(DTYPE_BYTES)}")
    if not (isinstance(shape, (tuple, list)) and shape and all(is_int(n) and n >= 1 for n in shape)):
        raise ValueError(f"shape={shape!r} must be a non-empty tuple of positive ints")
    out = DTYPE_BYTES[dtype]
    for n in shape:
        out *= int(n)
    return out


#: The keys of ``args`` that :func:`solve` and :func:`torch_answer` read, by kind.
ARGS = {
    "conv_output": ("in_size", "kernel_size", "stride", "padding", "dilation"),
    "pool_output": ("in_size", "kernel_size", "stride", "padding", "ceil_mode"),
    "transposed_output": ("in_size", "kernel_size", "stride", "padding", "output_padding",
                          "dilation"),
    "params": ("in_channels", "out_channels", "kernel_size", "groups", "bias"),
    "grouped_params": ("in_channels", "out_channels", "kernel_size", "groups", "bias"),
    "macs": ("in_channels", "out_channels", "kernel_size", "in_size", "stride", "padding",
             "groups"),
    "flops": ("in_channels", "out_channels", "kernel_size", "in_size", "stride", "padding",
              "groups"),
    "receptive_field": ("layers",),
    "separable_ratio": ("in_channels", "out_channels", "kernel_size"),
    "activation_memory": ("batch", "in_channels", "out_channels", "kernel_size", "in_size",
                          "stride", "padding", "dtype"),
}


def _check_args(kind, args):
    _check_kind(kind)
    if not isinstance(args, dict):
        raise TypeError(f"args={args!r} must be a dict of the layer's arguments")
    missing = [k for k in ARGS[kind] if k not in args]
    unknown = [k for k in args if k not in ARGS[kind]]
    if missing or unknown:
        raise ValueError(f"args for kind={kind!r} must have exactly the keys {list(ARGS[kind])}"
                         + (f"; missing {missing}" if missing else "")
                         + (f"; unknown {unknown}" if unknown else ""))


def _layer_out(a):
    return conv_output_size(a["in_size"], a["kernel_size"], a["stride"], a["padding"])


def solve(kind: str, args: dict):
    """The answer to a problem of ``kind`` about the layer ``args``, by cnnlib's calculators.

    ``args`` holds, by kind: ``conv_output`` — ``in_size, kernel_size, stride, padding,
    dilation``; ``pool_output`` — ``in_size, kernel_size, stride, padding, ceil_mode``;
    ``transposed_output`` — ``in_size, kernel_size, stride, padding, output_padding, dilation``;
    ``params``/``grouped_params`` — ``in_channels, out_channels, kernel_size, groups, bias``;
    ``macs``/``flops`` — ``in_channels, out_channels, kernel_size, in_size, stride, padding,
    groups``; ``receptive_field`` — ``layers`` (a list of ``[k, s, p, d]``);
    ``separable_ratio`` — ``in_channels, out_channels, kernel_size``; ``activation_memory`` —
    ``batch, in_channels, out_channels, kernel_size, in_size, stride, padding, dtype``
    (:data:`ARGS`). Missing or unknown keys raise ValueError; values the calculators refuse,
    their ValueError or TypeError.
    """
    _check_args(kind, args)
    a = args
    if kind == "conv_output":
        return conv_output_size(a["in_size"], a["kernel_size"], a["stride"], a["padding"],
                                a["dilation"])
    if kind == "pool_output":
        return pool_output_size(a["in_size"], a["kernel_size"], a["stride"], a["padding"],
                                ceil_mode=a["ceil_mode"])
    if kind == "transposed_output":
        return conv_transpose_output_size(a["in_size"], a["kernel_size"], a["stride"],
                                          a["padding"], a["output_padding"], a["dilation"])
    if kind in ("params", "grouped_params"):
        return conv_params(a["in_channels"], a["out_channels"], a["kernel_size"], a["groups"],
                           a["bias"])
    if kind in ("macs", "flops"):
        macs = conv_macs(a["in_channels"], a["out_channels"], a["kernel_size"], _layer_out(a),
                         a["groups"])
        return macs if kind == "macs" else 2 * macs
    if kind == "receptive_field":
        return receptive_field([tuple(layer) for layer in a["layers"]])[-1].size
    if kind == "separable_ratio":
        return separable_cost_ratio(a["out_channels"], a["kernel_size"])
    # activation_memory: the conv layer's output, (N, C_out, H_out, W_out)
    h = _layer_out(a)
    return activation_bytes((a["batch"], a["out_channels"], h, h), a["dtype"])


# ----------------------------------------------------------------------------- generating
SIZES = [7, 14, 28, 32, 56, 64, 112, 128, 224, 227, 256, 299, 13, 27, 55, 17, 35, 75, 149]
CHANNELS = [16, 32, 64, 96, 128, 192, 256, 384, 512]


def _rng(rng):
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if is_int(rng) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng={rng!r} must be None, a non-negative int seed or a numpy Generator")


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _draw(kind, rng) -> dict:
    """Layer arguments for ``kind``, interview-sized; may be invalid (the caller redraws)."""
    pick = lambda seq: _pick(rng, seq)  # noqa: E731
    if kind == "conv_output":
        k = pick([1, 3, 3, 3, 5, 7, 11])
        d = pick([1, 1, 1, 2, 3, 4]) if k > 1 else 1
        return dict(in_size=pick(SIZES), kernel_size=k, stride=pick([1, 2, 2, 3, 4]),
                    padding=pick([0, k // 2, k // 2, d * (k - 1) // 2]), dilation=d)
    if kind == "pool_output":
        k = pick([2, 2, 3, 3, 3, 5])
        return dict(in_size=pick(SIZES), kernel_size=k, stride=pick([None, 1, 2, 2]),
                    padding=pick([0, 0, k // 2]), ceil_mode=bool(pick([True, False])))
    if kind == "transposed_output":
        k, s = pick([2, 3, 4, 4, 5]), pick([1, 2, 2, 2, 4])
        d = pick([1, 1, 1, 2])
        return dict(in_size=pick([7, 8, 14, 16, 28, 32, 56, 64]), kernel_size=k, stride=s,
                    padding=pick([0, 1, (k - 1) // 2]),
                    output_padding=pick([0, 0, 1]) if max(s, d) > 1 else 0, dilation=d)
    if kind in ("params", "grouped_params"):
        c_in, c_out = pick([3] + CHANNELS) if kind == "params" else pick(CHANNELS), pick(CHANNELS)
        g = 1
        if kind == "grouped_params":
            g = pick([2, 4, 8, 32, c_in, c_in])            # c_in: depthwise
            c_out = c_in * pick([1, 1, 2]) if g == c_in else c_out
        k = pick([1, 3, 3, 5, 7])
        k = 3 if g == c_in and k == 1 else k                # no 1×1 depthwise
        return dict(in_channels=c_in, out_channels=c_out, kernel_size=k, groups=g,
                    bias=bool(pick([True, False])))
    if kind in ("macs", "flops", "activation_memory"):
        k = pick([1, 3, 3, 3, 5, 7])
        c_in = pick([3] + CHANNELS)
        a = dict(in_channels=c_in, out_channels=pick(CHANNELS), kernel_size=k,
                 in_size=pick([7, 14, 28, 56, 112, 224]), stride=pick([1, 1, 2]),
                 padding=pick([k // 2, k // 2, 0]))
        if kind == "activation_memory":
            a.update(batch=pick([1, 8, 16, 32, 64, 128, 256]),
                     dtype=pick(["float32", "float32", "float16", "bfloat16", "int8"]))
        else:
            a["groups"] = pick([1, 1, 1, c_in]) if c_in > 3 and k > 1 else 1
            if a["groups"] > 1:
                a["out_channels"] = c_in
        return a
    if kind == "receptive_field":
        layers = []
        for _ in range(int(rng.integers(2, 6))):
            k = pick([1, 2, 3, 3, 3, 5, 7])
            s = pick([1, 1, 2]) if k > 1 else pick([1, 2])
            d = pick([1, 1, 1, 2, 4]) if k > 2 else 1
            layers.append([k, s, d * (k - 1) // 2, d])
        return dict(layers=layers)
    if kind == "separable_ratio":
        return dict(in_channels=pick(CHANNELS), out_channels=pick(CHANNELS + [1024]),
                    kernel_size=pick([3, 3, 5, 7]))
    raise AssertionError(kind)


def generate(kind=None, rng=None) -> Problem:
    """A new problem of ``kind`` (a key of :data:`KINDS`; ``None``: any kind, drawn at random).

    ``rng``: ``None`` (fresh entropy), an int seed or a ``numpy.random.Generator``.
    """
    rng = _rng(rng)
    if kind is None:
        kind = _pick(rng, list(KINDS))
    _check_kind(kind)
    for _ in range(1000):
        args = _draw(kind, rng)
        try:
            answer = solve(kind, args)
        except ValueError:          # e.g. a dilated kernel larger than the padded input
            continue
        text, working = _TEXT[kind](args, answer)
        return Problem(kind, text, answer, UNITS[kind], working, args)
    raise RuntimeError(f"no valid {kind} problem drawn in 1000 tries")


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not one of {list(KINDS)}")


# ----------------------------------------------------------------------------- texts
def fmt(n) -> str:
    """``86704128`` → ``'86,704,128'``."""
    return f"{n:,}"


def _precision3(x) -> str:
    """``x`` to 3 significant digits as JavaScript's ``x.toPrecision(3)`` writes it for
    1e-6 ≤ x < 1000: the exact binary value rounded, ties away from zero (Python's format
    rounds ties to even: 12.25 → '12.2', JavaScript '12.3'), trailing zeros kept."""
    d = Decimal(x)
    q = d.quantize(Decimal(1).scaleb(d.adjusted() - 2), rounding=ROUND_HALF_UP)
    return format(q, "f")


def _sig3(x) -> str:
    """``x`` to 3 significant digits, trailing zeros dropped: ``69.2224`` → ``'69.2'`` (the
    JavaScript port's ``String(Number(x.toPrecision(3)))``)."""
    return f"{float(_precision3(x)):g}"


def _approx(n) -> str:
    """A large count in words an interview uses: ``86,704,128`` → ``'86.7 M'``."""
    for div, unit in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if n >= div:
            return f"{_sig3(n / div)} {unit}"
    return str(n)


def _a(n, capital=False) -> str:
    """The article before a number read aloud: "an 8×8", "an 11×11", "a 112×112"."""
    word = "an" if str(n).startswith("8") or n in (11, 18) else "a"
    return word.capitalize() if capital else word


def _conv_text(a, answer):
    k, s, p, d, n = a["kernel_size"], a["stride"], a["padding"], a["dilation"], a["in_size"]
    opts = f"stride {s}, padding {p}" + (f", dilation {d}" if d > 1 else "")
    text = (f"{_a(k, True)} {k}×{k} convolution ({opts}) is applied to {_a(n)} {n}×{n} "
            "feature map. "
            "What is the output height (= width)?")
    span = n + 2 * p - d * (k - 1) - 1
    work = ["H_out = ⌊(H_in + 2p − d(k−1) − 1) / s⌋ + 1",
            f"      = ⌊({n} + 2·{p} − {d}·({k}−1) − 1) / {s}⌋ + 1",
            f"      = ⌊{span} / {s}⌋ + 1 = {span // s} + 1 = {answer}"]
    if d > 1:
        work.append(f"(the dilated kernel spans d(k−1)+1 = {d * (k - 1) + 1} pixels)")
    return text, "\n".join(work)


def _pool_text(a, answer):
    k, s, p, n, ceil = a["kernel_size"], a["stride"], a["padding"], a["in_size"], a["ceil_mode"]
    stride = "stride left at its default" if s is None else f"stride {s}"
    s = k if s is None else s
    text = (f"{_a(k, True)} {k}×{k} max-pool ({stride}, padding {p}, ceil_mode={ceil}) is "
            f"applied to {_a(n)} {n}×{n} feature map. What is the output height (= width)?")
    span = n + 2 * p - (k - 1) - 1
    lo, hi = ("⌈", "⌉") if ceil else ("⌊", "⌋")
    q = -(-span // s) if ceil else span // s
    work = [f"H_out = {lo}(H_in + 2p − k) / s{hi} + 1" + ("   (ceil_mode)" if ceil else ""),
            f"      = {lo}({n} + 2·{p} − {k}) / {s}{hi} + 1",
            f"      = {lo}{span} / {s}{hi} + 1 = {q} + 1 = {q + 1}"]
    if a["stride"] is None:
        work.insert(0, f"(stride not given: torch's default is the kernel size, s = {k})")
    if ceil and q + 1 != answer:
        work += [f"but the last window would start at {q}·{s} = {q * s} ≥ H_in + p = {n + p},",
                 f"in the padding: torch drops it → {answer}"]
    elif ceil and answer != n and (n + 2 * p - k) % s:
        work.append(f"(with floor it would be {(n + 2 * p - k) // s + 1}: ceil keeps the "
                    "partial last window)")
    return text, "\n".join(work)


def _transposed_text(a, answer):
    n, k, s, p = a["in_size"], a["kernel_size"], a["stride"], a["padding"]
    op, d = a["output_padding"], a["dilation"]
    opts = f"stride {s}, padding {p}, output_padding {op}" + (f", dilation {d}" if d > 1 else "")
    text = (f"{_a(k, True)} {k}×{k} transposed convolution ({opts}) is applied to {_a(n)} "
            f"{n}×{n} feature map. What is the output height (= width)?")
    work = ["H_out = (H_in − 1)·s − 2p + d(k−1) + output_padding + 1",
            f"      = ({n} − 1)·{s} − 2·{p} + {d}·({k}−1) + {op} + 1",
            f"      = {(n - 1) * s} − {2 * p} + {d * (k - 1)} + {op} + 1 = {answer}"]
    return text, "\n".join(work)


def _params_text(a, answer):
    c_in, c_out, k, g, b = (a["in_channels"], a["out_channels"], a["kernel_size"], a["groups"],
                            a["bias"])
    layer = f"Conv2d({c_in}, {c_out}, kernel_size={k}" + (f", groups={g}" if g > 1 else "")
    layer += f", bias={b})"
    text = f"How many learnable parameters does {layer} have?"
    bias_term = f" + {c_out}" if b else ""
    work = ["P = C_out · (C_in / g) · k·k" + (" + C_out (bias)" if b else "   (no bias)"),
            f"  = {c_out} · ({c_in} / {g}) · {k}·{k}{bias_term}",
            "  = " + (f"{fmt(c_out * (c_in // g) * k * k)}{bias_term} = " if b else "")
            + fmt(answer)]
    if g == c_in and g > 1:
        work.append("(groups = C_in: a depthwise convolution, one k×k filter per channel"
                    + (f", ×{c_out // c_in}" if c_out > c_in else "") + ")")
    return text, "\n".join(work)


def _macs_text(a, answer, flops=False):
    c_in, c_out, k, g = a["in_channels"], a["out_channels"], a["kernel_size"], a["groups"]
    n, s, p = a["in_size"], a["stride"], a["padding"]
    h = _layer_out(a)
    layer = (f"Conv2d({c_in}, {c_out}, {k}, stride={s}, padding={p}"
             + (f", groups={g}" if g > 1 else "") + ")")
    what = "FLOPs (FLOPs = 2 × MACs)" if flops else "multiply-accumulates (MACs)"
    text = f"{layer} on a 1×{c_in}×{n}×{n} input: how many {what}? Bias not counted."
    macs = answer // 2 if flops else answer
    work = [f"H_out = ⌊({n} + 2·{p} − {k}) / {s}⌋ + 1 = {h}",
            "MACs = C_out · H_out · W_out · (C_in / g) · k·k",
            f"     = {c_out} · {h}·{h} · ({c_in} / {g}) · {k}·{k} = {fmt(macs)}"]
    if flops:
        work.append(f"FLOPs = 2 · MACs = {fmt(answer)}  (≈ {_approx(answer)})")
    else:
        work.append(f"      ≈ {_approx(answer)} MACs = {_approx(2 * answer)} FLOPs")
    return text, "\n".join(work)


def _rf_text(a, answer):
    names = []
    for k, s, p, d in a["layers"]:
        name = f"{k}×{k} s{s}" + (f" p{p}" if p else "") + (f" d{d}" if d > 1 else "")
        names.append(name)
    text = ("Receptive field (in input pixels) of one output of this stack of convolutions "
            f"(k×k, stride s, padding p, dilation d): {', then '.join(names)}?")
    work = ["r_l = r_(l−1) + (k−1)·d·j_(l−1),  j_l = j_(l−1)·s,  r_0 = j_0 = 1"]
    r, j = 1, 1
    for i, (k, s, _p, d) in enumerate(a["layers"], 1):
        new_r = r + (k - 1) * d * j
        work.append(f"layer {i}: r = {r} + {k - 1}·{d}·{j} = {new_r},  j = {j}·{s} = {j * s}")
        r, j = new_r, j * s
    work.append(f"receptive field = {answer}  (padding does not change it)")
    return text, "\n".join(work)


def _ratio_text(a, answer):
    c_in, c_out, k = a["in_channels"], a["out_channels"], a["kernel_size"]
    text = (f"A standard {k}×{k} convolution {c_in} → {c_out} channels is replaced by a "
            f"depthwise-separable one ({k}×{k} depthwise, then 1×1 pointwise), same output size. "
            "Separable MACs ÷ standard MACs? (a fraction, or 3 significant digits)")
    work = ["ratio = HW·C_in·(k·k + C_out) / (HW·C_in·C_out·k·k) = 1/C_out + 1/k²",
            f"      = 1/{c_out} + 1/{k * k} = {answer.numerator}/{answer.denominator}"
            f" ≈ {_precision3(answer.numerator / answer.denominator)}",
            f"(not 1/k² = {_precision3(1 / (k * k))}: that forgets the pointwise part)"]
    return text, "\n".join(work)


def _memory_text(a, answer):
    c_in, c_out, k, n, s, p = (a["in_channels"], a["out_channels"], a["kernel_size"],
                               a["in_size"], a["stride"], a["padding"])
    b, dt = a["batch"], a["dtype"]
    h = _layer_out(a)
    article = "an" if dt.startswith("int") else "a"
    text = (f"Conv2d({c_in}, {c_out}, {k}, stride={s}, padding={p}) runs on {article} {dt} "
            f"batch of shape {b}×{c_in}×{n}×{n}. How many bytes does its output take?")
    work = [f"H_out = ⌊({n} + 2·{p} − {k}) / {s}⌋ + 1 = {h}",
            "bytes = N · C_out · H_out · W_out · (bytes per element)",
            f"      = {b} · {c_out} · {h}·{h} · {DTYPE_BYTES[dt]}   ({dt})",
            f"      = {fmt(answer)}"]
    if answer >= 10**5:
        work[-1] += f"  ≈ {_sig3(answer / 1e6)} MB = {_sig3(answer / 2**20)} MiB"
    return text, "\n".join(work)


_TEXT = {"conv_output": _conv_text, "pool_output": _pool_text,
         "transposed_output": _transposed_text, "params": _params_text,
         "grouped_params": _params_text, "macs": _macs_text,
         "flops": lambda a, ans: _macs_text(a, ans, flops=True),
         "receptive_field": _rf_text, "separable_ratio": _ratio_text,
         "activation_memory": _memory_text}


# ----------------------------------------------------------------------------- checking
_MULTIPLIERS = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
                "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "万": 10**4, "亿": 10**8,
                "thousand": 10**3, "million": 10**6, "billion": 10**9}
_NUMBER = re.compile(r"^(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?:[eE](?P<exp>[+-]?[0-9]{1,3}))?"
                     r" *(?P<pct>%)? *(?P<mult>Ki|Mi|Gi|thousand|million|billion|[kKMGT万亿])?"
                     r"(?:i?B)? *"
                     r"(?P<unit>[Bb]ytes?|MACs?|macs?|FLOPs?|flops?|[Pp]arams|[Pp]arameters"
                     r"|[Pp]ixels?|px)?$")
_FRACTION = re.compile(r"^(?P<num>[0-9]+) */ *(?P<den>[0-9]+)$")
_SEPARATORS = re.compile("([0-9])[ ,_'\u00a0\u2009\u202f](?=[0-9]{3})")
SAFE = 2**53        # beyond this the JavaScript port's doubles stop being exact: both refuse


class Parsed(NamedTuple):
    """A number as typed: ``value = mantissa · mult · 10**exp`` (``exp`` may be negative), or a
    fraction ``mantissa / den`` (``exp = 0``, ``mult = 1``). ``rounded``: the form states a
    rounded value (decimals with a multiplier, an exponent or a percent); ``digits``: its
    significant digits."""

    mantissa: int
    den: int
    exp: int
    mult: int
    digits: int
    rounded: bool
    decimal_point: bool


def parse_answer(text: str) -> Parsed:
    """Read an answer: ``"1,024"``, ``"1024"``, ``"86.7M"``, ``"3.06 MiB"``, ``"8.67e7"``,
    ``"73/576"``, ``"0.127"``, ``"12.7%"``, ``"8670万"``, ``"86.7 million"``; a trailing unit
    word (bytes, MACs, FLOPs, params, pixels, px) is ignored. Raises ValueError if it is not
    such a number."""
    if not isinstance(text, str):
        raise TypeError(f"answer_text={text!r} must be a str")
    s = _SEPARATORS.sub(r"\1", text.strip().replace("，", ","))
    m = _FRACTION.match(s)
    if m:
        num, den = int(m["num"]), int(m["den"])
        if den == 0:
            raise ValueError(f"answer_text={text!r}: division by zero")
        return Parsed(num, den, 0, 1, len(str(num)), False, False)
    m = _NUMBER.match(s)
    if not m or not (m["int"] or m["frac"]):
        raise ValueError(f"answer_text={text!r} is not a number such as 1024, 1,024, 86.7M, "
                         "73/576 or 0.127")
    digits = (m["int"] or "") + (m["frac"] or "")
    exp = (int(m["exp"]) if m["exp"] else 0) - len(m["frac"] or "") - (2 if m["pct"] else 0)
    mult = _MULTIPLIERS[m["mult"] or ""]
    significant = len(digits.lstrip("0")) or 1
    rounded = bool(m["mult"] or m["exp"] or m["pct"])
    return Parsed(int(digits), 1, exp, mult, significant, rounded, m["frac"] is not None)


def check(problem: Problem, answer_text: str) -> bool:
    """Is ``answer_text`` a right answer to ``problem``?

    Exact values are always right ("86,704,128", "86704128 MACs", "73/576"). A rounded form is
    right if the answer rounds to it: for counts, with a multiplier or an exponent and at least
    2 significant digits ("86.7M", "87M", "8.67e7", "82.7 MiB"; "90M" is wrong: 1 digit); for the
    ratio, a decimal or percent with at least 3 significant digits ("0.127", "12.7%").
    Multipliers: k/K, M, G, T, thousand, million, billion, 万, 亿 are powers of 10 (so "MB" is
    10⁶ bytes), Ki, Mi, Gi powers of 2 ("MiB" is 2²⁰ bytes). An unreadable answer is wrong.
    The JavaScript port implements the same rule (``window.cnnDrill.check``), and the browser
    test compares them.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"problem={problem!r} must be a Problem (from generate)")
    try:
        a = parse_answer(answer_text)
    except ValueError:
        return False
    return _accepts(problem.answer, a)


def _accepts(answer, a: Parsed) -> bool:
    ans = Fraction(answer)
    p, q = ans.numerator, ans.denominator
    if a.den != 1:                                      # a fraction: exact only
        return a.mantissa * q == p * a.den
    # value = M·m·10^t; compare M·m·q with p·10^(−t) (both integers), within half a unit
    t = a.exp
    left = a.mantissa * a.mult * q * 10**max(t, 0)      # value · q · 10^max(−t, 0)
    right = p * 10**max(-t, 0)                          # answer · q · 10^max(−t, 0)
    unit = a.mult * q * 10**max(t, 0)                   # one unit of the last digit, scaled
    if max(a.mantissa, left, right, unit) >= SAFE:
        return False
    if left == right:
        return True
    rounded = a.rounded or (q != 1 and a.decimal_point)
    need = 3 if q != 1 else 2
    return rounded and a.digits >= need and 2 * abs(left - right) <= unit


def answer_text(problem: Problem) -> str:
    """The answer as the drill shows it: ``'86,704,128 FLOPs'``, or ``'73/576 ≈ 0.127'`` for a
    ratio (the JavaScript port's ``answerText``)."""
    if not isinstance(problem, Problem):
        raise TypeError(f"problem={problem!r} must be a Problem (from generate)")
    ans = problem.answer
    if isinstance(ans, Fraction):
        approx = _precision3(ans.numerator / ans.denominator)
        return f"{ans.numerator}/{ans.denominator} ≈ {approx}"
    return fmt(ans) + (f" {problem.unit}" if problem.unit else "")


# ----------------------------------------------------------------------------- formula cards
_CARDS = [
    ("drill-conv-output-size", "Output size of a convolution (卷积输出尺寸): kernel k, stride s, "
     "padding p, dilation d?",
     r"\( H_{out} = \left\lfloor \frac{H_{in} + 2p - d(k-1) - 1}{s} \right\rfloor + 1 \)"
     "<br>Floor: a window that does not fit is dropped. Example: 224, k=7, s=2, p=3 → 112.",
     "book/ch23_output_size_params_flops"),
    ("drill-pool-output-size", "Output size of a pooling layer with <code>ceil_mode</code> "
     "(池化输出尺寸)?",
     r"\( H_{out} = \left\lceil \frac{H_{in} + 2p - k}{s} \right\rceil + 1 \) with "
     r"<code>ceil_mode=True</code> (floor otherwise), but a last window that would start in the "
     r"right padding (\( (H_{out}-1)s \ge H_{in} + p \)) is dropped. Default stride = k.",
     "book/b01_pooling_zoo"),
    ("drill-conv-transpose-output-size", "Output size of a transposed convolution "
     "(转置卷积输出尺寸)?",
     r"\( H_{out} = (H_{in}-1)s - 2p + d(k-1) + \text{output\_padding} + 1 \)"
     "<br>output_padding (&lt; s or &lt; d) picks one of the s input sizes that a stride-s "
     "convolution maps to the same size.",
     "book/ch32_upsampling"),
    ("drill-conv-params", "Parameters of <code>Conv2d(C_in, C_out, k, groups=g, bias)</code> "
     "(参数量)?",
     r"\( P = C_{out} \cdot \frac{C_{in}}{g} \cdot k^2 \; (+\, C_{out} \text{ with bias}) \)"
     "<br>Depthwise (g = C_in): C_in·k² (+ C_in). Independent of the input size.",
     "book/ch19_grouped_convolution"),
    ("drill-conv-macs", "Multiply-accumulates (MACs) and FLOPs of a convolution (计算量)?",
     r"\( \text{MACs} = C_{out} H_{out} W_{out} \cdot \frac{C_{in}}{g} \cdot k^2 \), "
     r"\( \text{FLOPs} = 2 \times \text{MACs} \)"
     "<br>Per input image; bias, BN and ReLU not counted (FlopCounterMode's convention).",
     "book/ch23_output_size_params_flops"),
    ("drill-receptive-field", "Receptive field of a stack of layers (感受野)?",
     r"\( r_l = r_{l-1} + (k_l - 1)\,d_l\,j_{l-1} \), \( j_l = j_{l-1} s_l \), "
     r"\( r_0 = j_0 = 1 \)<br>j is the product of <em>all earlier</em> strides; "
     "padding does not change the size.",
     "book/ch33_receptive_field"),
    ("drill-separable-ratio", "Depthwise-separable vs standard convolution: cost ratio "
     "(深度可分离卷积计算量之比)?",
     r"\( \frac{C_{in}HW(k^2 + C_{out})}{C_{in}HW k^2 C_{out}} = \frac{1}{C_{out}} + "
     r"\frac{1}{k^2} \)<br>Not 1/k²: the pointwise 1×1 part costs the most.",
     "book/ch21_separable_cost"),
    ("drill-activation-memory", "Memory of an activation tensor (激活值内存)?",
     r"\( \text{bytes} = N \cdot C \cdot H \cdot W \cdot b \), b = 4 (float32), 2 (float16, "
     "bfloat16), 1 (int8)<br>Grows with the batch size, unlike the parameters; "
     r"1 MiB = \( 2^{20} \) bytes.",
     "book/ch23_output_size_params_flops"),
]


def formula_cards() -> list[dict]:
    """One card per formula the drill uses: dicts with ``id`` (a stable slug), ``front``,
    ``back`` (HTML, math in ``\\( \\)``) and ``chapter`` (the docname that explains it)."""
    return [dict(id=i, front=f, back=b, chapter=c) for i, f, b, c in _CARDS]


# ----------------------------------------------------------------------------- the oracle
def torch_answer(kind: str, args: dict):
    """The answer as **torch** gives it, computing nothing itself: the layer is built in torch
    and run (on the ``meta`` device, shapes only, where torch supports it), and the number read
    from the result — an output shape, ``numel`` of the parameters, ``FlopCounterMode``'s count
    (:func:`cnnlib.measure.torch_counts`), the bytes of a tensor of the output's shape, the span
    of nonzero input gradient of one output (receptive field), or the ratio of two FlopCounterMode
    counts. The page and ``tests/test_drill.py`` hold :func:`solve` against it. Imports torch.
    """
    import torch
    from torch import nn

    from .measure import torch_counts

    _check_args(kind, args)
    a = args
    meta = torch.device("meta")
    if kind == "conv_output":
        conv = nn.Conv2d(1, 1, a["kernel_size"], a["stride"], a["padding"], a["dilation"],
                         device=meta)
        return conv(torch.empty(1, 1, a["in_size"], a["in_size"], device=meta)).shape[-1]
    if kind == "pool_output":
        pool = nn.MaxPool2d(a["kernel_size"], a["stride"], a["padding"], ceil_mode=a["ceil_mode"])
        return pool(torch.zeros(1, 1, a["in_size"], a["in_size"])).shape[-1]
    if kind == "transposed_output":
        conv = nn.ConvTranspose2d(1, 1, a["kernel_size"], a["stride"], a["padding"],
                                  a["output_padding"], dilation=a["dilation"], device=meta)
        return conv(torch.empty(1, 1, a["in_size"], a["in_size"], device=meta)).shape[-1]
    if kind in ("params", "grouped_params"):
        conv = nn.Conv2d(a["in_channels"], a["out_channels"], a["kernel_size"],
                         groups=a["groups"], bias=a["bias"], device=meta)
        return sum(p.numel() for p in conv.parameters())
    if kind in ("macs", "flops", "activation_memory"):
        with meta:
            conv = nn.Conv2d(a["in_channels"], a["out_channels"], a["kernel_size"], a["stride"],
                             a["padding"], groups=a.get("groups", 1))
        batch = a.get("batch", 1)
        counts = torch_counts(conv, (batch, a["in_channels"], a["in_size"], a["in_size"]))
        if kind == "activation_memory":
            dtype = getattr(torch, a["dtype"])
            return torch.empty(counts.output_shape, dtype=dtype, device=meta).nbytes
        return counts.macs if kind == "macs" else counts.flops
    if kind == "receptive_field":
        # 1-D stack of ones-kernels (positive weights: no cancellation); the receptive field is
        # the span of input pixels with a nonzero gradient of one output far from the borders
        layers = [nn.Conv1d(1, 1, k, s, p, d, bias=False) for k, s, p, d in a["layers"]]
        for layer in layers:
            nn.init.ones_(layer.weight)
        x = torch.zeros(1, 1, 4096, dtype=torch.float64, requires_grad=True)
        y = nn.Sequential(*layers).double()(x)
        y[0, 0, y.shape[-1] // 2].backward()
        seen = torch.nonzero(x.grad[0, 0]).flatten()
        return int(seen[-1] - seen[0] + 1)
    # separable_ratio: FlopCounterMode's MACs of depthwise + pointwise over those of the
    # standard convolution, on a 14×14 map (the ratio does not depend on it)
    c_in, c_out, k = a["in_channels"], a["out_channels"], a["kernel_size"]
    with meta:
        standard = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)
        separable = nn.Sequential(nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in,
                                            bias=False),
                                  nn.Conv2d(c_in, c_out, 1, bias=False))
    shape = (1, c_in, 14, 14)
    return Fraction(torch_counts(separable, shape).macs, torch_counts(standard, shape).macs)
