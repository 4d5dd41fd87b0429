"""cnnlib.models.shufflenetv2: torchvision's ShuffleNet V2 ×1.0 layout, published counts, the unit."""
import numpy as np
import pytest
import torch
from torch import nn

import cnnlib
from cnnlib.measure import torch_counts
from cnnlib.models import shufflenetv2

# torchvision/models/shufflenetv2.py, ShuffleNet_V2_X1_0_Weights.IMAGENET1K_V1.meta:
# "num_params": 2278604, "_ops": 0.145 (GFLOPS in the docs = GMACs at 224×224)
PUBLISHED_PARAMS = 2_278_604
PUBLISHED_GMACS = 0.145


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def meta_model():
    with torch.device("meta"):   # build only: the default device must not leak into tests
        model = shufflenetv2.shufflenet_v2_x1_0()
    return model


def test_parameter_count_and_macs_equal_torchvision(meta_model):
    with torch.device("meta"):
        counts = torch_counts(meta_model, (1, 3, 224, 224))
    assert counts.params == n_params(meta_model) == PUBLISHED_PARAMS
    assert round(counts.macs / 1e9, 3) == PUBLISHED_GMACS
    assert counts.output_shape == (1, 1000)


def test_num_classes_changes_only_fc(meta_model):
    per_class = meta_model.fc.weight.shape[1] + 1
    with torch.device("meta"):
        m10 = shufflenetv2.shufflenet_v2_x1_0(num_classes=10)
    assert n_params(m10) == PUBLISHED_PARAMS - 990 * per_class


def test_state_dict_layout(meta_model):
    sd = meta_model.state_dict()
    units_s2, units_s1 = 3, (4 - 1) + (8 - 1) + (4 - 1)
    n_conv = 2 + 5 * units_s2 + 3 * units_s1          # conv1, conv5; 5 / 3 convs per unit
    n_bn = 2 + 5 * units_s2 + 3 * units_s1            # a BN after each
    assert len(sd) == n_conv + 5 * n_bn + 2
    expected = {
        "conv1.0.weight": (24, 3, 3, 3),
        "conv1.1.running_var": (24,),
        "stage2.0.branch1.0.weight": (24, 1, 3, 3),          # depthwise 3×3/s2
        "stage2.0.branch1.2.weight": (58, 24, 1, 1),
        "stage2.0.branch2.0.weight": (58, 24, 1, 1),
        "stage3.3.branch2.0.weight": (116, 116, 1, 1),        # stride-1 unit: half the channels
        "stage3.3.branch2.3.weight": (116, 1, 3, 3),
        "stage3.3.branch2.5.weight": (116, 116, 1, 1),
        "stage3.3.branch2.6.num_batches_tracked": (),
        "stage4.0.branch1.2.weight": (232, 232, 1, 1),
        "stage4.3.branch2.6.bias": (232,),
        "conv5.0.weight": (1024, 464, 1, 1),
        "fc.weight": (1000, 1024),
        "fc.bias": (1000,),
    }
    for key, shape in expected.items():
        assert tuple(sd[key].shape) == shape, key
    assert not any(k.startswith("stage3.1.branch1") for k in sd)      # empty for stride 1
    assert list(sd)[0] == "conv1.0.weight" and list(sd)[-2:] == ["fc.weight", "fc.bias"]
    assert [len(getattr(meta_model, f"stage{i}")) for i in (2, 3, 4)] == [4, 8, 4]


def test_unit_splits_and_shuffles():
    torch.manual_seed(0)
    unit = shufflenetv2.ShuffleV2Block(8, 8, 1).eval()
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        y = unit(x)
    assert y.shape == x.shape
    # channel split: the first half passes untouched and, after the 2-group shuffle,
    # lands on the even channels
    assert torch.equal(y[:, 0::2], x[:, :4])
    down = shufflenetv2.ShuffleV2Block(8, 16, 2)
    assert down(x).shape == (2, 16, 3, 3)
    with pytest.raises(ValueError):
        shufflenetv2.ShuffleV2Block(8, 12, 1)


def test_channel_shuffle_equals_cnnlib():
    x = torch.arange(2 * 12 * 2 * 2, dtype=torch.float32).reshape(2, 12, 2, 2)
    for g in (2, 3, 4):
        np.testing.assert_array_equal(shufflenetv2.channel_shuffle(x, g).numpy(),
                                      cnnlib.channel_shuffle(x.numpy(), g))


def test_output_shape_any_input_size():
    m = shufflenetv2.shufflenet_v2_x1_0(num_classes=7).eval()
    with torch.no_grad():
        assert m(torch.randn(2, 3, 224, 224)).shape == (2, 7)
        assert m(torch.randn(1, 3, 1, 1)).shape == (1, 7)          # torchvision's min_size


def test_default_initialisation_as_torchvision():
    """torchvision leaves PyTorch's defaults: BN 1/0, convolutions Kaiming-uniform with a=√5."""
    m = shufflenetv2.shufflenet_v2_x1_0()
    assert torch.all(m.conv5[1].weight == 1) and torch.all(m.conv5[1].bias == 0)
    w = m.conv5[0].weight
    bound = 1 / w[0].numel() ** 0.5
    assert w.abs().max().item() <= bound and w.abs().max().item() > 0.95 * bound
    assert all(isinstance(u, shufflenetv2.ShuffleV2Block) for u in m.stage3)
    assert isinstance(m.stage3[1].branch1, nn.Sequential) and len(m.stage3[1].branch1) == 0
