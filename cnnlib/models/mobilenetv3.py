"""MobileNetV3 Large and Small (Howard et al. 2019, "Searching for MobileNetV3") in
torchvision's layout (``torchvision/models/mobilenetv3.py``).

What changed from V2: the block list was found by architecture search (NetAdapt + platform-aware
NAS); some blocks use 5×5 depthwise kernels; squeeze-and-excitation sits after the depthwise
convolution in some blocks (squeeze width ``_make_divisible(expanded // 4, 8)``, gate
``nn.Hardsigmoid``); the deeper half uses h-swish (``nn.Hardswish``, x·ReLU6(x+3)/6) instead of
ReLU; the stem has 16 channels instead of 32; and the last stage is cheaper — the 1×1 conv to
``6 × last width`` runs before pooling, the 1280/1024-wide layer after it as a ``Linear``.
BatchNorm uses ``eps=0.001, momentum=0.01`` as in torchvision.

The block is exported from :mod:`cnnlib.models` as ``InvertedResidualV3`` (MobileNetV2's is
``InvertedResidual``).
"""
from __future__ import annotations

from functools import partial
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from ._layers import init_mobile_, Conv2dNormActivation, SqueezeExcitation, _make_divisible

__all__ = ["mobilenet_v3_large", "mobilenet_v3_small", "MobileNetV3", "InvertedResidual",
           "InvertedResidualConfig"]


class InvertedResidualConfig:
    """One row of the paper's Tables 1–2: input, kernel, expanded ("exp size"), output widths
    (each scaled by ``width_mult`` and rounded to a multiple of 8), SE yes/no, activation
    (``"RE"`` ReLU or ``"HS"`` h-swish), stride and dilation."""

    def __init__(self, input_channels: int, kernel: int, expanded_channels: int, out_channels: int,
                 use_se: bool, activation: str, stride: int, dilation: int, width_mult: float) -> None:
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.kernel = kernel
        self.expanded_channels = self.adjust_channels(expanded_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.use_se = use_se
        self.use_hs = activation == "HS"
        self.stride = stride
        self.dilation = dilation

    @staticmethod
    def adjust_channels(channels: int, width_mult: float) -> int:
        return _make_divisible(channels * width_mult, 8)


class InvertedResidual(nn.Module):
    """MobileNetV3's block ``block``: [1×1 expand] → k×k depthwise → [SE] → 1×1 linear project,
    each conv with BN; activation ReLU or h-swish; shortcut when stride 1 and widths match."""

    def __init__(self, cnf: InvertedResidualConfig, norm_layer: Callable[..., nn.Module],
                 se_layer: Callable[..., nn.Module] = partial(SqueezeExcitation,
                                                              scale_activation=nn.Hardsigmoid)) -> None:
        super().__init__()
        if not (1 <= cnf.stride <= 2):
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels

        layers: list[nn.Module] = []
        activation_layer = nn.Hardswish if cnf.use_hs else nn.ReLU
        if cnf.expanded_channels != cnf.input_channels:  # expand
            layers.append(Conv2dNormActivation(cnf.input_channels, cnf.expanded_channels, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=activation_layer))
        stride = 1 if cnf.dilation > 1 else cnf.stride  # depthwise
        layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.expanded_channels, kernel_size=cnf.kernel,
                                           stride=stride, dilation=cnf.dilation, groups=cnf.expanded_channels,
                                           norm_layer=norm_layer, activation_layer=activation_layer))
        if cnf.use_se:
            squeeze_channels = _make_divisible(cnf.expanded_channels // 4, 8)
            layers.append(se_layer(cnf.expanded_channels, squeeze_channels))
        layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.out_channels, kernel_size=1,  # project
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = cnf.out_channels
        self._is_cn = cnf.stride > 1

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        if self.use_res_connect:
            result = result + input
        return result


class MobileNetV3(nn.Module):
    """torchvision's ``MobileNetV3``: ``features`` = 3×3/s2 stem (h-swish) → the blocks →
    1×1 conv to 6× the last width (h-swish); ``avgpool``; ``classifier`` = Linear(→
    ``last_channel``), Hardswish, Dropout(``dropout``), Linear(→ ``num_classes``)."""

    def __init__(self, inverted_residual_setting: list[InvertedResidualConfig], last_channel: int,
                 num_classes: int = 1000, block: Callable[..., nn.Module] | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None, dropout: float = 0.2) -> None:
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not (isinstance(inverted_residual_setting, Sequence)
                and all(isinstance(s, InvertedResidualConfig) for s in inverted_residual_setting)):
            raise TypeError("The inverted_residual_setting should be List[InvertedResidualConfig]")
        if block is None:
            block = InvertedResidual
        if norm_layer is None:
            norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)

        layers: list[nn.Module] = []
        firstconv_output_channels = inverted_residual_setting[0].input_channels
        layers.append(Conv2dNormActivation(3, firstconv_output_channels, kernel_size=3, stride=2,
                                           norm_layer=norm_layer, activation_layer=nn.Hardswish))
        for cnf in inverted_residual_setting:
            layers.append(block(cnf, norm_layer))
        lastconv_input_channels = inverted_residual_setting[-1].out_channels
        lastconv_output_channels = 6 * lastconv_input_channels
        layers.append(Conv2dNormActivation(lastconv_input_channels, lastconv_output_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(lastconv_output_channels, last_channel),
            nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True),
            nn.Linear(last_channel, num_classes),
        )

        init_mobile_(self)  # torchvision's initialisation

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def _mobilenet_v3_conf(arch: str, width_mult: float = 1.0, reduced_tail: bool = False,
                       dilated: bool = False) -> tuple[list[InvertedResidualConfig], int]:
    reduce_divider = 2 if reduced_tail else 1
    dilation = 2 if dilated else 1
    bneck_conf = partial(InvertedResidualConfig, width_mult=width_mult)
    adjust_channels = partial(InvertedResidualConfig.adjust_channels, width_mult=width_mult)
    if arch == "mobilenet_v3_large":
        rd = reduce_divider
        inverted_residual_setting = [
            # input, kernel, expanded, out, SE, activation, stride, dilation
            bneck_conf(16, 3, 16, 16, False, "RE", 1, 1),
            bneck_conf(16, 3, 64, 24, False, "RE", 2, 1),  # C1
            bneck_conf(24, 3, 72, 24, False, "RE", 1, 1),
            bneck_conf(24, 5, 72, 40, True, "RE", 2, 1),  # C2
            bneck_conf(40, 5, 120, 40, True, "RE", 1, 1),
            bneck_conf(40, 5, 120, 40, True, "RE", 1, 1),
            bneck_conf(40, 3, 240, 80, False, "HS", 2, 1),  # C3
            bneck_conf(80, 3, 200, 80, False, "HS", 1, 1),
            bneck_conf(80, 3, 184, 80, False, "HS", 1, 1),
            bneck_conf(80, 3, 184, 80, False, "HS", 1, 1),
            bneck_conf(80, 3, 480, 112, True, "HS", 1, 1),
            bneck_conf(112, 3, 672, 112, True, "HS", 1, 1),
            bneck_conf(112, 5, 672, 160 // rd, True, "HS", 2, dilation),  # C4
            bneck_conf(160 // rd, 5, 960 // rd, 160 // rd, True, "HS", 1, dilation),
            bneck_conf(160 // rd, 5, 960 // rd, 160 // rd, True, "HS", 1, dilation),
        ]
        last_channel = adjust_channels(1280 // rd)  # C5
    elif arch == "mobilenet_v3_small":
        rd = reduce_divider
        inverted_residual_setting = [
            bneck_conf(16, 3, 16, 16, True, "RE", 2, 1),  # C1
            bneck_conf(16, 3, 72, 24, False, "RE", 2, 1),  # C2
            bneck_conf(24, 3, 88, 24, False, "RE", 1, 1),
            bneck_conf(24, 5, 96, 40, True, "HS", 2, 1),  # C3
            bneck_conf(40, 5, 240, 40, True, "HS", 1, 1),
            bneck_conf(40, 5, 240, 40, True, "HS", 1, 1),
            bneck_conf(40, 5, 120, 48, True, "HS", 1, 1),
            bneck_conf(48, 5, 144, 48, True, "HS", 1, 1),
            bneck_conf(48, 5, 288, 96 // rd, True, "HS", 2, dilation),  # C4
            bneck_conf(96 // rd, 5, 576 // rd, 96 // rd, True, "HS", 1, dilation),
            bneck_conf(96 // rd, 5, 576 // rd, 96 // rd, True, "HS", 1, dilation),
        ]
        last_channel = adjust_channels(1024 // rd)  # C5
    else:
        raise ValueError(f"Unsupported model type {arch}")
    return inverted_residual_setting, last_channel


def mobilenet_v3_large(num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2,
                       reduced_tail: bool = False, dilated: bool = False) -> MobileNetV3:
    """MobileNetV3-Large; 5,483,032 parameters, 0.217 GMACs at 224×224 (torchvision).

    ``reduced_tail`` halves the last stage's widths and ``dilated`` replaces its stride by
    dilation 2 (torchvision's options for segmentation backbones)."""
    setting, last_channel = _mobilenet_v3_conf("mobilenet_v3_large", width_mult, reduced_tail, dilated)
    return MobileNetV3(setting, last_channel, num_classes=num_classes, dropout=dropout)


def mobilenet_v3_small(num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2,
                       reduced_tail: bool = False, dilated: bool = False) -> MobileNetV3:
    """MobileNetV3-Small; 2,542,856 parameters, 0.057 GMACs at 224×224 (torchvision)."""
    setting, last_channel = _mobilenet_v3_conf("mobilenet_v3_small", width_mult, reduced_tail, dilated)
    return MobileNetV3(setting, last_channel, num_classes=num_classes, dropout=dropout)
