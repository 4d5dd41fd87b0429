"""receptive_field: the recursion on known stacks, traced torch models (VGG16, ResNets), and the
gradient-based measurement (receptive_field_by_gradient) on random stacks."""
from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from cnnlib import receptive_field
from cnnlib._receptive import receptive_field_by_gradient
from cnnlib import models


def clipped(bounds, n):
    lo, hi = bounds
    return max(lo, 0), min(hi, n - 1)


# ------------------------------------------------------------------------ known stacks
def test_three_3x3_make_7():
    recs = receptive_field([(3, 1, 1, 1)] * 3)
    assert [r.size for r in recs] == [3, 5, 7]
    assert [r.jump for r in recs] == [1, 1, 1]
    assert [r.start for r in recs] == [0, 0, 0]
    assert all(isinstance(r.size, int) for r in recs)       # ints in → ints out


def test_dilations_1_2_4():
    recs = receptive_field([(3, 1, 1, 1), (3, 1, 2, 2), (3, 1, 4, 4)])
    assert [r.size for r in recs] == [3, 7, 15]


def test_jump_is_product_of_all_strides():
    # the seed's erratum multiplies by the current stride only; the jump is the product
    recs = receptive_field([(3, 2, 1), (3, 2, 1), (3, 2, 1), (3, 1, 1)])
    assert [r.jump for r in recs] == [2, 4, 8, 8]
    assert [r.size for r in recs] == [3, 7, 15, 31]


def test_short_tuples_default_padding_and_dilation():
    assert receptive_field([(7, 2)]) == receptive_field([(7, 2, 0, 1)])
    assert receptive_field([(7, 2, 3)]) == receptive_field([(7, 2, 3, 1)])
    stem = receptive_field([(7, 2, 3), (3, 2, 1)])[-1]
    assert (stem.size, stem.jump, stem.start) == (11, 4, 0)


def test_even_kernel_start_is_half_pixel():
    rec = receptive_field([(2, 1, 0, 1)])[0]
    assert rec.start == 0.5 and isinstance(rec.start, float)
    assert rec.bounds(0) == (0, 1) and rec.bounds(3) == (3, 4)


def test_per_dim_tuples():
    recs = receptive_field([((3, 1), 1, (1, 0)), (3, (2, 1), 1, (1, 2))])
    assert recs[-1].size == (5, 5) and recs[-1].jump == (2, 1)
    assert recs[0].size == (3, 1)
    assert recs[-1].start == (0, 1)
    assert recs[-1].bounds((0, 0)) == ((-2, -1), (2, 3))


def test_torch_modules_in_a_list_give_tuples():
    recs = receptive_field([nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2),
                            nn.AvgPool2d(3, stride=1, padding=1), nn.LPPool2d(2, 2)])
    assert [r.size for r in recs] == [(3, 3), (4, 4), (8, 8), (10, 10)]
    assert [r.jump for r in recs] == [(1, 1), (2, 2), (2, 2), (4, 4)]
    assert recs[2].dilation == (1, 1) and recs[3].padding == (0, 0)
    assert [r.kind for r in recs] == ["Conv2d", "MaxPool2d", "AvgPool2d", "LPPool2d"]
    one_d = receptive_field([nn.Conv1d(1, 1, 5, dilation=2)])[0]
    assert one_d.size == (9,)


def test_sequential_equals_list_and_ignores_activations():
    layers = [nn.Conv2d(3, 8, 5, stride=2, padding=2), nn.ReLU(), nn.BatchNorm2d(8),
              nn.MaxPool2d(3, 2, 1), nn.Conv2d(8, 8, 3, dilation=2, padding=2), nn.Dropout()]
    traced = receptive_field(nn.Sequential(*layers))
    listed = receptive_field([m for m in layers if hasattr(m, "kernel_size")])
    assert [r[2:] for r in traced] == [r[2:] for r in listed]
    assert [r.name for r in traced] == ["0", "3", "4"]


def test_same_padding():
    rec = receptive_field([nn.Conv1d(1, 1, 4, padding="same")])[0]
    assert rec.padding == (1,) and rec.start == (0.5,)         # torch pads 1 left, 2 right
    assert receptive_field([(5, 1, "same", 2)])[0].padding == 4


# ------------------------------------------------------------------------------- VGG16
@pytest.fixture(scope="module")
def vgg16():
    return models.vgg16()


def test_vgg16_conv5_3_and_pool5(vgg16):
    recs = {r.name: r for r in receptive_field(vgg16)}
    assert recs["features.28"].size == (196, 196)               # conv5_3
    assert recs["features.30"].size == (212, 212)               # pool5
    assert recs["features.30"].jump == (32, 32)
    assert len(recs) == 13 + 5


def test_vgg16_gradient_check(vgg16):
    features = vgg16.features
    recs = receptive_field(features)
    for upto, index in ((29, (6, 6)), (31, (3, 3))):   # conv5_3 (+ReLU) and pool5
        measured = receptive_field_by_gradient(features[:upto], (1, 3, 224, 224), index, thin=True)
        lo, hi = recs[-2 if upto == 29 else -1].bounds(index)
        assert measured.first == tuple(max(v, 0) for v in lo)
        assert measured.last == tuple(min(v, 223) for v in hi)
    assert measured.size == (212, 212)     # pool5 unit (3, 3) is not clipped by the 224 input


# ----------------------------------------------------------------------------- ResNets
def resnet50_rf_by_hand(v1):
    """Independent derivation: stem 7×7/s2 + max-pool 3×3/s2, then every bottleneck adds
    (3-1)·j at its 3×3, where j is the jump *at the 3×3's input*."""
    r, j = 1 + 6 * 1, 2                  # conv1 7×7/s2
    r, j = r + 2 * j, j * 2              # maxpool 3×3/s2
    for blocks, stride in ((3, 1), (4, 2), (6, 2), (3, 2)):
        for b in range(blocks):
            s = stride if b == 0 else 1
            if v1:                       # stride in the first 1×1: the 3×3 sees the coarse grid
                j *= s
                r += 2 * j
            else:                        # stride in the 3×3 itself
                r += 2 * j
                j *= s
    return r, j


def resnet_body(m):
    return nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3, m.layer4)


@pytest.mark.parametrize("v1", [False, True])
def test_resnet50_receptive_field(v1):
    m = models.resnet50(v1=v1)
    recs = receptive_field(m)
    last = recs[-1]
    assert last.name == "layer4.2.add" and last.kind == "add"
    r, j = resnet50_rf_by_hand(v1)
    assert last.size == (r, r) and last.jump == (j, j) == (32, 32)
    assert last.start == (0, 0)
    assert (r, v1) in {(427, False), (483, True)}
    # the shortcut never widens the field: every add equals its main path's last conv
    names = [x.name for x in recs]
    for i, rec in enumerate(recs):
        if rec.kind == "add":
            conv3 = recs[names.index(rec.name.replace(".add", ".conv3"))]
            assert rec.size == conv3.size
    # gradient cross-check on a 512×512 input (1-channel "thin" copy: same geometry)
    body = resnet_body(m)
    assert receptive_field(body)[-1][2:] == last[2:]
    for index in [(0, 0), (7, 7), (15, 3)]:
        measured = receptive_field_by_gradient(body, (1, 3, 512, 512), index, thin=True)
        lo, hi = last.bounds(index)
        assert measured.first == tuple(max(v, 0) for v in lo)
        assert measured.last == tuple(min(v, 511) for v in hi)
    if not v1:
        assert measured.size == (245, 310)   # unit (15, 3): 427-wide field clipped by the border


def test_resnet50_v1_vs_v15_differ_in_stage_rf_only_after_downsampling():
    a = {r.name: r.size for r in receptive_field(models.resnet50())}
    b = {r.name: r.size for r in receptive_field(models.resnet50(v1=True))}
    assert a.keys() == b.keys()
    assert a["layer1.2.add"] == b["layer1.2.add"]           # no stride in stage 1
    assert a["layer2.0.add"] < b["layer2.0.add"]


def test_resnet18_and_truncated_gradient():
    m = models.resnet18()
    body = nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2)
    last = receptive_field(body)[-1]
    assert last.size == (99, 99) and last.jump == (8, 8)
    measured = receptive_field_by_gradient(body, (1, 3, 160, 160), (9, 10), thin=True)
    lo, hi = last.bounds((9, 10))
    assert measured.first == lo and measured.last == hi and measured.size == (99, 99)


class TwoBranch(nn.Module):
    def __init__(self, merge="add"):
        super().__init__()
        self.a = nn.Conv1d(1, 1, 3, padding=1)
        self.b = nn.Conv1d(1, 1, 5, padding=0)       # shifted field: starts at +2
        self.merge = merge

    def forward(self, x):
        a = self.a(x)[..., 2:-2]
        b = self.b(x)
        return torch.cat([a, b], 1) if self.merge == "cat" else a * b


class Shifted(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv1d(1, 1, 3, padding=0)
        self.b = nn.Conv1d(1, 1, 1, padding=0)

    def forward(self, x):
        return self.a(x) + torch.relu(self.b(x))[..., :-2]


def test_merge_takes_union_of_fields():
    recs = receptive_field(Shifted())
    assert recs[-1].kind == "add" and recs[-1].size == (3,) and recs[-1].start == (1,)
    measured = receptive_field_by_gradient(Shifted(), (1, 1, 12), (4,))
    assert (measured.first, measured.last) == ((4,), (6,)) == recs[-1].bounds(4)


@pytest.mark.parametrize("merge", ["cat", "mul"])
def test_cat_and_mul_after_crop(merge):
    recs = receptive_field(TwoBranch(merge))
    assert recs[-1].kind == merge
    assert (recs[-1].size, recs[-1].start) == ((5,), (2,))      # [1, 3] ∪ [0, 4]
    # one unit of a cat sees one branch (channel 0: a, 1: b); the layer's field is the union
    measured = [receptive_field_by_gradient(TwoBranch(merge), (1, 1, 12), (3,), channel=c)
                for c in ((0, 1) if merge == "cat" else (0,))]
    assert min(m.first for m in measured) == (3,) and max(m.last for m in measured) == (7,)
    assert recs[-1].bounds(3) == ((3,), (7,))


def test_unsupported_index_raises():
    class Pick(nn.Module):
        def forward(self, x):
            return x[:, :, 3]

    class Crop(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv1d(1, 1, 3)

        def forward(self, x):
            return self.c(x)[:, :, -4:]

    with pytest.raises(TypeError, match=r"removes a spatial dim"):
        receptive_field(nn.Sequential(nn.Conv1d(1, 1, 3), Pick()))
    with pytest.raises(TypeError, match=r"only slices with a non-negative start"):
        receptive_field(Crop())


def test_merge_with_different_jumps_raises():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv1d(1, 1, 3, stride=2)

        def forward(self, x):
            return self.a(x) + x[..., :1]

    with pytest.raises(ValueError, match=r"different jumps \[1, 2\]"):
        receptive_field(Bad())


def test_unknown_and_unsupported_modules_raise():
    # Upsample and ConvTranspose2d modules are traced now (tests/test_trace_functional.py)
    with pytest.raises(TypeError, match=r"module '1' of type PixelShuffle.*unknown"):
        receptive_field(nn.Sequential(nn.Conv2d(4, 4, 3), nn.PixelShuffle(2)))
    with pytest.raises(TypeError, match=r"align_corners=True"):
        receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.UpsamplingBilinear2d(scale_factor=2)))


def test_plain_list_with_transposed_convolutions_equals_the_traced_model():
    layers = [nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.ConvTranspose2d(1, 1, 2, stride=2),
              nn.Conv2d(1, 1, 3, padding=1), nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1)]
    got, traced = receptive_field(layers), receptive_field(nn.Sequential(*layers))
    assert [r[1:] for r in got] == [r[1:] for r in traced]
    assert [r.name for r in got] == ["0", "1", "2", "3"]
    assert [r.jump for r in got][-1] == (Fraction(1, 2),) * 2
    for o in range(6):
        assert got[-1].bounds((o, o)) == traced[-1].bounds((o, o))
    with pytest.raises(ValueError, match=r"layers\[0\]: output .* reads no input"):
        receptive_field([nn.ConvTranspose1d(1, 1, 1, stride=2)])


def test_records_stop_at_global_pooling_and_flatten():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(2, 2))
    assert [r.name for r in receptive_field(net)] == ["0"]


# ------------------------------------------------------------------------- validation
@pytest.mark.parametrize("layers,exc,match", [
    ([(3, 1, 1, 1), (3, 0, 1, 1)], ValueError, r"layers\[1\]=\(3, 0, 1, 1\): stride=0 must be "
                                               r"positive"),
    ([(0, 1)], ValueError, r"layers\[0\]=\(0, 1\): kernel_size=0 must be positive"),
    ([(3, 1, -1)], ValueError, r"layers\[0\]=\(3, 1, -1\): padding=-1 must be non-negative"),
    ([(3, 1, 1, 0)], ValueError, r"dilation=0 must be positive"),
    ([(3.0, 1)], TypeError, r"layers\[0\]=\(3\.0, 1\): kernel_size=3\.0 must be an int"),
    ([(3, True)], TypeError, r"stride=True must be an int"),
    ([(3,)], ValueError, r"layers\[0\]=\(3,\): .* must be \(kernel_size, stride"),
    ([(3, 1, 1, 1, 1)], ValueError, r"must be \(kernel_size, stride"),
    ([3], TypeError, r"layers\[0\]=3 is neither a \(kernel_size, stride, padding, dilation\)"),
    ([(3, 1), nn.ReLU()], TypeError, r"layers\[1\]=ReLU\(\) is neither.*pass the nn.Module"),
    ([((3, 3), (1, 1, 1))], ValueError, r"tuple arguments have different lengths"),
    ([(3, 2, "same")], ValueError, r"padding='same' requires stride=1"),
    ([(3, 1, "full")], ValueError, r"padding='full' must be an int, a tuple, 'same' or 'valid'"),
    ([((3, 3, 3), 1), ((3, 3), 1)], ValueError, r"layers\[1\]: cannot combine a 3-D"),
    (5, TypeError, r"layers=5 must be a sequence"),
    ("3311", TypeError, r"layers='3311' must be a sequence"),
])
def test_validation(layers, exc, match):
    with pytest.raises(exc, match=match):
        receptive_field(layers)


def test_gradient_checker_validation():
    net = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten())
    with pytest.raises(ValueError, match=r"model output has shape \(1, 4\)"):
        receptive_field_by_gradient(net, (1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"index=\(5, 0\) is outside"):
        receptive_field_by_gradient(nn.Conv2d(1, 1, 3), (1, 1, 4, 4), (5, 0))
    with pytest.raises(ValueError, match=r"input_size=\(4, 4\) must be"):
        receptive_field_by_gradient(nn.Conv2d(1, 1, 3), (4, 4))


# ---------------------------------------------------- random stacks vs the gradient
layer_st = st.one_of(
    st.tuples(st.just("conv"), st.integers(1, 5), st.integers(1, 3), st.integers(0, 3),
              st.integers(1, 3), st.booleans()),
    st.tuples(st.just("max"), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
              st.integers(1, 2), st.booleans()),
    st.tuples(st.just("avg"), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
              st.just(1), st.booleans()),
)


def build(spec):
    kind, k, s, p, d, flag = spec
    if kind == "conv":
        return nn.Conv1d(1, 1, k, stride=s, padding=p, dilation=d, bias=flag)
    p = min(p, k // 2)
    if kind == "max":
        return nn.MaxPool1d(k, s, p, d, ceil_mode=flag)
    return nn.AvgPool1d(k, s, p, ceil_mode=flag)


@settings(max_examples=50, deadline=None)
@given(specs=st.lists(layer_st, min_size=1, max_size=5), extra=st.integers(0, 20))
def test_random_stacks_match_gradient(specs, extra):
    net = nn.Sequential(*[build(s) for s in specs])
    recs = receptive_field(net)
    last = recs[-1]
    (r,), (j,) = last.size, last.jump
    n = 2 * r + 4 * sum(max(b.padding if isinstance(b.padding, int) else b.padding[0], 0)
                        for b in net) * j + extra + 1
    out_len = net(torch.zeros(1, 1, n)).shape[-1]
    exact = 0
    for i in sorted({0, out_len // 2, out_len - 1}):
        measured = receptive_field_by_gradient(net, (1, 1, n), (i,))
        lo, hi = (v[0] for v in last.bounds(i))
        if lo >= 0 and hi <= n - 1:         # field fully inside the input: exact match
            assert (measured.first, measured.last) == ((lo,), (hi,))
            assert measured.size == last.size
            assert (lo + hi) / 2 == last.start[0] + i * j
            exact += 1
        elif measured.first is not None:    # clipped by the border: the support is inside
            assert lo <= measured.first[0] and measured.last[0] <= hi
            assert measured.first[0] >= 0 and measured.last[0] <= n - 1
    assert exact >= 1


@pytest.mark.parametrize("kernel,stride,padding,dilation", [
    ((3, 5), (1, 2), (1, 0), (2, 1)), ((1, 4), (2, 1), (0, 2), (1, 2)), (2, 2, 0, 1)])
def test_2d_rectangular_vs_gradient(kernel, stride, padding, dilation):
    net = nn.Sequential(nn.Conv2d(1, 1, kernel, stride, padding, dilation),
                        nn.MaxPool2d(3, 2, 1, dilation=(1, 2)),
                        nn.Conv2d(1, 1, 3, padding=1))
    last = receptive_field(net)[-1]
    measured = receptive_field_by_gradient(net, (1, 1, 48, 48), (5, 4))
    lo, hi = last.bounds((5, 4))
    assert all(v >= 0 for v in lo) and all(v < 48 for v in hi)
    assert measured.first == lo and measured.last == hi and measured.size == last.size
