"""cnnlib.models: LeNet-5, AlexNet (torchvision's and the 2012 paper's), GoogLeNet.

Published figures (torchvision): AlexNet 61,100,840 parameters, 0.714 GFLOPS (= GMACs) —
``torchvision/models/alexnet.py``, ``AlexNet_Weights.IMAGENET1K_V1`` meta ``num_params`` and
``_ops``; GoogLeNet 6,624,904 parameters, 1.498 GFLOPS — ``torchvision/models/googlenet.py``,
``GoogLeNet_Weights.IMAGENET1K_V1`` (without the auxiliary heads). The 2012 AlexNet and LeNet-5
have no torchvision figure: their counts are derived below layer by layer from the papers' shapes.
"""
import pytest
import torch
from torch import nn

from cnnlib.measure import torch_counts
from cnnlib.models.alexnet import LRN_2012, alexnet, alexnet2012
from cnnlib.models.googlenet import GoogLeNet, GoogLeNetOutputs, googlenet
from cnnlib.models.lenet import C3_TABLE, ConnectionTableConv2d, Subsampling2d, lenet5

ALEXNET_PARAMS = 61_100_840     # torchvision alexnet.py, AlexNet_Weights.IMAGENET1K_V1 "num_params"
ALEXNET_GMACS = 0.714           # ... "_ops" (GFLOPS in torchvision's docs, which are GMACs)
GOOGLENET_PARAMS = 6_624_904    # torchvision googlenet.py, GoogLeNet_Weights.IMAGENET1K_V1 "num_params"
GOOGLENET_GMACS = 1.498         # ... "_ops"


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def conv_p(cin, cout, k, groups=1, bias=True):
    return cout * (cin // groups) * k * k + (cout if bias else 0)


def linear_p(i, o):
    return o * i + o


def meta(builder, **kw):
    with torch.device("meta"):
        return builder(**kw)


# --------------------------------------------------------------------------- AlexNet (torchvision)

def test_alexnet_published_count_and_macs():
    c = torch_counts(meta(alexnet), (1, 3, 224, 224))
    assert c.params == ALEXNET_PARAMS
    assert round(c.macs / 1e9, 3) == ALEXNET_GMACS
    assert c.output_shape == (1, 1000)


def test_alexnet_num_classes_changes_only_the_last_layer():
    m = meta(alexnet, num_classes=10)
    assert n_params(m) == ALEXNET_PARAMS - (1000 - 10) * (4096 + 1)
    assert m.classifier[6].weight.shape == (10, 4096)


def test_alexnet_state_dict_layout():
    sd = meta(alexnet).state_dict()
    expected = [f"features.{i}.{p}" for i in (0, 3, 6, 8, 10) for p in ("weight", "bias")]
    expected += [f"classifier.{i}.{p}" for i in (1, 4, 6) for p in ("weight", "bias")]
    assert list(sd) == expected
    shapes = {"features.0.weight": (64, 3, 11, 11), "features.3.weight": (192, 64, 5, 5),
              "features.10.weight": (256, 256, 3, 3), "classifier.1.weight": (4096, 9216),
              "classifier.6.weight": (1000, 4096)}
    for k, s in shapes.items():
        assert tuple(sd[k].shape) == s
    conv1 = meta(alexnet).features[0]
    assert (conv1.stride, conv1.padding) == ((4, 4), (2, 2))


def test_alexnet_minimum_input_63():
    assert torch_counts(meta(alexnet), (2, 3, 63, 63)).output_shape == (2, 1000)
    with pytest.raises(RuntimeError):
        torch_counts(meta(alexnet), (1, 3, 62, 62))


# --------------------------------------------------------------------------- AlexNet (2012 paper)

# The 2012 paper's layers (Krizhevsky et al., section 3.5 and figure 2): (cin, cout, k, groups)
ALEXNET_2012_CONVS = [(3, 96, 11, 1), (96, 256, 5, 2), (256, 384, 3, 1), (384, 384, 3, 2),
                      (384, 256, 3, 2)]
ALEXNET_2012_FCS = [(256 * 6 * 6, 4096), (4096, 4096), (4096, 1000)]
ALEXNET_2012_MAPS = [55, 27, 13, 13, 13]     # output size of each conv at 227×227


def test_alexnet2012_count_from_the_papers_shapes_layer_by_layer():
    m = meta(alexnet2012)
    convs = [mod for mod in m.features if isinstance(mod, nn.Conv2d)]
    fcs = [mod for mod in m.classifier if isinstance(mod, nn.Linear)]
    assert [n_params(c) for c in convs] == [conv_p(*s[:3], groups=s[3]) for s in ALEXNET_2012_CONVS]
    assert [n_params(f) for f in fcs] == [linear_p(*s) for s in ALEXNET_2012_FCS]
    expected = sum(conv_p(*s[:3], groups=s[3]) for s in ALEXNET_2012_CONVS) \
        + sum(linear_p(*s) for s in ALEXNET_2012_FCS)
    assert n_params(m) == expected == 60_965_224


def test_alexnet2012_macs_and_maps_at_227():
    macs = sum(cout * (cin // g) * k * k * s * s
               for (cin, cout, k, g), s in zip(ALEXNET_2012_CONVS, ALEXNET_2012_MAPS))
    macs += sum(i * o for i, o in ALEXNET_2012_FCS)
    c = torch_counts(meta(alexnet2012), (1, 3, 227, 227))
    assert c.macs == macs == 724_406_816 and c.output_shape == (1, 1000)
    m = meta(alexnet2012)
    sizes = []
    hooks = [mod.register_forward_hook(lambda mod, i, o: sizes.append(o.shape[-1]))
             for mod in m.features if isinstance(mod, nn.Conv2d)]
    torch_counts(m, (1, 3, 227, 227))
    for h in hooks:
        h.remove()
    assert sizes == ALEXNET_2012_MAPS


def test_alexnet2012_layout_lrn_and_groups():
    m = meta(alexnet2012)
    kinds = [type(mod).__name__ for mod in m.features]
    assert kinds == ["Conv2d", "ReLU", "LocalResponseNorm", "MaxPool2d",
                     "Conv2d", "ReLU", "LocalResponseNorm", "MaxPool2d",
                     "Conv2d", "ReLU", "Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d"]
    assert [m.features[i].groups for i in (0, 4, 8, 10, 12)] == [1, 2, 1, 2, 2]
    assert list(m.state_dict())[:2] == ["features.0.weight", "features.0.bias"]
    assert "classifier.6.weight" in m.state_dict()
    assert n_params(meta(alexnet2012, num_classes=10)) == 60_965_224 - 990 * 4097


def test_lrn_2012_equals_the_papers_formula():
    """b = a / (k + α Σ_{|j-i|≤2} a_j²)^β with the paper's k=2, α=1e-4, β=0.75 (no division by n)."""
    a = torch.randn(2, 7, 3, 3, generator=torch.Generator().manual_seed(0)) * 30
    sq = torch.nn.functional.pad(a * a, (0, 0, 0, 0, 2, 2))
    s = sum(sq[:, j:j + 7] for j in range(5))
    paper = a / (2 + 1e-4 * s) ** 0.75
    torch.testing.assert_close(nn.LocalResponseNorm(**LRN_2012)(a), paper)
    weaker = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2)(a)   # torch's α is divided by n
    assert (weaker - paper).abs().max() > 1e-3


def test_alexnet2012_initialisation_as_the_paper():
    m = alexnet2012()
    ones = {4, 10, 12}
    for i, mod in enumerate(m.features):
        if isinstance(mod, nn.Conv2d):
            assert torch.all(mod.bias == (1.0 if i in ones else 0.0))
    assert torch.all(m.classifier[1].bias == 1) and torch.all(m.classifier[6].bias == 0)
    assert abs(m.classifier[1].weight.std().item() / 0.01 - 1) < 0.01


# --------------------------------------------------------------------------- GoogLeNet

def test_googlenet_published_count_and_macs():
    c = torch_counts(meta(googlenet), (1, 3, 224, 224))
    assert c.params == GOOGLENET_PARAMS
    assert round(c.macs / 1e9, 3) == GOOGLENET_GMACS
    assert c.output_shape == (1, 1000)


def test_googlenet_aux_heads_as_torchvision_source():
    """InceptionAux(in, classes): BasicConv2d(in, 128, 1×1) + fc1 2048→1024 + fc2 1024→classes."""
    def aux(cin, classes=1000):
        return conv_p(cin, 128, 1, bias=False) + 2 * 128 + linear_p(2048, 1024) + linear_p(1024, classes)

    m = meta(googlenet, aux_logits=True)
    assert n_params(m.aux1) == aux(512) == 3_188_968
    assert n_params(m.aux2) == aux(528) == 3_191_016
    assert n_params(m) == GOOGLENET_PARAMS + aux(512) + aux(528) == 13_004_888
    m10 = meta(googlenet, aux_logits=True, num_classes=10)
    assert n_params(m10) == 13_004_888 - 3 * 990 * 1025


def test_googlenet_num_classes_changes_only_the_last_layer():
    assert n_params(meta(googlenet, num_classes=10)) == GOOGLENET_PARAMS - 990 * (1024 + 1)


def test_googlenet_state_dict_layout():
    sd = meta(googlenet).state_dict()
    n_basic = 3 + 9 * 6                      # stem convs + six BasicConv2d per Inception block
    assert len(sd) == 6 * n_basic + 2        # conv w; bn w, b, mean, var, count; fc w, b
    assert list(sd)[:6] == ["conv1.conv.weight", "conv1.bn.weight", "conv1.bn.bias",
                            "conv1.bn.running_mean", "conv1.bn.running_var",
                            "conv1.bn.num_batches_tracked"]
    assert list(sd)[-2:] == ["fc.weight", "fc.bias"]
    shapes = {"conv1.conv.weight": (64, 3, 7, 7), "conv3.conv.weight": (192, 64, 3, 3),
              "inception4c.branch1.conv.weight": (128, 512, 1, 1),
              "inception4c.branch2.1.conv.weight": (256, 128, 3, 3),
              "inception4c.branch3.1.conv.weight": (64, 24, 3, 3),     # 3×3, torchvision's
              "inception4c.branch4.1.conv.weight": (64, 512, 1, 1),
              "inception5b.branch1.bn.running_var": (384,), "fc.weight": (1000, 1024)}
    for k, s in shapes.items():
        assert tuple(sd[k].shape) == s
    assert not any(k.startswith("aux") for k in sd)
    sd_aux = meta(googlenet, aux_logits=True).state_dict()
    assert len(sd_aux) == len(sd) + 2 * (6 + 4)
    assert tuple(sd_aux["aux2.conv.conv.weight"].shape) == (128, 528, 1, 1)
    assert tuple(sd_aux["aux1.fc1.weight"].shape) == (1024, 2048)


def test_googlenet_forward_train_and_eval():
    torch.manual_seed(0)
    m = googlenet(aux_logits=True, num_classes=7)
    x = torch.randn(2, 3, 32, 32)
    out = m.train()(x)
    assert isinstance(out, GoogLeNetOutputs)
    assert [t.shape for t in out] == [(2, 7)] * 3
    with torch.no_grad():
        y = m.eval()(x)
    assert isinstance(y, torch.Tensor) and y.shape == (2, 7) and torch.isfinite(y).all()
    assert isinstance(googlenet().train()(x), torch.Tensor)     # no aux heads: logits only
    assert torch_counts(meta(googlenet), (1, 3, 15, 15)).output_shape == (1, 1000)   # min 15×15


def test_googlenet_initialisation_like_torchvision():
    torch.manual_seed(0)
    m = GoogLeNet()
    w = m.inception4c.branch2[1].conv.weight
    assert abs(w.std().item() / 0.01 - 1) < 0.02
    assert torch.all(m.conv1.bn.weight == 1) and torch.all(m.conv1.bn.bias == 0)
    assert m.conv1.bn.eps == 1e-3 and m.conv1.conv.bias is None


# --------------------------------------------------------------------------- LeNet-5

# LeCun et al. 1998, section II.B, per-layer trainable parameters (as quoted from the paper by
# secondary sources: C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164); each derived from shapes here.
C3_PAPER = sum(len(ins) * 25 + 1 for ins in C3_TABLE)
LENET_PAPER = {"c1": conv_p(1, 6, 5), "s2": 2 * 6, "c3": C3_PAPER, "s4": 2 * 16,
               "c5": conv_p(16, 120, 5), "f6": linear_p(120, 84), "output": linear_p(84, 10)}


def test_lenet5_paper_counts_layer_by_layer():
    assert LENET_PAPER == {"c1": 156, "s2": 12, "c3": 1516, "s4": 32, "c5": 48120,
                           "f6": 10164, "output": 850}
    m = lenet5(c3_table=True, trainable_pool=True)
    assert {k: n_params(getattr(m, k)) for k in LENET_PAPER} == LENET_PAPER
    assert n_params(m) == sum(LENET_PAPER.values()) == 60_850


def test_lenet5_modern_counts_layer_by_layer():
    m = lenet5()
    expected = dict(LENET_PAPER, s2=0, s4=0, c3=conv_p(6, 16, 5))
    assert {k: n_params(getattr(m, k)) for k in expected} == expected
    assert expected["c3"] == 2416 and n_params(m) == 61_706
    assert isinstance(m.s2, nn.AvgPool2d) and isinstance(m.act, nn.Tanh)
    assert list(m.state_dict()) == [f"{n}.{p}" for n in ("c1", "c3", "c5", "f6", "output")
                                    for p in ("weight", "bias")]
    assert n_params(lenet5(num_classes=26)) == 61_706 + 16 * 85


def test_lenet5_c3_table_is_the_papers_table_one():
    sizes = [len(ins) for ins in C3_TABLE]
    assert sizes == [3] * 6 + [4] * 9 + [6]
    for o in range(6):       # maps 0–5: three contiguous S2 maps (cyclically); 6–11: four
        assert set(C3_TABLE[o]) == {(o + j) % 6 for j in range(3)}
        assert set(C3_TABLE[6 + o]) == {(o + j) % 6 for j in range(4)}
    for o in (12, 13, 14):   # four discontinuous maps
        assert not any(set(C3_TABLE[o]) == {(s + j) % 6 for j in range(4)} for s in range(6))
    assert sum(sizes) == 60


def test_connection_table_conv_equals_a_masked_conv():
    torch.manual_seed(0)
    c3 = ConnectionTableConv2d(6, C3_TABLE, 5)
    dense = nn.Conv2d(6, 16, 5)
    with torch.no_grad():
        dense.weight.copy_(c3.dense_weight())
        dense.bias.copy_(c3.bias)
    assert torch.equal(c3.dense_weight().abs().sum((2, 3)) > 0, c3.mask)
    assert int(c3.mask.sum()) == 60
    x = torch.randn(3, 6, 14, 14, requires_grad=True)
    torch.testing.assert_close(c3(x), dense(x))
    c3(x).sum().backward()                   # gradients reach the 60 kernels
    assert c3.weight.grad.shape == (60, 5, 5) and torch.all(c3.weight.grad.abs().sum((1, 2)) > 0)


def test_subsampling_starts_as_average_pooling():
    x = torch.randn(2, 6, 28, 28)
    torch.testing.assert_close(Subsampling2d(6)(x), nn.AvgPool2d(2)(x))


def test_lenet5_forward_shapes_and_macs():
    for kw in ({}, {"c3_table": True, "trainable_pool": True}):
        m = lenet5(**kw)
        c = torch_counts(m, (4, 1, 32, 32))
        assert c.output_shape == (4, 10)
        # dense convolutions: C1 6·25·28², C3 16·6·25·10² (also with the table: zeros multiplied),
        # C5 120·400, F6 120·84, output 84·10
        per_image = 6 * 25 * 28 * 28 + 16 * 6 * 25 * 100 + 120 * 400 + 120 * 84 + 84 * 10
        assert c.macs == 4 * per_image == 4 * 416_520
    with torch.device("meta"):
        assert lenet5(c3_table=True, trainable_pool=True)(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
