"""Theoretical receptive field of a stack of convolution/pooling layers, and a gradient check.

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

``import cnnlib`` does not import torch: torch is only touched when a torch model is passed in.
"""
from __future__ import annotations

import operator
import sys
from fractions import Fraction
from typing import Any, NamedTuple

from ._validation import is_int

__all__ = ["receptive_field", "receptive_field_by_gradient", "FieldRecord", "GradientField"]


class FieldRecord(NamedTuple):
    """Receptive field after one layer (one record per layer, in execution order).

    Every geometric field is an int for 1-D stacks given as plain ints, and a tuple with one
    entry per spatial dim otherwise (see :func:`receptive_field`). ``start`` is an int, or a
    float ending in ``.5`` when the field has an even size (an even kernel). For records of
    merge nodes of a traced model (``kind`` ``'add'``, ``'cat'``, ``'mul'`` …) the layer fields
    ``kernel_size``/``stride``/``padding``/``dilation`` are ``None``.
    """

    name: str
    kind: str
    kernel_size: Any
    stride: Any
    padding: Any
    dilation: Any
    size: Any
    jump: Any
    start: Any

    def bounds(self, index=0):
        """First and last input coordinate seen by output ``index`` (unclipped: may be < 0 or
        beyond the input, i.e. in the padding). Ints, or per-dim tuples like the record."""
        if isinstance(self.size, tuple):
            idx = index if isinstance(index, tuple) else (index,) * len(self.size)
            pairs = [_bounds(r, j, s, i)
                     for r, j, s, i in zip(self.size, self.jump, self.start, idx)]
            return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
        return _bounds(self.size, self.jump, self.start, index)


def _bounds(r, j, start, i):
    lo = Fraction(start) + i * j - Fraction(r - 1, 2)
    return int(lo), int(lo) + r - 1


class _State(NamedTuple):
    """Per-dim (size, jump, start) with ``start`` as a Fraction; ``n`` dims or ``None`` (any)."""

    size: tuple
    jump: tuple
    start: tuple


_INPUT = _State((1,), (1,), (Fraction(0),))   # broadcast to any number of dims
_GLOBAL = "global"    # after global/adaptive pooling: the field is the whole input
_END = "end"          # after flatten/linear: no spatial layout any more


def _broadcast(state: _State, n: int) -> _State:
    if len(state.size) == n:
        return state
    if len(state.size) == 1:
        return _State(state.size * n, state.jump * n, state.start * n)
    raise ValueError(f"cannot combine a {len(state.size)}-D receptive field with a {n}-D layer")


def _step(state: _State, k, s, p, d) -> _State:
    """The recursion, per dim (k, s, p, d are n-tuples of ints)."""
    state = _broadcast(state, len(k))
    size, jump, start = [], [], []
    for r0, j0, st0, kk, ss, pp, dd in zip(*state, k, s, p, d):
        size.append(r0 + (kk - 1) * dd * j0)            # r_l = r_{l-1} + (k-1) d j_{l-1}
        jump.append(j0 * ss)                             # j_l = j_{l-1} s
        start.append(st0 + (Fraction((kk - 1) * dd, 2) - pp) * j0)
    return _State(tuple(size), tuple(jump), tuple(start))


def _union(states: list, what: str) -> _State:
    """Field of an element-wise merge (add/mul/cat…): the union of its inputs' fields."""
    n = max(len(st.size) for st in states)
    states = [_broadcast(st, n) for st in states]
    size, jump, start = [], [], []
    for dim in range(n):
        jumps = {st.jump[dim] for st in states}
        if len(jumps) != 1:
            raise ValueError(f"{what}: inputs have different jumps {sorted(jumps)} in dim {dim}; "
                             "their outputs are not aligned")
        lo = min(st.start[dim] - Fraction(st.size[dim] - 1, 2) for st in states)
        hi = max(st.start[dim] + Fraction(st.size[dim] - 1, 2) for st in states)
        size.append(int(hi - lo) + 1)
        jump.append(jumps.pop())
        start.append((lo + hi) / 2)
    return _State(tuple(size), tuple(jump), tuple(start))


def _number(x: Fraction):
    return int(x) if x.denominator == 1 else float(x)


def _record(name, kind, layer, state: _State, as_tuple: bool) -> FieldRecord:
    start = tuple(_number(v) for v in state.start)
    geo = (state.size, state.jump, start)
    if not as_tuple:
        geo = tuple(v[0] for v in geo)
        if layer is not None:
            layer = tuple(v[0] for v in layer)
    return FieldRecord(name, kind, *(layer if layer is not None else (None,) * 4), *geo)


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


def _module_ndim(obj) -> int | None:
    """Spatial dims of a torch conv/pool module from its class name (``MaxPool2d`` → 2)."""
    name = type(obj).__name__
    for n in (1, 2, 3):
        if name.endswith(f"{n}d"):
            return n
    return None


def _object_spec(obj, where: str):
    """(k, s, p, d) of a layer object (torch Conv/MaxPool/AvgPool/LPPool or any look-alike)."""
    if getattr(obj, "transposed", False) is True or "Transpose" in type(obj).__name__:
        raise TypeError(f"{where}: transposed convolution {type(obj).__name__} is not supported "
                        "by the receptive-field recursion")
    if not (hasattr(obj, "kernel_size") and hasattr(obj, "stride")):
        raise TypeError(f"{where} is neither a (kernel_size, stride, padding, dilation) "
                        "tuple nor a layer with kernel_size/stride attributes; to include "
                        "activations, normalisation or shortcuts pass the nn.Module itself")
    k = obj.kernel_size
    s = obj.stride if obj.stride is not None else k     # pools: stride=None means kernel_size
    p = getattr(obj, "padding", 0)                       # LPPool has no padding
    d = getattr(obj, "dilation", 1)                      # AvgPool has no dilation
    return _spec(k, s, p, d, where, _module_ndim(obj) if not isinstance(k, tuple) else None)


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
          ``stride=None`` means ``stride = kernel_size``;

        or a torch ``nn.Module``, traced with ``torch.fx.symbolic_trace``: conv and pool
        modules apply the recursion, element-wise modules (activations, BatchNorm, Dropout,
        Identity) pass the field through, ``add``/``mul``/``cat``/``sub`` nodes take the union
        of their inputs' fields (their jumps must agree), slices ``x[..., a:b]`` of spatial
        dims shift the start, and global/adaptive pooling, GroupNorm/InstanceNorm/LayerNorm
        (whose statistics span the whole map), flatten, view/reshape and linear layers end the
        spatial part (no records after them).

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
        name and the value. Transposed convolutions, modules and functions whose spatial
        effect is unknown (e.g. ``Upsample``, ``F.conv2d`` called inside ``forward``) and
        untraceable models raise ``TypeError``.

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
        return _trace(layers)[0]
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
            state = _step(state, *spec)
        except ValueError as exc:
            raise ValueError(f"layers[{i}]: {exc}") from None
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


# --------------------------------------------------------------------- fx propagation
_MERGE_FUNCTIONS = {operator.add, operator.iadd, operator.mul, operator.imul, operator.sub,
                    operator.isub, operator.truediv, operator.itruediv}
_MERGE_NAMES = {"add", "add_", "mul", "mul_", "sub", "sub_", "cat", "concat", "concatenate",
                "stack", "div", "div_", "maximum", "minimum", "where", "true_divide"}
_PASS_NAMES = {"relu", "relu_", "relu6", "gelu", "silu", "sigmoid", "sigmoid_", "tanh", "tanh_",
               "leaky_relu", "elu", "hardswish", "hardsigmoid", "mish", "dropout", "contiguous",
               "clone", "float", "double", "to", "neg", "abs", "exp", "pow", "square", "sqrt",
               "clamp", "clamp_", "hardtanh", "softplus", "detach", "type_as", "batch_norm",
               "getitem"}
_END_NAMES = {"flatten", "view", "reshape", "linear", "squeeze", "unsqueeze", "permute",
              "transpose", "size", "dim", "numel", "getattr"}


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
    size, jump, start = list(state.size), list(state.jump), list(state.start)
    for dim, sl in enumerate(spatial):
        if not isinstance(sl, slice):
            raise TypeError(f"{where}: index {index!r} removes a spatial dim")
        a = 0 if sl.start is None else sl.start
        c = 1 if sl.step is None else sl.step
        if not (is_int(a) and a >= 0 and is_int(c) and c >= 1):
            raise TypeError(f"{where}: index {index!r}: only slices with a non-negative start "
                            "and positive step are supported on spatial dims")
        start[dim] += a * jump[dim]
        jump[dim] *= c
    return _State(tuple(size), tuple(jump), tuple(start))
_GLOBAL_NAMES = {"adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
                 "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "mean",
                 "amax", "sum", "max", "instance_norm", "group_norm", "layer_norm"}


def _module_kind(module, torch) -> str:
    nn = torch.nn
    if isinstance(module, (nn.modules.conv._ConvTransposeNd,)):
        return "transposed"
    if isinstance(module, (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd,
                           nn.modules.pooling._AvgPoolNd, nn.modules.pooling._LPPoolNd)):
        return "step"
    if isinstance(module, (nn.modules.pooling._AdaptiveAvgPoolNd,
                           nn.modules.pooling._AdaptiveMaxPoolNd, nn.GroupNorm,
                           nn.modules.instancenorm._InstanceNorm, nn.LayerNorm)):
        return "global"
    if isinstance(module, (nn.Flatten, nn.Linear, nn.Bilinear, nn.Unflatten)):
        return "end"
    if isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd,
                           nn.Identity)):
        return "pass"
    act = nn.modules.activation
    if isinstance(module, nn.Module) and type(module).__module__ == act.__name__ and not isinstance(
            module, (act.MultiheadAttention, act.Softmax, act.Softmin, act.LogSoftmax)):
        return "pass"
    if isinstance(module, (act.Softmax, act.Softmin, act.LogSoftmax)) and module.dim in (1, -3):
        return "pass"        # softmax over channels of an NCHW map
    return "unknown"


def _base_name(target) -> str:
    name = getattr(target, "__name__", str(target))
    return name.rsplit(".", 1)[-1]


def _adaptive_as_step(node, module, torch):
    """An adaptive pooling whose input size is known (fx ShapeProp) as an ordinary pool.

    With output size = input size it is the identity; when the output size divides the input
    size it pools windows of ``k = s = in/out``. Returns ``(k, s, p, d)``, or ``None`` (the
    layer counts as global) for a 1×1 output, uneven windows or unknown shapes.
    """
    src = node.args[0] if node.args else None
    shape_in = getattr(src, "meta", {}).get("tensor_meta") if src is not None else None
    shape_out = node.meta.get("tensor_meta")
    if shape_in is None or shape_out is None:
        return None
    n = int(type(module).__name__[-2])                  # AdaptiveAvgPool2d → 2 spatial dims
    hw_in, hw_out = tuple(shape_in.shape[-n:]), tuple(shape_out.shape[-n:])
    if all(o == 1 for o in hw_out) or any(o == 0 or i % o for i, o in zip(hw_in, hw_out)):
        return None                                     # global pooling, or uneven windows
    k = tuple(i // o for i, o in zip(hw_in, hw_out))
    return k, k, (0,) * n, (1,) * n


def _trace(model, example_input=None):
    """Propagate (size, jump, start) through ``model``'s fx graph.

    Returns ``(records, states)`` where ``states`` maps every call_module target (qualified
    module name) to the list of its output states, one per call in execution order: a
    :class:`_State`, ``'global'``, ``'end'`` or ``None``. With ``example_input`` (a tensor) the
    graph's shapes are known, and an adaptive pooling with even windows (e.g. VGG16's
    ``AdaptiveAvgPool2d((7, 7))`` on a 7×7 map, an identity) is treated as the pool it is.
    """
    import torch
    import torch.fx

    try:
        gm = torch.fx.symbolic_trace(model)
    except Exception as exc:
        raise TypeError(f"model of type {type(model).__name__} cannot be traced by "
                        f"torch.fx.symbolic_trace ({type(exc).__name__}: {exc}); pass a list of "
                        "its conv/pool layers instead") from exc
    if example_input is not None:
        from torch.fx.passes.shape_prop import ShapeProp

        with torch.no_grad():
            ShapeProp(gm).propagate(example_input)
    modules = dict(gm.named_modules())
    states: dict = {}
    module_states: dict = {}
    records: list[FieldRecord] = []
    counters: dict = {}
    first_input = True

    def arg_states(node):
        found = []

        def visit(a):
            if isinstance(a, torch.fx.Node):
                found.append(states.get(a.name))
            elif isinstance(a, (tuple, list)):
                for b in a:
                    visit(b)
            elif isinstance(a, dict):
                for b in a.values():
                    visit(b)
        visit(node.args)
        visit(node.kwargs)
        return [s for s in found if s is not None]

    def merged(node, what):
        ins = arg_states(node)
        if not ins:
            return None
        if _END in ins:
            return _END
        if _GLOBAL in ins:
            return _GLOBAL
        return _union(ins, what) if len(ins) > 1 else ins[0]

    def scope_name(node, base):
        stack = node.meta.get("nn_module_stack") or {}
        scope = list(stack.keys())[-1] if stack else ""
        key = (scope, base)
        count = counters.get(key, 0)
        counters[key] = count + 1
        name = base if count == 0 else f"{base}_{count}"
        return f"{scope}.{name}" if scope else name

    for node in gm.graph.nodes:
        if node.op == "placeholder":
            states[node.name] = _INPUT if first_input else None
            first_input = False
            continue
        if node.op in ("get_attr", "output"):
            states[node.name] = None
            continue
        if node.op == "call_module":
            module = modules[node.target]
            kind = _module_kind(module, torch)
            ins = arg_states(node)
            state = ins[0] if ins else None
            if kind == "transposed":
                raise TypeError(f"module '{node.target}' ({type(module).__name__}): transposed "
                                "convolution is not supported by the receptive-field recursion")
            if kind == "unknown" and isinstance(state, _State):
                raise TypeError(f"module '{node.target}' of type {type(module).__name__}: its "
                                "effect on the receptive field is unknown; pass a list of the "
                                "conv/pool layers instead")
            if isinstance(state, _State):
                if kind == "step":
                    spec, _ = _object_spec(module, f"module '{node.target}'")
                    state = _step(state, *spec)
                    records.append(_record(node.target, type(module).__name__, spec, state, True))
                elif kind == "global":
                    spec = None
                    if isinstance(module, (torch.nn.modules.pooling._AdaptiveAvgPoolNd,
                                           torch.nn.modules.pooling._AdaptiveMaxPoolNd)):
                        spec = _adaptive_as_step(node, module, torch)
                    if spec is None:
                        state = _GLOBAL
                    else:
                        state = _step(state, *spec)
                        records.append(_record(node.target, type(module).__name__, spec, state,
                                               True))
                elif kind == "end":
                    state = _END
            elif state == _GLOBAL and kind == "end":
                state = _END
            states[node.name] = state
            module_states.setdefault(node.target, []).append(state)
            continue
        # call_function / call_method
        base = _base_name(node.target)
        if node.op == "call_function" and node.target in _MERGE_FUNCTIONS or base in _MERGE_NAMES:
            state = merged(node, f"node '{node.name}'")
            kind = {"iadd": "add", "imul": "mul", "isub": "sub", "truediv": "div",
                    "itruediv": "div"}.get(base, base.rstrip("_"))
            n_spatial = sum(isinstance(s, _State) for s in arg_states(node))
            if isinstance(state, _State) and n_spatial > 1:
                records.append(_record(scope_name(node, kind), kind, None, state, True))
        elif base == "getitem" and node.args and isinstance(states.get(
                getattr(node.args[0], "name", None)), _State):
            state = _crop(states[node.args[0].name], node.args[1], f"node '{node.name}'")
        elif base in _PASS_NAMES:
            ins = arg_states(node)
            state = ins[0] if ins else None
        elif base in _GLOBAL_NAMES:
            ins = arg_states(node)
            state = _GLOBAL if ins and ins[0] is not None and ins[0] != _END else (
                ins[0] if ins else None)
        elif base in _END_NAMES:
            ins = arg_states(node)
            state = _END if ins else None
        else:
            ins = arg_states(node)
            if any(isinstance(s, _State) for s in ins):
                raise TypeError(f"node '{node.name}' ({node.op} {base}): its effect on the "
                                "receptive field is unknown; pass a list of the conv/pool "
                                "layers instead")
            state = _END if _END in ins else (_GLOBAL if _GLOBAL in ins else None)
        states[node.name] = state
    return records, module_states


# ------------------------------------------------------------------- gradient checker
class GradientField(NamedTuple):
    """Input region that one output unit depends on, measured by backpropagation.

    ``first``/``last`` are per-dim tuples of the first and last input index with a non-zero
    gradient (``None`` if the unit sees only padding); ``size = last - first + 1`` per dim,
    i.e. the receptive field **clipped to the input**.
    """

    output_index: tuple
    first: tuple | None
    last: tuple | None
    size: tuple


def receptive_field_by_gradient(model, input_size, index=None, channel=0, thin=False):
    """Measure the receptive field of one output unit by backpropagating a one-hot gradient.

    A copy of ``model`` is made "structurally transparent": float64, eval mode, every weight
    set to the positive constant ``1/fan_in`` and every bias/BN shift to 0 (BN running
    statistics reset to mean 0, variance 1), and every max-pool replaced by a sum-pool with
    the same kernel, stride, padding, dilation and ``ceil_mode``. With an all-ones input every
    activation is then positive, so ReLU has no dead zone and the gradient of the chosen output
    unit is positive exactly at the input pixels connected to it by some path — a zero gradient
    is structural, never a numerical accident.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, C, *spatial)`` to ``(N, C', *spatial')``; truncate a classifier before its
        global pooling.
    input_size : tuple of int
        ``(N, C, *spatial)``; the batch entry is ignored (1 is used).
    index : tuple of int, optional
        Spatial index of the output unit (default: the centre ``(H'-1)//2, …``).
    channel : int
        Output channel of the unit.
    thin : bool
        Replace every convolution by a 1-in/1-out-channel copy with the same geometry (and
        BatchNorm by Identity) and feed a 1-channel input. With constant weights every channel
        carries the same values, so the measured field is unchanged, and the check becomes
        cheap enough for a full ResNet-50 on a 512×512 input. Only for models that do not
        concatenate or split channels.

    Returns
    -------
    GradientField
        ``output_index``, ``first``, ``last``, ``size`` (per-dim tuples). Compare with
        ``FieldRecord.bounds(index)`` clipped to ``[0, H-1]``. Chapter 33.
    """
    import copy

    import torch
    from torch import nn

    if not (isinstance(input_size, (tuple, list)) and len(input_size) >= 3
            and all(is_int(v) and v > 0 for v in input_size)):
        raise ValueError(f"input_size={input_size!r} must be (N, C, *spatial) positive ints")
    memo: dict = {}
    if thin:  # do not copy the weights that _thin throws away (ResNet-50: 25M of them)
        for m in model.modules():
            if isinstance(m, (nn.modules.conv._ConvNd, nn.modules.batchnorm._BatchNorm)):
                for t in [*m.parameters(recurse=False), *m.buffers(recurse=False)]:
                    memo[id(t)] = torch.empty(0, dtype=t.dtype)
    net = copy.deepcopy(model, memo)
    _replace_max_pools(net, nn)
    if thin:
        _thin(net, nn)
    net = net.double().eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                if m.running_mean is not None:
                    m.running_mean.zero_()
                    m.running_var.fill_(1.0)
            for pname, p in m.named_parameters(recurse=False):
                if pname == "weight" and p.dim() >= 2:
                    p.fill_(1.0 / p[0].numel())
                elif pname == "weight":
                    p.fill_(1.0)
                else:
                    p.zero_()
    channels = 1 if thin else input_size[1]
    x = torch.ones((1, channels) + tuple(input_size[2:]), dtype=torch.float64, requires_grad=True)
    y = net(x)
    if y.dim() != x.dim():
        raise ValueError(f"model output has shape {tuple(y.shape)}; expected (N, C, *spatial) "
                         f"like the input {tuple(x.shape)} — truncate the model before pooling")
    spatial = tuple(y.shape[2:])
    if index is None:
        index = tuple((n - 1) // 2 for n in spatial)
    index = tuple(index) if isinstance(index, (tuple, list)) else (index,)
    if len(index) != len(spatial) or any(not 0 <= i < n for i, n in zip(index, spatial)):
        raise ValueError(f"index={index!r} is outside the output's spatial shape {spatial}")
    grad = torch.zeros_like(y)
    grad[(0, channel) + index] = 1.0
    y.backward(grad)
    g = x.grad[0].abs().sum(0)
    nz = torch.nonzero(g > 0)
    if nz.numel() == 0:
        return GradientField(index, None, None, (0,) * len(spatial))
    first = tuple(int(v) for v in nz.min(0).values)
    last = tuple(int(v) for v in nz.max(0).values)
    return GradientField(index, first, last, tuple(b - a + 1 for a, b in zip(first, last)))


def _replace_max_pools(net, nn):
    """Swap max-pools (whose gradient reaches only the arg-max) for sum-pools, in place."""
    for name, child in list(net.named_children()):
        if isinstance(child, nn.modules.pooling._MaxPoolNd):
            setattr(net, name, _SumPool(child))
        elif isinstance(child, nn.modules.pooling._AdaptiveMaxPoolNd):
            cls = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}
            setattr(net, name, cls[_module_ndim(child)](child.output_size))
        else:
            _replace_max_pools(child, nn)


def _thin(net, nn):
    """Replace convolutions by 1-channel copies (same geometry) and BN by Identity, in place."""
    for name, child in list(net.named_children()):
        if isinstance(child, nn.modules.conv._ConvNd) and not child.transposed:
            cls = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[len(child.kernel_size)]
            setattr(net, name, cls(1, 1, child.kernel_size, child.stride, child.padding,
                                   child.dilation, bias=False, padding_mode=child.padding_mode,
                                   dtype=sys.modules["torch"].float64))
        elif isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(net, name, nn.Identity())
        else:
            _thin(child, nn)


def _sum_pool_class():
    import torch
    import torch.nn.functional as F

    from ._sizes import pool_output_size

    class SumPool(torch.nn.Module):
        """Depthwise all-ones convolution with a max-pool's geometry (incl. ceil_mode)."""

        def __init__(self, pool):
            super().__init__()
            self.n = _module_ndim(pool)
            (self.k, self.s, self.p, self.d), _ = _object_spec(pool, "pool")
            self.ceil_mode = bool(pool.ceil_mode)

        def forward(self, x):
            spatial = tuple(x.shape[2:])
            out = pool_output_size(spatial, self.k, self.s, self.p, self.d, self.ceil_mode)
            pads = []
            for n, o, k, s, p, d in zip(spatial, out, self.k, self.s, self.p, self.d):
                extra = max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p))
                pads.append((p, p + extra))
            flat = [v for pair in reversed(pads) for v in pair]    # F.pad: last dim first
            x = F.pad(x, flat)
            c = x.shape[1]
            w = torch.ones((c, 1) + self.k, dtype=x.dtype)
            conv = (F.conv1d, F.conv2d, F.conv3d)[self.n - 1]
            return conv(x, w, stride=self.s, dilation=self.d, groups=c)

    return SumPool


def _SumPool(pool):  # noqa: N802 - a factory standing in for a class (torch imported lazily)
    return _sum_pool_class()(pool)
