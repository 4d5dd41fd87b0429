"""ipywidgets demos shared by the book's chapters.

A demo wraps a drawing function ``draw(ax, **knobs)`` in sliders. Its knobs are declared once and
given both to :func:`demo` (live, needs a kernel: run the chapter in Colab, Binder or Jupyter) and
to :func:`cnnlib.viz.explorable` (the same controls over precomputed frames, for the website), so
the two show the same values.
"""
from __future__ import annotations

from ._explorable import initial_values, knobs_from

__all__ = ["demo", "controls"]


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
