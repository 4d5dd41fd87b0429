"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-Based Learning Applied to Document
Recognition", section II.B) — not in torchvision; built here with readable layer names.

Layers, named as the paper names them, on a 32×32 single-channel input::

    c1      conv 1→6, 5×5            → 6@28×28      156 parameters
    s2      2×2/2 subsampling         → 6@14×14      0 (average pool) or 12 (paper)
    c3      conv 6→16, 5×5           → 16@10×10     2,416 (full) or 1,516 (paper's table)
    s4      2×2/2 subsampling         → 16@5×5       0 or 32 (paper)
    c5      conv 16→120, 5×5         → 120@1×1      48,120
    f6      linear 120→84                            10,164
    output  linear 84→num_classes                    850 for 10 classes

``c5`` is a convolution, as the paper calls it: on a 32×32 input its 5×5 kernel covers the whole
5×5 map of S4, so it acts as a fully connected layer, but a larger input gives a larger C5 map
(and ``f6`` then fails: the network is built for 32×32). The activation is ``tanh`` after
``c1``, ``c3``, ``c5`` and ``f6`` (module ``act``, applied in ``forward``).

The default (``lenet5()``) is the common modern simplification: full C3 connections, plain
``nn.AvgPool2d(2)`` subsampling without parameters, tanh, and a linear output layer for softmax
cross-entropy — 61,706 parameters for 10 classes. Two flags restore the paper's details:

- ``c3_table=True``: C3 is connected to S2 by the paper's Table I (each of the 16 maps reads
  3, 4, 4 or 6 of the 6 S2 maps: 60 of the 96 map pairs), as a :class:`ConnectionTableConv2d`
  that stores only the 60 connected 5×5 kernels — 1,516 parameters, as the paper states,
  instead of 2,416. Its forward pass scatters them into a dense 16×6×5×5 kernel with zeros
  elsewhere, so torch's FLOP counter still counts the dense convolution's MACs.
- ``trainable_pool=True``: S2 and S4 as the paper's subsampling units
  (:class:`Subsampling2d`): the four inputs are added, multiplied by a trainable coefficient,
  a trainable bias is added (one pair per map: 12 and 32 parameters), and the result is
  squashed (tanh here). The coefficient starts at 1/4 and the bias at 0, i.e. as
  ``AvgPool2d(2)``.

With both flags: 60,850 parameters for 10 classes (``c3_table`` alone: 60,806).

Not reproduced: the paper's squashing function is the scaled tanh ``1.7159·tanh(2a/3)`` (plain
tanh here); its output layer is 10 Euclidean RBF units with fixed, hand-chosen ±1 parameter
vectors of length 84 (stylised 7×12 bitmaps of the characters), not a linear layer trained with
cross-entropy; its initialisation is uniform in ±2.4/fan-in (PyTorch's defaults here).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["LeNet5", "lenet5", "ConnectionTableConv2d", "Subsampling2d", "C3_TABLE"]

# Table I of LeCun et al. (1998): the S2 maps (0–5) each C3 map (0–15) reads. Maps 0–5 read
# three contiguous S2 maps, 6–11 four contiguous, 12–14 four discontinuous, 15 all six.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


class ConnectionTableConv2d(nn.Module):
    """A convolution in which output map ``o`` reads only the input maps ``table[o]``.

    Parameters: ``weight`` of shape ``(connections, k, k)`` — one kernel per connected
    (output, input) pair, in the order of ``table`` — and ``bias`` ``(out_channels,)``. The
    property :attr:`mask` is the ``(out_channels, in_channels)`` boolean connection matrix,
    and :meth:`dense_weight` the equivalent ``nn.Conv2d`` kernel (zeros where not connected).
    Initialised like ``nn.Conv2d`` with each output map's own fan-in: uniform in
    ±1/√(fan-in).
    """

    def __init__(self, in_channels: int, table: tuple[tuple[int, ...], ...], kernel_size: int):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = len(table)
        self.kernel_size = kernel_size
        out_idx = [o for o, ins in enumerate(table) for _ in ins]
        in_idx = [i for ins in table for i in ins]
        if not all(0 <= i < in_channels for i in in_idx):
            raise ValueError(f"table refers to input maps outside 0..{in_channels - 1}")
        self.register_buffer("out_idx", torch.tensor(out_idx), persistent=False)
        self.register_buffer("in_idx", torch.tensor(in_idx), persistent=False)
        self.weight = nn.Parameter(torch.empty(len(in_idx), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(self.out_channels))
        with torch.no_grad():
            for o, ins in enumerate(table):
                bound = 1 / math.sqrt(len(ins) * kernel_size * kernel_size)
                rows = [n for n, oo in enumerate(out_idx) if oo == o]
                self.weight[rows[0]:rows[-1] + 1].uniform_(-bound, bound)
                self.bias[o].uniform_(-bound, bound)

    @property
    def mask(self) -> Tensor:
        m = torch.zeros(self.out_channels, self.in_channels, dtype=torch.bool,
                        device=self.weight.device)
        m[self.out_idx, self.in_idx] = True
        return m

    def dense_weight(self) -> Tensor:
        k = self.kernel_size
        w = self.weight.new_zeros(self.out_channels, self.in_channels, k, k)
        return w.index_put((self.out_idx, self.in_idx), self.weight)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.dense_weight(), self.bias)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"connections={self.weight.shape[0]}")


class Subsampling2d(nn.Module):
    """LeNet-5's subsampling: sum of each 2×2 block × a trainable coefficient + a trainable bias,
    one pair per map (``weight``, ``bias`` of shape ``(channels,)``). Starts as ``AvgPool2d(2)``
    (coefficient 1/4, bias 0). The squashing function is applied by the network, not here."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), 0.25))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        s = F.avg_pool2d(x, 2) * 4                          # sum of the four inputs
        return s * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class LeNet5(nn.Module):
    """LeNet-5 with modules ``c1, s2, c3, s4, c5, f6, output`` (and ``act``, the tanh); see the
    module docstring for the flags."""

    def __init__(self, num_classes: int = 10, c3_table: bool = False, trainable_pool: bool = False):
        super().__init__()
        self.trainable_pool = trainable_pool
        self.c1 = nn.Conv2d(1, 6, kernel_size=5)
        self.s2 = Subsampling2d(6) if trainable_pool else nn.AvgPool2d(2)
        self.c3 = ConnectionTableConv2d(6, C3_TABLE, 5) if c3_table else nn.Conv2d(6, 16, 5)
        self.s4 = Subsampling2d(16) if trainable_pool else nn.AvgPool2d(2)
        self.c5 = nn.Conv2d(16, 120, kernel_size=5)
        self.f6 = nn.Linear(120, 84)
        self.output = nn.Linear(84, num_classes)
        self.act = nn.Tanh()

    def _pool(self, pool: nn.Module, x: Tensor) -> Tensor:
        x = pool(x)
        return self.act(x) if self.trainable_pool else x   # the paper squashes S2 and S4 too

    def forward(self, x: Tensor) -> Tensor:
        x = self._pool(self.s2, self.act(self.c1(x)))     # N × 6 × 14 × 14
        x = self._pool(self.s4, self.act(self.c3(x)))     # N × 16 × 5 × 5
        x = self.act(self.c5(x))                          # N × 120 × 1 × 1
        x = self.act(self.f6(torch.flatten(x, 1)))        # N × 84
        return self.output(x)


def lenet5(num_classes: int = 10, c3_table: bool = False, trainable_pool: bool = False) -> LeNet5:
    """LeNet-5 on 32×32×1 inputs: 61,706 parameters (10 classes) in the modern simplification;
    ``c3_table=True`` (C3 1,516 parameters) and ``trainable_pool=True`` (S2 12, S4 32) restore
    the paper's layers (60,850 with both). See the module docstring."""
    return LeNet5(num_classes=num_classes, c3_table=c3_table, trainable_pool=trainable_pool)
