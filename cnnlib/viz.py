"""Plotting helpers shared by the book's chapters (matplotlib only).

The pattern every chapter follows: write one drawing function ``draw(ax, **knobs)`` and declare
its knobs once; the live widget (:func:`cnnlib.widgets.demo`) and the explorable figure for the
website (:func:`explorable`: the same sliders over precomputed frames, no kernel needed) both take
that declaration and call ``draw``, so the two can never disagree. :func:`case_grid` shows several
settings side by side where a comparison tells more than a slider.
"""
from __future__ import annotations

import math

import numpy as np

from ._explorable import Explorable, explorable, knobs_from

__all__ = ["setup", "show_grid", "case_grid", "animation_html", "split_axes",
           "conv_window_frame", "conv_animation", "explorable", "Explorable", "knobs_from"]


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
        lo = np.nanmin(values) if vmin is None else vmin
        hi = np.nanmax(values) if vmax is None else vmax
        mid = (lo + hi) / 2
        for i in range(h):
            for j in range(w):
                v = values[i, j]
                if not np.isfinite(v):          # NaN = "not computed yet": leave the cell blank
                    continue
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


def split_axes(ax, widths, gap=0.06, top=0.82):
    """Split one Axes into side-by-side panels, for a ``draw(ax, **knobs)`` that needs several.

    The widget (:func:`cnnlib.widgets.demo`) and :func:`case_grid` hand ``draw`` one Axes; this
    turns it into ``len(widths)`` inset Axes (e.g. input | kernel | output) and hides the parent.

    Parameters
    ----------
    ax : matplotlib Axes
    widths : sequence of float, > 0
        Relative widths of the panels, left to right.
    gap : float
        Space between neighbouring panels, as a fraction of ``ax``'s width.
    top : float
        Height of the panels as a fraction of ``ax``'s height; the rest stays free for the panels'
        titles below a title given to ``ax`` itself (as :func:`case_grid` does).

    Returns
    -------
    list of matplotlib Axes
    """
    widths = np.asarray(widths, dtype=float)
    if widths.ndim != 1 or widths.size == 0 or not np.all(widths > 0):
        raise ValueError(f"widths={widths.tolist()} must be a non-empty list of positive numbers")
    if not 0 <= gap * (widths.size - 1) < 1:
        raise ValueError(f"gap={gap} leaves no room for {widths.size} panels")
    if not 0 < top <= 1:
        raise ValueError(f"top={top} must be in (0, 1]")
    ax.set_axis_off()
    fractions = widths / widths.sum() * (1 - gap * (widths.size - 1))
    panels, left = [], 0.0
    for f in fractions:
        panels.append(ax.inset_axes([left, 0.0, f, top]))
        left += f + gap
    return panels


def conv_window_frame(axes, x, w, step, stride=1, padding=0, dilation=1, fmt="{:g}"):
    """Draw one step of a single-channel 2-D convolution as deep learning computes it.

    Three panels: the zero-padded input with the taps under the current window outlined (padding
    cells greyed), the kernel, and the output filled in up to ``step`` (row-major order). The
    operation is torch's cross-correlation, ``y[i, j] = sum_uv w[u, v] x_pad[i*s + u*d, j*s + v*d]``
    (no kernel flip); explained in chapter 14.

    Parameters
    ----------
    axes : sequence of 3 matplotlib Axes
        Input, kernel, output.
    x : array_like, shape (H, W)
    w : array_like, shape (kH, kW)
    step : int
        Index of the output cell being computed, ``0 <= step < H_out * W_out``.
    stride, padding, dilation : int
    fmt : str
        Format of the numbers written in the cells.

    Returns
    -------
    ndarray, shape (H_out, W_out)
        The complete output (computed with :func:`cnnlib.conv2d`).
    """
    from matplotlib.patches import Rectangle

    from ._conv import conv2d

    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    if x.ndim != 2 or w.ndim != 2:
        raise ValueError(f"x and w must be 2-D, got shapes {x.shape} and {w.shape}")
    y = conv2d(x[None], w[None, None], stride=stride, padding=padding, dilation=dilation)[0]
    h_out, w_out = y.shape
    if not 0 <= step < h_out * w_out:
        raise ValueError(f"step={step} must be in [0, {h_out * w_out}) for a {h_out}x{w_out} output")
    i, j = divmod(step, w_out)
    ax_in, ax_k, ax_out = axes

    xp = np.pad(x, padding)
    show_grid(ax_in, xp, title=f"input (padding={padding})" if padding else "input x", fmt=fmt)
    if padding:                                   # grey veil over the zero-padding ring
        hp, wp = xp.shape
        for r in range(hp):
            for c in range(wp):
                if not (padding <= r < hp - padding and padding <= c < wp - padding):
                    ax_in.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, color="0.6", alpha=0.5))
    kh, kw = w.shape
    for u in range(kh):
        for v in range(kw):                       # tap (u, v) reads x_pad[i*s + u*d, j*s + v*d]
            ax_in.add_patch(Rectangle((j * stride + v * dilation - 0.5, i * stride + u * dilation - 0.5),
                                      1, 1, fill=False, edgecolor="tab:red", linewidth=1.5))
    span_h, span_w = dilation * (kh - 1) + 1, dilation * (kw - 1) + 1   # window extent
    ax_in.add_patch(Rectangle((j * stride - 0.5, i * stride - 0.5), span_w, span_h, fill=False,
                              edgecolor="tab:red", linewidth=3 if dilation == 1 else 1,
                              linestyle="-" if dilation == 1 else ":"))
    show_grid(ax_k, w, title="kernel w", cmap="Oranges", fmt=fmt)

    partial = np.full_like(y, np.nan)
    partial.flat[: step + 1] = y.flat[: step + 1]
    show_grid(ax_out, partial, title=f"y[{i},{j}] = {fmt.format(y[i, j])}", fmt=fmt, cmap="Greens",
              vmin=y.min(), vmax=y.max(), highlight=(i, j, 1, 1))
    ax_out.set_facecolor("0.95")
    return y


def conv_animation(x, w, stride=1, padding=0, dilation=1, fmt="{:g}", interval=800, height=3.0,
                   max_frames=30):
    """Sliding-window animation of a single-channel 2-D convolution, one frame per output cell.

    Each frame is drawn by :func:`conv_window_frame`; show it on the website with
    :func:`animation_html`.

    Parameters
    ----------
    x : array_like, shape (H, W)
    w : array_like, shape (kH, kW)
    stride, padding, dilation : int
    fmt : str
    interval : int
        Milliseconds per frame.
    height : float
        Figure height in inches (the width follows from the three panels).
    max_frames : int
        Refuse to build longer animations (they make the page heavy).

    Returns
    -------
    matplotlib.animation.FuncAnimation
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    from ._sizes import conv_output_size

    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    if x.ndim != 2 or w.ndim != 2:
        raise ValueError(f"x and w must be 2-D, got shapes {x.shape} and {w.shape}")
    h_out, w_out = conv_output_size(x.shape, w.shape, stride, padding, dilation)
    n_frames = h_out * w_out
    if n_frames > max_frames:
        raise ValueError(f"{h_out}x{w_out} output needs {n_frames} frames > max_frames={max_frames}")
    widths = [x.shape[1] + 2 * padding, w.shape[1], w_out]
    fig, axes = plt.subplots(1, 3, figsize=(height * sum(widths) / max(x.shape[0] + 2 * padding, 1) + 1,
                                            height),
                             gridspec_kw={"width_ratios": widths})

    def update(step):
        for ax in axes:
            ax.clear()
        conv_window_frame(axes, x, w, step, stride, padding, dilation, fmt)
        return []

    update(0)
    fig.tight_layout()
    return FuncAnimation(fig, update, frames=n_frames, interval=interval, blit=False)
