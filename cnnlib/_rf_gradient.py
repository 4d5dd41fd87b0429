"""The receptive field measured by backpropagation: the independent check of the recursion.

:func:`receptive_field_by_gradient` backpropagates a one-hot gradient from one output unit of a
torch model and reports the input pixels it reaches — the oracle that chapter 33 and the tests
compare :func:`cnnlib.receptive_field` (:mod:`cnnlib._receptive`) with. Imports torch only when
called.
"""
from __future__ import annotations

import sys
from typing import NamedTuple

from ._checks import is_int
from ._sizes import pool_output_size
from ._trace import module_ndim

__all__ = ["receptive_field_by_gradient", "GradientField"]


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
            setattr(net, name, cls[module_ndim(child)](child.output_size))
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


def _pool_geometry(pool) -> tuple:
    """``(k, s, p, d)`` of a torch max-pool as ``n``-tuples (``stride=None`` → kernel size)."""
    n = module_ndim(pool)

    def tup(v):
        v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
        return tuple(int(x) for x in (v * n if len(v) == 1 else v))

    k = tup(pool.kernel_size)
    s = tup(pool.stride) if pool.stride is not None and pool.stride != [] else k
    return k, s, tup(pool.padding), tup(pool.dilation)


def _sum_pool_class():
    import torch
    import torch.nn.functional as F

    class SumPool(torch.nn.Module):
        """Depthwise all-ones convolution with a max-pool's geometry (incl. ceil_mode)."""

        def __init__(self, pool):
            super().__init__()
            self.n = module_ndim(pool)
            self.k, self.s, self.p, self.d = _pool_geometry(pool)
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
