"""Theoretical receptive field of a stack of convolution/pooling layers: the recursion.

Explained in chapter 33 (receptive field); used by chapters 1, 7, 17, 29 and by :func:`summary`.

For layer :math:`l` with kernel :math:`k_l`, stride :math:`s_l`, padding :math:`p_l` and dilation
:math:`d_l`, with :math:`r_0 = 1`, :math:`j_0 = 1`, :math:`\\text{start}_0 = 0` (the centre of
input pixel 0 is at coordinate 0):

.. math::

    r_l = r_{l-1} + (k_l - 1)\\,d_l\\,j_{l-1}, \\qquad j_l = j_{l-1}\\,s_l, \\qquad
    \\text{start}_l = \\text{start}_{l-1} + \\Big(\\frac{(k_l - 1)d_l}{2} - p_l\\Big) j_{l-1}.

:math:`j_l` (the *jump*) is the distance in input pixels between two neighbouring outputs of
layer :math:`l` — the product of **all** strides so far, not the current stride alone — and output
:math:`i` of layer :math:`l` sees the input pixels
:math:`\\text{start}_l + i j_l \\pm (r_l - 1)/2` (some of which may lie in the padding).

This module is the recursion. A torch model is first turned into a graph of layer operations by
:mod:`cnnlib._trace` (``torch.fx``); :func:`model_fields` runs the recursion over that graph.
The independent check, :func:`receptive_field_by_gradient`, lives in :mod:`cnnlib._rf_gradient`.
``import cnnlib`` does not import torch: torch is only touched when a torch model is passed in.
"""
from __future__ import annotations

import math
import sys
from fractions import Fraction
from typing import Any, NamedTuple

from ._checks import is_int
from ._rf_gradient import GradientField, receptive_field_by_gradient
from ._trace import module_ndim, trace

__all__ = ["receptive_field", "model_fields", "FieldRecord",
           # the gradient check, re-exported from cnnlib._rf_gradient
           "receptive_field_by_gradient", "GradientField"]


class _FieldRecordBase(NamedTuple):
    name: str
    kind: str
    kernel_size: Any
    stride: Any
    padding: Any
    dilation: Any
    size: Any
    jump: Any
    start: Any


class FieldRecord(_FieldRecordBase):
    """Receptive field after one layer (one record per layer, in execution order).

    Every geometric field is an int for 1-D stacks given as plain ints, and a tuple with one
    entry per spatial dim otherwise (see :func:`receptive_field`). ``start`` is an int, or a
    float ending in ``.5`` when the field has an even size (an even kernel). For records of
    merge nodes of a traced model (``kind`` ``'add'``, ``'cat'``, ``'mul'`` …) and of
    upsampling (``Upsample``, ``interpolate``) the layer fields
    ``kernel_size``/``stride``/``padding``/``dilation`` are ``None``.

    After an upsampling layer the ``jump`` is a :class:`fractions.Fraction` (``1/2`` input
    pixel between neighbouring outputs after a ×2 upsampling); it is an ``int`` whenever it is
    integral. The field may then depend on the output position (e.g. a 3×3 conv after a
    ``k = s = 2`` transposed conv sees 7 or 11 pixels by position): ``size`` is then the
    **envelope**, the maximum size over output positions, ``start`` is the centre of output 0's
    field, and :meth:`bounds` gives the exact per-position field.
    """

    def bounds(self, index=0):
        """First and last input coordinate seen by output ``index`` (unclipped: may be < 0 or
        beyond the input, i.e. in the padding). Ints, or per-dim tuples like the record. Exact
        also where the field depends on the position (after upsampling)."""
        phases = getattr(self, "_phases", None)
        if isinstance(self.size, tuple):
            idx = index if isinstance(index, tuple) else (index,) * len(self.size)
            if phases is not None:
                pairs = [_phase_bounds(ph, i) for ph, i in zip(phases, idx)]
            else:
                pairs = [_bounds(r, j, s, i)
                         for r, j, s, i in zip(self.size, self.jump, self.start, idx)]
            return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
        if phases is not None:
            return _phase_bounds(phases[0], index)
        return _bounds(self.size, self.jump, self.start, index)


def _phase_bounds(phase, i):
    period, shift, lo, hi = phase
    m, q = divmod(i, period)
    return lo[q] + m * shift, hi[q] + m * shift


def _bounds(r, j, start, i):
    lo = Fraction(start) + i * j - Fraction(r - 1, 2)
    return int(lo), int(lo) + r - 1


class _State(NamedTuple):
    """Per-dim (size, jump, start) with ``start`` a Fraction and ``jump`` an int or a Fraction;
    ``n`` dims or 1 (any). ``phases`` is the exact field, per dim ``(P, Q, lo, hi)``: output
    ``o = m P + q`` sees input pixels ``lo[q] + m Q … hi[q] + m Q`` (``jump = Q / P``); without
    upsampling ``P = 1``. ``size`` is the maximum over the ``P`` phases (the envelope)."""

    size: tuple
    jump: tuple
    start: tuple
    phases: tuple = None


def _from_phases(phases) -> _State:
    size, jump, start = [], [], []
    for period, shift, lo, hi in phases:
        size.append(max(h - l + 1 for l, h in zip(lo, hi)))
        j = Fraction(shift, period)
        jump.append(int(j) if j.denominator == 1 else j)
        start.append(Fraction(lo[0] + hi[0], 2))
    return _State(tuple(size), tuple(jump), tuple(start), tuple(phases))


def _at(phase, i):
    """(lo, hi) of output ``i`` (any int: the field extends periodically into the padding)."""
    period, shift, lo, hi = phase
    m, q = divmod(i, period)
    return lo[q] + m * shift, hi[q] + m * shift


def _minimal(phase):
    """The same exact field with the smallest period."""
    period, shift, lo, hi = phase
    for d in range(1, period):
        if period % d or (shift * d) % period:
            continue
        sd = shift * d // period
        if all(_at(phase, q + d) == (lo[q] + sd, hi[q] + sd) for q in range(period)):
            return d, sd, lo[:d], hi[:d]
    return phase


def _gather(phase, period, reads, where):
    """Field of a layer whose output ``o`` reads the inputs ``reads(o)`` (periodic in ``o``
    with ``period``): the union of their fields."""
    out = []
    for o in (*range(period), period):
        idx = reads(o)
        if not idx:
            raise ValueError(f"{where}: output {o} (mod {period}) reads no input pixel "
                             "(stride larger than the dilated kernel)")
        fields = [_at(phase, i) for i in idx]
        out.append((min(f[0] for f in fields), max(f[1] for f in fields)))
    shift = out[period][0] - out[0][0]
    assert out[period][1] - out[0][1] == shift
    return _minimal((period, shift, tuple(f[0] for f in out[:period]),
                     tuple(f[1] for f in out[:period])))


_INPUT = _from_phases(((1, 1, (0,), (0,)),))   # broadcast to any number of dims
_GLOBAL = "global"    # after global/adaptive pooling: the field is the whole input
_END = "end"          # after flatten/linear: no spatial layout any more


def _broadcast(state: _State, n: int) -> _State:
    if len(state.size) == n:
        return state
    if len(state.size) == 1:
        return _from_phases(state.phases * n)
    raise ValueError(f"cannot combine a {len(state.size)}-D receptive field with a {n}-D layer")


def _step(state: _State, k, s, p, d, where="layer") -> _State:
    """The recursion, per dim (k, s, p, d are n-tuples of ints): output ``o`` reads inputs
    ``o s - p + t d``, ``t = 0 … k-1``. On an affine field (no upsampling before) this is
    ``r += (k-1) d j``, ``j *= s``, ``start += ((k-1) d / 2 - p) j``."""
    state = _broadcast(state, len(k))
    phases = []
    for ph, kk, ss, pp, dd in zip(state.phases, k, s, p, d):
        period = ph[0] // math.gcd(ph[0], ss)
        phases.append(_gather(ph, period, lambda o, kk=kk, ss=ss, pp=pp, dd=dd:
                              [o * ss - pp + t * dd for t in range(kk)], where))
    return _from_phases(phases)


def _step_transposed(state: _State, k, s, p, d, where) -> _State:
    """Transposed convolution: output ``o`` reads the inputs ``i = (o + p - t d) / s`` for the
    taps ``t`` with ``s | o + p - t d`` (output_padding only adds outputs at the end)."""
    state = _broadcast(state, len(k))
    phases = []
    for ph, kk, ss, pp, dd in zip(state.phases, k, s, p, d):
        phases.append(_gather(ph, ph[0] * ss, lambda o, kk=kk, ss=ss, pp=pp, dd=dd:
                              [(o + pp - t * dd) // ss for t in range(kk)
                               if (o + pp - t * dd) % ss == 0], where))
    return _from_phases(phases)


def _step_upsample(state: _State, factors, mode, where) -> _State:
    """Upsampling by rational ``factors`` (per dim, ``u = num/den``) as torch computes it with
    ``align_corners=False``: source coordinate ``o/u`` (nearest), ``(o + 1/2)/u`` (nearest-exact)
    or ``(o + 1/2)/u - 1/2`` (linear: 2 taps, cubic: 4 taps, 1 tap at integer coordinates).
    One factor (a scalar ``scale_factor`` traced without an example input) applies to every
    spatial dim."""
    if len(factors) == 1:
        factors = tuple(factors) * len(state.size)
    state = _broadcast(state, len(factors))
    phases = []
    for ph, u in zip(state.phases, factors):
        u = Fraction(u)

        def reads(o, u=u):
            if mode == "nearest":
                return [math.floor(o / u)]
            if mode == "nearest-exact":
                return [math.floor((o + Fraction(1, 2)) / u)]
            src = (o + Fraction(1, 2)) / u - Fraction(1, 2)
            f = math.floor(src)
            if src == f:
                return [f]
            return [f, f + 1] if mode in ("linear", "bilinear", "trilinear") else \
                [f - 1, f, f + 1, f + 2]

        phases.append(_gather(ph, ph[0] * u.numerator, reads, where))
    return _from_phases(phases)


def _union(states: list, what: str) -> _State:
    """Field of an element-wise merge (add/mul/cat…): the union of its inputs' fields (per
    output position: from the smallest first to the largest last pixel)."""
    n = max(len(st.size) for st in states)
    states = [_broadcast(st, n) for st in states]
    phases = []
    for dim in range(n):
        jumps = {st.jump[dim] for st in states}
        if len(jumps) != 1:
            raise ValueError(f"{what}: inputs have different jumps {sorted(jumps)} in dim {dim}; "
                             "their outputs are not aligned")
        period = math.lcm(*(st.phases[dim][0] for st in states))
        fields = [[_at(st.phases[dim], o) for st in states] for o in range(period + 1)]
        lo = [min(f[0] for f in fo) for fo in fields]
        hi = [max(f[1] for f in fo) for fo in fields]
        phases.append(_minimal((period, lo[period] - lo[0], tuple(lo[:period]),
                                tuple(hi[:period]))))
    return _from_phases(phases)


def _number(x: Fraction):
    return int(x) if x.denominator == 1 else float(x)


def _record(name, kind, layer, state: _State, as_tuple: bool) -> FieldRecord:
    start = tuple(_number(v) for v in state.start)
    geo = (state.size, state.jump, start)
    if not as_tuple:
        geo = tuple(v[0] for v in geo)
        if layer is not None:
            layer = tuple(v[0] for v in layer)
    rec = FieldRecord(name, kind, *(layer if layer is not None else (None,) * 4), *geo)
    if any(ph[0] > 1 for ph in state.phases):      # position-dependent: keep the exact field
        rec._phases = state.phases if as_tuple else state.phases[:1]
    return rec


# ------------------------------------------------------------------ layer specifications
def _padding_left(padding, k, d, s, where):
    """Left padding per dim; 'valid' → 0, 'same' → torch's (left = d(k-1)//2)."""
    if isinstance(padding, str):
        if padding == "valid":
            return tuple(0 for _ in k)
        if padding == "same":
            if any(v != 1 for v in s):
                raise ValueError(f"{where}: padding='same' requires stride=1, got stride={s}")
            return tuple(dd * (kk - 1) // 2 for kk, dd in zip(k, d))
        raise ValueError(f"{where}: padding={padding!r} must be an int, a tuple, 'same' or 'valid'")
    return padding


def _spec(k, s, p, d, where: str, ndim: int | None = None):
    """Normalise one layer's (k, s, p, d) to n-tuples of ints; returns (n-tuples, any_tuple)."""
    raw = {"kernel_size": k, "stride": s, "padding": p, "dilation": d}
    lengths = {len(v) for v in raw.values() if isinstance(v, (tuple, list))}
    if ndim is not None:
        lengths.add(ndim)
    if len(lengths) > 1:
        raise ValueError(f"{where}: tuple arguments have different lengths: "
                         + ", ".join(f"{n}={v!r}" for n, v in raw.items()))
    n = lengths.pop() if lengths else 1
    out = {}
    for name, v in raw.items():
        if name == "padding" and isinstance(v, str):
            continue
        vals = tuple(v) if isinstance(v, (tuple, list)) else (v,) * n
        if len(vals) == 1:
            vals *= n
        for x in vals:
            if not is_int(x):
                raise TypeError(f"{where}: {name}={v!r} must be an int or a tuple of ints")
            minimum = 0 if name == "padding" else 1
            if x < minimum:
                kind = "non-negative" if minimum == 0 else "positive"
                raise ValueError(f"{where}: {name}={v!r} must be {kind}")
        out[name] = tuple(int(x) for x in vals)
    if isinstance(p, str):
        out["padding"] = _padding_left(p, out["kernel_size"], out["dilation"], out["stride"], where)
    as_tuple = bool(lengths or ndim is not None) or any(isinstance(v, (tuple, list))
                                                        for v in raw.values())
    return (out["kernel_size"], out["stride"], out["padding"], out["dilation"]), as_tuple


def _is_transposed(obj) -> bool:
    """A transposed convolution (``nn.ConvTranspose*d`` or a look-alike)."""
    return getattr(obj, "transposed", False) is True or "Transpose" in type(obj).__name__


def _object_spec(obj, where: str):
    """(k, s, p, d) of a layer object (torch Conv/ConvTranspose/MaxPool/AvgPool/LPPool or any
    look-alike)."""
    if not (hasattr(obj, "kernel_size") and hasattr(obj, "stride")):
        raise TypeError(f"{where} is neither a (kernel_size, stride, padding, dilation) "
                        "tuple nor a layer with kernel_size/stride attributes; to include "
                        "activations, normalisation or shortcuts pass the nn.Module itself")
    k = obj.kernel_size
    s = obj.stride if obj.stride is not None else k     # pools: stride=None means kernel_size
    p = getattr(obj, "padding", 0)                       # LPPool has no padding
    d = getattr(obj, "dilation", 1)                      # AvgPool has no dilation
    return _spec(k, s, p, d, where, module_ndim(obj) if not isinstance(k, tuple) else None)


def _tuple_spec(t, where: str):
    if not 2 <= len(t) <= 4:
        raise ValueError(f"{where}: {t!r} must be (kernel_size, stride[, padding[, dilation]])")
    k, s, p, d = (tuple(t) + (0, 1))[:4] if len(t) == 2 else (tuple(t) + (1,))[:4]
    return _spec(k, s, p, d, where)


# ------------------------------------------------------------------------- public API
def receptive_field(layers) -> list[FieldRecord]:
    """Receptive field, jump and start of every layer of a convolution/pooling stack.

    Parameters
    ----------
    layers : sequence or torch.nn.Module
        Either a sequence whose items are

        * tuples ``(kernel_size, stride, padding, dilation)``; ``padding`` and ``dilation`` may
          be omitted (defaults 0 and 1); each entry is an int or a per-dim tuple; ``padding``
          may also be ``'valid'`` or ``'same'`` (stride 1; torch's left padding
          ``d(k-1)//2``), or
        * layer objects with ``kernel_size`` and ``stride`` attributes and optional ``padding``
          (default 0) and ``dilation`` (default 1) — e.g. ``nn.Conv2d``, ``nn.MaxPool2d``,
          ``nn.AvgPool2d`` (no dilation → 1), ``nn.LPPool2d`` (no padding → 0); a pool's
          ``stride=None`` means ``stride = kernel_size``; ``nn.ConvTranspose*d`` layers
          (``transposed`` attribute) are upsampling steps, as in a traced model (below);

        or a torch ``nn.Module``, traced with ``torch.fx.symbolic_trace``: conv and pool
        modules apply the recursion, element-wise modules (activations, BatchNorm, Dropout,
        Identity) pass the field through, ``add``/``mul``/``cat``/``sub`` nodes take the union
        of their inputs' fields (their jumps must agree), slices ``x[..., a:b]`` of spatial
        dims shift the start, and global/adaptive pooling, GroupNorm/InstanceNorm/LayerNorm
        (whose statistics span the whole map), flatten, view/reshape and linear layers end the
        spatial part (no records after them). Functional calls in ``forward`` are followed too
        (``F.conv*d``, ``F.conv_transpose*d``, ``F.max_pool*d``, ``F.avg_pool*d``,
        ``F.interpolate``), and so are upsampling layers (``nn.ConvTranspose*d``,
        ``nn.Upsample`` with ``align_corners=False``): after them the jump is a
        ``fractions.Fraction`` when it is not whole (``1/4`` after two ×2 upsamplings of a
        stride-1 map), and where the field depends on the output position (a 3×3 convolution
        after a ×2 transposed convolution) ``size`` is the envelope, the largest field over
        positions, while ``bounds(i)`` is exact for each position ``i``.

    Returns
    -------
    list of FieldRecord
        One record per layer in execution order (for a traced model: per conv/pool module and
        per merge node; ``name`` is the module's qualified name, e.g. ``'layer1.0.conv2'``, or
        ``'layer1.0.add'``). The last record describes the network's final spatial output.
        Fields ``size`` (receptive field), ``jump`` (effective stride), ``start`` (centre of
        output 0's field in input coordinates; pixel 0's centre is 0) and the layer's
        ``kernel_size``, ``stride``, ``padding``, ``dilation``. They are ints if every value
        given was an int (a 1-D stack) and per-dim tuples if any value was a tuple or any
        layer is an N-d torch module (``Conv2d`` stores tuples), e.g. ``size=(7, 7)``.

    Raises
    ------
    TypeError, ValueError
        For a malformed layer; the message names the layer index (``layers[2]``) or module
        name and the value. Modules and functions whose spatial effect is unknown (e.g.
        ``PixelShuffle``, ``F.interpolate`` with ``mode="area"`` or ``align_corners=True``),
        arguments computed at run time and untraceable models (data-dependent control flow)
        raise ``TypeError``.

    Notes
    -----
    .. math::

        r_l = r_{l-1} + (k_l - 1) d_l j_{l-1}, \\quad j_l = j_{l-1} s_l, \\quad
        \\text{start}_l = \\text{start}_{l-1} + \\big((k_l - 1) d_l / 2 - p_l\\big) j_{l-1}

    with :math:`r_0 = j_0 = 1`, :math:`\\text{start}_0 = 0`. Output ``i`` of layer ``l`` sees input
    pixels ``start + i*jump ± (size-1)/2`` (:meth:`FieldRecord.bounds`). ``ceil_mode`` changes
    the number of outputs, not the geometry. Chapter 33.

    Examples
    --------
    >>> [r.size for r in receptive_field([(3, 1, 1, 1)] * 3)]
    [3, 5, 7]
    >>> [r.size for r in receptive_field([(3, 1, 1, 1), (3, 1, 2, 2), (3, 1, 4, 4)])]
    [3, 7, 15]
    >>> receptive_field([(7, 2, 3), (3, 2, 1)])[-1][-3:]   # ResNet stem: size, jump, start
    (11, 4, 0)
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(layers, torch.nn.Module) and not (
            hasattr(layers, "kernel_size") and hasattr(layers, "stride")):
        return model_fields(layers)[0]
    if torch is not None and isinstance(layers, torch.nn.Module):
        layers = [layers]                      # a single conv/pool module
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers={layers!r} must be a sequence of (kernel_size, stride, padding, "
                        "dilation) tuples or layer objects, or a torch nn.Module")
    specs = []
    for i, layer in enumerate(layers):
        where = f"layers[{i}]={layer!r}"
        if isinstance(layer, (tuple, list)):
            specs.append(_tuple_spec(layer, where))
        else:
            specs.append(_object_spec(layer, where))
    as_tuple = any(t for _, t in specs)
    state, records = _INPUT, []
    for i, (spec, _) in enumerate(specs):
        try:
            if not isinstance(layers[i], (tuple, list)) and _is_transposed(layers[i]):
                state = _step_transposed(state, *spec, f"layers[{i}]")   # names the layer
            else:
                state = _step(state, *spec)
        except ValueError as exc:
            raise ValueError(str(exc) if str(exc).startswith(f"layers[{i}]")
                             else f"layers[{i}]: {exc}") from None
        kind = "layer" if isinstance(layers[i], (tuple, list)) else type(layers[i]).__name__
        records.append(_record(str(i), kind, spec, state, as_tuple))
    if as_tuple:
        n = max(len(r.size) for r in records) if records else 1
        records = [r if len(r.size) == n else _widen(r, n) for r in records]
    return records


def _widen(rec: FieldRecord, n: int) -> FieldRecord:
    """Broadcast a record of an earlier, lower-dim (1-tuple) layer to ``n`` dims."""
    return FieldRecord(rec.name, rec.kind, *(v * n if isinstance(v, tuple) and len(v) == 1 else v
                                             for v in rec[2:]))


# ------------------------------------------------------------------ traced torch models
def _crop(state: _State, index, where: str) -> _State:
    """``x[index]`` on an (N, C, *spatial) map: slices ``a:b:c`` of spatial dims move the start
    by ``a·j`` and multiply the jump by ``c``; anything else on a spatial dim is refused. The
    spatial rank is that of the field so far (an input not yet seen by a conv/pool is 1-D)."""
    if is_int(index):
        return state            # most likely picking one output of a module returning a tuple
    items = list(index) if isinstance(index, tuple) else [index]
    n = len(state.size)
    if Ellipsis in items:
        e = items.index(Ellipsis)
        tail = items[e + 1:]
        if e > 2:
            raise TypeError(f"{where}: index {index!r} is not supported")
        spatial = [slice(None)] * (n - len(tail)) + tail
    else:
        if len(items) > 2 + n:
            raise TypeError(f"{where}: index {index!r} is not supported")
        spatial = (items[2:] + [slice(None)] * n)[:n]
    lead = items[:items.index(Ellipsis)] if Ellipsis in items else items[:2]
    if not all(isinstance(v, slice) for v in lead):
        raise TypeError(f"{where}: index {index!r} drops the batch or channel dim")
    starts, steps = [], []
    for dim, sl in enumerate(spatial):
        if not isinstance(sl, slice):
            raise TypeError(f"{where}: index {index!r} removes a spatial dim")
        a = 0 if sl.start is None else sl.start
        c = 1 if sl.step is None else sl.step
        if not (is_int(a) and a >= 0 and is_int(c) and c >= 1):
            raise TypeError(f"{where}: index {index!r}: only slices with a non-negative start "
                            "and positive step are supported on spatial dims")
        starts.append(-int(a))
        steps.append(int(c))
    ones = (1,) * n          # output o is input a + o c: a 1-tap "conv" with padding -a
    return _step(state, ones, tuple(steps), tuple(starts), ones, where)


def model_fields(model, example_input=None):
    """Run the recursion over the traced graph of a torch ``model`` (:func:`cnnlib._trace.trace`).

    Returns ``(records, states)``: the :class:`FieldRecord` of every conv/pool module and every
    merge of spatial branches, in execution order, and a dict mapping every ``call_module``
    target (qualified module name) to the list of its output states, one per call in execution
    order: a :class:`_State`, ``'global'``, ``'end'`` or ``None`` (no spatial input).
    ``example_input`` (a tensor) makes the shapes known, see :func:`cnnlib._trace.trace`.
    """
    states: dict = {}              # fx node name → its output's state
    module_states: dict = {}
    records: list[FieldRecord] = []
    counters: dict = {}            # (module scope, merge name) → merges named so far

    def merge_name(scope, base):
        count = counters.get((scope, base), 0)
        counters[(scope, base)] = count + 1
        name = base if count == 0 else f"{base}_{count}"
        return f"{scope}.{name}" if scope else name

    for op in trace(model, example_input):
        ins = [s for s in (states.get(name) for name in op.inputs) if s is not None]
        first = ins[0] if ins else None
        if op.kind == "input":
            state = _INPUT
        elif op.kind == "const":
            state = None
        elif op.op == "call_module":
            state = _module_state(op, first, records)
            module_states.setdefault(op.target, []).append(state)
        elif op.kind == "merge":
            scope, base = op.detail
            state = (_END if _END in ins else _GLOBAL if _GLOBAL in ins
                     else _union(ins, f"node '{op.name}'") if len(ins) > 1 else first)
            if isinstance(state, _State) and sum(isinstance(s, _State) for s in ins) > 1:
                records.append(_record(merge_name(scope, base), base, None, state, True))
        elif op.kind == "getitem":
            source, index = op.detail
            if isinstance(states.get(source), _State):
                state = _crop(states[source], index, f"node '{op.name}'")
            else:
                state = first                     # e.g. picking one output of a tuple
        elif op.kind == "fstep" and isinstance(first, _State):
            state = _functional_state(op, first, records)
        elif op.kind == "pass":
            state = first
        elif op.kind == "reduce":                 # mean, F.adaptive_avg_pool2d …
            state = None if first is None else _END if first == _END else _GLOBAL
        elif op.kind == "flatten":
            state = _END if ins else None
        else:
            if any(isinstance(s, _State) for s in ins):
                raise TypeError(f"node '{op.name}' ({op.op} {op.target}): its effect on the "
                                "receptive field is unknown; pass a list of the conv/pool "
                                "layers instead")
            state = _END if _END in ins else (_GLOBAL if _GLOBAL in ins else None)
        states[op.name] = state
    return records, module_states


def _module_state(op, state, records):
    """The output state of a ``call_module`` op whose (first) input has ``state``."""
    where, cls = f"module '{op.target}'", type(op.module).__name__
    if not isinstance(state, _State):
        return _END if state == _GLOBAL and op.kind == "end" else state
    if op.kind == "unknown":
        raise TypeError(f"{where} of type {cls}: its effect on the receptive field is unknown; "
                        "pass a list of the conv/pool layers instead")
    if op.kind == "transposed":
        m = op.module
        spec = _spec(m.kernel_size, m.stride, m.padding, m.dilation, where)[0]
        state = _step_transposed(state, *spec, where)
        records.append(_record(op.target, cls, spec, state, True))
        return state
    if op.kind == "upsample":
        state = _step_upsample(state, *op.detail, where)
        records.append(_record(op.target, cls, None, state, True))
        return state
    if op.kind == "step" or (op.kind == "global" and op.detail is not None):
        spec = _object_spec(op.module, where)[0] if op.kind == "step" else op.detail
        state = _step(state, *spec)
        records.append(_record(op.target, cls, spec, state, True))
        return state
    return {"global": _GLOBAL, "end": _END}.get(op.kind, state)


def _functional_state(op, state, records):
    """The output state of a functional layer (``F.conv2d``, ``F.interpolate`` …)."""
    where = f"node '{op.name}' ({op.target})"
    if op.detail[0] == "upsample":
        state = _step_upsample(state, *op.detail[1], where)
        records.append(_record(op.name, op.target, None, state, True))
        return state
    kind, (k, s, p, d), n = op.detail
    spec = _spec(k, s, p, d, where, n)[0]
    state = (_step_transposed if kind == "transposed" else _step)(state, *spec, where)
    records.append(_record(op.name, op.target, spec, state, True))
    return state
