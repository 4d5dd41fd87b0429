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
           "conv_window_frame", "conv_animation", "explorable", "Explorable", "knobs_from", "table",
           "conv_taps", "conv_explorer"]


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
              vmax=None, highlight=None, highlight_color="tab:red", fontsize=8):
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
    fontsize : float
        Size of the written values in points (an explorable frame needs larger text than a
        laptop figure: :func:`explorable` checks it).
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
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=fontsize,
                        color="white" if (hi > lo and v > mid) else "black")
    # cell borders as two line collections (minor ticks + grid would cost a tick object per line)
    ax.hlines(np.arange(0.5, h - 1, 1), -0.5, w - 0.5, color="white", linewidth=1)
    ax.vlines(np.arange(0.5, w - 1, 1), -0.5, h - 0.5, color="white", linewidth=1)
    ax.set_xticks([])
    ax.set_yticks([])
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

    Closes the figure so the notebook does not also show its last frame as a static image. The
    player is wrapped in a ``cnnlib-anim`` block whose CSS fits it to narrow screens: matplotlib's
    fixed 374-px slider and nine 36-px buttons would overflow a 390-px phone, so the frame scales
    down to the column width, the slider follows it and the buttons wrap if they must.
    """
    import matplotlib.pyplot as plt
    from IPython.display import HTML

    css = """<style>
.cnnlib-anim .animation { display: block; max-width: 100%; }
.cnnlib-anim .animation img { max-width: 100%; height: auto; }
.cnnlib-anim input[type=range].anim-slider { width: 100%; max-width: 374px; box-sizing: border-box; }
.cnnlib-anim .anim-buttons { display: flex; flex-wrap: wrap; justify-content: center; gap: 2px; }
.cnnlib-anim .anim-buttons button { flex: 0 1 34px; width: 34px; min-width: 26px; }
</style>
"""
    html = anim.to_jshtml(default_mode=default_mode)
    plt.close(anim._fig)
    return HTML(f'{css}<div class="cnnlib-anim">{html}</div>')


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
        The complete output (computed with :func:`cnnlib.conv2d`, ``method="direct"``: the
        textbook loops the frame shows, and on a reader's first run the only numba kernel an
        animation compiles).
    """
    from matplotlib.patches import Rectangle

    from ._conv import conv2d

    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    if x.ndim != 2 or w.ndim != 2:
        raise ValueError(f"x and w must be 2-D, got shapes {x.shape} and {w.shape}")
    y = conv2d(x[None], w[None, None], stride=stride, padding=padding, dilation=dilation,
               method="direct")[0]
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
                   max_frames=30, max_width=4.0):
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
        Largest figure height in inches (the width follows from the three panels).
    max_frames : int
        Refuse to build longer animations (they make the page heavy).
    max_width : float
        Largest figure width in inches. The default keeps the frame at about the width of a
        phone screen (390 CSS px at the book's 100 dpi), so the numbers in the cells stay
        readable there instead of being scaled down.

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
    rows = max(x.shape[0] + 2 * padding, w.shape[0], h_out)
    # inches per grid cell: square cells, plus room for the gaps and the titles
    cell = min(height / (rows + 1.4), max_width / (sum(widths) + 2.0))
    fig, axes = plt.subplots(1, 3, figsize=(cell * (sum(widths) + 2.0), cell * (rows + 1.4)),
                             gridspec_kw={"width_ratios": widths})

    def update(step):
        for ax in axes:
            ax.clear()
        conv_window_frame(axes, x, w, step, stride, padding, dilation, fmt)
        return []

    update(0)
    fig.tight_layout()
    return FuncAnimation(fig, update, frames=n_frames, interval=interval, blit=False)


# --- Tables ---------------------------------------------------------------------------------

_ALIGN = {"l": "left", "r": "right", "c": "center", "left": "left", "right": "right",
          "center": "center"}
# A number as a chapter prints it: sign, digits with optional thousands separators, decimals,
# exponent, then at most a short unit ("1,792", "-0.25", "1.7e9", "12.8 MB", "87×", "7.9%").
_NUMERIC = r"[-+\u2212]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][-+]?\d+)?\s?(%|×|x|[A-Za-zµ]{1,3})?"


def _cell_text(value):
    """How a cell is shown: strings as given, ints and floats with thousands separators."""
    import numbers

    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return f"{float(value):,}"
    return str(value)


def _is_numeric(value, text):
    import numbers
    import re

    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return True
    return (isinstance(value, str) and any(c.isdigit() for c in text)
            and re.fullmatch(_NUMERIC, text.strip()) is not None)


def _table_type():
    """The class of :func:`table`'s result (made on first use: IPython is imported lazily)."""
    global _Table
    if _Table is None:
        from IPython.display import HTML

        class Table(HTML):
            """An HTML table for notebooks and the website, with a plain-text ``repr``.

            Attributes: ``columns``, ``rows`` (the cells' text), ``align`` ("left"/"right"/"center"
            per column), ``caption``, ``data`` (the HTML) and ``text`` (the plain-text table).
            """

            def __init__(self, html_text, text, columns, rows, align, caption):
                super().__init__(html_text)
                self.text, self.columns, self.rows = text, columns, rows
                self.align, self.caption = align, caption

            def __repr__(self):
                return self.text

            def __str__(self):
                return self.text

        _Table = Table
    return _Table


_Table = None


def table(rows, columns, align=None, caption=None, max_rows=12):
    """A table of numbers that reads well on the website and as plain text.

    Numeric columns are right-aligned in tabular figures (digits of equal width) with padding
    between the columns, so that ``448`` and ``442,368`` in neighbouring columns do not run
    together; text columns are left-aligned.

    Parameters
    ----------
    rows : sequence of sequences
        One sequence of cells per row, each as long as ``columns``. A string is shown as given
        (format numbers yourself for units or decimals: ``f"{x:.1f} MB"``); an int or a float is
        shown with thousands separators (``1792`` → ``1,792``); ``None`` as an empty cell.
    columns : sequence of str
        The column headings.
    align : str or sequence of str, optional
        One alignment per column: a string of letters ``"lrrc"`` or a sequence of ``"left"``,
        ``"right"``, ``"center"``. By default a column is right-aligned when every non-empty cell
        is a number: an int or a float, or a string such as ``"1,792"``, ``"-0.25"``, ``"1.7e9"``,
        ``"12.8 MB"``, ``"87×"`` (a number and at most a three-letter unit); else left-aligned.
    caption : str, optional
        A caption above the table (state its conventions there, e.g. "bias excluded").
    max_rows : int or None
        Rows shown on the page (default 12, what a phone screen holds next to the prose). The rest
        follow in a collapsed ``<details>`` ("Show the other N rows") as a second table with the
        same headings, so a long table neither runs for pages nor loses a row. ``None`` shows all.
        The plain-text ``repr`` always has every row.

    Returns
    -------
    Table
        An ``IPython.display.HTML`` (a ``<table>``; Jupyter and the website display it) whose
        ``repr`` is the same table as plain text; ``.columns``, ``.rows`` (cell texts) and
        ``.align`` give the content.

    Raises
    ------
    TypeError
        ``rows`` or a row is not a sequence, a heading is not a string, ``max_rows`` not an int.
    ValueError
        No columns, a row whose length differs from ``columns`` (ragged rows), an ``align``
        of the wrong length or with an unknown alignment, or ``max_rows < 1``.

    Notes
    -----
    Chapter 23 (output size, parameters and FLOPs) shows its counts with it.
    """
    import html
    from collections.abc import Sequence

    if isinstance(columns, str) or not isinstance(columns, Sequence):
        raise TypeError(f"columns={columns!r} must be a sequence of headings (str)")
    columns = list(columns)
    if not columns:
        raise ValueError("columns=[] must name at least one column")
    for j, c in enumerate(columns):
        if not isinstance(c, str):
            raise TypeError(f"columns[{j}]={c!r} must be a str")
    if isinstance(rows, (str, bytes)) or not isinstance(rows, (Sequence, np.ndarray)):
        raise TypeError(f"rows={type(rows).__name__} must be a sequence of rows (a list of lists)")
    raw = []
    for i, row in enumerate(rows):
        if isinstance(row, (str, bytes)) or not isinstance(row, (Sequence, np.ndarray)):
            raise TypeError(f"rows[{i}]={row!r} must be a sequence of cells")
        row = list(row)
        if len(row) != len(columns):
            raise ValueError(f"rows[{i}] has {len(row)} cells but columns has {len(columns)}: "
                             "every row needs one cell per column (ragged rows)")
        raw.append(row)
    cells = [[_cell_text(v) for v in row] for row in raw]

    if align is None:
        align = []
        for j in range(len(columns)):
            filled = [(row[j], text[j]) for row, text in zip(raw, cells)
                      if text[j].strip() not in ("", "—")]
            numeric = bool(filled) and all(_is_numeric(v, t) for v, t in filled)
            align.append("right" if numeric else "left")
    else:
        spec = list(align) if isinstance(align, str) else list(align)
        if len(spec) != len(columns):
            raise ValueError(f"align={align!r} gives {len(spec)} alignments for "
                             f"{len(columns)} columns")
        bad = [a for a in spec if not isinstance(a, str) or a not in _ALIGN]
        if bad:
            raise ValueError(f"align={align!r}: unknown alignment {bad[0]!r} (use l/r/c or "
                             "left/right/center)")
        align = [_ALIGN[a] for a in spec]
    if caption is not None and not isinstance(caption, str):
        raise TypeError(f"caption={caption!r} must be a str or None")
    if max_rows is not None:
        if isinstance(max_rows, bool) or not isinstance(max_rows, int):
            raise TypeError(f"max_rows={max_rows!r} must be an int or None")
        if max_rows < 1:
            raise ValueError(f"max_rows={max_rows} must be at least 1 (None shows every row)")

    esc = html.escape
    pad = "padding:.2em .8em"
    head = "".join(f'<th style="text-align:{a};{pad};white-space:nowrap">{esc(c)}</th>'
                   for c, a in zip(columns, align))
    def body(part):
        return "".join("<tr>" + "".join(
            f'<td style="text-align:{a};{pad}{";white-space:nowrap" if a == "right" else ""}">'
            f"{esc(t)}</td>" for t, a in zip(row, align)) + "</tr>" for row in part)

    def html_table(part, cap=""):
        return (f'<table class="cnnlib-table" style="border-collapse:collapse;'
                f'font-variant-numeric:tabular-nums;margin:.5em 0">{cap}'
                f"<thead><tr>{head}</tr></thead><tbody>{body(part)}</tbody></table>")

    cap = (f'<caption style="caption-side:top;text-align:left;padding:.2em 0">'
           f"{esc(caption)}</caption>" if caption else "")
    shown = len(cells) if max_rows is None else min(max_rows, len(cells))
    html_text = html_table(cells[:shown], cap)
    if shown < len(cells):
        rest = len(cells) - shown
        html_text += (f'<details class="cnnlib-table-more"><summary>Show the other {rest} '
                      f'row{"s" if rest > 1 else ""}</summary>{html_table(cells[shown:])}</details>')

    widths = [max([len(c)] + [len(row[j]) for row in cells]) for j, c in enumerate(columns)]

    def line(values):
        return "  ".join(v.rjust(w) if a == "right" else v.center(w) if a == "center"
                         else v.ljust(w) for v, w, a in zip(values, widths, align)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    text = "\n".join(([caption] if caption else []) + [line(columns), rule]
                     + [line(row) for row in cells])
    return _table_type()(html_text, text, columns, cells, align, caption)


# --- The convolution explorer (chapters 15–22) --------------------------------------------------

def conv_taps(in_size, kernel_size, stride=1, padding=0, dilation=1, index=0):
    """Input positions read by output ``index`` of a 1-D convolution, in input coordinates.

    Tap ``t`` of output ``i`` reads ``i·s − p + t·d``; a position ``< 0`` or ``≥ in_size`` is a
    padding zero. Apply per dimension for 2-D. Raises ``ValueError`` when the layer has no output
    or ``index`` is not one of its outputs.

    Returns
    -------
    list of int, length ``kernel_size``
    """
    from ._sizes import conv_output_size

    n_out = conv_output_size(in_size, kernel_size, stride, padding, dilation)
    if not 0 <= index < n_out:
        raise ValueError(f"index={index} is not an output of this layer (outputs 0..{n_out - 1})")
    return [index * stride - padding + t * dilation for t in range(kernel_size)]


def conv_explorer(ax, H=7, k=3, s=1, p=0, d=1, C_in=4, C_out=4, g=1, i=0, j=0, c_out=0):
    """One convolution layer at a glance, for a ``draw(ax, **knobs)`` of the chapters on kinds of
    convolution: which inputs feed output ``(c_out, i, j)``, and what the layer costs.

    Left: the ``H×H`` input with its padding (grey), the taps of output ``(i, j)`` (red, ``d``
    apart) and the window's extent. Right: the ``C_out × C_in`` channel connections (filled where
    a weight exists: block-diagonal for ``g`` groups, a diagonal for depthwise), row ``c_out``
    highlighted. Below: output shape, parameters (with bias), MACs and FLOPs from
    :func:`cnnlib.conv_output_size`, :func:`cnnlib.conv_params` and :func:`cnnlib.conv_macs`.
    ``i``, ``j`` and ``c_out`` beyond the output are clamped to its last position; an impossible
    layer shows the library's error message instead. Square input and kernel.
    """
    from matplotlib.patches import Rectangle

    from ._cost import conv_macs, conv_params
    from ._sizes import conv_output_size

    ax.set_axis_off()
    try:
        H_out = conv_output_size(H, k, s, p, d)
        params = conv_params(C_in, C_out, k, groups=g)
        macs = conv_macs(C_in, C_out, k, H_out, groups=g)
    except (ValueError, TypeError) as err:
        import textwrap

        ax.text(0.5, 0.5, "no valid layer:\n" + textwrap.fill(str(err), 36), ha="center",
                va="center", fontsize=10, color="tab:red", transform=ax.transAxes)
        return None
    i, j, c_out = min(i, H_out - 1), min(j, H_out - 1), min(c_out, C_out - 1)
    rows, cols = conv_taps(H, k, s, p, d, i), conv_taps(H, k, s, p, d, j)
    ax_in, ax_ch = split_axes(ax, [H + 2 * p, max(6, (H + 2 * p) * 0.6)], gap=0.1, top=0.78)

    n = H + 2 * p
    for r in range(n):                                # the padded input, padding grey
        for c in range(n):
            pad = not (p <= r < p + H and p <= c < p + H)
            ax_in.add_patch(Rectangle((c, r), 1, 1, facecolor="0.82" if pad else "#dbe8f5",
                                      edgecolor="white", linewidth=0.8))
    for r in rows:                                    # taps of output (i, j): x[r, c] at r + p
        for c in cols:
            ax_in.add_patch(Rectangle((c + p + 0.12, r + p + 0.12), 0.76, 0.76,
                                      facecolor="tab:red", edgecolor="none"))
    span = d * (k - 1) + 1
    ax_in.add_patch(Rectangle((cols[0] + p, rows[0] + p), span, span, fill=False,
                              edgecolor="tab:red", linewidth=1.5, linestyle="-" if d == 1 else ":"))
    ax_in.set_xlim(0, n)
    ax_in.set_ylim(n, 0)
    ax_in.set_aspect("equal")
    ax_in.set_axis_off()
    ax_in.set_title(f"input {H}×{H}, p={p}\noutput ({i}, {j}) reads {k}×{k} taps", fontsize=10)

    per_group_in, per_group_out = C_in // g, C_out // g
    for co in range(C_out):                           # weight w[co, ci] exists iff same group
        grp = co // per_group_out
        for ci in range(C_in):
            linked = ci // per_group_in == grp
            colour = ("tab:red" if co == c_out else "tab:blue") if linked else "0.93"
            ax_ch.add_patch(Rectangle((ci, co), 1, 1, facecolor=colour, edgecolor="white",
                                      linewidth=0.6))
    ax_ch.set_xlim(0, C_in)
    ax_ch.set_ylim(C_out, 0)
    ax_ch.set_aspect("equal")
    ax_ch.set_axis_off()
    ax_ch.set_title(f"channels, g={g}\nrows: {C_out} out, cols: {C_in} in", fontsize=10)

    ax.text(0.0, -0.04,
            f"{C_in}×{H}×{H} → {C_out}×{H_out}×{H_out}   (k={k}, s={s}, p={p}, d={d})\n"
            f"params {params:,} (with bias)   MACs {macs:,}   FLOPs {2 * macs:,}",
            transform=ax.transAxes, va="top", ha="left", fontsize=10)
    return H_out
