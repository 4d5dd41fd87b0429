"""viz.explorable and widgets.demo: one knob declaration, every combination precomputed, a budget."""
import io
import json
import re

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from PIL import Image  # noqa: E402

from cnnlib import viz, widgets  # noqa: E402
from cnnlib._explorable import Knob, _png, initial_values, knobs_from  # noqa: E402


def draw(ax, kernel="box", k=3, scale=1.0):
    """A cheap drawing whose pixels depend on every knob."""
    img = np.outer(np.arange(k), np.arange(k)) * scale
    if kernel == "flip":
        img = img[::-1]
    ax.imshow(img, cmap="viridis", vmin=0, vmax=20)
    ax.set_title(f"{kernel} k={k} scale={scale:g}")


KNOBS = dict(kernel=["box", "flip"], k=(1, 5, 2), scale=[1.0, 2.0])


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def data_of(html):
    m = re.search(r'<script type="application/json" class="cnnlib-explorable-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def ex():
    return viz.explorable(draw, alt="A test image", figsize=(2, 2), dpi=50, min_text_px=0, **KNOBS)


# --- knob declarations ----------------------------------------------------------------------------

def test_ranges_include_hi_and_keep_ints():
    assert Knob("k", (1, 7, 2)).values == (1, 3, 5, 7)
    assert Knob("p", (0, 2)).values == (0, 1, 2)
    assert all(type(v) is int for v in Knob("p", (0, 2)).values)
    assert Knob("x", (0.0, 1.0, 0.25)).values == (0.0, 0.25, 0.5, 0.75, 1.0)


def test_lists_of_numbers_are_sliders_and_others_dropdowns():
    assert Knob("C", [16, 64, 256]).slider
    assert not Knob("kernel", ["a", "b"]).slider
    assert not Knob("flag", [True, False]).slider       # bools are not numbers here


@pytest.mark.parametrize("spec, exc, match", [
    ((3, 1), ValueError, r"k=\(3, 1\).*lo <= hi"),
    ((1, 3, 0), ValueError, r"step > 0"),
    ((1, 2, 3, 4), TypeError, r"\(lo, hi\) or \(lo, hi, step\)"),
    (("a", "b"), TypeError, r"range"),
    ([], ValueError, r"k=\[\]"),
    ([1, 1], ValueError, r"repeat"),
    (5, TypeError, r"k=5.*got int"),
])
def test_bad_knobs_name_the_knob(spec, exc, match):
    with pytest.raises(exc, match=match):
        Knob("k", spec)


def test_no_knobs_is_an_error():
    with pytest.raises(ValueError, match="at least one knob"):
        knobs_from()
    with pytest.raises(ValueError, match="at least one knob"):
        widgets.demo(draw)


def test_start_at_draws_defaults_when_declared():
    ks = knobs_from(kernel=["flip", "box"], k=(1, 5, 2), scale=[2.0, 3.0])
    assert initial_values(draw, ks) == {"kernel": "box", "k": 3, "scale": 2.0}


# --- the explorable figure -------------------------------------------------------------------------

def test_one_frame_per_combination(ex):
    assert len(ex.frames) == 2 * 3 * 2
    assert set(ex.frames) == {(a, b, c) for a in ("box", "flip") for b in (1, 3, 5) for c in (1.0, 2.0)}


def test_frames_are_what_draw_renders(ex):
    import matplotlib.pyplot as plt

    names = ["kernel", "k", "scale"]
    first = plt.figure(figsize=(2, 2), dpi=50)          # the first combination sets the margins
    draw(first.add_subplot(), **dict(zip(names, ("box", 1, 1.0))))
    first.tight_layout()
    margins = {m: getattr(first.subplotpars, m) for m in ("left", "right", "bottom", "top")}
    np.testing.assert_array_equal(pixels(ex.frames[("box", 1, 1.0)]), pixels(_png(first, 128)[0]))
    plt.close(first)
    for values in [("flip", 5, 2.0), ("box", 3, 2.0)]:
        fig = plt.figure(figsize=(2, 2), dpi=50)
        fig.subplots_adjust(**margins)
        draw(fig.add_subplot(), **dict(zip(names, values)))
        png, _ = _png(fig, 128)
        plt.close(fig)
        np.testing.assert_array_equal(pixels(ex.frames[values]), pixels(png))
    assert len({f for f in ex.frames.values()}) == len(ex.frames)   # every knob changes the picture


def test_html_controls_index_and_alt_text(ex):
    html = ex._repr_html_()
    data = data_of(html)
    assert data["labels"] == [["box", "flip"], ["1", "3", "5"], ["1", "2"]]
    assert len(data["index"]) == 12 and set(data["index"].values()) == set(range(len(data["frames"])))
    assert html.count('type="range"') == 2 and html.count("<select") == 1
    assert html.count("<option") == 2
    for key, alt in data["alts"].items():
        a, b, c = (int(i) for i in key.split(","))
        assert alt == f"A test image (kernel = {['box', 'flip'][a]}, k = {[1, 3, 5][b]}, scale = {[1, 2][c]:g})"
    # the start frame is draw's defaults: kernel=box (0), k=3 (1), scale=1.0 (0)
    start = data["frames"][data["index"]["0,1,0"]]
    assert re.search(r'<img class="cnnlib-explorable-frame" src="' + re.escape(start) + '"', html)
    assert 'value="1"' in html                             # k's slider starts at its 2nd value
    assert "http" not in html.replace("data:image/png", "")  # no third-party script or asset
    for i in range(3):                                      # every control has a label
        assert re.search(rf'<label for="cnnlib-ex-\w+-{i}"', html)


def test_identical_frames_are_stored_once():
    def draw_ignoring(ax, a=1, b=1):
        ax.plot([0, a], [0, 1])

    ex = viz.explorable(draw_ignoring, alt="Only a matters", figsize=(2, 2), dpi=40, min_text_px=0,
                        a=[1, 2], b=[1, 2, 3])
    data = data_of(ex.html)
    assert len(data["index"]) == 6 and len(data["frames"]) == 2


def test_callable_alt_text():
    ex = viz.explorable(draw, alt=lambda kernel, k, scale: f"{kernel} kernel of size {k} at {scale}",
                        figsize=(2, 2), dpi=40, min_text_px=0, kernel=["box"], k=[3], scale=[1.0])
    assert data_of(ex.html)["alts"] == {"0,0,0": "box kernel of size 3 at 1.0"}
    with pytest.raises(ValueError, match="alt text"):
        viz.explorable(draw, alt=lambda **v: "", figsize=(2, 2), dpi=40, min_text_px=0, kernel=["box"])


def test_frame_budget_is_enforced_before_drawing():
    calls = []

    def counting(ax, a=0, b=0):
        calls.append((a, b))

    with pytest.raises(ValueError, match=r"10 a × 10 b = 100 frames > max_frames=64"):
        viz.explorable(counting, alt="Never drawn at all", a=(0, 9), b=(0, 9))
    assert calls == []
    ex = viz.explorable(counting, alt="Drawn four times", figsize=(1, 1), dpi=20, min_text_px=0,
                        max_frames=4, a=(0, 1), b=(0, 1))
    assert len(calls) == 4 and len(ex.frames) == 4


def test_byte_budget_is_enforced():
    def noisy(ax, seed=0):
        ax.imshow(np.random.default_rng(seed).random((60, 60)), cmap="gray")

    with pytest.raises(ValueError, match=r"bytes > max_bytes=10,000"):
        viz.explorable(noisy, alt="Random noise frames", figsize=(3, 3), dpi=60, max_bytes=10_000,
                       min_text_px=0,
                       seed=(0, 3))


def test_text_too_small_for_a_phone_is_an_error():
    def tiny(ax, k=1):
        ax.text(0.5, 0.5, f"k = {k}", fontsize=6)
        ax.set_axis_off()

    # 6 pt at 110 dpi is 9.2 px; a 6.4-inch frame (704 px) is shown 358 px wide: 4.7 px
    with pytest.raises(ValueError, match=r"'k = 1' of 4\.7 px on a phone .* < min_text_px=8"):
        viz.explorable(tiny, alt="Tiny text frames", figsize=(6.4, 2), k=(1, 2))
    # the same text in a frame no wider than the phone's column keeps its 9.2 px
    ex = viz.explorable(tiny, alt="Readable text frames", figsize=(3, 1), k=(1, 2))
    assert len(ex.frames) == 2
    # tick labels count too: 10 pt ticks on a 10-inch frame are 5.4 px
    with pytest.raises(ValueError, match=r"px on a phone"):
        viz.explorable(lambda ax, k=1: ax.plot([0, k]), alt="Ticks on a wide frame",
                       figsize=(10, 2), k=(1, 2))


def test_draw_must_be_callable():
    with pytest.raises(TypeError, match="draw="):
        viz.explorable("not a function", alt="A figure here", k=(1, 2))


# --- the live widget takes the same declaration -----------------------------------------------------

def test_demo_controls_match_the_explorable_values():
    import ipywidgets

    ctl = widgets.controls(draw, **KNOBS)
    assert isinstance(ctl["kernel"], ipywidgets.Dropdown) and ctl["kernel"].options == ("box", "flip")
    assert isinstance(ctl["k"], ipywidgets.IntSlider)
    assert (ctl["k"].min, ctl["k"].max, ctl["k"].step, ctl["k"].value) == (1, 5, 2, 3)
    assert isinstance(ctl["scale"], ipywidgets.SelectionSlider) and ctl["scale"].options == (1.0, 2.0)
    assert isinstance(widgets.demo(draw, **KNOBS), ipywidgets.interactive)


def test_demo_accepts_a_live_only_control():
    import ipywidgets

    box = ipywidgets.Text(value="box")
    assert widgets.controls(draw, kernel=box, k=(1, 3))["kernel"] is box
