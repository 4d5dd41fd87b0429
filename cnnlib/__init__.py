"""cnnlib — convolution variants and calculators in NumPy + numba, mirroring ``torch.nn.functional``.

NumPy in, NumPy out, NCHW, float32/float64. Every public function has the name, argument order
and defaults of its ``torch.nn.functional`` namesake, so a reader can swap one for the other;
the calculators (``conv_output_size`` …) are plain Python, ints in and ints out. The library
behind the book "Convolutional networks, one interview question at a time".
"""
from ._conv import conv1d, conv2d, conv3d
from ._conv_transpose import conv_transpose1d, conv_transpose2d
from ._cost import conv_macs, conv_params
from ._counts import conv2d_multiplications
from ._deform import deform_conv2d
from ._im2col import col2im, im2col
from ._interpolate import interpolate
from ._norm import batch_norm, fuse_conv_bn
from ._pool import (adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, lp_pool2d,
                    max_pool2d, max_unpool2d)
from ._receptive import receptive_field
from ._sizes import conv_output_size, conv_transpose_output_size, pool_output_size
from ._summary import summary

__version__ = "0.1.0"

__all__ = [
    # convolutions
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "deform_conv2d", "im2col", "col2im",
    # pooling and resampling
    "max_pool2d", "avg_pool2d", "lp_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
    "max_unpool2d", "interpolate",
    # normalisation
    "batch_norm", "fuse_conv_bn",
    # calculators
    "conv_output_size", "conv_transpose_output_size", "pool_output_size", "conv_params",
    "conv_macs", "conv2d_multiplications", "receptive_field", "summary",
]
