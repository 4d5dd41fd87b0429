"""Small, seeded training experiments: many independent networks trained as one program.

The chapters on degradation, gradient flow and batch normalisation make claims about *training*.
Each claim is shown by a run that must finish in seconds on one CPU thread and hold over several
random initialisations, so this module trains ``members`` independent multilayer perceptrons at
once: their linear layers are one grouped 1x1 convolution (``groups=members``, the trick of
chapter 19), their batch norm is one ``BatchNorm1d`` over ``members * width`` channels (each
channel's statistics come from its own member only), and their losses are summed (the members
share no parameter, so each member's gradient is exactly the gradient of its own loss). Member
``m`` of an ``Ensemble`` computes what ``ensemble.member(m)`` — a plain ``nn.Sequential`` of
``nn.Linear``, ``nn.BatchNorm1d`` and ``nn.ReLU`` with the same weights — computes; the tests
check that against torch.

Imports torch; loaded on first access (``cnnlib.toy``), not by ``import cnnlib``.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["spirals", "Ensemble", "fit", "evaluate", "losses", "layer_grad_norms", "Activation",
           "ORDERS", "NORMS", "INITS", "ACTIVATIONS"]

ORDERS = ("linear-norm-act", "linear-act-norm", "norm-act-linear")   # read left to right
NORMS = ("batch", "layer", "none")
INITS = ("he", "xavier", "torch")
# name -> (the function an Ensemble applies, the torch module ``Ensemble.member`` puts there)
_ACTIVATIONS = {"relu": (F.relu, nn.ReLU), "tanh": (torch.tanh, nn.Tanh),
                "sigmoid": (torch.sigmoid, nn.Sigmoid)}
ACTIVATIONS = tuple(_ACTIVATIONS)


def spirals(n=384, classes=3, *, turns=1.5, noise=0.15, dim=2, seed=0):
    """``classes`` interleaved spiral arms, ``n`` points in all: ``(X, y)``, float32 and int64.

    ``dim > 2`` appends ``dim - 2`` features that are fixed random mixtures of the two
    coordinates (the task stays two-dimensional; the input is wider). Deterministic for a seed.
    """
    for name, value, low in (("n", n, classes), ("classes", classes, 2), ("dim", dim, 2)):
        if not isinstance(value, int) or value < low:
            raise ValueError(f"spirals: {name} must be an int >= {low}, got {value!r}")
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    r = torch.rand(n, generator=g)
    angle = 2 * math.pi * (turns * r + y / classes)
    X = torch.stack([r * torch.cos(angle), r * torch.sin(angle)], dim=1)
    X = X + noise * r[:, None] * torch.randn(n, 2, generator=g)
    if dim > 2:
        X = torch.cat([X, X @ torch.randn(2, dim - 2, generator=g)], dim=1)
    return X.float(), y


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"Ensemble: {name} must be one of {choices}, got {value!r}")


class Activation(nn.Module):
    """The activation module inside an ``Ensemble`` (``relu``, ``tanh`` or ``sigmoid``), one class
    for all three so that a forward hook on ``Activation`` records every non-linearity."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def forward(self, x):
        return _ACTIVATIONS[self.kind][0](x)

    def extra_repr(self):
        return self.kind


class Ensemble(nn.Module):
    """``members`` independent MLPs with ``depth`` weight layers each, as one module.

    Layers: a stem ``Linear(in_features, width)``, ``depth - 2`` hidden ``Linear(width, width)``
    and a head ``Linear(width, classes)``; ``depth`` counts weight layers as ResNet's "plain-20"
    does. Each hidden layer is wrapped in normalisation and activation in the given ``order``:

    - ``"linear-norm-act"``: Linear -> BN -> ReLU (ResNet v1, the usual order)
    - ``"linear-act-norm"``: Linear -> ReLU -> BN (BN after the non-linearity)
    - ``"norm-act-linear"``: BN -> ReLU -> Linear (pre-activation, ResNet v2)

    The stem follows the same order (the pre-activation stem is the bare Linear).

    ``residual=True`` groups the hidden layers in pairs (``depth - 2`` must then be even) and adds
    an identity shortcut around each pair: ``act(x + F(x))`` for the v1 orders (the branch's second
    layer then has no activation of its own: Linear -> BN -> (+x) -> ReLU, as in ResNet), and
    ``x + F(x)`` for the pre-activation order (whose head then sees ``act(norm(x))``).
    ``norm="layer"`` normalises each sample's ``width`` features (LayerNorm, as a ``GroupNorm``
    with one group per member).
    ``init`` sets the hidden and stem weights: ``"he"`` (normal, std sqrt(2/fan_in)),
    ``"xavier"`` (normal, std sqrt(2/(fan_in+fan_out))) or ``"torch"`` (nn.Linear's default);
    biases start at 0 except under ``"torch"``. ``zero_init_last=True`` starts the last norm of
    each residual branch at gamma = 0 (each block starts as the identity).

    ``forward(X)`` takes ``(N, in_features)`` and returns logits ``(N, members, classes)``;
    ``forward(X, drop=(i, ...))`` skips hidden blocks ``i`` (a block is a pair of layers in a
    residual net and one layer in a plain one): a residual block becomes its shortcut, a plain
    block the identity — the lesion experiment of Veit et al. (2016).
    """

    def __init__(self, depth, width=32, *, members=4, in_features=2, classes=3, residual=False,
                 norm="batch", order="linear-norm-act", act="relu", init="he",
                 zero_init_last=False, seed=0):
        super().__init__()
        for name, value, low in (("depth", depth, 2), ("width", width, 1), ("members", members, 1),
                                 ("in_features", in_features, 1), ("classes", classes, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"Ensemble: {name} must be an int >= {low}, got {value!r}")
        _check_choice("norm", norm, NORMS)
        _check_choice("order", order, ORDERS)
        _check_choice("act", act, ACTIVATIONS)
        _check_choice("init", init, INITS)
        if residual and (depth - 2) % 2:
            raise ValueError(f"Ensemble: a residual net needs an even number of hidden layers "
                             f"(depth - 2); got depth={depth}")
        self.depth, self.width, self.members, self.classes = depth, width, members, classes
        self.residual, self.norm_kind, self.order, self.act_kind = residual, norm, order, act
        S, W = members, width
        g = torch.Generator().manual_seed(seed)
        self.stem = self._linear(in_features, W, init, g)
        # the stem's norm and activation follow the order; the pre-activation stem is bare
        self.stem_post = nn.Sequential(*self._wrap()) if order != "norm-act-linear" \
            else nn.Identity()
        self.block_act = Activation(act)      # after the sum of a v1 residual block
        self.layers = nn.ModuleList()
        for i in range(depth - 2):
            # v1 block: the branch's second layer ends before the activation, which follows
            # the sum
            v1_branch_end = residual and i % 2 and order != "norm-act-linear"
            self.layers.append(nn.Sequential(*self._wrap(self._linear(W, W, init, g),
                                                         with_act=not v1_branch_end)))
        self.head_pre = nn.Sequential(self._norm(), Activation(act)) \
            if order == "norm-act-linear" else nn.Identity()
        self.head = self._linear(W, classes, init, g, he_gain=False)
        if zero_init_last:
            if not residual or norm == "none":
                raise ValueError("Ensemble: zero_init_last needs residual=True and a norm")
            for b in range(len(self.layers) // 2):
                last = [m for m in self.layers[2 * b + 1] if isinstance(m, (nn.BatchNorm1d,
                                                                           nn.GroupNorm))][0]
                nn.init.zeros_(last.weight)

    # --- construction -------------------------------------------------------------------------
    def _linear(self, fan_in, fan_out, init, g, he_gain=True):
        conv = nn.Conv1d(self.members * fan_in, self.members * fan_out, 1, groups=self.members)
        if init == "torch":
            # nn.Linear's default: kaiming_uniform(a=sqrt(5)) -> U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            bound = 1 / math.sqrt(fan_in)
            with torch.no_grad():
                conv.weight.uniform_(-bound, bound, generator=g)
                conv.bias.uniform_(-bound, bound, generator=g)
            return conv
        if init == "he" and he_gain:
            std = math.sqrt(2 / fan_in)
        else:  # xavier, and the head under "he" (no ReLU follows the head)
            std = math.sqrt(2 / (fan_in + fan_out))
        with torch.no_grad():
            conv.weight.normal_(0, std, generator=g)
            conv.bias.zero_()
        return conv

    def _wrap(self, lin=None, with_act=True):
        """``lin`` with a norm and an activation around it, in ``self.order`` read left to right
        (``lin=None``: the norm and activation alone; ``with_act=False``: no activation)."""
        make = {"linear": lambda: [lin] if lin is not None else [],
                "norm": lambda: [self._norm()],
                "act": lambda: [Activation(self.act_kind)] if with_act else []}
        return [module for part in self.order.split("-") for module in make[part]()]

    def _norm(self):
        C = self.members * self.width
        if self.norm_kind == "batch":
            return nn.BatchNorm1d(C)
        if self.norm_kind == "layer":
            return nn.GroupNorm(self.members, C)
        return nn.Identity()

    # --- use ----------------------------------------------------------------------------------
    @property
    def blocks(self):
        """Number of hidden blocks that ``drop`` can remove."""
        return len(self.layers) // 2 if self.residual else len(self.layers)

    def weight_layers(self):
        """The ``depth`` weight layers in order (grouped 1x1 convolutions), stem to head."""
        return [self.stem] + [next(m for m in seq if isinstance(m, nn.Conv1d))
                              for seq in self.layers] + [self.head]

    def forward(self, X, drop=()):
        if X.dim() != 2:
            raise ValueError(f"Ensemble: X must be (N, in_features), got shape {tuple(X.shape)}")
        drop = set(drop)
        if any(not 0 <= i < self.blocks for i in drop):
            raise ValueError(f"Ensemble: drop must name blocks 0..{self.blocks - 1}, "
                             f"got {sorted(drop)}")
        N = X.shape[0]
        h = X.repeat(1, self.members).unsqueeze(-1)          # (N, S*in, 1): every member sees X
        h = self.stem_post(self.stem(h))
        if self.residual:
            for b in range(self.blocks):
                if b in drop:
                    continue
                f = self.layers[2 * b + 1](self.layers[2 * b](h))
                h = h + f if self.order == "norm-act-linear" else self.block_act(h + f)
        else:
            for b, layer in enumerate(self.layers):
                if b not in drop:
                    h = layer(h)
        out = self.head(self.head_pre(h))                    # (N, S*classes, 1)
        return out.view(N, self.members, self.classes)

    def member(self, m):
        """Member ``m`` as an ordinary ``nn.Sequential`` of torch layers (plain nets only),
        weights and running statistics copied: the oracle the tests compare against."""
        if self.residual:
            raise ValueError("Ensemble.member: only plain (residual=False) nets")
        if not 0 <= m < self.members:
            raise ValueError(f"Ensemble.member: m must be in 0..{self.members - 1}, got {m!r}")
        act = _ACTIVATIONS[self.act_kind][1]
        W = self.width
        own = slice(m * W, (m + 1) * W)            # member m's channels of a norm layer

        def lin(conv):
            out_f, in_f = conv.out_channels // self.members, conv.in_channels // self.members
            L = nn.Linear(in_f, out_f)
            with torch.no_grad():
                L.weight.copy_(conv.weight[m * out_f:(m + 1) * out_f, :, 0])
                L.bias.copy_(conv.bias[m * out_f:(m + 1) * out_f])
            return L

        def norm(mod):
            if isinstance(mod, nn.BatchNorm1d):
                bn = nn.BatchNorm1d(W)
                with torch.no_grad():
                    for name in ("weight", "bias", "running_mean", "running_var"):
                        getattr(bn, name).copy_(getattr(mod, name)[own])
                bn.train(mod.training)
                return bn
            if isinstance(mod, nn.GroupNorm):
                ln = nn.LayerNorm(W)
                with torch.no_grad():
                    ln.weight.copy_(mod.weight[own])
                    ln.bias.copy_(mod.bias[own])
                return ln
            raise ValueError(f"Ensemble.member: cannot convert {type(mod).__name__} (a module "
                             f"swapped in after construction?)")

        def convert(seq):
            out = []
            for mod in (seq if isinstance(seq, nn.Sequential) else [seq]):
                if isinstance(mod, nn.Conv1d):
                    out.append(lin(mod))
                elif isinstance(mod, Activation):
                    out.append(act())
                elif isinstance(mod, nn.Identity):
                    continue
                else:
                    out.append(norm(mod))
            return out

        mods = convert(self.stem) + convert(self.stem_post)
        for seq in self.layers:
            mods += convert(seq)
        mods += convert(self.head_pre) + convert(self.head)
        return nn.Sequential(*mods)


def losses(logits, y):
    """Per-member mean cross-entropy of logits ``(N, members, classes)``: shape ``(members,)``.

    ``losses(model(X), y).sum().backward()`` gives every member the gradient of its own loss."""
    N, S, K = logits.shape
    return F.cross_entropy(logits.reshape(N * S, K), y.repeat_interleave(S),
                           reduction="none").view(N, S).mean(0)


def fit(model, X, y, *, steps=300, lr=0.05, batch=64, momentum=0.9, weight_decay=0.0,
        seed=0, X_test=None, y_test=None, every=0):
    """Train every member with SGD on mini-batches of ``X`` (same batches for all members).

    Returns a dict of per-member histories, each a float tensor: ``"step"`` (steps recorded),
    ``"train_loss"`` (shape ``(records, members)``: loss on the *whole* training set, model in
    eval mode) and, if ``X_test`` is given, ``"test_loss"``. Records every ``every`` steps and
    after the last one (``every=0``: only after the last). The summed loss gives each member the
    gradient of its own loss, since members share no parameter.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"fit: steps must be a positive int, got {steps!r}")
    if not isinstance(batch, int) or not 1 <= batch <= len(X):
        raise ValueError(f"fit: batch must be an int in 1..{len(X)}, got {batch!r}")
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                          weight_decay=weight_decay)
    g = torch.Generator().manual_seed(seed)
    hist = {"step": [], "train_loss": []}
    if X_test is not None:
        hist["test_loss"] = []
    order, pos = torch.randperm(len(X), generator=g), 0
    for step in range(1, steps + 1):
        if pos + batch > len(X):
            order, pos = torch.randperm(len(X), generator=g), 0
        idx = order[pos:pos + batch]
        pos += batch
        model.train()
        opt.zero_grad(set_to_none=True)
        losses(model(X[idx]), y[idx]).sum().backward()
        opt.step()
        if (every and step % every == 0) or step == steps:
            hist["step"].append(step)
            hist["train_loss"].append(evaluate(model, X, y)["loss"])
            if X_test is not None:
                hist["test_loss"].append(evaluate(model, X_test, y_test)["loss"])
    return {k: (torch.tensor(v) if k == "step" else torch.stack(v)) for k, v in hist.items()}


@torch.no_grad()
def evaluate(model, X, y, *, drop=(), train_mode=False):
    """Per-member ``{"loss", "error"}`` on ``(X, y)`` (eval mode unless ``train_mode``).

    ``train_mode=True`` normalises with the statistics of ``X`` itself and, as torch does in train
    mode, updates the BN running statistics — evaluating in train mode is the classic bug that
    chapter 12 measures; pass a copy (``copy.deepcopy(model)``) to keep the model unchanged.
    """
    was = model.training
    model.train(train_mode)
    try:
        logits = model(X, drop=drop)
        loss = losses(logits, y)
        error = (logits.argmax(-1) != y[:, None]).float().mean(0)
    finally:
        model.train(was)
    return {"loss": loss, "error": error}


def layer_grad_norms(model, X, y):
    """Gradient norm of each weight layer's weight, per member: shape ``(depth, members)``.

    One backward of the summed per-member losses on ``(X, y)`` in train mode (as during
    training); the model's ``.grad`` fields and BN running statistics are left as they were.
    """
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    was = model.training
    model.train()
    try:
        weights = [layer.weight for layer in model.weight_layers()]
        grads = torch.autograd.grad(losses(model(X), y).sum(), weights)
    finally:
        model.train(was)
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
    S = model.members
    return torch.stack([gr.reshape(S, -1).norm(dim=1) for gr in grads])
