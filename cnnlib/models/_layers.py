"""Building blocks shared by several families, as torchvision defines them.

- :class:`Conv2dNormActivation` — torchvision's ``torchvision.ops.misc.Conv2dNormActivation``:
  an ``nn.Sequential`` of ``Conv2d`` → norm → activation, so its children are ``0``, ``1``,
  ``2`` and its ``state_dict`` keys ``0.weight``, ``1.weight``, ``1.running_mean`` …;
- :class:`SqueezeExcitation` — torchvision's ``torchvision.ops.misc.SqueezeExcitation`` (Hu et
  al. 2018, "Squeeze-and-Excitation Networks"): global average pool, ``fc1`` (1×1 conv,
  with bias), activation, ``fc2`` (1×1 conv, with bias), a gate (``scale_activation``), and the
  input multiplied channel by channel by the gate;
- :func:`stochastic_depth` / :class:`StochasticDepth` — ``torchvision.ops.stochastic_depth``
  (Huang et al. 2016, "Deep Networks with Stochastic Depth"): in training, zero a residual
  branch with probability ``p`` per sample (``"row"``) or per batch (``"batch"``) and scale the
  survivors by ``1/(1-p)``; the identity in eval mode;
- :func:`_make_divisible` — ``torchvision.models._utils._make_divisible`` (from TensorFlow's
  MobileNet code): round a channel count to the nearest multiple of ``divisor`` without going
  more than 10 % below it.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn

__all__ = ["Conv2dNormActivation", "SqueezeExcitation", "StochasticDepth", "stochastic_depth",
           "_make_divisible"]


def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """Round ``v`` to the nearest multiple of ``divisor`` (at least ``min_value``, default
    ``divisor``), adding one ``divisor`` if rounding down lost more than 10 % of ``v``."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # make sure that rounding down does not go down by more than 10 %
        new_v += divisor
    return new_v


def init_mobile_(model: nn.Module, uniform_linear: bool = False) -> None:
    """torchvision's initialisation of MobileNetV2, MobileNetV3 and EfficientNet, in place:
    convolutions Kaiming-normal (fan_out) with zero bias, norms γ = 1 and β = 0, and linear
    layers N(0, 0.01²) — or, for EfficientNet (``uniform_linear=True``), U(±1/√out_features) —
    with zero bias."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            if uniform_linear:
                bound = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -bound, bound)
            else:
                nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


class Conv2dNormActivation(nn.Sequential):
    """``Conv2d`` → ``norm_layer`` → ``activation_layer``, as torchvision's block of that name.

    ``padding=None`` means "same" for odd kernels: ``(kernel_size - 1) // 2 * dilation``.
    ``bias=None`` means a bias only when there is no norm layer. ``norm_layer=None`` or
    ``activation_layer=None`` leaves that module out (the children are numbered in order, so a
    projection without activation has keys ``0.*`` and ``1.*`` only).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int | None = None, groups: int = 1,
                 norm_layer: Callable[..., nn.Module] | None = nn.BatchNorm2d,
                 activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
                 dilation: int = 1, inplace: bool | None = True, bias: bool | None = None) -> None:
        if padding is None:
            padding = (kernel_size - 1) // 2 * dilation
        if bias is None:
            bias = norm_layer is None
        layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                                             dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            params = {} if inplace is None else {"inplace": inplace}
            layers.append(activation_layer(**params))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation, torchvision's layout: ``avgpool``, ``fc1``, ``fc2`` (both 1×1
    convolutions with bias), ``activation`` (δ in the paper's eq. 3, ReLU by default) and
    ``scale_activation`` (σ, sigmoid by default; MobileNetV3 uses ``nn.Hardsigmoid``).

    Parameters: ``2 * input_channels * squeeze_channels + squeeze_channels + input_channels``.
    """

    def __init__(self, input_channels: int, squeeze_channels: int,
                 activation: Callable[..., nn.Module] = nn.ReLU,
                 scale_activation: Callable[..., nn.Module] = nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, input: Tensor) -> Tensor:
        scale = self.avgpool(input)
        scale = self.fc1(scale)
        scale = self.activation(scale)
        scale = self.fc2(scale)
        return self.scale_activation(scale)

    def forward(self, input: Tensor) -> Tensor:
        return self._scale(input) * input


def stochastic_depth(input: Tensor, p: float, mode: str, training: bool = True) -> Tensor:
    """Zero ``input`` with probability ``p`` — per sample (``mode="row"``) or for the whole
    batch (``"batch"``) — and divide the kept ones by ``1 - p``; identity if not ``training``
    or ``p == 0``. Applied to a residual branch before the addition."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    survival_rate = 1.0 - p
    size = [input.shape[0]] + [1] * (input.ndim - 1) if mode == "row" else [1] * input.ndim
    noise = torch.empty(size, dtype=input.dtype, device=input.device).bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return input * noise


class StochasticDepth(nn.Module):
    """Module form of :func:`stochastic_depth` (no parameters, nothing in the ``state_dict``)."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, input: Tensor) -> Tensor:
        return stochastic_depth(input, self.p, self.mode, self.training)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p}, mode={self.mode})"
