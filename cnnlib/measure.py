"""Torch's own counts of a module: parameters, MACs, FLOPs and output shape; and the tensors
autograd saves for the backward pass.

The book's calculators (``cnnlib.conv_params``, ``cnnlib.conv_macs``, ``cnnlib.summary`` …)
are checked against torch itself; :func:`torch_counts` is that independent oracle, in one
place. It only wraps torch — ``sum(p.numel() for p in module.parameters())`` and
``torch.utils.flop_counter.FlopCounterMode`` — and computes nothing of its own.

Importing this module imports torch (``import cnnlib`` alone does not; ``cnnlib.measure`` is
loaded on first access).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch.utils.flop_counter import FlopCounterMode

from ._checks import is_int

__all__ = ["TorchCounts", "torch_counts", "SavedTensor", "saved_for_backward"]


class TorchCounts(NamedTuple):
    """What :func:`torch_counts` returns."""

    params: int
    """Number of parameters: ``sum(p.numel() for p in module.parameters())``."""
    macs: int
    """Multiply-accumulates of one forward pass: ``flops // 2``."""
    flops: int
    """``FlopCounterMode``'s total for one forward pass (2 per multiply-accumulate)."""
    output_shape: tuple
    """Shape of the module's output, as a tuple of ints."""


def torch_counts(module, input_size) -> TorchCounts:
    """Parameters, MACs, FLOPs and output shape of ``module`` as torch itself counts them.

    Runs ``module`` once, under ``torch.no_grad()`` and in eval mode, on
    ``torch.zeros(input_size)`` placed on the module's own device (that of its first parameter;
    CPU for a module without parameters). Nothing of the module changes: BatchNorm's running
    statistics are not updated, and every submodule's train/eval mode is restored afterwards.
    (The counts do not depend on the mode: FlopCounterMode counts convolutions and matrix
    products only.)

    Parameters
    ----------
    module : torch.nn.Module
    input_size : tuple of int
        The full input shape, batch dimension included, e.g. ``(1, 3, 224, 224)``. The counts
        are for the whole batch.

    Returns
    -------
    TorchCounts
        ``(params, macs, flops, output_shape)``:

        - ``params`` — ``sum(p.numel() for p in module.parameters())``;
        - ``flops`` — the total of ``torch.utils.flop_counter.FlopCounterMode`` for the forward
          pass;
        - ``macs`` — ``flops // 2``: FlopCounterMode counts 2 FLOPs per multiply-accumulate,
          so FLOPs = 2 × MACs;
        - ``output_shape`` — ``tuple(output.shape)``.

    Notes
    -----
    FlopCounterMode has formulas only for convolutions and matrix products (and attention):
    BatchNorm, ReLU, pooling, additions and the bias are **not** counted (chapter 23 shows
    this), which is also the convention of ``cnnlib.conv_macs`` and ``cnnlib.summary``.

    This function is the independent oracle the chapters check the calculators against: it
    only wraps torch.

    On the ``meta`` device (shapes only, no memory, no arithmetic) even VGG16 is counted in
    milliseconds. Build the whole model inside ``with torch.device("meta"):`` — a BatchNorm
    layer moved there afterwards, or created on CPU, makes the forward pass fail.

    Examples
    --------
    >>> import torch
    >>> from cnnlib.measure import torch_counts
    >>> torch_counts(torch.nn.Conv2d(3, 64, 3, padding=1), (1, 3, 224, 224))
    TorchCounts(params=1792, macs=86704128, flops=173408256, output_shape=(1, 64, 224, 224))
    """
    if not (isinstance(input_size, (tuple, list, torch.Size)) and len(input_size) > 0
            and all(is_int(n) and n >= 0 for n in input_size)):
        raise TypeError(f"input_size must be a tuple of non-negative ints, got {input_size!r}")
    first = next(module.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else None
    x = torch.zeros(tuple(int(n) for n in input_size), device=device, dtype=dtype)
    modes = {m: m.training for m in module.modules()}
    module.eval()            # a counting pass must not update BatchNorm's running statistics
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            y = module(x)
    finally:
        for m, training in modes.items():   # each submodule's own mode back, as it was
            m.training = training
    flops = counter.get_total_flops()
    params = sum(p.numel() for p in module.parameters())
    return TorchCounts(params, flops // 2, flops, tuple(y.shape))


class SavedTensor(NamedTuple):
    """One storage that autograd keeps for the backward pass (see :func:`saved_for_backward`)."""

    shape: tuple
    """Shape of the first tensor saved on this storage, as a tuple of ints."""
    dtype: torch.dtype
    """Its dtype (max-pooling's indices are ``torch.int64``)."""
    nbytes: int
    """Bytes of the whole storage: what stays allocated until the backward pass."""


def saved_for_backward(fn, *inputs) -> list[SavedTensor]:
    """The tensors autograd saves for the backward pass of one call ``fn(*inputs)``.

    Every tensor that autograd packs during the call is seen through
    ``torch.autograd.graph.saved_tensors_hooks``; tensors that share a storage (a ReLU's
    output that the next max-pool saves as its input, views, a concatenation's parts) are
    counted once, with the bytes of the whole storage. When ``fn`` is a ``torch.nn.Module``,
    its own parameters and buffers are left out: they are the model's memory, not the
    activations'. The inputs count when a layer saves them (a convolution keeps its input for
    its weight gradient).

    Nothing is saved unless autograd records the call: grad mode on, and a parameter or an
    input that requires grad. Modules run in the mode they are in (``module.train()`` makes
    BatchNorm save its batch statistics).

    Parameters
    ----------
    fn : torch.nn.Module or callable
    *inputs : the arguments of the call.

    Returns
    -------
    list of SavedTensor
        ``(shape, dtype, nbytes)`` per storage, in the order autograd first saved it; the
        activation memory of training is ``sum(t.nbytes for t in result)``.

    Notes
    -----
    Storages are told apart by their address, so the tensors must be real: on the ``meta``
    device every storage sits at address 0, and this function raises ``ValueError``. The call's
    output (and with it every saved tensor) is kept alive until the count is done, so no
    address is reused during it.

    Examples
    --------
    >>> import torch
    >>> from cnnlib.measure import saved_for_backward
    >>> block = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU())
    >>> [(t.shape, t.nbytes) for t in saved_for_backward(block, torch.zeros(1, 3, 8, 8))]
    [((1, 3, 8, 8), 768), ((1, 8, 8, 8), 2048)]
    """
    own = set()
    if isinstance(fn, torch.nn.Module):
        own = {t.untyped_storage().data_ptr() for t in (*fn.parameters(), *fn.buffers())}
    kept: dict[int, SavedTensor] = {}

    def pack(t):
        if t.device.type == "meta":
            raise ValueError("saved_for_backward needs real tensors: on the meta device every "
                             "storage is at address 0, so storages cannot be told apart")
        storage = t.untyped_storage()
        address = storage.data_ptr()
        if address not in own and address not in kept:
            kept[address] = SavedTensor(tuple(t.shape), t.dtype, storage.nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        output = fn(*inputs)
    del output                # kept alive until here: every saved storage stayed allocated
    return list(kept.values())
