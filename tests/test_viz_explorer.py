"""viz.conv_taps against torch's gradients; viz.conv_explorer draws every layer, valid or not."""
import matplotlib
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from cnnlib import conv_output_size, viz  # noqa: E402


@settings(max_examples=80, deadline=None)
@given(H=st.integers(1, 12), k=st.integers(1, 5), s=st.integers(1, 3), p=st.integers(0, 3),
       d=st.integers(1, 3), data=st.data())
def test_conv_taps_are_what_torch_reads(H, k, s, p, d, data):
    try:
        n_out = conv_output_size(H, k, s, p, d)
    except ValueError:
        with pytest.raises(ValueError):
            viz.conv_taps(H, k, s, p, d, 0)
        return
    i = data.draw(st.integers(0, n_out - 1))
    x = torch.zeros(1, 1, H, dtype=torch.float64, requires_grad=True)
    F.conv1d(x, torch.ones(1, 1, k, dtype=torch.float64), stride=s, padding=p, dilation=d)[0, 0, i].backward()
    read = {t for t in viz.conv_taps(H, k, s, p, d, i) if 0 <= t < H}
    assert read == set(torch.nonzero(x.grad[0, 0]).flatten().tolist())
    with pytest.raises(ValueError, match="index="):
        viz.conv_taps(H, k, s, p, d, n_out)


@pytest.mark.parametrize("knobs, H_out", [
    (dict(H=7, k=3, s=1, p=0, d=1, C_in=4, C_out=4, g=1), 5),
    (dict(H=7, k=3, s=2, p=1, d=2, C_in=4, C_out=8, g=4, i=9, c_out=99), 3),   # clamped
    (dict(H=5, k=1, C_in=6, C_out=6, g=6), 5),
])
def test_conv_explorer_draws_and_returns_the_output_size(knobs, H_out):
    fig, ax = plt.subplots()
    assert viz.conv_explorer(ax, **knobs) == H_out
    texts = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
    assert f"→ {knobs['C_out']}×{H_out}×{H_out}" in texts
    plt.close(fig)


@pytest.mark.parametrize("knobs, message", [
    (dict(H=3, k=5), "kernel"), (dict(C_in=6, C_out=4, g=4), "in_channels=6 is not divisible by groups=4")])
def test_conv_explorer_shows_the_librarys_error(knobs, message):
    fig, ax = plt.subplots()
    assert viz.conv_explorer(ax, **knobs) is None
    texts = " ".join(t.get_text().replace("\n", " ") for t in fig.findobj(matplotlib.text.Text))
    assert "no valid layer" in texts and message.split()[0] in texts
    plt.close(fig)
