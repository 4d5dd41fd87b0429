"""MobileNetV2, MobileNetV3 Large/Small and the shared blocks of cnnlib/models/_layers.py:
torchvision's published parameter counts and GFLOPS, state_dict layout, output shapes."""
from functools import partial

import pytest
import torch
from torch import nn

from cnnlib import models
from cnnlib.measure import torch_counts
from cnnlib.models._layers import (Conv2dNormActivation, SqueezeExcitation, StochasticDepth,
                                   _make_divisible, stochastic_depth)
from cnnlib.models.mobilenetv2 import InvertedResidual, mobilenet_v2
from cnnlib.models.mobilenetv3 import InvertedResidual as InvertedResidualV3
from cnnlib.models.mobilenetv3 import mobilenet_v3_large, mobilenet_v3_small

BUILDERS = {"mobilenet_v2": mobilenet_v2, "mobilenet_v3_large": mobilenet_v3_large,
            "mobilenet_v3_small": mobilenet_v3_small}

# torchvision/models/mobilenetv2.py, MobileNet_V2_Weights.IMAGENET1K_V1 meta "num_params", "_ops";
# torchvision/models/mobilenetv3.py, MobileNet_V3_Large_Weights.IMAGENET1K_V1 and
# MobileNet_V3_Small_Weights.IMAGENET1K_V1 meta. "_ops" is GFLOPS as torchvision counts them,
# which are multiply-accumulates (GMACs) at 224×224.
PUBLISHED = {  # name: (num_params, _ops)
    "mobilenet_v2": (3_504_872, 0.301),
    "mobilenet_v3_large": (5_483_032, 0.217),
    "mobilenet_v3_small": (2_542_856, 0.057),
}


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def on_meta(builder, **kw):
    with torch.device("meta"):
        return builder(**kw)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_parameter_count_and_gmacs_equal_torchvision(name):
    model = on_meta(BUILDERS[name])
    counts = torch_counts(model, (1, 3, 224, 224))
    assert counts.params == n_params(model) == PUBLISHED[name][0]
    assert round(counts.macs / 1e9, 3) == PUBLISHED[name][1]
    assert counts.output_shape == (1, 1000)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_num_classes_changes_only_the_last_layer(name):
    full, small = on_meta(BUILDERS[name]), on_meta(BUILDERS[name], num_classes=10)
    last = full.classifier[-1]
    assert isinstance(last, nn.Linear) and last.out_features == 1000
    assert n_params(full) - n_params(small) == (1000 - 10) * (last.in_features + 1)
    a, b = full.state_dict(), small.state_dict()
    assert list(a) == list(b)
    assert [k for k in a if a[k].shape != b[k].shape] == ["classifier.%d.weight" % (len(full.classifier) - 1),
                                                          "classifier.%d.bias" % (len(full.classifier) - 1)]


def _check_layout(sd, n_keys, first, last, shapes):
    assert len(sd) == n_keys
    assert list(sd)[:len(first)] == first
    assert list(sd)[-len(last):] == last
    for key, shape in shapes.items():
        assert tuple(sd[key].shape) == shape, key


STEM = ["features.0.0.weight", "features.0.1.weight", "features.0.1.bias", "features.0.1.running_mean",
        "features.0.1.running_var", "features.0.1.num_batches_tracked"]


def test_mobilenet_v2_state_dict_layout():
    sd = on_meta(mobilenet_v2).state_dict()
    # 52 convs (stem, 17 blocks: 2 + 16 × 3, last) each with a BN: 52 + 52 × 5, plus the Linear
    _check_layout(sd, 52 * 6 + 2, STEM + ["features.1.conv.0.0.weight"],
                  ["features.18.1.num_batches_tracked", "classifier.1.weight", "classifier.1.bias"], {
                      "features.0.0.weight": (32, 3, 3, 3),
                      "features.1.conv.0.0.weight": (32, 1, 3, 3),      # t = 1: no expansion
                      "features.1.conv.1.weight": (16, 32, 1, 1),       # pw-linear: a bare Conv2d
                      "features.1.conv.2.running_var": (16,),
                      "features.7.conv.0.0.weight": (192, 32, 1, 1),    # expand ×6
                      "features.7.conv.1.0.weight": (192, 1, 3, 3),     # depthwise, stride 2
                      "features.7.conv.2.weight": (64, 192, 1, 1),
                      "features.18.0.weight": (1280, 320, 1, 1),
                      "classifier.1.weight": (1000, 1280)})
    m = on_meta(mobilenet_v2)
    assert [type(b) for b in m.features[1:18]] == [InvertedResidual] * 17
    assert [b.use_res_connect for b in m.features[1:18]].count(True) == 10


def test_mobilenet_v3_large_state_dict_layout():
    sd = on_meta(mobilenet_v3_large).state_dict()
    _check_layout(sd, 312, STEM + ["features.1.block.0.0.weight"],
                  ["features.16.1.num_batches_tracked", "classifier.0.weight", "classifier.0.bias",
                   "classifier.3.weight", "classifier.3.bias"], {
                      "features.0.0.weight": (16, 3, 3, 3),
                      "features.1.block.0.0.weight": (16, 1, 3, 3),     # expanded == input: no expand
                      "features.4.block.0.0.weight": (72, 24, 1, 1),
                      "features.4.block.1.0.weight": (72, 1, 5, 5),
                      "features.4.block.2.fc1.weight": (24, 72, 1, 1),  # SE: make_divisible(72 // 4, 8)
                      "features.4.block.2.fc1.bias": (24,),
                      "features.4.block.2.fc2.weight": (72, 24, 1, 1),
                      "features.4.block.3.0.weight": (40, 72, 1, 1),
                      "features.16.0.weight": (960, 160, 1, 1),
                      "classifier.0.weight": (1280, 960),
                      "classifier.3.weight": (1000, 1280)})


def test_mobilenet_v3_small_state_dict_layout():
    sd = on_meta(mobilenet_v3_small).state_dict()
    _check_layout(sd, 244, STEM + ["features.1.block.0.0.weight"],
                  ["classifier.0.weight", "classifier.0.bias", "classifier.3.weight", "classifier.3.bias"], {
                      "features.1.block.1.fc1.weight": (8, 16, 1, 1),   # SE in the first block
                      "features.1.block.2.0.weight": (16, 16, 1, 1),
                      "features.9.block.1.0.weight": (288, 1, 5, 5),
                      "features.9.block.2.fc1.weight": (72, 288, 1, 1),
                      "features.12.0.weight": (576, 96, 1, 1),
                      "classifier.0.weight": (1024, 576),
                      "classifier.3.weight": (1000, 1024)})


def test_mobilenet_v3_uses_hardswish_hardsigmoid_and_torchvision_bn():
    m = on_meta(mobilenet_v3_large)
    assert isinstance(m.features[0][2], nn.Hardswish)
    assert isinstance(m.features[1].block[0][2], nn.ReLU)                 # "RE" blocks
    assert isinstance(m.features[7].block[0][2], nn.Hardswish)            # "HS" blocks
    se = m.features[4].block[2]
    assert isinstance(se, SqueezeExcitation) and isinstance(se.scale_activation, nn.Hardsigmoid)
    assert isinstance(se.activation, nn.ReLU)
    bns = [mod for mod in m.modules() if isinstance(mod, nn.BatchNorm2d)]
    # stem + 15 blocks (the first has no expand conv: 2 + 14 × 3) + last conv
    assert len(bns) == 1 + 2 + 14 * 3 + 1 and all(b.eps == 0.001 and b.momentum == 0.01 for b in bns)
    assert all(isinstance(b, InvertedResidualV3) for b in m.features[1:16])
    assert isinstance(m.classifier[1], nn.Hardswish) and m.classifier[2].p == 0.2


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_forward_shapes(name):
    torch.manual_seed(0)
    m = BUILDERS[name](num_classes=7).eval()
    with torch.no_grad():
        y = m(torch.randn(2, 3, 224, 224))
        tiny = m(torch.randn(1, 3, 1, 1))                # torchvision's "min_size": (1, 1)
    assert y.shape == (2, 7) and torch.isfinite(y).all()
    assert tiny.shape == (1, 7)


def test_initialisation_like_torchvision():
    torch.manual_seed(0)
    m = mobilenet_v2()
    w = m.features[18][0].weight                          # 1280×320×1×1, Kaiming normal fan_out
    assert abs(w.std().item() / (2 / w.shape[0]) ** 0.5 - 1) < 0.05
    assert abs(m.classifier[1].weight.std().item() / 0.01 - 1) < 0.02
    assert torch.all(m.classifier[1].bias == 0)
    se = mobilenet_v3_small().features[1].block[1]
    assert torch.all(se.fc1.bias == 0) and torch.all(se.fc2.bias == 0)


# --- the shared blocks (torchvision/ops/misc.py, ops/stochastic_depth.py, models/_utils.py) ---

def test_make_divisible():
    assert [_make_divisible(v, 8) for v in (18, 16, 4, 72 * 0.75, 37.5, 1280)] == [24, 16, 8, 56, 40, 1280]
    assert _make_divisible(32 * 0.35, 8) == 16 and _make_divisible(5, 8, min_value=1) == 8


def test_conv2d_norm_activation_layout():
    block = Conv2dNormActivation(16, 32, kernel_size=5, stride=2, groups=16, activation_layer=nn.Hardswish)
    assert [type(m) for m in block] == [nn.Conv2d, nn.BatchNorm2d, nn.Hardswish]
    conv = block[0]
    assert conv.padding == (2, 2) and conv.bias is None and conv.groups == 16
    assert block.out_channels == 32
    plain = Conv2dNormActivation(8, 8, kernel_size=3, dilation=2, norm_layer=None, activation_layer=None)
    assert len(plain) == 1 and plain[0].padding == (2, 2) and plain[0].bias is not None
    assert list(Conv2dNormActivation(3, 4, activation_layer=None).state_dict())[:2] == ["0.weight", "1.weight"]


def test_squeeze_excitation_counts_and_gate():
    se = SqueezeExcitation(64, 16)
    assert n_params(se) == 2 * 64 * 16 + 16 + 64
    assert list(se.state_dict()) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    x = torch.randn(2, 64, 5, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        gate = torch.sigmoid(se.fc2(torch.relu(se.fc1(x.mean((2, 3), keepdim=True)))))
        assert torch.allclose(se(x), gate * x, atol=1e-6)
    hard = SqueezeExcitation(64, 16, scale_activation=nn.Hardsigmoid)
    assert isinstance(hard.scale_activation, nn.Hardsigmoid)
    assert isinstance(SqueezeExcitation(8, 2, activation=partial(nn.SiLU, inplace=True)).activation, nn.SiLU)


def test_stochastic_depth():
    x = torch.ones(4000, 3, 2, 2)
    torch.manual_seed(0)
    y = stochastic_depth(x, 0.25, "row")
    kept = y[:, 0, 0, 0] != 0
    assert torch.all(y[kept] == 1 / 0.75) and torch.all(y[~kept] == 0)
    assert torch.all(y == y[:, :1, :1, :1])               # one draw per sample ("row")
    assert abs(kept.float().mean().item() - 0.75) < 0.03
    assert torch.equal(stochastic_depth(x, 0.25, "row", training=False), x)
    b = stochastic_depth(x, 0.5, "batch")
    assert torch.all(b == b.flatten()[0])                 # one draw for the whole batch
    layer = StochasticDepth(0.5, "row").eval()
    assert torch.equal(layer(x), x) and n_params(layer) == 0 and not layer.state_dict()
    with pytest.raises(ValueError):
        stochastic_depth(x, 1.5, "row")
    with pytest.raises(ValueError):
        stochastic_depth(x, 0.5, "column")


def test_public_names_in_cnnlib_models():
    assert models.mobilenet_v2 is mobilenet_v2 and models.InvertedResidual is InvertedResidual
    assert models.InvertedResidualV3 is InvertedResidualV3 and models.InvertedResidualV3 is not InvertedResidual
    assert models.mobilenet_v3_large is mobilenet_v3_large and models.mobilenet_v3_small is mobilenet_v3_small
    assert models.SqueezeExcitation is SqueezeExcitation and models.Conv2dNormActivation is Conv2dNormActivation
    for name in ("mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "MobileNetV2", "MobileNetV3",
                 "InvertedResidualConfig", "efficientnet_b0", "efficientnet", "EfficientNet", "MBConv",
                 "MBConvConfig", "SqueezeExcitation", "Conv2dNormActivation", "InvertedResidualV3"):
        assert name in models.__all__
