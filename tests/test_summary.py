"""summary(): totals against FlopCounterMode and the published parameter counts; rows, receptive
field columns, mode restoration, rendering and errors."""
import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlib import receptive_field, summary
from cnnlib import models


def counter_flops(model, input_size):
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(torch.zeros(input_size))
    return counter.get_total_flops()


@pytest.mark.parametrize("name,params,size", [
    ("vgg16", 138_357_544, 224), ("resnet18", 11_689_512, 224), ("resnet50", 25_557_032, 224),
    ("resnet50", 25_557_032, 96)])
def test_reference_models_match_flop_counter(name, params, size):
    model = getattr(models, name)()
    s = summary(model, (1, 3, size, size))
    assert s.total_params == s.trainable_params == params
    assert s.total_flops == 2 * s.total_macs == counter_flops(model, (1, 3, size, size))
    assert s.output_shape == (1, 1000)


def test_resnet18_rows_and_known_macs():
    s = summary(models.resnet18(), (1, 3, 224, 224))
    assert s.total_macs == 1_814_073_344            # torchvision's "1.81 GFLOPS" are MACs
    conv1 = s.rows[0]
    assert (conv1.name, conv1.type, conv1.output_shape) == ("conv1", "Conv2d", (1, 64, 112, 112))
    assert conv1.params == 64 * 3 * 49 and conv1.macs == 64 * 112 * 112 * 3 * 49
    assert sum(r.params for r in s.rows) == s.total_params
    # the shared ReLU of a block is called twice; each call gets its own receptive field
    relus = [r for r in s.rows if r.name == "layer1.0.relu"]
    assert [r.rf_size for r in relus] == [(19, 19), (27, 27)]
    assert relus[1].params == 0
    last = [r for r in s.rows if r.name == "avgpool"][0]
    assert last.rf_size == "global" and s.rows[-1].rf_size is None          # fc
    assert len(s.rows) == 60


def test_rf_columns_agree_with_receptive_field():
    model = models.resnet50(v1=True)
    s = summary(model, (1, 3, 64, 64))
    recs = {r.name: r for r in receptive_field(model)}
    checked = 0
    for row in s.rows:
        if row.name in recs:
            assert (row.rf_size, row.rf_jump) == (recs[row.name].size, recs[row.name].jump)
            checked += 1
    assert checked == 53 + 1        # 53 convs and the stem max-pool


def test_batch_and_missing_batch_dim():
    model = models.resnet18()
    one = summary(model, (3, 64, 64))                 # (C, H, W) → batch 1
    assert one.input_size == (1, 3, 64, 64)
    two = summary(model, (2, 3, 64, 64))
    assert two.total_macs == 2 * one.total_macs
    assert two.total_flops == counter_flops(model, (2, 3, 64, 64))


class Custom(nn.Module):
    """Grouped, depthwise, dilated, strided 1-D/2-D/3-D and transposed convs, and Linear
    layers on 2-D and 3-D inputs."""

    def __init__(self):
        super().__init__()
        self.grouped = nn.Conv2d(8, 12, 3, stride=2, padding=1, groups=4)
        self.depthwise = nn.Conv2d(12, 12, (3, 5), padding=(1, 2), dilation=(1, 2), groups=12,
                                   bias=False)
        self.up = nn.ConvTranspose2d(12, 6, 4, stride=2, padding=1, groups=3)
        self.up2 = nn.ConvTranspose2d(6, 4, 3, stride=3, output_padding=1, dilation=2)
        self.conv1d = nn.Conv1d(4, 5, 3, stride=2)
        self.up1d = nn.ConvTranspose1d(5, 2, 2, stride=2, bias=False)
        self.conv3d = nn.Conv3d(1, 3, (2, 3, 3), padding=1, groups=1)
        self.tokens = nn.Linear(2, 16)
        self.head = nn.Linear(16, 3, bias=False)

    def forward(self, x):
        y = self.up2(self.up(self.depthwise(self.grouped(x))))       # (N, 4, H', W')
        z = self.up1d(self.conv1d(y.flatten(2)))                     # (N, 2, L)
        v = self.conv3d(z.unsqueeze(1)[..., :8].reshape(z.shape[0], 1, 2, 2, 4))
        return self.head(torch.relu(self.tokens(z.transpose(1, 2)))).sum() + v.sum()


@pytest.mark.parametrize("batch", [1, 3])
def test_custom_layers_match_flop_counter(batch):
    model = Custom()
    s = summary(model, (batch, 8, 10, 12))
    assert s.total_flops == counter_flops(model, (batch, 8, 10, 12))
    assert s.total_params == sum(p.numel() for p in model.parameters())
    per_type = {r.name: r.macs for r in s.rows}
    assert all(v > 0 for v in per_type.values())
    # the depthwise 3×5 row by hand: C_out · H·W · (C_in/g) · k_h·k_w per image, where the
    # 5×6 input gives H = 5 + 2 - 2 = 5 and W = 6 + 4 - 2·4 = 2 (dilation 2)
    assert per_type["depthwise"] == batch * 12 * (5 * 2) * 1 * 15


def test_each_custom_layer_alone():
    cases = [(nn.Conv1d(6, 4, 3, groups=2), (2, 6, 11)),
             (nn.Conv3d(2, 4, 3, stride=(1, 2, 2), groups=2), (1, 2, 5, 6, 7)),
             (nn.ConvTranspose1d(4, 6, 5, stride=3, padding=2, groups=2), (2, 4, 7)),
             (nn.ConvTranspose3d(2, 2, 2, stride=2), (1, 2, 3, 3, 3)),
             (nn.Linear(5, 7), (4, 5)),
             (nn.Sequential(nn.Flatten(), nn.Linear(12, 2)), (3, 3, 4))]
    for model, size in cases:
        s = summary(model, size)
        assert s.total_flops == counter_flops(model, size), model
        assert s.total_params == sum(p.numel() for p in model.parameters())


def test_shared_module_and_frozen_params():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            x = self.conv(self.conv(x))
            return self.fc(x.mean((2, 3)))

    model = Shared()
    model.fc.weight.requires_grad_(False)
    s = summary(model, (1, 4, 8, 8))
    assert [r.name for r in s.rows] == ["conv", "conv", "fc"]
    assert [r.params for r in s.rows] == [148, 0, 10]
    assert s.total_params == 158 and s.trainable_params == 150
    assert [r.rf_size for r in s.rows[:2]] == [(3, 3), (5, 5)]
    assert s.rows[2].rf_size is None                  # after the global mean
    assert s.total_flops == counter_flops(model, (1, 4, 8, 8))


def test_untraceable_model_still_counts():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            if x.sum() > 0:          # data-dependent control flow: fx cannot trace it
                x = -x
            return self.conv(x)

    s = summary(Branchy(), (1, 1, 6, 6))
    assert s.rows[0].rf_size is None and s.rows[0].macs == 2 * 16 * 9


def test_modes_are_restored_and_no_grad():
    model = models.resnet18()
    model.train()
    model.layer2.eval()
    before = {n: m.training for n, m in model.named_modules()}
    s = summary(model, (1, 3, 32, 32))
    assert {n: m.training for n, m in model.named_modules()} == before
    assert all(p.grad is None for p in model.parameters())
    assert model.bn1.num_batches_tracked.item() == 0         # ran in eval mode
    assert s.rows[0].output_shape == (1, 64, 16, 16)


def test_text_and_html_rendering():
    s = summary(models.resnet18(), (1, 3, 64, 64))
    text = str(s)
    assert "layer4.1.conv2" in text and "Total FLOPs (= 2 × MACs)" in text
    assert f"{s.total_macs:,}" in text and f"{s.total_params:,}" in text
    assert "435×435" in text
    html = s._repr_html_()
    shown, folded = html.split("<details>")
    assert shown.count("<tr>") == 1 + 12 and folded.count("<tr>") >= 1 + len(s.rows) - 12
    assert f"Show the other {len(s.rows) - 12} layers" in folded
    assert max(t.count("<th>") for t in html.split("<thead>")[1:]) == 5     # phone: <= 6 columns
    assert "layer4.1.conv2<br><small>Conv2d</small>" in folded and "435 / 32</td>" in folded
    small = summary(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), (1, 1, 5, 5))
    assert "<details>" not in small._repr_html_() and "<table>" in small._repr_html_()
    assert "ModelSummary(rows=2" in repr(small)


@pytest.mark.parametrize("model,size,exc,match", [
    ("not a model", (1, 3, 8, 8), TypeError, r"model=str must be a torch.nn.Module"),
    (nn.Conv2d(1, 1, 3), (1, 1, 0, 8), ValueError, r"input_size=\(1, 1, 0, 8\) must be a tuple "
                                                    r"of positive ints"),
    (nn.Conv2d(1, 1, 3), 8, ValueError, r"input_size=8 must be a tuple"),
    (nn.Conv2d(1, 1, 3), (1, 1, 8.0, 8), ValueError, r"input_size=\(1, 1, 8\.0, 8\)"),
])
def test_errors(model, size, exc, match):
    with pytest.raises(exc, match=match):
        summary(model, size)


def test_adaptive_pool_with_even_windows_is_an_ordinary_pool_in_the_rf_column():
    """VGG16's AdaptiveAvgPool2d((7, 7)) on a 7×7 map is the identity; on 14×14 it pools 2×2/2."""
    net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d((7, 7)), nn.AdaptiveAvgPool2d(1))
    same = summary(net, (1, 1, 9, 9)).rows
    assert [r.rf_size for r in same] == [(3, 3), (3, 3), "global"]
    halved = summary(net, (1, 1, 16, 16)).rows
    assert [r.rf_size for r in halved[:2]] == [(3, 3), (4, 4)]
    assert halved[1].rf_jump == (2, 2)


class _Products(torch.nn.Module):
    """Matrix products written as functions: F.linear, @, torch.matmul, einsum, bmm."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.w = torch.nn.Parameter(torch.randn(10, 8 * 4 * 4))
        self.q = torch.nn.Parameter(torch.randn(16, 16))
        self.head = torch.nn.Linear(10, 4)

    def forward(self, x):
        x = torch.nn.functional.adaptive_avg_pool2d(self.conv(x), 4)     # (N, 8, 4, 4)
        t = x.flatten(2).transpose(1, 2)                                   # (N, 16, 8) tokens
        a = torch.softmax(t @ t.transpose(1, 2), dim=-1)                   # bmm
        t = torch.einsum("nij,njc->nic", a, t)                             # einsum -> bmm
        t = torch.matmul(self.q, t)                                        # broadcast matmul
        y = torch.nn.functional.linear(t.flatten(1), self.w)               # F.linear -> mm
        return self.head(y)                                                # Linear module


class _Leaf(torch.nn.Module):
    """A leaf module whose forward multiplies by its own parameter."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(6, 5))

    def forward(self, x):
        return x @ self.w


@pytest.mark.parametrize("make, shape", [(_Products, (2, 3, 8, 8)),
                                         (lambda: torch.nn.Sequential(_Leaf(), torch.nn.ReLU()),
                                          (3, 4, 6))])
def test_functional_matrix_products_are_counted_like_flop_counter(make, shape):
    from torch.utils.flop_counter import FlopCounterMode
    model = make()
    s = summary(model, shape)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(shape))
    assert s.total_flops == counter.get_total_flops() > 0
    rows = {r.name: r for r in s.rows}
    if make is _Products:
        # conv and head counted by their modules; the functional products in the '(functional)'
        # row: bmm 2·16·8·16, einsum 2·16·16·8, matmul 2·16·16·8, linear 2·128·10
        assert rows["head"].macs == 2 * 10 * 4
        assert rows["(functional)"].macs == 2 * 16 * 8 * 16 * 3 + 2 * 128 * 10
    else:
        assert rows["0"].macs == 3 * 4 * 6 * 5 and "(functional)" not in rows
