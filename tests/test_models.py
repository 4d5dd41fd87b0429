"""cnnlib.models: torchvision's layouts and published parameter counts, output shapes, v1/v1.5."""
import subprocess
import sys

import pytest
import torch
from torch import nn

from cnnlib import models, summary

PUBLISHED = {  # torchvision's documented parameter counts
    "vgg16": 138_357_544,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
}


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_parameter_counts_equal_torchvision(name):
    assert n_params(getattr(models, name)()) == PUBLISHED[name]


@pytest.mark.parametrize("name", ["resnet50", "resnet101", "resnet152"])
def test_v1_has_the_same_parameters(name):
    assert n_params(getattr(models, name)(v1=True)) == PUBLISHED[name]


def test_num_classes_changes_only_the_last_layer():
    assert n_params(models.resnet18(num_classes=10)) == PUBLISHED["resnet18"] - 990 * 513
    assert n_params(models.vgg16(num_classes=10)) == PUBLISHED["vgg16"] - 990 * 4097


@pytest.mark.parametrize("name,blocks,bottleneck", [
    ("resnet18", [2, 2, 2, 2], False), ("resnet50", [3, 4, 6, 3], True)])
def test_resnet_state_dict_keys(name, blocks, bottleneck):
    sd = getattr(models, name)().state_dict()
    convs_per_block = 3 if bottleneck else 2
    n_conv = 1 + sum(blocks) * convs_per_block + (4 if bottleneck else 3)    # + downsamples
    assert len(sd) == n_conv + 5 * n_conv + 2          # conv w; BN w, b, mean, var, count; fc
    for key in ["conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight",
                "layer2.0.downsample.0.weight", "layer2.0.downsample.1.num_batches_tracked",
                "layer4.1.bn2.bias", "fc.weight", "fc.bias"]:
        assert key in sd
    assert ("layer1.0.downsample.0.weight" in sd) == bottleneck   # 64 → 256 channels
    exp = 4 if bottleneck else 1
    assert sd["fc.weight"].shape == (1000, 512 * exp)
    assert sd["layer3.0.downsample.0.weight"].shape == (256 * exp, 128 * exp, 1, 1)


def test_vgg16_state_dict_keys():
    sd = models.vgg16().state_dict()
    conv_idx = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
    expected = [f"features.{i}.{p}" for i in conv_idx for p in ("weight", "bias")]
    expected += [f"classifier.{i}.{p}" for i in (0, 3, 6) for p in ("weight", "bias")]
    assert list(sd) == expected
    assert sd["classifier.0.weight"].shape == (4096, 512 * 7 * 7)


def test_resnet50_has_49_convs_plus_fc_on_the_main_path():
    m = models.resnet50()
    convs = [n for n, mod in m.named_modules()
             if isinstance(mod, nn.Conv2d) and "downsample" not in n]
    assert len(convs) == 49
    assert isinstance(m.fc, nn.Linear)


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "vgg16"])
def test_forward_224(name):
    m = getattr(models, name)().eval()
    with torch.no_grad():
        y = m(torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0)))
    assert y.shape == (1, 1000) and torch.isfinite(y).all()


def stage_shapes(model, size):
    shapes = {}
    hooks = [getattr(model, n).register_forward_hook(
        lambda mod, i, o, n=n: shapes.__setitem__(n, tuple(o.shape)))
        for n in ("maxpool", "layer1", "layer2", "layer3", "layer4")]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return shapes


def test_resnet50_stage_shapes_and_v1_v15_agree():
    a = stage_shapes(models.resnet50(), 64)
    b = stage_shapes(models.resnet50(v1=True), 64)
    assert a == b == {"maxpool": (1, 64, 16, 16), "layer1": (1, 256, 16, 16),
                      "layer2": (1, 512, 8, 8), "layer3": (1, 1024, 4, 4),
                      "layer4": (1, 2048, 2, 2)}


def test_num_classes_output():
    with torch.no_grad():
        assert models.resnet18(num_classes=7).eval()(torch.zeros(2, 3, 64, 64)).shape == (2, 7)


def conv_geometry(model):
    return {n: (m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding)
            for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}


def test_v1_and_v15_differ_only_in_stride_placement():
    a, b = conv_geometry(models.resnet50()), conv_geometry(models.resnet50(v1=True))
    assert a.keys() == b.keys()
    differ = {n for n in a if a[n] != b[n]}
    assert differ == {f"layer{i}.0.conv{j}" for i in (2, 3, 4) for j in (1, 2)}
    for i in (2, 3, 4):
        assert a[f"layer{i}.0.conv1"][3] == (1, 1) and a[f"layer{i}.0.conv2"][3] == (2, 2)
        assert b[f"layer{i}.0.conv1"][3] == (2, 2) and b[f"layer{i}.0.conv2"][3] == (1, 1)
        for j in (1, 2):   # everything but the stride is identical
            assert a[f"layer{i}.0.conv{j}"][:3] == b[f"layer{i}.0.conv{j}"][:3]
    # BasicBlock networks: the first conv is the 3×3, so v1 changes nothing
    assert conv_geometry(models.resnet18()) == conv_geometry(models.resnet18(v1=True))


def test_initialisation_like_torchvision():
    m = models.resnet50()
    w = m.layer3[0].conv2.weight
    fan_out = w.shape[0] * w.shape[2] * w.shape[3]
    assert abs(w.std().item() / (2 / fan_out) ** 0.5 - 1) < 0.05      # Kaiming normal, fan_out
    assert torch.all(m.bn1.weight == 1) and torch.all(m.bn1.bias == 0)
    v = models.vgg16()
    assert abs(v.classifier[0].weight.std().item() / 0.01 - 1) < 0.01
    assert torch.all(v.classifier[0].bias == 0) and torch.all(v.features[0].bias == 0)


def test_import_cnnlib_does_not_import_torch():
    code = "import sys, cnnlib; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_models_is_imported_on_first_access():
    """``import cnnlib; cnnlib.models.resnet50()`` works, and only then is torch imported."""
    code = ("import sys, cnnlib\n"
            "assert 'torch' not in sys.modules, 'torch imported by import cnnlib'\n"
            "assert 'models' in dir(cnnlib)\n"
            "from cnnlib import *\n"
            "assert 'torch' not in sys.modules, 'torch imported by from cnnlib import *'\n"
            "net = cnnlib.models.resnet50()\n"
            "assert 'torch' in sys.modules\n"
            "assert sum(p.numel() for p in net.parameters()) == 25_557_032\n"
            "assert cnnlib.models is sys.modules['cnnlib.models']\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_attribute_of_the_package_is_an_attribute_error():
    import cnnlib
    with pytest.raises(AttributeError, match="module 'cnnlib' has no attribute 'model'"):
        cnnlib.model  # noqa: B018
    assert not hasattr(cnnlib, "resnet50")


def test_vgg16_builds_on_the_meta_device():
    """FLOPs of VGG16 can be counted without allocating its 553 MB of weights."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = models.vgg16()
        with FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, 3, 224, 224))
    assert {p.device.type for p in model.parameters()} == {"meta"}
    assert counter.get_total_flops() == 2 * summary(models.vgg16(), (1, 3, 224, 224)).total_macs
