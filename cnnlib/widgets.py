"""ipywidgets demos shared by the book's chapters.

A demo wraps a drawing function ``draw(ax, **knobs)`` (the same one that
:func:`cnnlib.viz.case_grid` uses for the static rendering on the website) in sliders. Widgets
need a live kernel: run the chapter in Colab, Binder or locally to move them.
"""
from __future__ import annotations

__all__ = ["demo"]


def demo(draw, figsize=(6.4, 3.6), **controls):
    """Interactive version of ``draw(ax, **knobs)``.

    Parameters
    ----------
    draw : callable ``draw(ax, **knobs)``
    figsize : tuple
    **controls
        One ipywidgets control (or an abbreviation accepted by ``ipywidgets.interactive``, such
        as ``(1, 7, 2)`` for an IntSlider or a list for a Dropdown) per knob of ``draw``.

    Returns
    -------
    ipywidgets.interactive
        Displaying it shows the controls and a figure that redraws on every change.
    """
    import ipywidgets
    import matplotlib.pyplot as plt

    if not controls:
        raise ValueError("demo needs at least one control")

    def redraw(**knobs):
        fig, ax = plt.subplots(figsize=figsize)
        draw(ax, **knobs)
        fig.tight_layout()
        plt.show()

    return ipywidgets.interactive(redraw, **controls)
