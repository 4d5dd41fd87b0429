"""cnnlib.measure.torch_counts: torch's own parameter and MAC counts, against the calculators."""
import random
import subprocess
import sys

import pytest
import torch
from torch import nn

import cnnlib
from cnnlib import models
from cnnlib.measure import TorchCounts, torch_counts


def _random_layers(n, seed=0):
    rng = random.Random(seed)
    layers = []
    while len(layers) < n:
        g = rng.choice([1, 1, 2, 4])
        c_in, c_out = g * rng.randint(1, 4), g * rng.randint(1, 4)
        k, s, p, d = rng.randint(1, 5), rng.randint(1, 3), rng.randint(0, 2), rng.randint(1, 3)
        h, w = rng.randint(5, 20), rng.randint(5, 20)
        bias = rng.random() < 0.5
        if min(h, w) + 2 * p < d * (k - 1) + 1:   # window larger than the padded input
            continue
        out = cnnlib.conv_output_size((h, w), k, stride=s, padding=p, dilation=d)
        layers.append((c_in, c_out, k, s, p, d, g, bias, h, w, out))
    return layers


@pytest.mark.parametrize("c_in,c_out,k,s,p,d,g,bias,h,w,out", _random_layers(30))
def test_conv_layer_matches_calculators(c_in, c_out, k, s, p, d, g, bias, h, w, out):
    conv = nn.Conv2d(c_in, c_out, k, stride=s, padding=p, dilation=d, groups=g, bias=bias)
    counts = torch_counts(conv, (1, c_in, h, w))
    assert isinstance(counts, TorchCounts)
    assert counts.params == cnnlib.conv_params(c_in, c_out, k, groups=g, bias=bias)
    assert counts.macs == cnnlib.conv_macs(c_in, c_out, k, out, groups=g)
    assert counts.flops == 2 * counts.macs
    assert counts.output_shape == (1, c_out, *out)


def test_batch_multiplies_macs_not_params():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    one, four = torch_counts(conv, (1, 3, 10, 10)), torch_counts(conv, (4, 3, 10, 10))
    assert four.params == one.params and four.macs == 4 * one.macs
    assert four.output_shape == (4, 8, 10, 10)


@pytest.mark.parametrize("name,published", [("resnet18", 11_689_512), ("vgg16", 138_357_544)])
def test_models_on_meta_match_torchvision_and_summary(name, published):
    with torch.device("meta"):
        net = getattr(models, name)()
    counts = torch_counts(net, (1, 3, 224, 224))
    assert counts.params == published
    assert counts.output_shape == (1, 1000)
    s = cnnlib.summary(net, (1, 3, 224, 224))
    assert counts.macs == s.total_macs and counts.params == s.total_params


def test_mode_is_left_unchanged():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    torch_counts(net, (2, 3, 8, 8))
    assert net.training and net[1].training
    torch_counts(net.eval(), (1, 3, 8, 8))
    assert not net.training
    net.train()
    net[1].eval()                             # mixed modes come back as they were
    torch_counts(net, (2, 3, 8, 8))
    assert [m.training for m in net.modules()] == [True, True, False]


def test_batchnorm_statistics_are_not_updated():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    torch_counts(net, (2, 3, 8, 8))
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_parameterless_module():
    assert torch_counts(nn.ReLU(), (2, 3, 5, 5)) == (0, 0, 0, (2, 3, 5, 5))
    assert torch_counts(nn.MaxPool2d(2), (1, 1, 4, 4)) == (0, 0, 0, (1, 1, 2, 2))


@pytest.mark.parametrize("bad", [224, "1,3,8,8", (1, 3, 8.0, 8), (1, 3, None, 8), ()])
def test_input_size_must_be_a_tuple_of_ints(bad):
    with pytest.raises(TypeError, match="input_size"):
        torch_counts(nn.Conv2d(3, 4, 3), bad)


def test_measure_is_imported_on_first_access():
    code = ("import sys, cnnlib\n"
            "assert 'torch' not in sys.modules, 'torch imported by import cnnlib'\n"
            "assert 'measure' in dir(cnnlib)\n"
            "from cnnlib import *\n"
            "assert 'torch' not in sys.modules\n"
            "import torch\n"
            "c = cnnlib.measure.torch_counts(torch.nn.Conv2d(3, 64, 3), (1, 3, 224, 224))\n"
            "assert c.params == 1792 and c.output_shape == (1, 64, 222, 222)\n"
            "assert cnnlib.measure is sys.modules['cnnlib.measure']\n")
    subprocess.run([sys.executable, "-c", code], check=True)
