"""The ResNet family (He et al. 2015) in torchvision's layout; v1 and v1.5 (see the package docstring)."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "ResNet", "BasicBlock", "Bottleneck"]


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with BN, plus the shortcut:
    ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    ``v1`` is accepted for a uniform interface and ignored (the stride sits in ``conv1``,
    which is both the first convolution and the 3×3).
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, v1: bool = False):
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        out = out + identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """1×1 (reduce) → 3×3 → 1×1 (expand ×4), each with BN, plus the shortcut.

    ``v1=False`` (torchvision, "ResNet v1.5"): the stride is in the 3×3 ``conv2``.
    ``v1=True`` (He et al. 2015): the stride is in the first 1×1 ``conv1``.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, v1: bool = False):
        super().__init__()
        width = planes
        self.conv1 = _conv1x1(inplanes, width, stride if v1 else 1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, 1 if v1 else stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        out = out + identity
        return self.relu(out)


class ResNet(nn.Module):
    """torchvision's ``ResNet``: stem (7×7/s2 conv, BN, ReLU, 3×3/s2/p1 max-pool), four stages
    ``layer1``–``layer4`` (the first block of stages 2–4 downsamples by 2 and has a 1×1/s2
    projection ``downsample``), global average pooling and ``fc``."""

    def __init__(self, block, layers, num_classes: int = 1000, v1: bool = False):
        super().__init__()
        self.inplanes = 64
        self.v1 = bool(v1)
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():  # torchvision's initialisation (BN already starts at 1/0)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                _conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, v1=self.v1)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, v1=self.v1) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def resnet18(num_classes: int = 1000, v1: bool = False) -> ResNet:
    """ResNet-18 (BasicBlock, [2, 2, 2, 2]); 11,689,512 parameters. ``v1`` has no effect."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, v1)


def resnet34(num_classes: int = 1000, v1: bool = False) -> ResNet:
    """ResNet-34 (BasicBlock, [3, 4, 6, 3]); 21,797,672 parameters. ``v1`` has no effect."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, v1)


def resnet50(num_classes: int = 1000, v1: bool = False) -> ResNet:
    """ResNet-50 (Bottleneck, [3, 4, 6, 3]); 25,557,032 parameters.

    ``v1=False``: torchvision's v1.5 (stride in the 3×3); ``v1=True``: He et al. 2015.
    """
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, v1)


def resnet101(num_classes: int = 1000, v1: bool = False) -> ResNet:
    """ResNet-101 (Bottleneck, [3, 4, 23, 3]); 44,549,160 parameters. See :func:`resnet50`."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, v1)


def resnet152(num_classes: int = 1000, v1: bool = False) -> ResNet:
    """ResNet-152 (Bottleneck, [3, 8, 36, 3]); 60,192,808 parameters. See :func:`resnet50`."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, v1)
