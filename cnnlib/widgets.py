"""ipywidgets demos shared by the book's chapters.

A demo wraps a drawing function ``draw(ax, **knobs)`` in sliders. Its knobs are declared once and
given both to :func:`demo` (live, needs a kernel: run the chapter in Colab, Binder or Jupyter) and
to :func:`cnnlib.viz.explorable` (the same controls over precomputed frames, for the website), so
the two show the same values.
"""
from __future__ import annotations

from ._explorable import initial_values, knobs_from

__all__ = ["demo", "controls", "drill"]


def controls(draw, **knobs):
    """The ipywidgets controls for knob declarations (see :func:`cnnlib.viz.explorable`).

    A ``(lo, hi[, step])`` range of ints or floats becomes an IntSlider/FloatSlider, a list of
    numbers a SelectionSlider over them, any other list a Dropdown; each starts at ``draw``'s
    default for that knob. An ipywidgets control passed as a knob is used as it is (live only:
    the explorable figure needs values).
    """
    import ipywidgets

    declared = {n: s for n, s in knobs.items() if not isinstance(s, ipywidgets.ValueWidget)}
    ks = knobs_from(**declared) if declared else []
    start = initial_values(draw, ks)
    out = {}
    for name, spec in knobs.items():
        if isinstance(spec, ipywidgets.ValueWidget):
            out[name] = spec
            continue
        k = next(k for k in ks if k.name == name)
        style = {"description_width": "initial"}
        if k.step is not None and all(isinstance(v, int) for v in k.values):
            out[name] = ipywidgets.IntSlider(value=start[name], min=k.values[0], max=k.values[-1],
                                             step=k.step, description=name, style=style,
                                             continuous_update=False)
        elif k.step is not None:
            out[name] = ipywidgets.FloatSlider(value=start[name], min=k.values[0], max=k.values[-1],
                                               step=k.step, description=name, style=style,
                                               continuous_update=False)
        elif k.slider:
            out[name] = ipywidgets.SelectionSlider(options=list(k.values), value=start[name],
                                                   description=name, style=style,
                                                   continuous_update=False)
        else:
            out[name] = ipywidgets.Dropdown(options=list(k.values), value=start[name],
                                            description=name, style=style)
    return out


def demo(draw, figsize=(6.4, 3.6), **knobs):
    """Interactive version of ``draw(ax, **knobs)``.

    Parameters
    ----------
    draw : callable ``draw(ax, **knobs)``
    figsize : tuple
    **knobs
        The knob declarations shared with :func:`cnnlib.viz.explorable`: ``name=(lo, hi[, step])``
        or ``name=[values]`` (or an ipywidgets control, for a live-only knob such as free text).

    Returns
    -------
    ipywidgets.interactive
        Displaying it shows the controls and a figure that redraws on every change.
    """
    import ipywidgets
    import matplotlib.pyplot as plt

    if not knobs:
        raise ValueError("demo needs at least one knob")

    def redraw(**values):
        fig, ax = plt.subplots(figsize=figsize)
        draw(ax, **values)
        fig.tight_layout()
        plt.show()

    return ipywidgets.interactive(redraw, **controls(draw, **knobs))


def drill(kind=None, seed=None):
    """The interview drill, live: a kind dropdown, "New problem", an answer box, "Check", and the
    verdict with the worked solution (:mod:`cnnlib.drill`; the static site runs its JavaScript
    port, ``book/_static/drill.js``).

    Parameters
    ----------
    kind : str or None
        The kind shown first (a key of :data:`cnnlib.drill.KINDS`); ``None``: any kind.
    seed : int or None
        Seed of the problem sequence (``None``: fresh entropy).

    Returns
    -------
    ipywidgets.VBox
    """
    import html

    import ipywidgets

    from . import drill as _drill

    if kind is not None and kind not in _drill.KINDS:
        raise ValueError(f"kind={kind!r} is not one of {list(_drill.KINDS)}")
    rng = _drill._rng(seed)
    kinds = ipywidgets.Dropdown(options=[("Any kind (mixed)", None)]
                                + [(label, k) for k, label in _drill.KINDS.items()],
                                value=kind, description="Kind")
    new = ipywidgets.Button(description="New problem")
    question = ipywidgets.HTML()
    answer = ipywidgets.Text(placeholder="e.g. 1,024 or 86.7M or 0.127", description="Answer",
                             continuous_update=False)   # Enter (or leaving the box) checks
    check = ipywidgets.Button(description="Check", button_style="primary")
    hint = ipywidgets.HTML(
        "<small>Type the exact number (1,024 or 1024) or a rounded one with at least 2 "
        "significant digits (86.7M, 87 million, 24.5 MiB; MB = 10⁶ bytes, MiB = 2²⁰); a ratio "
        "as 73/576 or to 3 digits (0.127, 12.7%). Enter checks.</small>")
    verdict = ipywidgets.HTML()
    score = ipywidgets.HTML()
    state = {"problem": None, "answered": False, "right": 0, "done": 0}

    def show_score():
        score.value = f"Score: {state['right']} right of {state['done']} answered"

    def new_problem(_=None):
        state["problem"] = _drill.generate(kinds.value, rng)
        state["answered"] = False
        unit = state["problem"].unit
        question.value = (f"<p>{html.escape(state['problem'].text)}</p>"
                          + (f"<p><em>Answer in {unit}.</em></p>" if unit else ""))
        answer.value = ""
        verdict.value = ""

    def on_check(_=None):
        p = state["problem"]
        if not answer.value.strip():
            verdict.value = "<p>Type an answer first.</p>"
            return
        ok = _drill.check(p, answer.value)
        if not state["answered"]:
            state["done"] += 1
            state["right"] += ok
            state["answered"] = True
        try:
            _drill.parse_answer(answer.value)
            unread = ""
        except ValueError:
            unread = f" (could not read “{answer.value}” as a number)"
        shown = _drill.answer_text(p)
        head = f"✓ Right: {shown}" if ok else f"✗ Wrong{unread}: the answer is {shown}"
        verdict.value = (f"<p><b>{html.escape(head)}</b></p>"
                         f"<pre>{html.escape(p.working)}</pre>")
        show_score()

    new.on_click(new_problem)
    check.on_click(on_check)
    answer.observe(lambda change: change["new"].strip() and on_check(), names="value")
    kinds.observe(new_problem, names="value")
    new_problem()
    show_score()
    return ipywidgets.VBox([ipywidgets.HBox([kinds, new]), question,
                            ipywidgets.HBox([answer, check]), hint, verdict, score])
