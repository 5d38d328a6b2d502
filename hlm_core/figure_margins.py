"""Margins sized for a figure's labels before the browser draws it.

Our figures ask for tight margins and let plotly grow them to fit the tick labels, axis
titles and a legend above the plot ("automargin"). Plotly can only measure those after a
first drawing, and when they need more room it draws the whole figure again: measured in
Chromium, the second pass was ~0.05 s of a 325-group caterpillar's ~0.25 s. Margins that
already hold the labels make the first drawing the last. The estimate errs on the large side
(a few pixels of white space); where it is short, plotly still grows the margin as before, so
a label is never cut.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from hlm_core.figure_style import FONT
from hlm_core.figures import decode_array

# measured in Chromium on the app's figures (plotly 6, 13 px sans-serif): a numeric y axis
# with a title took 40 px plus its labels' width plus 10-11, an x axis 64 px with labels and
# a title and 40 with a title alone, a one-row legend above the plot 39 px
CHAR = 0.62  # width of an average character of the sans-serif font, in font sizes
DIGIT = 0.6  # width of a digit, a minus sign or a decimal point
TICK_GAP_Y = 12  # tick and gap beside a y axis's labels, px
TICK_GAP_X = 7  # below an x axis's labels, px
TITLE_GAP = 23  # an axis title's gap and standoff, px
LINE = 1.3  # line height, in font sizes
LEGEND_ITEM = 46  # a legend entry's symbol and gaps, px
LEGEND_WIDTH = 900  # the plot width a legend's entries are assumed to wrap at, px (main column)
LEGEND_ROW = 23  # px
LEGEND_PAD = 16  # px
SLACK = 4  # px on every estimated side


def _get(d, *path):
    """d[path[0]][path[1]]... or None: figures are read through plotly's own dicts (its
    property objects validate every look-up, ~1 ms each in the server)."""
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def _font_size(*fonts) -> float:
    for f in fonts:
        size = _get(f, "size")
        if size:
            return float(size)
    return float(FONT["size"])


def _text_width(text: str, size: float) -> float:
    return CHAR * size * max((len(line) for line in str(text).split("<br>")), default=0)


def _lines(text) -> int:
    return str(text).count("<br>") + 1 if text else 0


def _title(d) -> str | None:
    t = _get(d, "title")
    return t.get("text") if isinstance(t, dict) else t


def _values(data: list[dict], axis: str) -> tuple[list[np.ndarray], list[str]]:
    """The numbers and the category names the traces put on `axis` ("x" or "y"), with error
    bars' ends."""
    numbers: list[np.ndarray] = []
    names: list[str] = []
    for trace in data:
        if trace.get(f"{axis}axis", axis) != axis:  # another subplot
            continue
        v = _array(trace.get(axis))
        if v is None:
            start, step = trace.get(f"{axis}0"), trace.get(f"d{axis}")
            others = _array(trace.get("y" if axis == "x" else "x"))
            if start is not None and step is not None and others is not None:
                n = len(others)
                numbers.append(np.array([start, start + step * max(n - 1, 0)], dtype=float))
            continue
        arr = np.asarray(v)
        if arr.dtype.kind in "biuf":
            arr = arr.astype(float)
            numbers.append(arr)
            err = trace.get(f"error_{axis}")
            if isinstance(err, dict) and err.get("array") is not None:
                plus = np.asarray(_array(err["array"]), dtype=float)
                minus = (np.asarray(_array(err["arrayminus"]), dtype=float)
                         if err.get("arrayminus") is not None else plus)
                if plus.shape == arr.shape and minus.shape == arr.shape:
                    numbers += [arr + plus, arr - minus]
        elif arr.size:
            names += [str(x) for x in dict.fromkeys(arr.tolist()) if x is not None]
    return numbers, names


def _array(v):
    """A trace's data array as numpy (plotly keeps a copied figure's arrays base64-encoded);
    None when the trace doesn't set it."""
    return decode_array(v) if isinstance(v, dict) else v


def _tick_chars(lo: float, hi: float) -> int:
    """The most characters a tick label between lo and hi takes, as plotly writes them
    (thousands as "12k", at most about five significant figures); errs long."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 6
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    step = 10 ** math.floor(math.log10(span / 12)) if span > 0 else 1.0
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    big = max(abs(lo), abs(hi))
    if big >= 10_000:  # "12k", "1.5M": digits, a point and a letter
        chars = 5
    else:
        chars = len(f"{big:.{decimals}f}")
    return chars + (1 if lo < 0 else 0)


def _axis_need(layout: dict, data: list[dict], axis: str) -> float | None:
    """Room for an axis's tick labels and title across from the plot (width for y, height
    for x); None when it can't be told (e.g. dates, a log axis)."""
    ax = layout.get(f"{axis}axis") or {}
    if ax.get("type") not in (None, "-", "linear", "category"):
        return None
    font = layout.get("font")
    tick_size = _font_size(ax.get("tickfont"), font)
    title = _title(ax)
    title_size = _font_size(_get(ax, "title", "font"), font)
    need = 0.0
    if ax.get("showticklabels") is not False:
        if ax.get("ticktext") is not None:
            labels = [str(t) for t in ax["ticktext"]]
        else:
            numbers, names = _values(data, axis)
            labels = names
            if numbers and not names:
                allv = np.concatenate([a[np.isfinite(a)] for a in numbers])
                if ax.get("range") is not None:
                    lo, hi = (float(v) for v in ax["range"])
                elif len(allv):
                    lo, hi = float(np.min(allv)), float(np.max(allv))
                else:
                    lo, hi = 0.0, 1.0
                pad = 0.06 * (hi - lo)
                labels = ["0" * _tick_chars(lo - pad, hi + pad)]
        if not labels:
            labels = ["0" * 4]
        if axis == "y":
            numeric = not any(c.isalpha() for c in "".join(labels))
            need += max(_text_width(t, tick_size) for t in labels) * (
                DIGIT / CHAR if numeric else 1.0) + TICK_GAP_Y
        else:
            if any(len(t) * CHAR * tick_size > 90 for t in labels) and len(labels) > 4:
                return None  # plotly may turn long category labels: leave it to plotly
            need += LINE * tick_size + TICK_GAP_X
    if title:
        need += TITLE_GAP + LINE * title_size * _lines(title)
    return need


def _legend_need(layout: dict, data: list[dict]) -> tuple[str, float] | None:
    """(side, room) a legend outside the plot needs: "t" for a horizontal legend above it,
    "r" for the usual one at its right; None when it sits inside the plot or is hidden."""
    shown = [t for t in data if t.get("showlegend") is not False and t.get("name")]
    if layout.get("showlegend") is False or not shown:
        return None
    leg = layout.get("legend") or {}
    lsize = _font_size(leg.get("font"), layout.get("font"))
    if leg.get("orientation") == "h":
        y = leg.get("y")
        if y is None or y < 1 or leg.get("yanchor") not in (None, "bottom", "auto"):
            return None
        widths = [LEGEND_ITEM + _text_width(t["name"], lsize) for t in shown]
        rows = max(1, math.ceil(sum(widths) / LEGEND_WIDTH))
        return "t", LEGEND_PAD + rows * LEGEND_ROW + (LINE * lsize if _title(leg) else 0)
    x = leg.get("x")
    if x is not None and x <= 1:
        return None
    return "r", max(LEGEND_ITEM + _text_width(t["name"], lsize) for t in shown) + 20


def reserve_margins(fig: go.Figure) -> go.Figure:
    """`fig` (in place) with each margin at least what its labels need, so plotly draws it
    once. Figures with several subplots, or whose labels can't be told ahead (dates, log
    axes, turned category labels), keep the margins they asked for. A figure done once is
    marked and passes unchanged after (figures are kept between runs)."""
    layout, data = fig._layout, fig._data  # plotly's own dicts: read, never written here
    font = _font_size(layout.get("font"))
    if getattr(fig, "_hlm_margins", None) == font:
        return fig
    if any(k.startswith(("xaxis", "yaxis")) and k not in ("xaxis", "yaxis") for k in layout):
        return fig
    m = layout.get("margin") or {}
    cur = {k: m.get(k) if m.get(k) is not None else 80 for k in "lrtb"}
    new = dict(cur)
    left = _axis_need(layout, data, "y")
    bottom = _axis_need(layout, data, "x")
    if left is not None:
        new["l"] = max(cur["l"], math.ceil(left) + SLACK)
    if bottom is not None:
        new["b"] = max(cur["b"], math.ceil(bottom) + SLACK)
    top = 0.0
    title = _title(layout)
    if title:
        top += LINE * _font_size(_get(layout, "title", "font"), layout.get("font")) * _lines(
            title) + 14
    legend = _legend_need(layout, data)
    if legend is not None:
        side, room = legend
        if side == "t":
            top += room
        else:
            new["r"] = max(cur["r"], math.ceil(room))
    if top:
        new["t"] = max(cur["t"], math.ceil(top) + SLACK)
    if new != cur:
        fig.update_layout(margin=new)
    fig._hlm_margins = font
    return fig
