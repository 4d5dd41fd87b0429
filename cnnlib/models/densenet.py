"""DenseNet-121 (Huang et al. 2017, "Densely Connected Convolutional Networks") in torchvision's layout.

DenseNet-BC: every layer of a dense block receives the concatenation of the block's input and
all earlier layers' outputs and adds ``growth_rate`` (k = 32) new channels; each layer is
BN–ReLU–1×1 conv to ``bn_size·k`` = 128 channels (the "B", bottleneck) – BN–ReLU–3×3 conv to k.
Between blocks a transition (BN–ReLU–1×1 conv halving the channels, the "C", compression θ = ½,
then 2×2 average pooling) shrinks the grid. Channels of DenseNet-121: 64 → block 1 (6 layers)
→ 256 → 128 → block 2 (12) → 512 → 256 → block 3 (24) → 1024 → 512 → block 4 (16) → 1024.

The module names are torchvision's, so the ``state_dict`` keys are too
(``features.conv0.weight``, ``features.denseblock1.denselayer1.norm1.weight``,
``features.transition1.conv.weight``, ``features.norm5.running_var``, ``classifier.weight``).
The blocks are exported under public names as well: ``DenseLayer is _DenseLayer``,
``DenseBlock is _DenseBlock``, ``Transition is _Transition``.

``memory_efficient=True`` recomputes each layer's concatenation + BN + ReLU + 1×1 conv in the
backward pass (``torch.utils.checkpoint``, as torchvision and Pleiss et al. 2017) instead of
storing it; the default ``False`` is the plain path, whose autograd-saved tensors are what a
naive DenseNet keeps (every layer's concatenated input: quadratic in the block's depth).
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from torch import Tensor, nn

__all__ = ["densenet121", "DenseNet", "DenseLayer", "DenseBlock", "Transition"]


class _DenseLayer(nn.Module):
    """``norm1``–``relu1``–``conv1`` (1×1 to ``bn_size·growth_rate``) – ``norm2``–``relu2``–
    ``conv2`` (3×3/p1 to ``growth_rate``), all convolutions without bias.

    ``forward`` takes the list of the block's feature maps so far (or one tensor) and
    concatenates them itself, as torchvision does, so that ``memory_efficient`` can checkpoint
    the concatenation together with the bottleneck.
    """

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int,
                 drop_rate: float, memory_efficient: bool = False) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1,
                               stride=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1,
                               padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        self.memory_efficient = memory_efficient

    def bn_function(self, inputs: list[Tensor]) -> Tensor:
        """cat → norm1 → relu1 → conv1: the bottleneck output (``bn_size·growth_rate`` channels)."""
        return self.conv1(self.relu1(self.norm1(torch.cat(inputs, 1))))

    def forward(self, input: Tensor | list[Tensor]) -> Tensor:
        prev_features = [input] if isinstance(input, Tensor) else list(input)
        if self.memory_efficient and any(t.requires_grad for t in prev_features):
            bottleneck = cp.checkpoint(lambda *xs: self.bn_function(list(xs)), *prev_features,
                                       use_reentrant=False)
        else:
            bottleneck = self.bn_function(prev_features)
        new_features = self.conv2(self.relu2(self.norm2(bottleneck)))
        if self.drop_rate > 0:
            new_features = F.dropout(new_features, p=self.drop_rate, training=self.training)
        return new_features


class _DenseBlock(nn.ModuleDict):
    """``denselayer1`` … ``denselayerN``; layer ``i`` (from 0) sees
    ``num_input_features + i·growth_rate`` channels. Output: the concatenation of the input and
    all N new maps, ``num_input_features + N·growth_rate`` channels."""

    _version = 2

    def __init__(self, num_layers: int, num_input_features: int, bn_size: int,
                 growth_rate: int, drop_rate: float, memory_efficient: bool = False) -> None:
        super().__init__()
        for i in range(num_layers):
            self.add_module(f"denselayer{i + 1}", _DenseLayer(
                num_input_features + i * growth_rate, growth_rate=growth_rate, bn_size=bn_size,
                drop_rate=drop_rate, memory_efficient=memory_efficient))

    def forward(self, init_features: Tensor) -> Tensor:
        features = [init_features]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class _Transition(nn.Sequential):
    """``norm``–``relu``–``conv`` (1×1, no bias, to ``num_output_features``) – ``pool``
    (2×2/s2 average pooling)."""

    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, stride=1,
                              bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


DenseLayer = _DenseLayer
DenseBlock = _DenseBlock
Transition = _Transition


class DenseNet(nn.Module):
    """torchvision's ``DenseNet`` (DenseNet-BC).

    ``features``: ``conv0`` (7×7/s2/p3, no bias) – ``norm0`` – ``relu0`` – ``pool0``
    (3×3/s2/p1 max) – ``denseblock1`` – ``transition1`` – … – ``denseblock4`` – ``norm5``;
    then ReLU, global average pooling and ``classifier`` (Linear). Initialisation as torchvision
    ("official init from torch repo"): Kaiming-normal convolutions (fan_in), BN 1/0, Linear
    bias 0 (its weight keeps PyTorch's default).
    """

    def __init__(self, growth_rate: int = 32, block_config: tuple[int, ...] = (6, 12, 24, 16),
                 num_init_features: int = 64, bn_size: int = 4, drop_rate: float = 0,
                 num_classes: int = 1000, memory_efficient: bool = False) -> None:
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, num_init_features, kernel_size=7, stride=2, padding=3,
                                bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}", _DenseBlock(
                num_layers=num_layers, num_input_features=num_features, bn_size=bn_size,
                growth_rate=growth_rate, drop_rate=drop_rate, memory_efficient=memory_efficient))
            num_features = num_features + num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", _Transition(
                    num_input_features=num_features, num_output_features=num_features // 2))
                num_features = num_features // 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)

        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.features(x), inplace=True)
        out = torch.flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1)
        return self.classifier(out)


def densenet121(num_classes: int = 1000, memory_efficient: bool = False,
                drop_rate: float = 0) -> DenseNet:
    """DenseNet-121: k = 32, blocks (6, 12, 24, 16), 64 initial features, bn_size 4;
    7,978,856 parameters and 2.834 GMACs at 224×224 (torchvision's ``DenseNet121_Weights``).

    121 = conv0 + 2·58 dense-layer convolutions + 3 transition convolutions + classifier.
    Minimum input 29×29 (torchvision's ``min_size``). ``memory_efficient``: see the module
    docstring (default off, the plain path).
    """
    return DenseNet(32, (6, 12, 24, 16), 64, drop_rate=drop_rate, num_classes=num_classes,
                    memory_efficient=memory_efficient)
