"""cnnlib — convolution variants and calculators in NumPy + numba, mirroring ``torch.nn.functional``.

NumPy in, NumPy out, NCHW, float32/float64. Every public function has the name, argument order
and defaults of its ``torch.nn.functional`` namesake, so a reader can swap one for the other;
the calculators (``conv_output_size`` …) are plain Python, ints in and ints out. The library
behind the book "Convolutional networks, one interview question at a time".

``import cnnlib`` does not import torch. ``cnnlib.models`` (VGG16 and the ResNets, written in
torch), ``cnnlib.measure`` (``torch_counts``: parameters and MACs as torch counts them),
``cnnlib.bench`` (the timing protocol: ``this_run``, ``one_thread``; it times torch too) and
``cnnlib.toy`` (small seeded training runs: many independent MLPs trained at once) and
``cnnlib.drill`` (the interview drill: generated problems with worked solutions) are
imported on first access, so ``cnnlib.models.resnet50()`` and ``cnnlib.bench.this_run(...)`` work
after a plain ``import cnnlib``.
"""
import importlib

from ._conv import conv1d, conv2d, conv3d
from ._conv_transpose import conv_transpose1d, conv_transpose2d
from ._cost import (conv_macs, conv_params, separable_cost_ratio, separable_macs,
                    separable_params)
from ._counts import conv2d_multiplications
from ._deform import deform_conv2d
from ._im2col import col2im, fold, im2col, unfold
from ._interpolate import interpolate
from ._norm import (batch_norm, fuse_conv_bn, group_norm, instance_norm, layer_norm,
                    local_response_norm)
from ._pad import pad
from ._pool import (adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, lp_pool2d,
                    max_pool2d, max_unpool2d)
from ._receptive import receptive_field
from ._shuffle import channel_shuffle, pixel_shuffle, pixel_unshuffle
from ._sizes import conv_output_size, conv_transpose_output_size, pool_output_size
from ._summary import summary

__version__ = "0.1.0"

__all__ = [
    # convolutions
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "deform_conv2d", "im2col", "col2im", "unfold", "fold",
    # pooling and resampling
    "max_pool2d", "avg_pool2d", "lp_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
    "max_unpool2d", "interpolate", "pad", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle",
    # normalisation
    "batch_norm", "fuse_conv_bn", "layer_norm", "group_norm", "instance_norm",
    "local_response_norm",
    # calculators
    "conv_output_size", "conv_transpose_output_size", "pool_output_size", "conv_params",
    "conv_macs", "separable_params", "separable_macs", "separable_cost_ratio",
    "conv2d_multiplications", "receptive_field", "summary",
]

# Submodules that import torch: loaded on first attribute access (PEP 562), not by
# ``import cnnlib``. (Not in ``__all__``: ``from cnnlib import *`` must not import torch.)
_LAZY_SUBMODULES = ("models", "measure", "bench", "toy", "drill")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        # importing a submodule also binds it as an attribute of the package, so this runs once
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))
