"""EfficientNet-B0 … B7 (Tan & Le 2019, "EfficientNet: Rethinking Model Scaling for
Convolutional Neural Networks") in torchvision's layout (``torchvision/models/efficientnet.py``,
the V1 networks; EfficientNetV2's fused blocks are not included).

B0 is seven stages of MBConv blocks (the paper's Table 1): the MobileNetV2 inverted residual with
squeeze-and-excitation after the depthwise convolution (squeeze width ``max(1, in // 4)`` —
a quarter of the block's *input* width, SiLU inside, sigmoid gate) and SiLU (swish) activations.
The residual branch of each block is dropped by stochastic depth with probability
``0.2 · i / N`` for block ``i`` of ``N`` (16 for B0) during training.

Compound scaling: B1–B7 multiply every stage's width by ``width_mult`` (rounded to a multiple
of 8) and its number of blocks by ``depth_mult`` (rounded up), and train at a larger resolution;
:func:`efficientnet` takes the two multipliers, e.g. B1 = (1.0, 1.1), B2 = (1.1, 1.2),
B3 = (1.2, 1.4). BatchNorm is torch's default (eps 1e-5) for B0–B4, as torchvision; torchvision
uses ``eps=0.001, momentum=0.01`` for B5–B7 (pass ``norm_layer``).
"""
from __future__ import annotations

import copy
import math
from functools import partial
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from ._layers import init_mobile_, Conv2dNormActivation, SqueezeExcitation, StochasticDepth, _make_divisible

__all__ = ["efficientnet_b0", "efficientnet", "EfficientNet", "MBConv", "MBConvConfig"]


class MBConvConfig:
    """One stage of the paper's Table 1: expand ratio, kernel, stride, input and output widths
    (× ``width_mult``, rounded to 8) and number of blocks (× ``depth_mult``, rounded up)."""

    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int,
                 out_channels: int, num_layers: int, width_mult: float = 1.0, depth_mult: float = 1.0,
                 block: Callable[..., nn.Module] | None = None) -> None:
        self.expand_ratio = expand_ratio
        self.kernel = kernel
        self.stride = stride
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.num_layers = self.adjust_depth(num_layers, depth_mult)
        self.block = MBConv if block is None else block

    @staticmethod
    def adjust_channels(channels: int, width_mult: float, min_value: int | None = None) -> int:
        return _make_divisible(channels * width_mult, 8, min_value)

    @staticmethod
    def adjust_depth(num_layers: int, depth_mult: float) -> int:
        return int(math.ceil(num_layers * depth_mult))


class MBConv(nn.Module):
    """``block``: [1×1 expand, BN, SiLU] → k×k depthwise, BN, SiLU → SE → 1×1 project, BN;
    ``stochastic_depth`` on the branch, then ``+ input`` when stride 1 and widths match."""

    def __init__(self, cnf: MBConvConfig, stochastic_depth_prob: float, norm_layer: Callable[..., nn.Module],
                 se_layer: Callable[..., nn.Module] = SqueezeExcitation) -> None:
        super().__init__()
        if not (1 <= cnf.stride <= 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels

        layers: list[nn.Module] = []
        activation_layer = nn.SiLU
        expanded_channels = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        if expanded_channels != cnf.input_channels:  # expand
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded_channels, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=activation_layer))
        layers.append(Conv2dNormActivation(expanded_channels, expanded_channels, kernel_size=cnf.kernel,  # depthwise
                                           stride=cnf.stride, groups=expanded_channels,
                                           norm_layer=norm_layer, activation_layer=activation_layer))
        squeeze_channels = max(1, cnf.input_channels // 4)  # squeeze and excitation
        layers.append(se_layer(expanded_channels, squeeze_channels, activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded_channels, cnf.out_channels, kernel_size=1,  # project
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result = result + input
        return result


class EfficientNet(nn.Module):
    """torchvision's ``EfficientNet``: ``features`` = 3×3/s2 stem (SiLU) → one ``nn.Sequential``
    per stage → 1×1 conv to 4× the last width (1280 for B0, SiLU); ``avgpool``; ``classifier`` =
    Dropout(``dropout``), Linear(→ ``num_classes``)."""

    def __init__(self, inverted_residual_setting: Sequence[MBConvConfig], dropout: float,
                 stochastic_depth_prob: float = 0.2, num_classes: int = 1000,
                 norm_layer: Callable[..., nn.Module] | None = None, last_channel: int | None = None) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not (isinstance(inverted_residual_setting, Sequence)
                and all(isinstance(s, MBConvConfig) for s in inverted_residual_setting)):
            raise TypeError("The inverted_residual_setting should be List[MBConvConfig]")
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d

        layers: list[nn.Module] = []
        firstconv_output_channels = inverted_residual_setting[0].input_channels
        layers.append(Conv2dNormActivation(3, firstconv_output_channels, kernel_size=3, stride=2,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU))
        total_stage_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        stage_block_id = 0
        for cnf in inverted_residual_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:  # not the first block of the stage
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                # stochastic depth grows linearly with the block's index
                sd_prob = stochastic_depth_prob * float(stage_block_id) / total_stage_blocks
                stage.append(block_cnf.block(block_cnf, sd_prob, norm_layer))
                stage_block_id += 1
            layers.append(nn.Sequential(*stage))
        lastconv_input_channels = inverted_residual_setting[-1].out_channels
        lastconv_output_channels = last_channel if last_channel is not None else 4 * lastconv_input_channels
        layers.append(Conv2dNormActivation(lastconv_input_channels, lastconv_output_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True),
                                        nn.Linear(lastconv_output_channels, num_classes))

        init_mobile_(self, uniform_linear=True)  # torchvision's initialisation

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def _b0_setting(width_mult: float, depth_mult: float) -> list[MBConvConfig]:
    bneck_conf = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
    return [
        # expand ratio, kernel, stride, input, output, blocks  (the paper's Table 1)
        bneck_conf(1, 3, 1, 32, 16, 1),
        bneck_conf(6, 3, 2, 16, 24, 2),
        bneck_conf(6, 5, 2, 24, 40, 2),
        bneck_conf(6, 3, 2, 40, 80, 3),
        bneck_conf(6, 5, 1, 80, 112, 3),
        bneck_conf(6, 5, 2, 112, 192, 4),
        bneck_conf(6, 3, 1, 192, 320, 1),
    ]


def efficientnet(width_mult: float = 1.0, depth_mult: float = 1.0, dropout: float = 0.2,
                 num_classes: int = 1000, stochastic_depth_prob: float = 0.2,
                 norm_layer: Callable[..., nn.Module] | None = None) -> EfficientNet:
    """An EfficientNet (V1) of the given compound-scaling multipliers, as torchvision builds
    B0–B7: torchvision's (width, depth, dropout) are B0 (1.0, 1.0, 0.2), B1 (1.0, 1.1, 0.2),
    B2 (1.1, 1.2, 0.3), B3 (1.2, 1.4, 0.3), B4 (1.4, 1.8, 0.4), B5 (1.6, 2.2, 0.4),
    B6 (1.8, 2.6, 0.5), B7 (2.0, 3.1, 0.5); the resolution (224, 240, 260, 300 …) is the input's.
    For B5–B7 torchvision passes ``norm_layer=partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)``
    (it changes no parameter count)."""
    return EfficientNet(_b0_setting(width_mult, depth_mult), dropout, stochastic_depth_prob,
                        num_classes, norm_layer)


def efficientnet_b0(num_classes: int = 1000, dropout: float = 0.2,
                    stochastic_depth_prob: float = 0.2) -> EfficientNet:
    """EfficientNet-B0; 5,288,548 parameters, 0.386 GMACs at 224×224 (torchvision)."""
    return efficientnet(1.0, 1.0, dropout, num_classes, stochastic_depth_prob)
