"""Explorable figures: a chapter's ``draw(ax, **knobs)`` precomputed for every combination of knob
values, with sliders and dropdowns in plain HTML and a few lines of JavaScript that show the frame
for the chosen values. Works on the static website (no kernel), in Jupyter and in Colab output.

The knobs are declared once per demo, as keyword arguments shared by :func:`explorable` and the
live widget :func:`cnnlib.widgets.demo`::

    KNOBS = dict(kernel=["Sobel x", "Box blur"], stride=(1, 3), padding=(0, 2))
    widgets.demo(draw, **KNOBS)          # live sliders (needs a kernel)
    viz.explorable(draw, alt="...", **KNOBS)   # the same sliders on the website

A knob is either a range ``(lo, hi)`` / ``(lo, hi, step)`` of numbers (``hi`` included), or a list
of values: numbers give a slider over those values, anything else a dropdown.
"""
from __future__ import annotations

import base64
import hashlib
import html
import inspect
import io
import itertools
import json
import math
import numbers

__all__ = ["Knob", "knobs_from", "initial_values", "explorable"]

# A page stays light on a phone: at most this many frames and bytes per figure (images included).
MAX_FRAMES = 64
MAX_BYTES = 1_000_000
# ... and one frame, shown at full width in a phone's text column (390 px screen, 358 px column),
# has no text smaller than this many CSS pixels.
PHONE_COLUMN_PX = 358
MIN_TEXT_PX = 8.0


class Knob:
    """One declared knob: its name, its values (in order) and whether it is a slider.

    Attributes
    ----------
    name : str
    values : tuple
        Every value the knob can take, in slider/dropdown order.
    slider : bool
        ``True`` for numbers (a slider), ``False`` for anything else (a dropdown).
    step : number or None
        The step of a ``(lo, hi, step)`` range (its values are then evenly spaced), else ``None``.
    """

    def __init__(self, name, spec):
        self.name = name
        self.step = None
        if isinstance(spec, tuple):
            if not 2 <= len(spec) <= 3 or not all(_is_number(v) for v in spec):
                raise TypeError(f"knob {name}={spec!r}: a range is (lo, hi) or (lo, hi, step) of numbers")
            lo, hi, step = (*spec, 1) if len(spec) == 2 else spec
            if step <= 0 or hi < lo:
                raise ValueError(f"knob {name}={spec!r}: need lo <= hi and step > 0")
            count = int(math.floor((hi - lo) / step + 1e-9)) + 1
            values = [lo + i * step for i in range(count)]
            if all(isinstance(v, numbers.Integral) for v in spec):
                values = [int(v) for v in values]
            else:
                values = [round(float(v), 12) for v in values]
            self.step = step
        elif isinstance(spec, (list, range)):
            values = list(spec)
            if not values:
                raise ValueError(f"knob {name}=[]: give at least one value")
        else:
            raise TypeError(f"knob {name}={spec!r}: expected a range tuple (lo, hi[, step]) or a "
                            f"list of values, got {type(spec).__name__}")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"knob {name}={spec!r}: values repeat")
        self.values = tuple(values)
        self.slider = all(_is_number(v) for v in values)

    def label(self, value):
        return f"{value:g}" if isinstance(value, float) else str(value)

    def __repr__(self):
        return f"Knob({self.name!r}, values={self.values!r}, slider={self.slider})"


def _is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def knobs_from(**specs):
    """Normalise knob declarations (``name=(lo, hi[, step])`` or ``name=[values]``) to Knobs."""
    if not specs:
        raise ValueError("declare at least one knob, e.g. stride=(1, 3)")
    return [Knob(name, spec) for name, spec in specs.items()]


def initial_values(draw, knobs):
    """The value each knob starts at: ``draw``'s default for it when that is one of the knob's
    values, else the first value."""
    try:
        params = inspect.signature(draw).parameters
    except (TypeError, ValueError):
        params = {}
    start = {}
    for knob in knobs:
        p = params.get(knob.name)
        default = p.default if p is not None else inspect.Parameter.empty
        start[knob.name] = default if any(default == v for v in knob.values) else knob.values[0]
    return start


def _png(fig, colors):
    """The figure as a compact PNG, at the figure's dpi, reduced to a palette of ``colors``."""
    import numpy as np
    from PIL import Image

    fig.canvas.draw()
    img = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
    if colors:   # plots have few colours: a palette keeps lines and text crisp at a third of the size
        img = img.quantize(colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue(), img.size


def smallest_text(fig):
    """``(size in CSS px on a phone, text)`` of the smallest visible text of ``fig`` when the
    figure is shown at full width in a phone's text column (never enlarged beyond its own size)."""
    from matplotlib.text import Text

    width_px = fig.get_figwidth() * fig.dpi
    scale = min(1.0, PHONE_COLUMN_PX / width_px)
    sizes = [(t.get_fontsize() * fig.dpi / 72 * scale, t.get_text())
             for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
             and t.get_figure() is not None]
    return min(sizes, key=lambda s: s[0]) if sizes else (math.inf, "")


def render_frames(draw, knobs, figsize=(6.4, 3.6), dpi=110, colors=128, max_frames=MAX_FRAMES,
                  min_text_px=MIN_TEXT_PX):
    """Run ``draw(ax, **values)`` for every combination of knob values; return
    ``(combinations, pngs, size)`` where ``pngs[i]`` is the PNG of ``combinations[i]``.
    Raises ``ValueError`` when a frame has text smaller than ``min_text_px`` on a phone."""
    import matplotlib.pyplot as plt

    n = math.prod(len(k.values) for k in knobs)
    if n > max_frames:
        sizes = " × ".join(f"{len(k.values)} {k.name}" for k in knobs)
        raise ValueError(f"{sizes} = {n} frames > max_frames={max_frames}: give the knobs fewer "
                         "values (a list of the telling ones) or raise max_frames")
    combos = [dict(zip([k.name for k in knobs], vals))
              for vals in itertools.product(*(k.values for k in knobs))]
    pngs, size = [], None
    fig = plt.figure(figsize=figsize, dpi=dpi)
    try:
        margins = None
        for combo in combos:
            fig.clf()
            if margins:                   # every frame gets the first frame's margins
                fig.subplots_adjust(**margins)
            ax = fig.add_subplot()
            draw(ax, **combo)
            if margins is None:           # tight margins, computed once (a costly part of a frame)
                fig.tight_layout()
                margins = {m: getattr(fig.subplotpars, m) for m in ("left", "right", "bottom", "top")}
            png, size = _png(fig, colors)   # draws the canvas: tick labels now exist
            px, text = smallest_text(fig)
            if px < min_text_px:
                raise ValueError(
                    f"frame {combo} has text {text[:40]!r} of {px:.1f} px on a phone "
                    f"(figure {fig.get_figwidth():g} in wide shown in a {PHONE_COLUMN_PX} px "
                    f"column) < min_text_px={min_text_px}: use a narrower figsize or larger fonts")
            pngs.append(png)
    finally:
        plt.close(fig)
    return combos, pngs, size


class Explorable:
    """The HTML of an explorable figure (displayed by Jupyter through ``_repr_html_``).

    Attributes
    ----------
    knobs : list of Knob
    frames : dict
        ``tuple of knob values -> PNG bytes`` of every combination.
    nbytes : int
        Size of the HTML (what the page carries).
    """

    def __init__(self, knobs, combos, pngs, size, alt, start, title=None):
        self.knobs, self.size, self.start, self.title = knobs, size, start, title
        names = [k.name for k in knobs]
        self.frames = {tuple(c[n] for n in names): png for c, png in zip(combos, pngs)}
        self.alts = {tuple(c[n] for n in names): _alt_text(alt, c, knobs) for c in combos}
        self.html = self._html()
        self.nbytes = len(self.html.encode("utf-8"))

    def _html(self):
        knobs = self.knobs
        uniq, frame_of = {}, {}
        for key, png in self.frames.items():           # identical frames are stored once
            frame_of[key] = uniq.setdefault(png, len(uniq))
        srcs = ["data:image/png;base64," + base64.b64encode(png).decode("ascii") for png in uniq]
        index = {",".join(str(k.values.index(v)) for k, v in zip(knobs, key)): frame_of[key]
                 for key in self.frames}
        alts = {",".join(str(k.values.index(v)) for k, v in zip(knobs, key)): a
                for key, a in self.alts.items()}
        digest = hashlib.sha1("".join(srcs).encode("ascii")).hexdigest()[:10]
        uid = f"cnnlib-ex-{digest}"
        start_key = tuple(self.start[k.name] for k in knobs)
        start_pos = [k.values.index(self.start[k.name]) for k in knobs]
        controls = []
        for i, (k, pos) in enumerate(zip(knobs, start_pos)):
            cid = f"{uid}-{i}"
            label = f'<label for="{cid}" style="min-width:4.5em;font-weight:600">{html.escape(k.name)}</label>'
            if k.slider:
                ctl = (f'<input type="range" id="{cid}" data-knob="{i}" min="0" max="{len(k.values) - 1}" '
                       f'step="1" value="{pos}" aria-valuetext="{html.escape(k.label(k.values[pos]))}" '
                       f'style="flex:1 1 8em;min-width:6em;max-width:18em">'
                       f'<output for="{cid}" style="min-width:3em;font-variant-numeric:tabular-nums">'
                       f'{html.escape(k.label(k.values[pos]))}</output>')
            else:
                opts = "".join(f'<option value="{j}"{" selected" if j == pos else ""}>'
                               f'{html.escape(k.label(v))}</option>' for j, v in enumerate(k.values))
                ctl = f'<select id="{cid}" data-knob="{i}" style="max-width:100%">{opts}</select>'
            controls.append(f'<div style="display:flex;align-items:center;gap:.5em;flex-wrap:wrap">'
                            f'{label}{ctl}</div>')
        data = json.dumps({"labels": [[k.label(v) for v in k.values] for k in knobs],
                           "frames": srcs, "index": index, "alts": alts}, separators=(",", ":"))
        width, height = self.size
        title = (f'<div style="font-weight:600;margin-bottom:.3em">{html.escape(self.title)}</div>'
                 if self.title else "")
        return (
            f'<div class="cnnlib-explorable" id="{uid}" style="max-width:100%">{title}'
            f'<div class="cnnlib-explorable-controls" role="group" aria-label="figure controls" '
            f'style="display:flex;flex-direction:column;gap:.25em;margin:.3em 0 .5em">{"".join(controls)}</div>'
            f'<img class="cnnlib-explorable-frame" src="{srcs[frame_of[start_key]]}" '
            f'alt="{html.escape(self.alts[start_key])}" width="{width}" height="{height}" '
            f'style="max-width:100%;height:auto;display:block" aria-live="polite">'
            f'<script type="application/json" class="cnnlib-explorable-data">{data}</script>'
            f"<script>{_SCRIPT.replace('UID', uid)}</script></div>")

    def _repr_html_(self):
        return self.html

    def __repr__(self):
        names = ", ".join(f"{k.name}[{len(k.values)}]" for k in self.knobs)
        return f"<explorable figure: {names}; {len(self.frames)} frames, {self.nbytes:,} bytes>"


# Shows the precomputed frame for the chosen values; one copy per figure, scoped to its own id.
_SCRIPT = """(function () {
  var root = document.getElementById("UID");
  if (!root || root.dataset.ready) return;
  root.dataset.ready = "1";
  var data = JSON.parse(root.querySelector("script.cnnlib-explorable-data").textContent);
  var img = root.querySelector("img.cnnlib-explorable-frame");
  var controls = root.querySelectorAll("[data-knob]");
  function update() {
    var pos = [];
    controls.forEach(function (c) {
      var i = +c.dataset.knob, j = +c.value;
      pos[i] = j;
      if (c.type === "range") {
        var label = data.labels[i][j];
        c.setAttribute("aria-valuetext", label);
        c.nextElementSibling.textContent = label;
      }
    });
    var key = pos.join(",");
    img.src = data.frames[data.index[key]];
    img.alt = data.alts[key];
    root.dataset.key = key;
  }
  controls.forEach(function (c) { c.addEventListener("input", update); c.addEventListener("change", update); });
  update();
})();"""


def _alt_text(alt, values, knobs):
    if callable(alt):
        text = alt(**values)
    else:
        settings = ", ".join(f"{k.name} = {k.label(values[k.name])}" for k in knobs)
        text = f"{alt} ({settings})"
    if not isinstance(text, str) or len(text.strip()) < 10:
        raise ValueError(f"alt text for {values} must be a descriptive string, got {text!r}")
    return text


def explorable(draw, alt, figsize=(6.4, 3.6), title=None, dpi=110, colors=128,
               max_frames=MAX_FRAMES, max_bytes=MAX_BYTES, min_text_px=MIN_TEXT_PX, **knobs):
    """An explorable figure: ``draw`` precomputed for every combination of knob values, with a
    slider per numeric knob and a dropdown per other knob, in HTML that works without a kernel.

    Parameters
    ----------
    draw : callable ``draw(ax, **knobs)``
        The chapter's drawing function (the same one the live :func:`cnnlib.widgets.demo` calls).
    alt : str or callable
        Alt text of every frame: a description to which the knob values are appended, or
        ``alt(**values) -> str``.
    figsize : tuple
        Size of one frame in inches; at ``dpi`` it is the frame's size in pixels. One frame is
        shown at full width on a phone, so keep it narrow (5 to 6.4 inches) with fonts to match
        (``min_text_px`` checks it).
    title : str, optional
        A heading above the controls.
    dpi : int
    colors : int or None
        Palette size of the PNG frames (``None``: full colour). 128 keeps lines and text crisp.
    max_frames, max_bytes : int
        The budget: more combinations than ``max_frames``, or HTML larger than ``max_bytes``,
        raise ``ValueError`` (give the knobs fewer values, or a smaller ``figsize``/``dpi``).
    min_text_px : float
        Readability on a phone: one frame is shown at full width in a 358 px text column (a
        390 px screen), and no text of it may be smaller than this many CSS pixels there, or
        ``ValueError`` names the text (use a narrower ``figsize`` or larger fonts: at 6.4 inches
        wide, 8 px needs about 10 pt; at 5 inches, 8 pt).
    **knobs
        ``name=(lo, hi)`` / ``name=(lo, hi, step)`` (``hi`` included) or ``name=[values]``.

    Returns
    -------
    Explorable
        Displayed as HTML; ``.frames`` maps each tuple of knob values to its PNG bytes.
    """
    if not callable(draw):
        raise TypeError(f"draw={draw!r} must be callable as draw(ax, **knobs)")
    ks = knobs_from(**knobs)
    start = initial_values(draw, ks)
    combos, pngs, size = render_frames(draw, ks, figsize=figsize, dpi=dpi, colors=colors,
                                       max_frames=max_frames, min_text_px=min_text_px)
    fig = Explorable(ks, combos, pngs, size, alt, start, title=title)
    if fig.nbytes > max_bytes:
        raise ValueError(f"explorable figure is {fig.nbytes:,} bytes > max_bytes={max_bytes:,} "
                         f"({len(combos)} frames of {size[0]}x{size[1]} px): give the knobs fewer "
                         "values, or use a smaller figsize, dpi or colors")
    return fig
