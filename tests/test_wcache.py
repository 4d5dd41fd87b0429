"""cnnlib._wcache: transformed weights reused only while the weights are bit-for-bit the same."""
import numpy as np
import pytest
import torch

import cnnlib
from cnnlib import _wcache


@pytest.fixture(autouse=True)
def empty_cache():
    _wcache.clear()
    yield
    _wcache.clear()


def test_hit_while_unchanged_miss_after_an_in_place_change():
    calls = []

    def make(w):
        calls.append(1)
        return w * 2
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    first = _wcache.transformed(w, "t", make)
    second = _wcache.transformed(w, "t", make)
    assert second is first and len(calls) == 1
    assert _wcache.info()["hits"] == 1 and _wcache.info()["misses"] == 1
    w[1, 2] = -1                                    # a training step, in place
    third = _wcache.transformed(w, "t", make)
    assert len(calls) == 2 and third[1, 2] == -2
    w[0, 0] = -0.0                                  # bit patterns: -0.0 is a change too
    _wcache.transformed(w, "t", make)
    assert len(calls) == 3


def test_tags_and_arrays_are_separate_entries():
    w = np.ones((2, 2))
    a = _wcache.transformed(w, ("m", 2), lambda w: w + 1)
    b = _wcache.transformed(w, ("m", 4), lambda w: w + 2)
    c = _wcache.transformed(w.copy(), ("m", 2), lambda w: w + 3)
    assert (a[0, 0], b[0, 0], c[0, 0]) == (2, 3, 4)


def test_non_contiguous_weights_are_not_kept():
    w = np.ones((4, 4), np.float32)[:, ::2]
    _wcache.transformed(w, "t", lambda w: w.copy())
    assert _wcache.info()["entries"] == 0


def test_least_recently_used_transforms_go_first(monkeypatch):
    monkeypatch.setattr(_wcache, "MAX_BYTES", 3 * 800)
    ws = [np.full(100, i, dtype=np.float64) for i in range(4)]   # 800-byte transforms
    for w in ws[:3]:
        _wcache.transformed(w, "t", lambda w: w.copy())
    _wcache.transformed(ws[0], "t", lambda w: w.copy())         # 0 is used again
    _wcache.transformed(ws[3], "t", lambda w: w.copy())         # evicts 1, the oldest
    assert _wcache.info()["entries"] == 3 and _wcache.info()["bytes"] == 2400
    _wcache.transformed(ws[1], "t", lambda w: w.copy())
    assert _wcache.info()["misses"] == 5


@pytest.mark.parametrize("method", ["winograd", "winograd_f2", "mec", "auto"])
def test_conv2d_follows_weights_changed_in_place(method):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 16, 20, 20), dtype=np.float32)
    w = rng.standard_normal((16, 16, 3, 3), dtype=np.float32)
    for step in range(3):
        y = cnnlib.conv2d(x, w, padding=1, method=method)
        ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1)
        np.testing.assert_allclose(y, ref.numpy(), rtol=1e-3, atol=1e-3)
        w -= 0.1 * rng.standard_normal(w.shape, dtype=np.float32)   # an SGD-like step
    info = _wcache.info()
    assert info["misses"] == 3 and info["hits"] == 0
    cnnlib.conv2d(x, w, padding=1, method=method)
    cnnlib.conv2d(x, w, padding=1, method=method)
    assert _wcache.info()["hits"] == 1
