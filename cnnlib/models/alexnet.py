"""AlexNet in torchvision's layout ("One weird trick", 2014) and in the 2012 paper's layout.

``alexnet()`` is torchvision's ``AlexNet`` module for module. torchvision does *not* build the
network of Krizhevsky, Sutskever & Hinton (2012, "ImageNet Classification with Deep
Convolutional Neural Networks"): it follows Krizhevsky's single-column variant from "One weird
trick for parallelizing convolutional neural networks" (2014) — 64 filters in conv1 (not 96),
192/384/256/256 in conv2–5, no local response normalisation, no two-GPU groups, and an
``AdaptiveAvgPool2d((6, 6))`` so that any input ≥ 63×63 works. 61,100,840 parameters.

``alexnet2012()`` is the 2012 paper's network, for the chapter that shows its ingredients:

- conv1 has 96 filters 11×11, stride 4, no padding, on a **227×227** input (the paper says 224,
  but (224 − 11)/4 + 1 is not an integer; 227 gives the paper's 55×55 maps — the usual
  reproduction, e.g. Caffe's AlexNet with its 227×227 crop);
- local response normalisation after the ReLUs of conv1 and conv2, before their max-pools;
- overlapping 3×3/2 max-pooling after conv1, conv2 and conv5 (as torchvision);
- the two-GPU split as ``groups=2`` in conv2, conv4 and conv5 (each half sees only the 48 or
  192 maps of its own GPU); conv3 and the fully connected layers are connected across GPUs;
- dropout 0.5 before the first two fully connected layers; the paper's initialisation
  (weights N(0, 0.01²), biases 1 in conv2, conv4, conv5 and the hidden FC layers, 0 elsewhere).

It has 60,965,224 parameters (no torchvision figure; ``tests/test_models_classic.py`` derives it
layer by layer from the paper's shapes). Same module names as torchvision's ``AlexNet``
(``features``, ``avgpool``, ``classifier``), with the two ``LocalResponseNorm`` layers inside
``features`` — so the ``features`` indices differ from torchvision's
(conv layers at ``features.0, 4, 8, 10, 12``).

LRN and torch's α: the paper divides by ``(k + α Σ a²)^β`` with k=2, n=5, α=1e-4, β=0.75;
``torch.nn.LocalResponseNorm`` divides by ``(k + α/n Σ a²)^β`` (α divided by the window size,
as Caffe does). The paper's layer is therefore ``nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75,
k=2)``, which is what ``alexnet2012()`` uses; reproductions that write ``alpha=1e-4`` in torch or
Caffe normalise five times more weakly than the paper.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["AlexNet", "alexnet", "alexnet2012", "LRN_2012"]

LRN_2012 = dict(size=5, alpha=5e-4, beta=0.75, k=2.0)
"""Arguments of ``nn.LocalResponseNorm`` equal to the 2012 paper's LRN (α = 1e-4 · n, n = 5)."""


class AlexNet(nn.Module):
    """torchvision's ``AlexNet``: ``features`` → ``AdaptiveAvgPool2d((6, 6))`` → ``classifier``.

    ``classifier`` is Dropout–Linear(256·6·6, 4096)–ReLU–Dropout–Linear(4096, 4096)–ReLU–
    Linear(4096, num_classes), as in torchvision. torchvision's AlexNet keeps PyTorch's default
    initialisation (no ``_initialize_weights``); so does this class unless ``features`` is
    built by :func:`alexnet2012`, which applies the paper's initialisation.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5,
                 features: nn.Module | None = None):
        super().__init__()
        if features is None:
            features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
                nn.Conv2d(64, 192, kernel_size=5, padding=2),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
                nn.Conv2d(192, 384, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(384, 256, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(256, 256, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2),
            )
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def alexnet(num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    """AlexNet as torchvision builds it ("One weird trick" 2014 variant; see the module docstring).

    Conv 64 11×11/4 p2 → max-pool 3/2 → conv 192 5×5 p2 → max-pool → conv 384, 256, 256 3×3 p1
    → max-pool → adaptive average pool 6×6 → FC 4096, 4096, ``num_classes``. 61,100,840
    parameters and 0.714 GMACs at 224×224 (torchvision's ``AlexNet_Weights.IMAGENET1K_V1``).
    Minimum input 63×63.
    """
    return AlexNet(num_classes=num_classes, dropout=dropout)


def alexnet2012(num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    """The 2012 paper's AlexNet: 96 filters in conv1, LRN, two-GPU ``groups=2``; input 227×227.

    ``features``: conv1 96 11×11/4 (p0) – ReLU – LRN – max-pool 3/2 – conv2 256 5×5 p2 groups=2
    – ReLU – LRN – max-pool – conv3 384 3×3 p1 – ReLU – conv4 384 3×3 p1 groups=2 – ReLU –
    conv5 256 3×3 p1 groups=2 – ReLU – max-pool (conv layers at ``features.0, 4, 8, 10, 12``,
    LRN at ``features.2, 6``). Maps 55 → 27 → 27 → 13 → 13 → 13 → 6 at 227×227, so the
    ``avgpool`` is the identity there (kept, as torchvision's, so other sizes run too). The
    classifier is torchvision's. 60,965,224 parameters. LRN is ``nn.LocalResponseNorm(**LRN_2012)``
    (α = 5e-4 in torch's convention equals the paper's α = 1e-4; see the module docstring).
    Initialisation as the paper: weights N(0, 0.01²); biases 1 in conv2, conv4, conv5 and the
    hidden FC layers, 0 in conv1, conv3 and the output layer.
    """
    features = nn.Sequential(
        nn.Conv2d(3, 96, kernel_size=11, stride=4),
        nn.ReLU(inplace=True),
        nn.LocalResponseNorm(**LRN_2012),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2),
        nn.ReLU(inplace=True),
        nn.LocalResponseNorm(**LRN_2012),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2),
        nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )
    model = AlexNet(num_classes=num_classes, dropout=dropout, features=features)
    bias_one = {model.features[4], model.features[10], model.features[12],
                model.classifier[1], model.classifier[4]}
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.constant_(m.bias, 1.0 if m in bias_one else 0.0)
    return model
