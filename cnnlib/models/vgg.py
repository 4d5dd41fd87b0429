"""VGG16 (Simonyan & Zisserman 2014) in torchvision's layout."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["vgg16", "VGG"]


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
