"""Plotting helpers shared by the book's chapters (matplotlib only).

The pattern every chapter follows: write one drawing function ``draw(ax, **knobs)``; the live
widget (:func:`cnnlib.widgets.demo`) and the static rendering for the website
(:func:`case_grid`, or :func:`animation_html`) both call it, so the two can never disagree.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["setup", "show_grid", "case_grid", "animation_html"]


def setup():
    """Apply the book's matplotlib defaults (readable on a phone, crisp on a laptop)."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "figure.figsize": (6.4, 3.6),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "font.size": 10,
        "legend.frameon": False,
    })


def show_grid(ax, values, title=None, cmap="Blues", fmt="{:g}", annotate=True, vmin=None,
              vmax=None, highlight=None, highlight_color="tab:red"):
    """Draw a small 2-D array as a grid of cells with their values written in.

    Parameters
    ----------
    ax : matplotlib Axes
    values : array_like, shape (H, W)
    title : str, optional
    fmt : str
        Format of each annotation (``"{:g}"``, ``"{:.1f}"`` …).
    annotate : bool
        Write the values into the cells (switch off for grids larger than ~16×16).
    highlight : tuple (row0, col0, height, width), optional
        A rectangle drawn around a block of cells, e.g. the current convolution window.
    """
    from matplotlib.patches import Rectangle

    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"values must be 2-D, got shape {values.shape}")
    ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax)
    h, w = values.shape
    if annotate:
        lo = values.min() if vmin is None else vmin
        hi = values.max() if vmax is None else vmax
        mid = (lo + hi) / 2
        for i in range(h):
            for j in range(w):
                v = values[i, j]
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                        color="white" if (hi > lo and v > mid) else "black")
    ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    for side in ax.spines.values():
        side.set_visible(False)
    if highlight is not None:
        r0, c0, hh, ww = highlight
        ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), ww, hh, fill=False,
                               edgecolor=highlight_color, linewidth=2.5))
    if title:
        ax.set_title(title)
    return ax


def case_grid(draw, cases, ncols=3, titles=None, panel_size=(3.2, 2.8), suptitle=None, **subplot_kw):
    """Static rendering of a widget: one panel per case, all drawn by the same ``draw``.

    Parameters
    ----------
    draw : callable ``draw(ax, **case)``
        The function the live widget calls.
    cases : list of dict
        Keyword arguments for each panel.
    ncols : int
    titles : list of str, optional
        Panel titles; by default ``k=v`` pairs of each case.

    Returns
    -------
    matplotlib Figure
    """
    import matplotlib.pyplot as plt

    cases = list(cases)
    if not cases:
        raise ValueError("cases must not be empty")
    ncols = min(ncols, len(cases))
    nrows = math.ceil(len(cases) / ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, subplot_kw=subplot_kw,
                             figsize=(panel_size[0] * ncols, panel_size[1] * nrows))
    for i, ax in enumerate(axes.flat):
        if i >= len(cases):
            ax.set_visible(False)
            continue
        draw(ax, **cases[i])
        title = titles[i] if titles else ", ".join(f"{k}={v}" for k, v in cases[i].items())
        ax.set_title(title, fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def animation_html(anim, default_mode="loop"):
    """A ``matplotlib.animation`` as self-contained JavaScript/HTML (plays on the static site).

    Closes the figure so the notebook does not also show its last frame as a static image.
    """
    import matplotlib.pyplot as plt
    from IPython.display import HTML

    html = anim.to_jshtml(default_mode=default_mode)
    plt.close(anim._fig)
    return HTML(html)
