"""Type predicates shared by the calculators (:mod:`cnnlib._sizes`) and the array wrappers.

The bottom of cnnlib's import graph: it imports nothing from cnnlib, so that
:mod:`cnnlib._sizes` (plain-Python calculators) and :mod:`cnnlib._validation` (argument
normalisation of the array functions, which uses the calculators) both build on it without
importing each other.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["is_int"]


def is_int(value) -> bool:
    """True for Python/NumPy integers, False for bools and everything else."""
    if type(value) is int:          # the common case, without the slow ABC check (~0.4 µs)
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
