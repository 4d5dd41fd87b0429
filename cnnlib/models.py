"""Reference architectures in plain PyTorch: VGG16 and the ResNet family.

torchvision has no CPU wheel in the book's environment, so the architectures the book measures
are defined here. They reproduce torchvision's layout module for module — the same module
names (``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer2.0.downsample.0``, ``fc``,
``features.0``, ``classifier.6`` …), the same layer order and hence the same ``state_dict`` keys
and shapes — and therefore torchvision's published parameter counts exactly:

========== ===========
model      parameters
========== ===========
vgg16      138,357,544
resnet18    11,689,512
resnet34    21,797,672
resnet50    25,557,032
resnet101   44,549,160
resnet152   60,192,808
========== ===========

Importing this module imports torch (``import cnnlib`` alone does not). The weights are
randomly initialised as torchvision does (Kaiming-normal convolutions); there are no pretrained
weights and nothing is downloaded.

ResNet v1 vs v1.5: He et al. (2015) put the stride-2 of a downsampling bottleneck block in its
first 1×1 convolution ("v1", ``v1=True``); torchvision, following the Facebook/NVIDIA
implementations, puts it in the 3×3 convolution ("v1.5", the default). Both have the same
parameters; v1.5 costs more MACs (its first 1×1 runs at the block's input resolution) and
has a *smaller* receptive field (its 3×3 sees the finer grid; ``cnnlib.receptive_field`` gives
427 vs 483 pixels for ResNet-50). For BasicBlock networks (resnet18/34) the first 3×3 *is* the first convolution, so
``v1`` changes nothing there. Chapters 6–9 and 33 use these models.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["vgg16", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "VGG", "ResNet", "BasicBlock", "Bottleneck"]


# ----------------------------------------------------------------------------------- VGG
_VGG16_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"]


class VGG(nn.Module):
    """torchvision's ``VGG``: ``features`` → ``AdaptiveAvgPool2d((7, 7))`` → ``classifier``.

    ``classifier`` is Linear(512·7·7, 4096)–ReLU–Dropout–Linear(4096, 4096)–ReLU–Dropout–
    Linear(4096, num_classes), as in torchvision.
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        # skip_init: the 120M FC weights are initialised once, below, not twice
        # (on the current default device, so that `with torch.device("meta"):` works too)
        linear = lambda i, o: torch.nn.utils.skip_init(  # noqa: E731
            nn.Linear, i, o, device=torch.get_default_device())
        self.classifier = nn.Sequential(
            linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            linear(4096, num_classes),
        )
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def _vgg_features(cfg) -> nn.Sequential:
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


def vgg16(num_classes: int = 1000) -> VGG:
    """VGG16 (configuration D of Simonyan & Zisserman 2014), torchvision layout, no BN.

    13 conv layers 3×3/s1/p1 with ReLU, five 2×2/s2 max-pools (``features.4, 9, 16, 23, 30``),
    then the classifier. 138,357,544 parameters for ``num_classes=1000``. Chapters 1, 2, 9, 33.
    """
    return VGG(_vgg_features(_VGG16_CFG), num_classes=num_classes)


# -------------------------------------------------------------------------------- ResNet
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
