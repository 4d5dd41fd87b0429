"""cnnlib.toy: an Ensemble of S members computes what S separate torch MLPs compute."""
import subprocess
import sys

import pytest
import torch
from torch import nn

from cnnlib import toy


def _data(n=24, d=3, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, classes, (n,), generator=g)


def _trained_a_little(model, X, y):
    # move weights, biases, gammas and running statistics away from their initial values
    toy.fit(model, X, y, steps=3, lr=0.05, batch=len(X))
    return model


@pytest.mark.parametrize("order", toy.ORDERS)
@pytest.mark.parametrize("norm", toy.NORMS)
@pytest.mark.parametrize("act", toy.ACTIVATIONS)
@pytest.mark.parametrize("train_mode", [True, False])
def test_members_match_separate_torch_mlps(order, norm, act, train_mode):
    X, y = _data()
    ens = _trained_a_little(toy.Ensemble(5, 6, members=3, in_features=3, classes=4, norm=norm,
                                         order=order, act=act, seed=1), X, y)
    ens.train(train_mode)
    out = ens(X)
    assert out.shape == (24, 3, 4)
    for m in range(3):
        ref = ens.member(m)
        assert sum(isinstance(x, nn.Linear) for x in ref) == 5
        ref.train(train_mode)
        torch.testing.assert_close(out[:, m], ref(X), rtol=1e-5, atol=1e-5)


def test_each_member_gets_the_gradient_of_its_own_loss():
    X, y = _data()
    ens = _trained_a_little(toy.Ensemble(4, 5, members=3, in_features=3, classes=4), X, y)
    norms = toy.layer_grad_norms(ens, X, y)
    assert norms.shape == (4, 3)
    for m in range(3):
        ref = ens.member(m)
        ref.train()
        nn.functional.cross_entropy(ref(X), y).backward()
        weights = [x.weight for x in ref if isinstance(x, nn.Linear)]
        torch.testing.assert_close(norms[:, m], torch.stack([w.grad.norm() for w in weights]))


def test_layer_grad_norms_leaves_running_statistics_and_grads_alone():
    X, y = _data()
    ens = _trained_a_little(toy.Ensemble(4, 5, members=2, in_features=3, classes=4), X, y)
    before = {k: v.clone() for k, v in ens.state_dict().items()}
    grads = [p.grad.clone() for p in ens.parameters()]
    toy.layer_grad_norms(ens, X, y)
    for k, v in ens.state_dict().items():
        assert torch.equal(v, before[k]), k
    for p, gr in zip(ens.parameters(), grads):
        assert torch.equal(p.grad, gr)


def test_members_differ_and_the_seed_fixes_them():
    a, b = toy.Ensemble(4, 8, members=2, seed=3), toy.Ensemble(4, 8, members=2, seed=3)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    w = a.stem.weight.view(2, 8, 2)
    assert not torch.allclose(w[0], w[1])
    X, y = toy.spirals(60, 3, seed=0)
    ha = toy.fit(a, X, y, steps=20, batch=16, every=10)
    hb = toy.fit(b, X, y, steps=20, batch=16, every=10)
    assert torch.equal(ha["train_loss"], hb["train_loss"])
    assert ha["train_loss"].shape == (2, 2) and ha["step"].tolist() == [10, 20]


@pytest.mark.parametrize("init,std", [("he", (2 / 64) ** 0.5), ("xavier", (2 / 128) ** 0.5),
                                      ("torch", (1 / (3 * 64)) ** 0.5)])
def test_init_standard_deviations(init, std):
    ens = toy.Ensemble(3, 64, members=8, init=init, seed=0)
    w = ens.weight_layers()[1].weight
    assert abs(w.std().item() / std - 1) < 0.03


def test_residual_block_is_relu_of_x_plus_branch():
    X, y = _data(d=2, classes=3)
    ens = _trained_a_little(toy.Ensemble(4, 5, members=2, residual=True), X, y).eval()
    h = torch.relu(ens.stem_post[0](ens.stem(X.repeat(1, 2).unsqueeze(-1))))
    branch = ens.layers[1](ens.layers[0](h))
    assert not any(isinstance(x, nn.ReLU) for x in ens.layers[1])
    expect = ens.head(torch.relu(h + branch)).view(len(X), 2, 3)
    torch.testing.assert_close(ens(X), expect)


def test_dropping_blocks():
    X, y = _data(d=2, classes=3)
    res = _trained_a_little(toy.Ensemble(6, 5, members=2, residual=True), X, y).eval()
    plain = _trained_a_little(toy.Ensemble(6, 5, members=2), X, y).eval()
    assert res.blocks == 2 and plain.blocks == 4
    # a residual net without its blocks is stem -> head
    h = res.stem_post(res.stem(X.repeat(1, 2).unsqueeze(-1)))
    torch.testing.assert_close(res(X, drop=(0, 1)), res.head(h).view(len(X), 2, 3))
    assert not torch.allclose(res(X, drop=(0,)), res(X))
    with pytest.raises(ValueError, match="drop"):
        plain(X, drop=(4,))


def test_zero_init_last_starts_every_block_as_identity():
    X, _ = _data(d=2, classes=3)
    ens = toy.Ensemble(8, 5, members=2, residual=True, zero_init_last=True).eval()
    torch.testing.assert_close(ens(X), ens(X, drop=range(ens.blocks)))


def test_spirals():
    X, y = toy.spirals(90, 3, dim=5, seed=2)
    assert X.shape == (90, 5) and X.dtype == torch.float32 and y.bincount().tolist() == [30] * 3
    assert torch.equal(X, toy.spirals(90, 3, dim=5, seed=2)[0])
    assert not torch.equal(X, toy.spirals(90, 3, dim=5, seed=3)[0])


@pytest.mark.parametrize("kwargs,match", [
    (dict(depth=1), "depth"), (dict(depth=5, residual=True), "even"),
    (dict(depth=4, norm="group"), "norm"), (dict(depth=4, order="bn-first"), "order"),
    (dict(depth=4, act="gelu"), "act"), (dict(depth=4, init="orthogonal"), "init"),
    (dict(depth=4, width=0), "width"), (dict(depth=4, members=2.0), "members"),
    (dict(depth=4, zero_init_last=True), "zero_init_last")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        toy.Ensemble(**kwargs)


def test_bad_fit_and_forward_arguments():
    X, y = _data(d=2, classes=3)
    ens = toy.Ensemble(4, 5)
    with pytest.raises(ValueError, match="steps"):
        toy.fit(ens, X, y, steps=0)
    with pytest.raises(ValueError, match="batch"):
        toy.fit(ens, X, y, batch=100)
    with pytest.raises(ValueError, match="X must be"):
        ens(X[0])
    with pytest.raises(ValueError, match="member"):
        toy.Ensemble(4, 5, residual=True).member(0)


def test_toy_is_imported_on_first_access():
    code = ("import sys, cnnlib\n"
            "assert 'torch' not in sys.modules\n"
            "X, y = cnnlib.toy.spirals(30, 3)\n"
            "assert cnnlib.toy is sys.modules['cnnlib.toy']\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_losses_are_the_members_cross_entropies():
    X, y = _data()
    ens = toy.Ensemble(4, 5, members=3, in_features=3, classes=4)
    out = ens(X)
    for m in range(3):
        torch.testing.assert_close(toy.losses(out, y)[m], nn.functional.cross_entropy(out[:, m], y))


@pytest.mark.parametrize("order,kinds", [
    ("linear-norm-act", ["Linear", "BatchNorm1d", "ReLU"]),
    ("linear-act-norm", ["Linear", "ReLU", "BatchNorm1d"]),
    ("norm-act-linear", ["Linear", "BatchNorm1d", "ReLU", "Linear"])])
def test_the_stem_follows_the_order(order, kinds):
    seq = toy.Ensemble(3, 4, members=1, order=order).member(0)
    assert [type(m).__name__ for m in seq][:len(kinds)] == kinds


def test_member_refuses_a_module_it_does_not_know():
    ens = toy.Ensemble(4, 5, members=2)
    ens.layers[0][2] = nn.LeakyReLU(0.01)          # swapped in after construction
    with pytest.raises(ValueError, match="LeakyReLU"):
        ens.member(0)
