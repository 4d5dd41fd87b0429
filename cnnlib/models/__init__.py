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

# One module per family, named as torchvision names them (torchvision.models.resnet …).
from .resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from .vgg import VGG, vgg16

__all__ = ["vgg16", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "VGG", "ResNet", "BasicBlock", "Bottleneck"]
