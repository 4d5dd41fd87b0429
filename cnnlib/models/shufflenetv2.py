"""ShuffleNet V2 ×1.0 (Ma et al. 2018, "ShuffleNet V2: Practical Guidelines for Efficient CNN
Architecture Design") in torchvision's layout.

The unit (torchvision's ``InvertedResidual``, exported here as ``ShuffleV2Block`` because
MobileNetV2's block has the same name):

- stride 1 — *channel split*: half the channels pass untouched, the other half go through
  ``branch2`` = 1×1 conv–BN–ReLU – 3×3 depthwise conv–BN – 1×1 conv–BN–ReLU (equal input and
  output widths, guideline G1; no group convolution, G2; one branch, G3; concatenation instead
  of an element-wise addition, G4);
- stride 2 — no split: ``branch1`` = 3×3/s2 depthwise–BN – 1×1–BN–ReLU and ``branch2`` (as
  above, its depthwise conv with stride 2) both see the whole input; the output has twice the
  channels;

then the two halves are concatenated and ``channel_shuffle``\\ d with 2 groups, so that the next
unit's split mixes both. ``channel_shuffle`` here is torchvision's, in torch (a view, a
transpose, a view); ``cnnlib.channel_shuffle`` is the NumPy version with the same index map.

Network ×1.0: ``conv1`` (3×3/s2 to 24, BN, ReLU) – ``maxpool`` (3×3/s2/p1) – ``stage2``
(4 units to 116) – ``stage3`` (8 to 232) – ``stage4`` (4 to 464) – ``conv5`` (1×1 to 1024, BN,
ReLU) – global mean – ``fc``. torchvision does not re-initialise: PyTorch's default
initialisation of each layer. The ``state_dict`` keys are torchvision's
(``stage2.0.branch1.0.weight``, ``stage3.1.branch2.3.weight``, ``conv5.1.running_mean``, ``fc.bias``).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["shufflenet_v2_x1_0", "ShuffleNetV2", "ShuffleV2Block", "channel_shuffle"]


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """torchvision's: view as (N, groups, C/groups, H, W), swap dims 1 and 2, flatten back."""
    batchsize, num_channels, height, width = x.size()
    channels_per_group = num_channels // groups
    x = x.view(batchsize, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batchsize, -1, height, width)


class InvertedResidual(nn.Module):
    """The ShuffleNet V2 unit (torchvision's name); see the module docstring.

    ``branch1`` is an empty ``nn.Sequential`` for stride 1 (no parameters, no keys)."""

    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        if not 1 <= stride <= 3:
            raise ValueError("illegal stride value")
        self.stride = stride
        branch_features = oup // 2
        if self.stride == 1 and inp != branch_features << 1:
            raise ValueError(
                f"Invalid combination of stride {stride}, inp {inp} and oup {oup} values. "
                "If stride == 1 then inp should be equal to oup // 2 << 1.")

        if self.stride > 1:
            self.branch1 = nn.Sequential(
                self.depthwise_conv(inp, inp, kernel_size=3, stride=self.stride, padding=1),
                nn.BatchNorm2d(inp),
                nn.Conv2d(inp, branch_features, kernel_size=1, stride=1, padding=0, bias=False),
                nn.BatchNorm2d(branch_features),
                nn.ReLU(inplace=True),
            )
        else:
            self.branch1 = nn.Sequential()

        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if self.stride > 1 else branch_features, branch_features,
                      kernel_size=1, stride=1, padding=0, bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(inplace=True),
            self.depthwise_conv(branch_features, branch_features, kernel_size=3,
                                stride=self.stride, padding=1),
            nn.BatchNorm2d(branch_features),
            nn.Conv2d(branch_features, branch_features, kernel_size=1, stride=1, padding=0,
                      bias=False),
            nn.BatchNorm2d(branch_features),
            nn.ReLU(inplace=True),
        )

    @staticmethod
    def depthwise_conv(i: int, o: int, kernel_size: int, stride: int = 1, padding: int = 0,
                       bias: bool = False) -> nn.Conv2d:
        return nn.Conv2d(i, o, kernel_size, stride, padding, bias=bias, groups=i)

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


ShuffleV2Block = InvertedResidual


class ShuffleNetV2(nn.Module):
    """torchvision's ``ShuffleNetV2``: ``stages_repeats`` (3 ints) units per stage,
    ``stages_out_channels`` (5 ints: conv1, stage2–4, conv5); each stage starts with a stride-2
    unit."""

    def __init__(self, stages_repeats: list[int], stages_out_channels: list[int],
                 num_classes: int = 1000, inverted_residual=InvertedResidual) -> None:
        super().__init__()
        if len(stages_repeats) != 3:
            raise ValueError("expected stages_repeats as list of 3 positive ints")
        if len(stages_out_channels) != 5:
            raise ValueError("expected stages_out_channels as list of 5 positive ints")
        self._stage_out_channels = stages_out_channels

        input_channels = 3
        output_channels = self._stage_out_channels[0]
        self.conv1 = nn.Sequential(
            nn.Conv2d(input_channels, output_channels, 3, 2, 1, bias=False),
            nn.BatchNorm2d(output_channels),
            nn.ReLU(inplace=True),
        )
        input_channels = output_channels
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        self.stage2: nn.Sequential
        self.stage3: nn.Sequential
        self.stage4: nn.Sequential
        for name, repeats, output_channels in zip(("stage2", "stage3", "stage4"), stages_repeats,
                                                  self._stage_out_channels[1:]):
            seq = [inverted_residual(input_channels, output_channels, 2)]
            seq += [inverted_residual(output_channels, output_channels, 1)
                    for _ in range(repeats - 1)]
            setattr(self, name, nn.Sequential(*seq))
            input_channels = output_channels

        output_channels = self._stage_out_channels[-1]
        self.conv5 = nn.Sequential(
            nn.Conv2d(input_channels, output_channels, 1, 1, 0, bias=False),
            nn.BatchNorm2d(output_channels),
            nn.ReLU(inplace=True),
        )
        self.fc = nn.Linear(output_channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        x = self.conv5(x)
        x = x.mean([2, 3])  # global pooling
        return self.fc(x)


def shufflenet_v2_x1_0(num_classes: int = 1000) -> ShuffleNetV2:
    """ShuffleNet V2 ×1.0: repeats [4, 8, 4], channels [24, 116, 232, 464, 1024];
    2,278,604 parameters and 0.145 GMACs at 224×224 (torchvision's
    ``ShuffleNet_V2_X1_0_Weights``). Any input of at least 1×1 (torchvision's ``min_size``)."""
    return ShuffleNetV2([4, 8, 4], [24, 116, 232, 464, 1024], num_classes=num_classes)
