"""GoogLeNet (Inception v1, Szegedy et al. 2014, "Going Deeper with Convolutions") in torchvision's layout.

Module for module torchvision's ``GoogLeNet``: ``conv1`` (7×7/2) → ``maxpool1`` → ``conv2``
(1×1) → ``conv3`` (3×3) → ``maxpool2`` → ``inception3a``, ``3b`` → ``maxpool3`` →
``inception4a`` … ``4e`` → ``maxpool4`` → ``inception5a``, ``5b`` → ``avgpool`` → ``dropout``
→ ``fc``; with ``aux_logits=True`` also ``aux1`` (on ``inception4a``'s output) and ``aux2`` (on
``inception4d``'s). Every convolution is a :class:`BasicConv2d` (conv without bias → BatchNorm
eps 0.001 → ReLU), each :class:`Inception` block has four branches (``branch1`` 1×1;
``branch2`` 1×1 → 3×3; ``branch3`` 1×1 → "5×5"; ``branch4`` 3×3/1 max-pool → 1×1) whose outputs
are concatenated. Max-pools use ``ceil_mode=True``.

Where torchvision (whose weights are ported from TensorFlow) differs from the 2014 paper:

- BatchNorm after every convolution (the paper has none; BN came with Inception v2);
- ``branch3``'s second convolution is **3×3, not the paper's 5×5** — a known discrepancy kept for
  the ported weights (pytorch/vision issue #906); this layout keeps it, as the parameter count
  requires;
- the auxiliary heads pool with ``adaptive_avg_pool2d(·, (4, 4))`` (the paper: 5×5 average pool,
  stride 3, which gives 4×4 at 14×14), then 1×1 conv 128 → FC 1024 → ReLU → dropout 0.7 → FC.

``googlenet()`` builds the network **without** the auxiliary heads (``aux_logits=False``), as
torchvision's published weights ``GoogLeNet_Weights.IMAGENET1K_V1`` are used: 6,624,904
parameters, 1.498 GMACs at 224×224. ``aux_logits=True`` adds the two heads (3,188,968 +
3,191,016 parameters: 13,004,888 in all, which is also what ``torchvision.models.GoogLeNet()``
gives, since torchvision's class defaults to ``aux_logits=True``); in training mode the model
then returns ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``, in eval mode the logits
only. The paper weights each auxiliary loss by 0.3.

``transform_input=False`` (the default, as torchvision's class): with ``True`` the input,
normalised with the ImageNet mean/std, is re-normalised to the (x − 0.5)/0.5 convention of the
TensorFlow weights (torchvision turns it on only when loading those weights).

Initialisation as torchvision: conv and linear weights ``trunc_normal_(std=0.01, a=-2, b=2)``
(the bounds are absolute, i.e. 200 standard deviations: in effect untruncated), PyTorch's
default biases (only the linear layers have biases), BN weight 1 and bias 0.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["GoogLeNet", "GoogLeNetOutputs", "googlenet", "BasicConv2d", "Inception", "InceptionAux"]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
"""What a ``GoogLeNet(aux_logits=True)`` returns in training mode (torchvision's order)."""


class BasicConv2d(nn.Module):
    """``conv`` (no bias) → ``bn`` (BatchNorm2d, eps=0.001) → ReLU, as torchvision's."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """Four parallel branches concatenated along channels: ``ch1x1 + ch3x3 + ch5x5 + pool_proj``.

    ``branch1``: 1×1 ``ch1x1``. ``branch2``: 1×1 ``ch3x3red`` → 3×3 ``ch3x3``. ``branch3``:
    1×1 ``ch5x5red`` → 3×3 ``ch5x5`` (5×5 in the paper; torchvision's 3×3 kept, see the
    module docstring). ``branch4``: 3×3/1 max-pool → 1×1 ``pool_proj``.
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int,
                 ch5x5red: int, ch5x5: int, pool_proj: int):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_channels, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_channels, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1),  # torchvision: 3×3, not 5×5
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: adaptive avg-pool 4×4 → ``conv`` 1×1 128 → ``fc1`` 2048→1024 →
    ReLU → ``dropout`` (0.7) → ``fc2`` 1024→num_classes."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7):
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(x, (4, 4))
        x = torch.flatten(self.conv(x), 1)
        x = F.relu(self.fc1(x), inplace=True)
        return self.fc2(self.dropout(x))


class GoogLeNet(nn.Module):
    """torchvision's ``GoogLeNet`` (see the module docstring); ``aux_logits`` defaults to False here."""

    def __init__(self, num_classes: int = 1000, aux_logits: bool = False,
                 transform_input: bool = False, dropout: float = 0.2, dropout_aux: float = 0.7):
        super().__init__()
        self.aux_logits = aux_logits
        self.transform_input = transform_input

        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)

        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)

        if aux_logits:
            self.aux1: InceptionAux | None = InceptionAux(512, num_classes, dropout=dropout_aux)
            self.aux2: InceptionAux | None = InceptionAux(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _transform_input(self, x: Tensor) -> Tensor:
        if self.transform_input:
            x_ch0 = torch.unsqueeze(x[:, 0], 1) * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
            x_ch1 = torch.unsqueeze(x[:, 1], 1) * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
            x_ch2 = torch.unsqueeze(x[:, 2], 1) * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
            x = torch.cat((x_ch0, x_ch1, x_ch2), 1)
        return x

    def forward(self, x: Tensor) -> Tensor | GoogLeNetOutputs:
        x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))                    # N × 64 × 56 × 56 at 224
        x = self.maxpool2(self.conv3(self.conv2(x)))        # N × 192 × 28 × 28
        x = self.inception3b(self.inception3a(x))           # N × 480 × 28 × 28
        x = self.inception4a(self.maxpool3(x))              # N × 512 × 14 × 14
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))   # N × 528 × 14 × 14
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))              # N × 832 × 7 × 7
        x = self.inception5b(self.inception5a(x))           # N × 1024 × 7 × 7
        x = torch.flatten(self.avgpool(x), 1)
        x = self.fc(self.dropout(x))
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def googlenet(num_classes: int = 1000, aux_logits: bool = False, transform_input: bool = False,
              dropout: float = 0.2, dropout_aux: float = 0.7) -> GoogLeNet:
    """GoogLeNet (Inception v1) in torchvision's layout, without auxiliary heads by default.

    6,624,904 parameters and 1.498 GMACs at 224×224 (torchvision's
    ``GoogLeNet_Weights.IMAGENET1K_V1``); 13,004,888 parameters with ``aux_logits=True``.
    Minimum input 15×15. See the module docstring for how torchvision differs from the paper.
    """
    return GoogLeNet(num_classes=num_classes, aux_logits=aux_logits,
                     transform_input=transform_input, dropout=dropout, dropout_aux=dropout_aux)
