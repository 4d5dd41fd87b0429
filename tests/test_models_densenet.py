"""cnnlib.models.densenet: torchvision's DenseNet-121 layout, published counts, memory_efficient."""
import pytest
import torch
from torch import nn

from cnnlib.measure import torch_counts
from cnnlib.models import densenet

# torchvision/models/densenet.py, DenseNet121_Weights.IMAGENET1K_V1.meta:
# "num_params": 7978856, "_ops": 2.834 (GFLOPS in torchvision's docs = GMACs at 224×224)
PUBLISHED_PARAMS = 7_978_856
PUBLISHED_GMACS = 2.834


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def meta_model():
    with torch.device("meta"):   # build only: the default device must not leak into tests
        model = densenet.densenet121()
    return model


def test_parameter_count_equals_torchvision(meta_model):
    assert n_params(meta_model) == PUBLISHED_PARAMS
    assert {p.device.type for p in meta_model.parameters()} == {"meta"}


def test_macs_round_to_published_gflops(meta_model):
    with torch.device("meta"):
        counts = torch_counts(meta_model, (1, 3, 224, 224))
    assert round(counts.macs / 1e9, 3) == PUBLISHED_GMACS
    assert counts.output_shape == (1, 1000)


def test_num_classes_changes_only_the_classifier(meta_model):
    w = meta_model.classifier.weight
    per_class = w.shape[1] + 1                       # weights + bias of one output
    with torch.device("meta"):
        m10 = densenet.densenet121(num_classes=10)
    assert n_params(m10) == PUBLISHED_PARAMS - (1000 - 10) * per_class


def test_state_dict_layout(meta_model):
    sd = meta_model.state_dict()
    blocks = (6, 12, 24, 16)
    n_conv = 1 + 2 * sum(blocks) + 3                 # conv0, two per dense layer, transitions
    n_bn = 1 + 2 * sum(blocks) + 3 + 1               # norm0, two per layer, transitions, norm5
    assert len(sd) == n_conv + 5 * n_bn + 2          # BN: w, b, mean, var, count; classifier
    expected = {
        "features.conv0.weight": (64, 3, 7, 7),
        "features.norm0.running_mean": (64,),
        "features.denseblock1.denselayer1.norm1.weight": (64,),
        "features.denseblock1.denselayer1.conv1.weight": (128, 64, 1, 1),
        "features.denseblock1.denselayer1.conv2.weight": (32, 128, 3, 3),
        "features.denseblock1.denselayer6.norm1.weight": (64 + 5 * 32,),
        "features.transition1.norm.weight": (256,),
        "features.transition1.conv.weight": (128, 256, 1, 1),
        "features.denseblock3.denselayer12.conv1.weight": (128, 256 + 11 * 32, 1, 1),
        "features.denseblock3.denselayer24.norm2.num_batches_tracked": (),
        "features.transition3.conv.weight": (512, 1024, 1, 1),
        "features.denseblock4.denselayer16.conv2.weight": (32, 128, 3, 3),
        "features.norm5.running_var": (1024,),
        "classifier.weight": (1000, 1024),
        "classifier.bias": (1000,),
    }
    for key, shape in expected.items():
        assert tuple(sd[key].shape) == shape, key
    keys = list(sd)
    assert keys[0] == "features.conv0.weight" and keys[-2:] == ["classifier.weight", "classifier.bias"]
    assert keys.index("features.denseblock1.denselayer6.conv2.weight") < keys.index(
        "features.transition1.norm.weight") < keys.index("features.denseblock2.denselayer1.norm1.weight")
    assert "features.transition4.conv.weight" not in sd


def test_121_weighted_layers(meta_model):
    n = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in meta_model.modules())
    assert n == 121 - 1 + 1    # 120 convolutions + the classifier (121 = conv + FC layers)


def test_public_block_names_are_torchvision_classes():
    assert densenet.DenseLayer is densenet._DenseLayer
    assert densenet.DenseBlock is densenet._DenseBlock
    assert densenet.Transition is densenet._Transition
    block = densenet.DenseBlock(3, 16, bn_size=4, growth_rate=8, drop_rate=0)
    x = torch.randn(2, 16, 5, 5)
    y = block.eval()(x)
    assert y.shape == (2, 16 + 3 * 8, 5, 5) and torch.equal(y[:, :16], x)   # input passes through


def test_output_shape_and_minimum_input():
    torch.manual_seed(0)
    m = densenet.densenet121(num_classes=7).eval()
    with torch.no_grad():
        assert m(torch.randn(2, 3, 64, 64)).shape == (2, 7)
        assert m(torch.randn(1, 3, 29, 29)).shape == (1, 7)      # torchvision's min_size
        with pytest.raises(RuntimeError):
            m(torch.randn(1, 3, 28, 28))


def test_memory_efficient_gives_the_same_outputs_and_gradients():
    with torch.device("meta"):
        default, efficient = densenet.densenet121(), densenet.densenet121(memory_efficient=True)
    assert not any(m.memory_efficient for m in default.modules()
                   if isinstance(m, densenet.DenseLayer))                 # plain path by default
    assert all(m.memory_efficient for m in efficient.modules() if isinstance(m, densenet.DenseLayer))
    torch.manual_seed(0)
    small = dict(growth_rate=8, block_config=(2, 3, 2, 2), num_init_features=16, num_classes=5)
    plain = densenet.DenseNet(**small)                  # a small DenseNet: the same code path
    ckpt = densenet.DenseNet(**small, memory_efficient=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    outs = []
    for m in (plain, ckpt):
        m.train()
        y = m(x)
        y.square().sum().backward()
        outs.append((y.detach(), m.features.conv0.weight.grad.clone()))
    assert torch.allclose(outs[0][0], outs[1][0], atol=1e-5)
    assert torch.allclose(outs[0][1], outs[1][1], rtol=1e-4, atol=1e-6)


def test_initialisation_like_torchvision():
    m = densenet.densenet121()
    w = m.features.denseblock2.denselayer3.conv1.weight
    fan_in = w.shape[1] * w.shape[2] * w.shape[3]
    assert abs(w.std().item() / (2 / fan_in) ** 0.5 - 1) < 0.05      # Kaiming normal, fan_in
    assert torch.all(m.features.norm5.weight == 1) and torch.all(m.features.norm5.bias == 0)
    assert torch.all(m.classifier.bias == 0)
