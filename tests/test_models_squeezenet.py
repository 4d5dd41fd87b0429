"""cnnlib.models.squeezenet: torchvision's SqueezeNet 1.0 / 1.1 layout, published counts, Fire."""
import pytest
import torch
from torch import nn

from cnnlib.measure import torch_counts
from cnnlib.models import squeezenet

# torchvision/models/squeezenet.py, SqueezeNet1_0_Weights.IMAGENET1K_V1.meta and
# SqueezeNet1_1_Weights.IMAGENET1K_V1.meta: "num_params", "_ops" (GFLOPS in the docs = GMACs),
# "min_size"
PUBLISHED = {
    "squeezenet1_0": (1_248_424, 0.819, 21),
    "squeezenet1_1": (1_235_496, 0.349, 17),
}


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def meta(name, **kw):
    with torch.device("meta"):
        return getattr(squeezenet, name)(**kw)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_parameter_count_and_macs_equal_torchvision(name):
    params, gmacs, _ = PUBLISHED[name]
    with torch.device("meta"):
        m = getattr(squeezenet, name)()
        counts = torch_counts(m, (1, 3, 224, 224))
    assert counts.params == n_params(m) == params
    assert round(counts.macs / 1e9, 3) == gmacs
    assert counts.output_shape == (1, 1000)


def test_1_1_costs_about_2_4_times_fewer_macs():
    with torch.device("meta"):
        a = torch_counts(squeezenet.squeezenet1_0(), (1, 3, 224, 224)).macs
        b = torch_counts(squeezenet.squeezenet1_1(), (1, 3, 224, 224)).macs
    assert round(a / b, 1) == 2.3      # torchvision's docstring says "2.4x less computation"


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_num_classes_changes_only_the_final_conv(name):
    w = meta(name).classifier[1].weight               # 1×1 conv: (classes, 512, 1, 1)
    per_class = w[0].numel() + 1
    assert n_params(meta(name, num_classes=10)) == PUBLISHED[name][0] - 990 * per_class


@pytest.mark.parametrize("name,first", [("squeezenet1_0", (96, 3, 7, 7)),
                                        ("squeezenet1_1", (64, 3, 3, 3))])
def test_state_dict_layout(name, first):
    sd = meta(name).state_dict()
    assert len(sd) == 2 * (1 + 8 * 3 + 1)            # weight + bias of 26 convolutions
    assert tuple(sd["features.0.weight"].shape) == first
    fires = [i for i, mod in enumerate(meta(name).features) if isinstance(mod, squeezenet.Fire)]
    assert fires == ([3, 4, 5, 7, 8, 9, 10, 12] if name == "squeezenet1_0"
                     else [3, 4, 6, 7, 9, 10, 11, 12])
    mid = fires[4]                                     # fifth Fire: Fire(256, 48, 192, 192)
    assert tuple(sd[f"features.{mid}.squeeze.weight"].shape) == (48, 256, 1, 1)
    assert tuple(sd[f"features.{mid}.expand1x1.weight"].shape) == (192, 48, 1, 1)
    assert tuple(sd[f"features.{mid}.expand3x3.weight"].shape) == (192, 48, 3, 3)
    assert tuple(sd[f"features.{mid}.expand3x3.bias"].shape) == (192,)
    assert list(sd)[-2:] == ["classifier.1.weight", "classifier.1.bias"]
    assert tuple(sd["classifier.1.weight"].shape) == (1000, 512, 1, 1)
    assert list(sd)[2:8] == [f"features.3.{c}.{p}" for c in ("squeeze", "expand1x1", "expand3x3")
                             for p in ("weight", "bias")]


def test_fire_concatenates_the_two_expands():
    fire = squeezenet.Fire(32, 8, 16, 24)
    y = fire(torch.randn(2, 32, 9, 9))
    assert y.shape == (2, 40, 9, 9) and (y >= 0).all()
    assert n_params(fire) == (32 * 8 + 8) + (8 * 16 + 16) + (8 * 24 * 9 + 24)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_output_shape_and_minimum_input(name):
    m = getattr(squeezenet, name)(num_classes=7).eval()
    lo = PUBLISHED[name][2]
    with torch.no_grad():
        assert m(torch.randn(2, 3, 224, 224)).shape == (2, 7)
        assert m(torch.randn(1, 3, lo, lo)).shape == (1, 7)
        with pytest.raises(RuntimeError):
            m(torch.randn(1, 3, lo - 1, lo - 1))


def test_initialisation_like_torchvision():
    m = squeezenet.squeezenet1_0()
    final = m.classifier[1].weight
    assert abs(final.std().item() / 0.01 - 1) < 0.02                 # normal(0, 0.01)
    w = m.features[5].expand3x3.weight
    fan_in = w[0].numel()
    bound = (6 / fan_in) ** 0.5                                         # Kaiming uniform, a=0
    assert w.abs().max().item() <= bound and w.abs().max().item() > 0.95 * bound
    assert all(torch.all(c.bias == 0) for c in m.modules() if isinstance(c, nn.Conv2d))
