"""``summary(model, input_size)``: a per-layer table of a torch model — our own torchinfo.

Used by chapters 2, 6–9, 21, 27 and 33. Parameter counts come from the modules, MACs from the
calculators of chapter 23 (``conv_macs``) applied to the shapes seen in a real forward pass, and
the receptive field from the fx propagation of chapter 33 (``receptive_field``). Totals equal
``torch.utils.flop_counter.FlopCounterMode`` (which reports FLOPs = 2 × MACs).

``import cnnlib`` does not import torch; :func:`summary` imports it when called.
"""
from __future__ import annotations

import html
import math
from typing import Any, NamedTuple

from ._checks import is_int
from ._cost import conv_macs
from ._receptive import _State, model_fields

__all__ = ["summary", "ModelSummary", "SummaryRow"]


class SummaryRow(NamedTuple):
    """One forward call of one leaf module.

    ``rf_size``/``rf_jump`` are per-dim tuples, ``'global'`` after global/adaptive pooling,
    or ``None`` (no spatial layout, or the model is not fx-traceable). ``params`` counts the
    module's parameters at its first call and 0 at later calls (shared modules).
    """

    name: str
    type: str
    output_shape: tuple
    params: int
    macs: int
    rf_size: Any
    rf_jump: Any


def _fmt_dims(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    return "×".join(str(x) for x in v)


class ModelSummary:
    """Result of :func:`summary`: ``rows``, ``total_params``, ``trainable_params``,
    ``total_macs`` and ``total_flops`` (= 2 × ``total_macs``); prints as a text table and
    renders as an HTML table in notebooks."""

    _COLUMNS = ("Layer", "Type", "Output shape", "Params", "MACs", "RF", "Jump")
    _HTML_COLUMNS = ("Layer", "Output shape", "Params", "MACs", "RF / jump")
    VISIBLE_ROWS = 12

    def __init__(self, rows, total_params, trainable_params, input_size, output_shape):
        self.rows: list[SummaryRow] = rows
        self.total_params: int = total_params
        self.trainable_params: int = trainable_params
        self.total_macs: int = sum(r.macs for r in rows)
        self.total_flops: int = 2 * self.total_macs
        self.input_size: tuple = input_size
        self.output_shape = output_shape

    def _cells(self):
        for r in self.rows:
            yield (r.name, r.type, str(list(r.output_shape)) if r.output_shape is not None else "—",
                   f"{r.params:,}", f"{r.macs:,}", _fmt_dims(r.rf_size), _fmt_dims(r.rf_jump))

    def _totals(self):
        return [("Input size", str(list(self.input_size))),
                ("Output shape", str(list(self.output_shape)) if self.output_shape else "—"),
                ("Total params", f"{self.total_params:,}"),
                ("Trainable params", f"{self.trainable_params:,}"),
                ("Non-trainable params", f"{self.total_params - self.trainable_params:,}"),
                ("Total MACs", f"{self.total_macs:,}"),
                ("Total FLOPs (= 2 × MACs)", f"{self.total_flops:,}")]

    def __str__(self) -> str:
        cells = list(self._cells())
        widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(self._COLUMNS)]
        right = {3, 4}

        def line(values):
            return "  ".join(v.rjust(w) if i in right else v.ljust(w)
                             for i, (v, w) in enumerate(zip(values, widths))).rstrip()

        rule = "-" * len(line(["x" * w for w in widths]))
        out = [line(self._COLUMNS), rule, *map(line, cells), rule]
        width = max(len(k) for k, _ in self._totals())
        out += [f"{k + ':':<{width + 1}} {v}" for k, v in self._totals()]
        out.append("MACs counted for Conv/ConvTranspose/Linear and functional convolutions and "
                   "matrix products, as FlopCounterMode counts them (bias excluded); "
                   "RF = receptive field in input pixels, Jump = effective stride.")
        return "\n".join(out)

    def __repr__(self) -> str:
        return (f"ModelSummary(rows={len(self.rows)}, total_params={self.total_params:,}, "
                f"total_macs={self.total_macs:,})")

    def _repr_html_(self) -> str:
        """Five columns and 12 rows on the page, the other rows in a dropdown, so that the table
        reads on a phone (the text table has all seven columns): the layer's type under its
        name, receptive field and jump in one column, one number where every dim agrees."""
        esc = html.escape

        def compact(v):
            return str(v[0]) if isinstance(v, tuple) and len(set(v)) == 1 else _fmt_dims(v)

        def rows(part):
            return "".join(
                f"<tr><td>{esc(r.name)}<br><small>{esc(r.type)}</small></td>"
                f"<td>{esc(_fmt_dims(r.output_shape))}</td>"
                f'<td style="text-align:right">{r.params:,}</td>'
                f'<td style="text-align:right">{r.macs:,}</td>'
                f"<td>{esc(compact(r.rf_size))} / {esc(compact(r.rf_jump))}</td></tr>"
                for r in part)

        head = "".join(f"<th>{h}</th>" for h in self._HTML_COLUMNS)

        def table(part):
            return f"<table><thead><tr>{head}</tr></thead><tbody>{rows(part)}</tbody></table>"

        out = table(self.rows[:self.VISIBLE_ROWS])
        if len(self.rows) > self.VISIBLE_ROWS:
            rest = len(self.rows) - self.VISIBLE_ROWS
            out += (f"<details><summary>Show the other {rest} layers</summary>"
                    f"{table(self.rows[self.VISIBLE_ROWS:])}</details>")
        totals = "".join(f"<tr><th style='text-align:left'>{esc(k)}</th>"
                         f"<td style='text-align:right'>{esc(v)}</td></tr>"
                         for k, v in self._totals())
        return f"<div>{out}<table>{totals}</table></div>"


def _first_tensor(obj, torch):
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, (tuple, list)):
        for item in obj:
            t = _first_tensor(item, torch)
            if t is not None:
                return t
    if isinstance(obj, dict):
        return _first_tensor(list(obj.values()), torch)
    return None


def _macs(module, x, y, torch) -> int:
    """MACs of one call, exactly as FlopCounterMode counts (FLOPs / 2); 0 for other modules."""
    nn = torch.nn
    if isinstance(module, nn.modules.conv._ConvNd):
        n = len(module.kernel_size)
        batch = x.shape[0] if x.dim() == n + 2 else 1          # unbatched input: batch 1
        if module.transposed:
            # the adjoint of a conv from C_out to C_in whose *output* is this layer's input
            return batch * conv_macs(module.out_channels, module.in_channels, module.kernel_size,
                                     tuple(x.shape[-n:]), module.groups)
        return batch * conv_macs(module.in_channels, module.out_channels, module.kernel_size,
                                 tuple(y.shape[-n:]), module.groups)
    if isinstance(module, nn.Linear):
        rows = math.prod(x.shape[:-1])                          # every leading dim is a batch
        return rows * module.in_features * module.out_features
    return 0


def _spatial_dims(model, torch):
    nn = torch.nn
    for m in model.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            return len(m.kernel_size)
        for n in (1, 2, 3):
            if type(m).__name__.endswith(f"Pool{n}d"):
                return n
    return None


def summary(model, input_size, dtype=None) -> ModelSummary:
    """Per-layer table of a torch model: name, type, output shape, parameters, MACs and
    receptive field — with totals that match ``FlopCounterMode``.

    Parameters
    ----------
    model : torch.nn.Module
    input_size : tuple of int
        The full input shape ``(N, C, H, W)`` (or ``(N, C, L)``, ``(N, C, D, H, W)``). A shape
        without the batch dim, e.g. ``(C, H, W)``, is accepted when the model's first
        conv/pool module tells its spatial rank (``Conv2d`` → 2): then ``N = 1`` is prepended.
    dtype : torch.dtype, optional
        Input dtype (default: the dtype of the model's first parameter, else float32).

    Returns
    -------
    ModelSummary
        ``.rows`` (one :class:`SummaryRow` per forward call of a leaf module, in execution
        order), ``.total_params``, ``.trainable_params`` (unique parameters of the whole model),
        ``.total_macs`` and ``.total_flops`` (= 2 × MACs) for the whole batch; ``str()`` is a
        text table, ``_repr_html_`` an HTML table for notebooks.

    Notes
    -----
    The model runs once on zeros under ``torch.no_grad()`` in eval mode (every module's
    training flag is restored afterwards). MACs are counted for ``Conv*d``, ``ConvTranspose*d``
    and ``Linear`` leaf modules, as ``FlopCounterMode`` counts them (FLOPs = 2 × MACs; bias
    not counted)::

        conv:        N · C_out · ∏H_out · (C_in / g) · ∏k          (conv_macs × N)
        transposed:  N · C_in  · ∏H_in  · (C_out / g) · ∏k
        linear:      (rows of the input) · in_features · out_features

    and for the same operations written as functions inside a ``forward``: ``F.conv*d`` /
    ``F.conv_transpose*d`` calls, and matrix products (``F.linear``, ``torch.matmul``, ``@``,
    ``torch.mm``/``bmm``, ``einsum`` — every aten ``mm``/``addmm``/``bmm``/``baddbmm``,
    ``batch · n · k · m`` MACs each). They are added to the row of the leaf module whose
    ``forward`` makes them, or to a row ``(functional)`` when a non-leaf module's ``forward``
    does. Attention kernels (``scaled_dot_product_attention``) are not counted. The
    receptive-field columns come from
    :func:`receptive_field`'s fx propagation; they are empty if the model cannot be traced.
    Chapters 6, 9, 33.
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model={type(model).__name__} must be a torch.nn.Module")
    if not (isinstance(input_size, (tuple, list)) and input_size
            and all(is_int(v) and v > 0 for v in input_size)):
        raise ValueError(f"input_size={input_size!r} must be a tuple of positive ints, "
                         "e.g. (1, 3, 224, 224)")
    input_size = tuple(int(v) for v in input_size)
    n = _spatial_dims(model, torch)
    if n is not None and len(input_size) == n + 1:
        input_size = (1,) + input_size
    params = list(model.parameters())
    if dtype is None:
        dtype = params[0].dtype if params and params[0].is_floating_point() else torch.float32
    device = params[0].device if params else torch.device("cpu")

    states: dict = {}      # module name -> receptive-field state of each call (fx propagation)
    names = {m: name for name, m in model.named_modules()}
    rows: list[SummaryRow] = []
    seen: set = set()

    functional = [0]       # MACs of functional convs/products made by the leaf module running now
    counted = [0]          # ... and by forwards of non-leaf modules (own row '(functional)')
    stack: list = []

    def add_functional(macs):
        if stack:
            functional[0] += macs
        else:
            counted[0] += macs

    def pre_hook(module, inputs):
        stack.append(module)
        functional[0] = 0

    def hook(module, inputs, output):
        x = _first_tensor(inputs, torch)
        y = _first_tensor(output, torch)
        name = names[module]
        own = 0
        if id(module) not in seen:
            seen.add(id(module))
            own = sum(p.numel() for p in module.parameters(recurse=False))
        calls = states.get(name, [])
        state = calls.pop(0) if calls else None     # fx lists the calls in execution order
        if isinstance(state, _State):
            size, jump = state.size, state.jump
        elif state == "global":
            size, jump = "global", None
        else:
            size = jump = None
        rows.append(SummaryRow(name, type(module).__name__,
                               tuple(y.shape) if y is not None else None, own,
                               (_macs(module, x, y, torch) if x is not None and y is not None
                                else 0) + functional[0], size, jump))
        functional[0] = 0
        if stack:
            stack.pop()

    class _Mode(torch.overrides.TorchFunctionMode):
        """Counts functional convolutions outside Conv modules (FlopCounterMode's formula)."""

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            name = getattr(func, "__name__", "")
            if name.startswith(("conv1d", "conv2d", "conv3d", "conv_transpose")) and not (
                    stack and isinstance(stack[-1], torch.nn.modules.conv._ConvNd)):
                x, w = args[0], args[1] if len(args) > 1 else kwargs["weight"]
                if name.startswith("conv_transpose"):
                    macs = x.shape[0] * math.prod(x.shape[2:]) * math.prod(w.shape)
                else:
                    macs = out.shape[0] * math.prod(out.shape[2:]) * math.prod(w.shape)
                add_functional(macs)
            return out

    from torch.utils._python_dispatch import TorchDispatchMode
    aten = torch.ops.aten
    operands = {aten.mm: (0, 1), aten.addmm: (1, 2), aten.bmm: (0, 1), aten.baddbmm: (1, 2)}
    counted_modules = (torch.nn.Linear, torch.nn.modules.conv._ConvNd)

    class _Products(TorchDispatchMode):
        """Counts the matrix products that reach aten outside Linear/conv modules (whose MACs
        ``_macs`` counts): ``F.linear``, ``matmul``, ``@`` and ``einsum`` in a ``forward``."""

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            which = operands.get(func.overloadpacket)
            if which is not None and not (stack and isinstance(stack[-1], counted_modules)):
                a, b = args[which[0]], args[which[1]]
                add_functional(math.prod(a.shape[:-1]) * a.shape[-1] * b.shape[-1])
            return out

    modes = {m: m.training for m in model.modules()}
    handles = []
    try:
        model.eval()
        example = torch.zeros(input_size, dtype=dtype, device=device)
        try:   # before the hooks: the shape propagation runs the same modules
            states.update(model_fields(model, example)[1])
        except (TypeError, ValueError):
            pass
        leaves = [m for m in model.modules() if not any(True for _ in m.children())]
        handles = [m.register_forward_hook(hook) for m in leaves]
        handles += [m.register_forward_pre_hook(pre_hook) for m in leaves]
        with torch.no_grad(), _Mode(), _Products():
            out = model(example)
        if counted[0]:
            rows.append(SummaryRow("(functional)", "functional", None, 0, counted[0], None,
                                   None))
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
    y = _first_tensor(out, torch)
    return ModelSummary(rows, sum(p.numel() for p in params),
                        sum(p.numel() for p in params if p.requires_grad), input_size,
                        tuple(y.shape) if y is not None else None)
