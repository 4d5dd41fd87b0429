"""EfficientNet-B0 (and B1–B3 shapes from the compound-scaling builder): torchvision's published
parameter counts and GFLOPS, state_dict layout, stochastic depth, output shapes."""
import pytest
import torch
from torch import nn

from cnnlib.measure import torch_counts
from cnnlib.models._layers import SqueezeExcitation, StochasticDepth
from cnnlib.models.efficientnet import MBConv, MBConvConfig, efficientnet, efficientnet_b0

# torchvision/models/efficientnet.py, EfficientNet_B{0,1,2,3}_Weights.IMAGENET1K_V1 meta
# "num_params" and "_ops" (GFLOPS as torchvision counts them = GMACs) at each weight's crop size
# (224, 240, 288, 300); the builders efficientnet_b{0..3} call
# _efficientnet_conf(width_mult, depth_mult) with (1.0, 1.0), (1.0, 1.1), (1.1, 1.2), (1.2, 1.4).
PUBLISHED = {  # name: (width_mult, depth_mult, dropout, crop, num_params, _ops)
    "b0": (1.0, 1.0, 0.2, 224, 5_288_548, 0.386),
    "b1": (1.0, 1.1, 0.2, 240, 7_794_184, 0.687),
    "b2": (1.1, 1.2, 0.3, 288, 9_109_994, 1.088),
    "b3": (1.2, 1.4, 0.3, 300, 12_233_232, 1.827),
}


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def on_meta(builder, *args, **kw):
    with torch.device("meta"):
        return builder(*args, **kw)


def test_b0_parameter_count_and_gmacs_equal_torchvision():
    model = on_meta(efficientnet_b0)
    counts = torch_counts(model, (1, 3, 224, 224))
    assert counts.params == n_params(model) == PUBLISHED["b0"][4]
    assert round(counts.macs / 1e9, 3) == PUBLISHED["b0"][5]
    assert counts.output_shape == (1, 1000)


@pytest.mark.parametrize("name", ["b1", "b2", "b3"])
def test_compound_scaling_reproduces_torchvision_b1_to_b3(name):
    w, d, p, crop, params, ops = PUBLISHED[name]
    model = on_meta(efficientnet, width_mult=w, depth_mult=d, dropout=p)
    counts = torch_counts(model, (1, 3, crop, crop))
    assert counts.params == params
    assert round(counts.macs / 1e9, 3) == ops
    assert model.classifier[0].p == p


def test_b0_is_the_unscaled_builder():
    a, b = on_meta(efficientnet_b0), on_meta(efficientnet, 1.0, 1.0, 0.2)
    assert {k: v.shape for k, v in a.state_dict().items()} == {k: v.shape for k, v in b.state_dict().items()}


def test_num_classes_changes_only_the_last_layer():
    full, small = on_meta(efficientnet_b0), on_meta(efficientnet_b0, num_classes=10)
    last = full.classifier[-1]
    assert isinstance(last, nn.Linear) and last.out_features == 1000
    assert n_params(full) - n_params(small) == (1000 - 10) * (last.in_features + 1)
    a, b = full.state_dict(), small.state_dict()
    assert [k for k in a if a[k].shape != b[k].shape] == ["classifier.1.weight", "classifier.1.bias"]


def test_b0_state_dict_layout():
    sd = on_meta(efficientnet_b0).state_dict()
    # 16 MBConv blocks: the first has no expansion (2 convs + SE), the others 3 convs + SE;
    # plus stem and head convs: 49 conv+BN pairs × 6 keys, 16 SE × 4 keys, Linear 2 keys.
    assert len(sd) == 49 * 6 + 16 * 4 + 2
    assert list(sd)[:8] == ["features.0.0.weight", "features.0.1.weight", "features.0.1.bias",
                            "features.0.1.running_mean", "features.0.1.running_var",
                            "features.0.1.num_batches_tracked", "features.1.0.block.0.0.weight",
                            "features.1.0.block.0.1.weight"]
    assert list(sd)[-3:] == ["features.8.1.num_batches_tracked", "classifier.1.weight", "classifier.1.bias"]
    shapes = {
        "features.0.0.weight": (32, 3, 3, 3),
        "features.1.0.block.0.0.weight": (32, 1, 3, 3),        # expand ratio 1: depthwise first
        "features.1.0.block.1.fc1.weight": (8, 32, 1, 1),      # SE squeeze = input // 4
        "features.1.0.block.2.0.weight": (16, 32, 1, 1),
        "features.4.1.block.0.0.weight": (480, 80, 1, 1),      # expand ×6
        "features.4.1.block.1.0.weight": (480, 1, 3, 3),
        "features.4.1.block.2.fc1.weight": (20, 480, 1, 1),
        "features.4.1.block.2.fc2.bias": (480,),
        "features.4.1.block.3.0.weight": (80, 480, 1, 1),
        "features.6.3.block.1.0.weight": (1152, 1, 5, 5),
        "features.8.0.weight": (1280, 320, 1, 1),
        "classifier.1.weight": (1000, 1280),
    }
    for key, shape in shapes.items():
        assert tuple(sd[key].shape) == shape, key
    m = on_meta(efficientnet_b0)
    assert [len(stage) for stage in m.features[1:8]] == [1, 2, 2, 3, 3, 4, 1]
    assert [len(stage) for stage in on_meta(efficientnet, 1.0, 1.1).features[1:8]] == [2, 3, 3, 4, 4, 5, 2]


def test_b0_blocks_silu_se_and_bn():
    m = on_meta(efficientnet_b0)
    blocks = [b for stage in m.features[1:8] for b in stage]
    assert len(blocks) == 16 and all(isinstance(b, MBConv) for b in blocks)
    se = blocks[5].block[2]
    assert isinstance(se, SqueezeExcitation)
    assert isinstance(se.activation, nn.SiLU) and isinstance(se.scale_activation, nn.Sigmoid)
    assert isinstance(m.features[0][2], nn.SiLU)
    bns = [mod for mod in m.modules() if isinstance(mod, nn.BatchNorm2d)]
    assert len(bns) == 49 and all(b.eps == 1e-5 and b.momentum == 0.1 for b in bns)


def test_stochastic_depth_grows_with_block_index():
    m = on_meta(efficientnet_b0)
    blocks = [b for stage in m.features[1:8] for b in stage]
    probs = [b.stochastic_depth.p for b in blocks]
    assert probs == pytest.approx([0.2 * i / 16 for i in range(16)])
    assert all(isinstance(b.stochastic_depth, StochasticDepth) and b.stochastic_depth.mode == "row"
               for b in blocks)
    assert [b.use_res_connect for b in blocks].count(True) == 9


def test_stochastic_depth_drops_the_branch_in_training_only():
    torch.manual_seed(0)
    block = MBConv(MBConvConfig(6, 5, 1, 192, 192, 1), 0.175, nn.BatchNorm2d).eval()
    assert block.use_res_connect
    h = torch.randn(2, 192, 4, 4)
    with torch.no_grad():
        assert torch.equal(block(h), block.block(h) + h)     # eval: the branch always counts
        block.train()
        block.stochastic_depth.p = 1.0                       # always dropped: the identity
        assert torch.equal(block(h), h)


def test_forward_shapes():
    torch.manual_seed(0)
    m = efficientnet_b0(num_classes=7).eval()
    with torch.no_grad():
        x = torch.randn(2, 3, 224, 224)
        y = m(x)
        tiny = m(torch.randn(1, 3, 1, 1))        # torchvision's "min_size": (1, 1)
        assert torch.equal(y, m(x))              # eval: dropout and stochastic depth are off
    assert y.shape == (2, 7) and torch.isfinite(y).all()
    assert tiny.shape == (1, 7)


def test_initialisation_like_torchvision():
    torch.manual_seed(0)
    m = efficientnet_b0()
    fc = m.classifier[1]
    bound = 1 / 1000 ** 0.5                      # uniform(±1/√out_features)
    assert fc.weight.abs().max().item() <= bound and fc.weight.abs().max().item() > 0.99 * bound
    assert torch.all(fc.bias == 0)
    w = m.features[8][0].weight
    assert abs(w.std().item() / (2 / w.shape[0]) ** 0.5 - 1) < 0.05
