"""Reference architectures in plain PyTorch, laid out as torchvision lays them out.

torchvision has no CPU wheel in the book's environment, so the architectures the book measures
are defined here. They reproduce torchvision's layout module for module — the same module
names (``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer2.0.downsample.0``, ``fc``,
``features.0``, ``classifier.6`` …), the same layer order and hence the same ``state_dict`` keys
and shapes — and therefore torchvision's published parameter counts exactly:

================== ===========
model              parameters
================== ===========
lenet5 †                61,706
alexnet             61,100,840
alexnet2012 †       60,965,224
vgg16              138,357,544
googlenet            6,624,904
resnet18            11,689,512
resnet34            21,797,672
resnet50            25,557,032
resnet101           44,549,160
resnet152           60,192,808
densenet121          7,978,856
squeezenet1_0        1,248,424
squeezenet1_1        1,235,496
shufflenet_v2_x1_0   2,278,604
mobilenet_v2         3,504,872
mobilenet_v3_large   5,483,032
mobilenet_v3_small   2,542,856
efficientnet_b0      5,288,548
================== ===========

† not in torchvision: ``alexnet2012`` (the 2012 paper's AlexNet: 96 filters in conv1, LRN,
``groups=2``; 227×227 input) and ``lenet5`` (10 classes; 60,850 with the paper's C3 table and
trainable subsampling) are counted from the papers' layer shapes.

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

DenseNet-121 (``DenseBlock``, ``DenseLayer``, ``Transition``; ``memory_efficient`` off by
default), SqueezeNet 1.0/1.1 (``Fire``) and ShuffleNet V2 ×1.0 (``ShuffleV2Block``, torchvision's
``shufflenetv2.InvertedResidual``) are used by "The wider interview" chapters (modern efficient
architectures).

LeNet-5 (``c1, s2, c3, s4, c5, f6, output``; ``ConnectionTableConv2d``, ``Subsampling2d``),
AlexNet (torchvision's "One weird trick" layout, and ``alexnet2012``) and GoogLeNet
(``Inception``, ``InceptionAux``, ``BasicConv2d``; ``aux_logits=False`` by default) are used by
"The wider interview" chapters (classic networks).

MobileNetV2 (``InvertedResidual``), MobileNetV3 Large/Small (``InvertedResidualV3``,
``InvertedResidualConfig``; h-swish, hard-sigmoid SE) and EfficientNet-B0 (``MBConv``,
``MBConvConfig``; ``efficientnet(width_mult, depth_mult, dropout)`` builds torchvision's B1–B7
shapes) share ``Conv2dNormActivation`` and ``SqueezeExcitation`` (torchvision.ops.misc), also
exported here; "The wider interview" chapters use them (modern efficient architectures,
attention in CNNs).
"""
from __future__ import annotations

# One module per family, named as torchvision names them (torchvision.models.resnet …).
from .alexnet import AlexNet, alexnet, alexnet2012
from .googlenet import BasicConv2d, GoogLeNet, GoogLeNetOutputs, Inception, InceptionAux, googlenet
from .lenet import ConnectionTableConv2d, LeNet5, Subsampling2d, lenet5
from .resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from .densenet import DenseBlock, DenseLayer, DenseNet, Transition, densenet121
from ._layers import Conv2dNormActivation, SqueezeExcitation
from .efficientnet import EfficientNet, MBConv, MBConvConfig, efficientnet, efficientnet_b0
from .mobilenetv2 import InvertedResidual, MobileNetV2, mobilenet_v2
from .mobilenetv3 import InvertedResidual as InvertedResidualV3
from .mobilenetv3 import InvertedResidualConfig, MobileNetV3, mobilenet_v3_large, mobilenet_v3_small
from .shufflenetv2 import ShuffleNetV2, ShuffleV2Block, shufflenet_v2_x1_0
from .squeezenet import Fire, SqueezeNet, squeezenet1_0, squeezenet1_1
from .vgg import VGG, vgg16

__all__ = ["vgg16", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "VGG", "ResNet", "BasicBlock", "Bottleneck",
           "densenet121", "DenseNet", "DenseBlock", "DenseLayer", "Transition",
           "squeezenet1_0", "squeezenet1_1", "SqueezeNet", "Fire",
           "shufflenet_v2_x1_0", "ShuffleNetV2", "ShuffleV2Block",
           "lenet5", "LeNet5", "ConnectionTableConv2d", "Subsampling2d",
           "alexnet", "alexnet2012", "AlexNet",
           "googlenet", "GoogLeNet", "GoogLeNetOutputs", "Inception", "InceptionAux", "BasicConv2d",
           "mobilenet_v2", "MobileNetV2", "InvertedResidual",
           "mobilenet_v3_large", "mobilenet_v3_small", "MobileNetV3", "InvertedResidualV3",
           "InvertedResidualConfig",
           "efficientnet_b0", "efficientnet", "EfficientNet", "MBConv", "MBConvConfig",
           "Conv2dNormActivation", "SqueezeExcitation"]
