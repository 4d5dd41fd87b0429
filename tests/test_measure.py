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


# ------------------------------------------------------------------ saved_for_backward
from cnnlib.measure import SavedTensor, saved_for_backward  # noqa: E402


def _saved_by_graph(output, exclude):
    """Independent count: walk the autograd graph from ``output`` and read every tensor
    attribute ``_saved_*`` of its nodes (and their lists of saved tensors), one per storage."""
    seen_nodes, storages, stack = set(), {}, [output.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen_nodes:
            continue
        seen_nodes.add(node)
        for name in dir(node):
            if not name.startswith("_saved_"):
                continue
            try:
                value = getattr(node, name)
            except RuntimeError:         # saved tensor already freed / not applicable
                continue
            for t in value if isinstance(value, (tuple, list)) else [value]:
                if isinstance(t, torch.Tensor):
                    s = t.untyped_storage()
                    if s.data_ptr() not in exclude:
                        storages[s.data_ptr()] = s.nbytes()
        stack.extend(fn for fn, _ in node.next_functions)
    return storages


@pytest.mark.parametrize("name", ["resnet18", "squeezenet1_1", "shufflenet_v2_x1_0"])
def test_saved_for_backward_equals_the_graphs_saved_tensors(name):
    torch.manual_seed(0)
    model = getattr(models, name)(num_classes=10).train()
    x = torch.randn(2, 3, 64, 64)
    got = saved_for_backward(model, x)
    own = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers())}
    y = model(x)
    expected = _saved_by_graph(y, own)
    assert sum(t.nbytes for t in got) == sum(expected.values())
    assert len(got) == len(expected)


def test_saved_for_backward_counts_a_shared_storage_once():
    block = nn.Sequential(nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    saved = saved_for_backward(block, torch.randn(1, 4, 8, 8))
    # the conv's input; the ReLU output (saved by ReLU and again by the pool); the pool's indices
    assert [(t.shape, t.dtype) for t in saved] == [
        ((1, 4, 8, 8), torch.float32), ((1, 6, 8, 8), torch.float32), ((1, 6, 4, 4), torch.int64)]
    assert [t.nbytes for t in saved] == [4 * 256, 4 * 384, 8 * 96]
    assert all(isinstance(t, SavedTensor) for t in saved)


def test_saved_for_backward_leaves_out_parameters_not_inputs():
    lin = nn.Linear(5, 3)
    x = torch.randn(2, 5)
    saved = saved_for_backward(lin, x)
    assert [t.shape for t in saved] == [(2, 5)]          # the input, for the weight gradient
    # as a plain function the weight is a tensor like any other: saved (for x's gradient)
    # when x requires grad, and only then
    w = torch.randn(3, 5, requires_grad=True)
    assert {t.shape for t in saved_for_backward(lambda a: a @ w.t(), x)} == {(2, 5)}
    x.requires_grad_()
    saved = saved_for_backward(lambda a: a @ w.t(), x)
    assert {t.shape for t in saved} == {(2, 5), (5, 3)}           # w saved as its view w.t()
    assert sum(t.nbytes for t in saved) == 4 * (10 + 15)


def test_saved_for_backward_records_nothing_without_autograd():
    conv = nn.Conv2d(2, 2, 3)
    with torch.no_grad():
        assert saved_for_backward(conv, torch.randn(1, 2, 5, 5)) == []
    conv.requires_grad_(False)
    assert saved_for_backward(conv, torch.randn(1, 2, 5, 5)) == []


def test_saved_for_backward_refuses_the_meta_device():
    with torch.device("meta"):
        conv = nn.Conv2d(2, 2, 3)
    with pytest.raises(ValueError, match="meta"):
        saved_for_backward(conv, torch.empty(1, 2, 5, 5, device="meta"))
