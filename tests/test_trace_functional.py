"""receptive_field / summary on functional calls in forward (F.conv2d, F.max_pool2d, F.avg_pool2d,
F.interpolate, torch.conv2d) and upsampling (nn.Upsample, nn.ConvTranspose2d, F.interpolate),
checked position by position against receptive_field_by_gradient."""
from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from cnnlib import receptive_field, summary
from cnnlib._receptive import receptive_field_by_gradient


class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(4, 1, 3, 3))
        self.w2 = nn.Parameter(torch.randn(4, 4, 5, 5))

    def forward(self, x):
        x = F.relu(F.conv2d(x, self.w1, padding=1))
        x = F.max_pool2d(x, 2)
        x = torch.conv2d(x, self.w2, None, 1, 2, 2)
        return F.avg_pool2d(x, 3, stride=2, padding=1)


def sequential():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 4, 5, padding=2, dilation=2, bias=False),
                         nn.AvgPool2d(3, stride=2, padding=1))


def test_functional_model_equals_sequential():
    got = [r[2:] for r in receptive_field(Functional())]
    want = [r[2:] for r in receptive_field(sequential())]
    assert got == want
    assert [r.kind for r in receptive_field(Functional())] == [
        "conv2d", "max_pool2d", "conv2d", "avg_pool2d"]


def test_summary_of_functional_model_matches_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode
    model = Functional()
    s = summary(model, (1, 1, 32, 32))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 1, 32, 32))
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert s.total_flops == counter.get_total_flops()


def check_all_positions(model, rec, size, ndim=1, exact_envelope=True):
    """Exact per-position bounds and the envelope against gradients along the diagonal.
    With ``exact_envelope`` the largest field must occur at an interior position (true for the
    fixed stacks here; a random stack on a small input may have its largest fields only at the
    border, where the gradient sees them clipped: then the envelope is only an upper bound)."""
    shape = (1, 1) + (size,) * ndim
    out = model.double()(torch.ones(shape, dtype=torch.float64)).shape[2:]
    sizes = []
    for o in range(out[0]):
        g = receptive_field_by_gradient(model, shape, index=(o,) * ndim)
        lo, hi = rec.bounds((o,) * ndim)
        if g.first is None:                  # sees only padding
            assert hi[0] < 0 or lo[0] > size - 1, o
            continue
        if lo[0] >= 0 and hi[0] <= size - 1:   # the whole field inside the input: exact
            assert (g.first[0], g.last[0]) == (lo[0], hi[0]), o
            sizes.append(g.size[0])
        else:   # at the border the recursion, unclipped, may also count intermediate padding
            assert max(lo[0], 0) <= g.first[0] <= g.last[0] <= min(hi[0], size - 1), o
    if sizes and exact_envelope:
        assert max(sizes) == rec.size[0]       # the envelope = max over interior positions
    elif sizes:
        assert max(sizes) <= rec.size[0]


def test_unet_transposed_then_conv_envelope():
    # k = s = 2 transposed conv then a 3x3 conv: the field depends on the position
    model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3, padding=1),
                          nn.ConvTranspose2d(1, 1, 2, 2), nn.Conv2d(1, 1, 3, padding=1))
    recs = receptive_field(model)
    assert recs[3].jump == (1, 1) and recs[1].jump == (2, 2)
    check_all_positions(model, recs[-1], 32, 2)


def test_fractional_jump():
    model = nn.Sequential(nn.Conv1d(1, 1, 3), nn.Upsample(scale_factor=2), nn.Conv1d(1, 1, 3),
                          nn.Upsample(scale_factor=2))
    recs = receptive_field(model)
    assert recs[1].jump == (Fraction(1, 2),) and recs[-1].jump == (Fraction(1, 4),)
    assert str(recs[-1].jump[0]) == "1/4"
    check_all_positions(model, recs[-1], 20)


class Interp(nn.Module):
    """conv, functional 2×2 average pool, F.interpolate by ``u``, conv; 1-D or 2-D."""

    def __init__(self, mode, u, ndim=1):
        super().__init__()
        conv = nn.Conv1d if ndim == 1 else nn.Conv2d
        self.conv = conv(1, 1, 3, padding=1)
        self.conv2 = conv(1, 1, 3, padding=1)
        self.pool = F.avg_pool1d if ndim == 1 else F.avg_pool2d
        self.mode, self.u = mode, u

    def forward(self, x):
        x = self.pool(self.conv(x), 2)   # the oracle sees only module max-pools
        x = F.interpolate(x, scale_factor=self.u, mode=self.mode)
        return self.conv2(x)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "linear"])
@pytest.mark.parametrize("u", [2, 4])
def test_interpolate_modes(mode, u):
    model = Interp(mode, u)
    check_all_positions(model, receptive_field(model)[-1], 24)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("u", [2, 4])
def test_interpolate_2d_modes(mode, u):
    """Bicubic reads 4 source pixels per axis (2 for bilinear): checked against gradients."""
    torch.manual_seed(0)
    model = Interp(mode, u, ndim=2)
    rec = receptive_field(model)[-1]
    check_all_positions(model, rec, 16, ndim=2)
    assert rec.jump == (Fraction(2, u),) * 2                  # pool ×2, then upsample ×u


def test_bicubic_field_is_wider_than_bilinear():
    sizes = {mode: receptive_field(Interp(mode, 2, ndim=2))[-1].size for mode in ("bilinear", "bicubic")}
    assert sizes["bicubic"][0] > sizes["bilinear"][0]


layer = st.one_of(
    st.tuples(st.just("conv"), st.integers(1, 4), st.integers(1, 2), st.integers(0, 2),
              st.integers(1, 2)),
    st.tuples(st.just("pool"), st.integers(2, 3), st.integers(1, 3), st.integers(0, 1),
              st.just(1)),
    st.tuples(st.just("tconv"), st.integers(1, 4), st.integers(1, 3), st.integers(0, 1),
              st.integers(1, 2)),
    st.tuples(st.just("up"), st.sampled_from(["nearest", "linear"]), st.sampled_from([2, 4]),
              st.just(0), st.just(1)))


def build(specs):
    mods = []
    for kind, a, b, c, d in specs:
        if kind == "conv":
            mods.append(nn.Conv1d(1, 1, a, b, min(c, (a - 1) // 2)))   # no dilation holes at borders
        elif kind == "pool":
            mods.append(nn.AvgPool1d(a, min(b, a), min(c, a // 2)))
        elif kind == "tconv":
            mods.append(nn.ConvTranspose1d(1, 1, a, b, min(c, a - 1)))   # hull = gradient only without holes
        else:
            mods.append(nn.Upsample(scale_factor=b, mode=a) if a == "nearest" or b == 2 else
                        nn.Upsample(scale_factor=2, mode=a))
    return nn.Sequential(*mods)


@settings(max_examples=40, deadline=None)
@given(st.lists(layer, min_size=1, max_size=5))
def test_random_upsampling_stacks_match_gradient(specs):
    model = build(specs)
    try:
        recs = receptive_field(model)
    except ValueError as exc:                # a transposed conv leaving outputs with no input
        assert "reads no input" in str(exc)
        return
    try:
        out = model.double()(torch.ones(1, 1, 24, dtype=torch.float64))
    except RuntimeError:
        return                               # the input is too small for this stack
    if out.shape[-1] == 0 or out.shape[-1] > 200:
        return
    check_all_positions(model, recs[-1], 24, exact_envelope=False)


class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return x * 2


class Unknown(nn.Module):
    def forward(self, x):
        return torch.fft.fft2(F.conv2d(x, torch.ones(1, 1, 3, 3))).real


def test_clear_errors():
    with pytest.raises(TypeError, match="cannot be traced"):
        receptive_field(Branchy())
    with pytest.raises(TypeError, match="fft2"):
        receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), Unknown()))
    with pytest.raises(TypeError, match="mode 'area'"):
        receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2, mode="area")))
    with pytest.raises(TypeError, match="scale factor 3/2"):
        receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=1.5)))
