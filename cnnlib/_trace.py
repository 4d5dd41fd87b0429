"""Torch models as graphs of layer operations, for the receptive-field recursion.

:func:`trace` runs ``torch.fx.symbolic_trace`` on a model and classifies every node of the graph
by what it does to the spatial layout of the feature map it receives:

============== ==================================================================================
kind           nodes
============== ==================================================================================
``input``      the model's (first) input
``const``      further inputs, parameters (``get_attr``), the output node
``step``       conv/pool modules — the recursion :math:`r, j, \\text{start}` applies
``global``     global/adaptive pooling, GroupNorm/InstanceNorm/LayerNorm (module): the field
               becomes the whole input (``detail``: an adaptive pooling with even windows, known
               from the shapes, as the pool ``(k, s, p, d)`` it is)
``reduce``     the same as functions or methods (``F.adaptive_avg_pool2d``, ``x.mean`` …)
``end``        flatten/linear modules; ``flatten`` the same as functions (``view``, ``reshape`` …)
``pass``       element-wise modules and functions (activations, BatchNorm, Dropout, Identity …)
``merge``      ``add``/``mul``/``cat``/``sub``… of branches (``detail``: module scope, merge name)
``getitem``    ``x[...]`` (``detail``: source node name, index): a slice of spatial dims crops
``transposed`` transposed convolution modules (``output o`` reads inputs ``(o + p - t d)/s``)
``upsample``   ``nn.Upsample`` (``detail``: per-dim rational factors, mode)
``fstep``      functional layers ``F.conv2d``, ``F.max_pool2d``, ``F.avg_pool2d``,
               ``F.conv_transpose2d``, ``F.interpolate`` (and ``torch.conv2d`` …, 1-3 d):
               ``detail`` = ``('step' | 'transposed', (k, s, p, d))`` or
               ``('upsample', (factors, mode))``
``unknown``    anything else: an error if it receives a spatial map
============== ==================================================================================

:mod:`cnnlib._receptive` runs the recursion over this list; this module knows torch, the
recursion module knows the maths. Nothing here imports torch before :func:`trace` is called.
Explained in chapter 33 (receptive field).
"""
from __future__ import annotations

import operator
from typing import Any, NamedTuple

__all__ = ["Op", "trace", "module_ndim"]


class Op(NamedTuple):
    """One node of a traced model's fx graph, classified (see the module docstring)."""

    name: str          # the fx node's name, unique in the graph
    op: str            # fx opcode: placeholder, get_attr, call_module, call_function, ...
    kind: str          # the classification (module docstring)
    inputs: tuple      # names of the nodes among its arguments (args, then kwargs; nested too)
    target: Any        # call_module: the module's qualified name; else the function/method name
    module: Any = None  # call_module: the module itself
    detail: Any = None  # kind-specific, see the module docstring


def module_ndim(obj) -> int | None:
    """Spatial dims of a torch conv/pool module from its class name (``MaxPool2d`` → 2)."""
    name = type(obj).__name__
    for n in (1, 2, 3):
        if name.endswith(f"{n}d"):
            return n
    return None


_MERGE_FUNCTIONS = {operator.add, operator.iadd, operator.mul, operator.imul, operator.sub,
                    operator.isub, operator.truediv, operator.itruediv}
_MERGE_NAMES = {"add", "add_", "mul", "mul_", "sub", "sub_", "cat", "concat", "concatenate",
                "stack", "div", "div_", "maximum", "minimum", "where", "true_divide"}
_PASS_NAMES = {"relu", "relu_", "relu6", "gelu", "silu", "sigmoid", "sigmoid_", "tanh", "tanh_",
               "leaky_relu", "elu", "hardswish", "hardsigmoid", "mish", "dropout", "contiguous",
               "clone", "float", "double", "to", "neg", "abs", "exp", "pow", "square", "sqrt",
               "clamp", "clamp_", "hardtanh", "softplus", "detach", "type_as", "batch_norm"}
_END_NAMES = {"flatten", "view", "reshape", "linear", "squeeze", "unsqueeze", "permute",
              "transpose", "size", "dim", "numel", "getattr"}
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
    if isinstance(module, nn.Upsample):
        return "upsample"
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


def _adaptive_as_step(node, module):
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


def trace(model, example_input=None) -> list[Op]:
    """The classified nodes of ``model``'s fx graph, in execution order.

    With ``example_input`` (a tensor) the graph's shapes are propagated first (fx ``ShapeProp``),
    and an adaptive pooling with even windows (e.g. VGG16's ``AdaptiveAvgPool2d((7, 7))`` on a
    7×7 map, an identity) carries the pool it is in ``detail``. A model that
    ``torch.fx.symbolic_trace`` cannot trace raises ``TypeError``.
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
    ops: list[Op] = []
    first_input = True
    for node in gm.graph.nodes:
        inputs = tuple(_node_names((node.args, node.kwargs), torch.fx.Node))
        if node.op == "placeholder":
            ops.append(Op(node.name, node.op, "input" if first_input else "const", inputs,
                          node.target))
            first_input = False
        elif node.op in ("get_attr", "output"):
            ops.append(Op(node.name, node.op, "const", inputs, node.target))
        elif node.op == "call_module":
            module = modules[node.target]
            kind = _module_kind(module, torch)
            detail = None
            if kind == "global" and isinstance(module, (
                    torch.nn.modules.pooling._AdaptiveAvgPoolNd,
                    torch.nn.modules.pooling._AdaptiveMaxPoolNd)):
                detail = _adaptive_as_step(node, module)
            elif kind == "upsample":
                detail = _upsample_detail(
                    node, f"module '{node.target}' ({type(module).__name__})", module.size,
                    module.scale_factor, module.mode, module.align_corners,
                    getattr(module, "recompute_scale_factor", None), False)
            ops.append(Op(node.name, node.op, kind, inputs, node.target, module, detail))
        else:                                   # call_function / call_method
            op = _functional_layer(node, inputs, gm, torch)
            ops.append(op if op is not None else _function_op(node, inputs, torch.fx.Node))
    return ops


def _node_names(value, node_type) -> list:
    """Names of the fx nodes inside ``value`` (nested tuples, lists and dicts), in order."""
    if isinstance(value, node_type):
        return [value.name]
    if isinstance(value, (tuple, list)):
        return [name for v in value for name in _node_names(v, node_type)]
    if isinstance(value, dict):
        return [name for v in value.values() for name in _node_names(v, node_type)]
    return []


def _function_op(node, inputs, node_type) -> Op:
    """Classify a ``call_function``/``call_method`` node."""
    base = _base_name(node.target)
    if node.op == "call_function" and node.target in _MERGE_FUNCTIONS or base in _MERGE_NAMES:
        merge = {"iadd": "add", "imul": "mul", "isub": "sub", "truediv": "div",
                 "itruediv": "div"}.get(base, base.rstrip("_"))
        stack = node.meta.get("nn_module_stack") or {}
        scope = list(stack.keys())[-1] if stack else ""
        return Op(node.name, node.op, "merge", inputs, base, detail=(scope, merge))
    if base == "getitem":
        source = node.args[0].name if node.args and isinstance(node.args[0], node_type) else None
        index = node.args[1] if len(node.args) > 1 else None
        return Op(node.name, node.op, "getitem", inputs, base, detail=(source, index))
    for kind, names in (("pass", _PASS_NAMES), ("reduce", _GLOBAL_NAMES), ("flatten", _END_NAMES)):
        if base in names:
            return Op(node.name, node.op, kind, inputs, base)
    return Op(node.name, node.op, "unknown", inputs, base)


_INTERP_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear")


def _shape(node):
    meta = getattr(node, "meta", {}).get("tensor_meta") if node is not None else None
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


def _upsample_detail(node, where, size, scale_factor, mode, align_corners, recompute, antialias):
    """Per-dim rational factors and the mode of an upsampling, or ``TypeError``."""
    from fractions import Fraction

    if mode not in _INTERP_MODES:
        raise TypeError(f"{where}: interpolation mode {mode!r} is not supported by the "
                        f"receptive-field recursion (supported: {', '.join(_INTERP_MODES)})")
    if align_corners or antialias:
        raise TypeError(f"{where}: interpolation with align_corners=True or antialias=True "
                        "depends on the input size; not supported by the receptive-field recursion")
    src = node.args[0] if node.args else None
    n = None
    if scale_factor is not None and size is None:
        factors = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,)
        factors = tuple(Fraction(f) for f in factors)
        shape = _shape(src)
        n = len(shape) - 2 if shape is not None else None
    elif size is not None:
        shape_in, shape_out = _shape(src), _shape(node)
        if shape_in is None or shape_out is None:
            raise TypeError(f"{where}: upsampling to a fixed size needs the input shape; "
                            "pass an example input (summary does)")
        n = len(shape_in) - 2
        factors = tuple(Fraction(o, i) for i, o in zip(shape_in[2:], shape_out[2:]))
    else:
        raise TypeError(f"{where}: upsampling without size or scale_factor")
    for u in factors:
        inv = 1 / u
        if u <= 0 or inv.denominator & (inv.denominator - 1):
            raise TypeError(f"{where}: scale factor {u} is not supported by the receptive-field "
                            "recursion (its inverse must be exact in floating point, e.g. an "
                            "factor 2, 4, 1/3)")
    if n is not None and len(factors) == 1:
        factors = factors * n
    return factors, mode


def _functional_layer(node, inputs, gm, torch):
    """A ``call_function`` node of a functional conv/pool/upsampling layer as an ``fstep`` Op,
    or ``None``."""
    if node.op != "call_function":
        return None
    F = torch.nn.functional
    target = node.target
    name = _base_name(target)
    for n in (1, 2, 3):
        if target is getattr(F, f"max_pool{n}d"):
            name = f"max_pool{n}d"
    kinds = {}
    for n in (1, 2, 3):
        kinds[f"conv{n}d"] = ("conv", n, ("input", "weight", "bias", "stride", "padding",
                                          "dilation", "groups"))
        kinds[f"conv_transpose{n}d"] = ("transposed", n, (
            "input", "weight", "bias", "stride", "padding", "output_padding", "groups",
            "dilation"))
        kinds[f"max_pool{n}d"] = ("pool", n, ("input", "kernel_size", "stride", "padding",
                                              "dilation", "ceil_mode", "return_indices"))
        kinds[f"avg_pool{n}d"] = ("pool", n, ("input", "kernel_size", "stride", "padding",
                                              "ceil_mode", "count_include_pad",
                                              "divisor_override"))
    kinds["interpolate"] = ("upsample", None, ("input", "size", "scale_factor", "mode",
                                               "align_corners", "recompute_scale_factor",
                                               "antialias"))
    kinds["upsample"] = kinds["interpolate"]
    if name not in kinds or not (target is getattr(F, name, None) or
                                 target is getattr(torch, name, None) or
                                 target is getattr(torch._C._nn, name, None)):
        return None
    kind, n, params = kinds[name]
    where = f"node '{node.name}' ({name})"
    args = dict(zip(params, node.args))
    args.update(node.kwargs)
    for key, value in args.items():
        if key not in ("input", "weight", "bias") and any(
                isinstance(v, torch.fx.Node) for v in _flat(value)):
            raise TypeError(f"{where}: argument {key} is computed at run time; the "
                            "receptive-field recursion needs it as a constant")
    if kind == "upsample":
        detail = _upsample_detail(node, where, args.get("size"), args.get("scale_factor"),
                                  args.get("mode", "nearest"), args.get("align_corners"),
                                  args.get("recompute_scale_factor"), args.get("antialias", False))
        return Op(node.name, node.op, "fstep", inputs, name, detail=("upsample", detail))
    if kind in ("conv", "transposed"):
        weight = args.get("weight")
        shape = None
        if isinstance(weight, torch.fx.Node) and weight.op == "get_attr":
            obj = gm
            for part in weight.target.split("."):
                obj = getattr(obj, part)
            shape = tuple(obj.shape)
        elif isinstance(weight, torch.fx.Node):
            shape = _shape(weight)
        if shape is None:
            raise TypeError(f"{where}: the kernel size (the weight's shape) is unknown; pass an "
                            "example input or use the module's own parameter as the weight")
        k = shape[-n:]
        s, p, d = args.get("stride", 1), args.get("padding", 0), args.get("dilation", 1)
    else:
        k = args["kernel_size"]
        s = args.get("stride")
        s = k if s is None or s == [] or s == () else s
        p, d = args.get("padding", 0), args.get("dilation", 1)
    tup = lambda v: tuple(v) if isinstance(v, (tuple, list)) else v   # noqa: E731
    return Op(node.name, node.op, "fstep", inputs, name,
              detail=("transposed" if kind == "transposed" else "step",
                      (tup(k), tup(s), tup(p), tup(d)), n))


def _flat(value):
    if isinstance(value, (tuple, list)):
        return [x for v in value for x in _flat(v)]
    return [value]
