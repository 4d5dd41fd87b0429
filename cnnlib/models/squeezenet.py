"""SqueezeNet 1.0 (Iandola et al. 2016) and 1.1 (the authors' repository) in torchvision's layout.

The building block is the ``Fire`` module: a 1×1 ``squeeze`` convolution to few channels
(s₁ₓ₁), then two parallel ``expand`` convolutions, 1×1 (e₁ₓ₁) and 3×3/p1 (e₃ₓ₃), whose ReLU
outputs are concatenated (e₁ₓ₁ + e₃ₓ₃ channels). Every convolution has a bias and a ReLU; there
is no BatchNorm and no fully connected layer: the classifier is Dropout – 1×1 conv to
``num_classes`` – ReLU – global average pooling.

1.1 keeps the parameter count (1,235,496 vs 1,248,424) but costs 2.4× fewer MACs: a 3×3/s2 first
convolution with 64 filters instead of 7×7/s2 with 96, and its max-pools moved earlier
(after fire 2 and fire 4 instead of after fire 4 and fire 8), so more fire modules run on
smaller grids.

Module names as torchvision: ``features.0`` (first conv), ``features.3`` (first Fire, with
``squeeze``, ``expand1x1``, ``expand3x3``), ``classifier.1`` (final conv). Initialisation as
torchvision: Kaiming-uniform (fan_in) for every convolution except the final one, normal(0, 0.01)
for the final one; biases 0.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import init

__all__ = ["squeezenet1_0", "squeezenet1_1", "SqueezeNet", "Fire"]


class Fire(nn.Module):
    """``squeeze`` (1×1 to ``squeeze_planes``) – ReLU – [``expand1x1`` (1×1) ‖ ``expand3x3``
    (3×3/p1)] each with ReLU, concatenated: ``expand1x1_planes + expand3x3_planes`` channels."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int,
                 expand3x3_planes: int) -> None:
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    """torchvision's ``SqueezeNet``: ``features`` (version ``"1_0"`` or ``"1_1"``, max-pools
    3×3/s2 with ``ceil_mode=True``) → ``classifier`` (Dropout, 1×1 conv, ReLU,
    AdaptiveAvgPool2d(1)) → flatten."""

    def __init__(self, version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.num_classes = num_classes
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(96, 16, 64, 64),
                Fire(128, 16, 64, 64),
                Fire(128, 32, 128, 128),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(256, 32, 128, 128),
                Fire(256, 48, 192, 192),
                Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(512, 64, 256, 256),
            )
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(64, 16, 64, 64),
                Fire(128, 16, 64, 64),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(128, 32, 128, 128),
                Fire(256, 32, 128, 128),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(256, 48, 192, 192),
                Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256),
                Fire(512, 64, 256, 256),
            )
        else:
            raise ValueError(f"Unsupported SqueezeNet version {version}: 1_0 or 1_1 expected")

        final_conv = nn.Conv2d(512, self.num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)))

        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


def squeezenet1_0(num_classes: int = 1000, dropout: float = 0.5) -> SqueezeNet:
    """SqueezeNet 1.0 (the paper's): 7×7/s2 conv to 96, eight Fire modules; 1,248,424 parameters
    and 0.819 GMACs at 224×224 (torchvision's ``SqueezeNet1_0_Weights``). Minimum input 21×21."""
    return SqueezeNet("1_0", num_classes=num_classes, dropout=dropout)


def squeezenet1_1(num_classes: int = 1000, dropout: float = 0.5) -> SqueezeNet:
    """SqueezeNet 1.1: 3×3/s2 conv to 64, pools earlier; 1,235,496 parameters and 0.349 GMACs at
    224×224 (torchvision's ``SqueezeNet1_1_Weights``). Minimum input 17×17."""
    return SqueezeNet("1_1", num_classes=num_classes, dropout=dropout)
