"""User text in plotly figures shown as text, never as plotly's pseudo-HTML (issue 17.3).

plotly.js reads `<a href=…>`, `<b>`, `<br>` and entities in tick labels, hover text, legends,
titles and annotations; a class ID `<a href="http://…">click me</a>` became a live link on the
caterpillar, in the app and in the HTML report. `escape_figure` escapes `&`, `<` and `>` in
every text a figure shows that can hold user text (trace names, point labels, category axis
values and their order, axis and figure titles, annotations, legend titles); plotly turns the
entities back into the characters on screen. Hover templates are ours: builders escape any
user text they put into one with `plot_escape`.

`escape_figure` is applied once, at the end of each builder in `hlm_core.figures`; text that is
already escaped must not pass through it again (it would show `&amp;lt;`).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["escape_figure", "plot_escape", "plot_unescape"]

_SPECIAL = ("&", "<", ">")


def plot_escape(text: Any) -> Any:
    """`text` with &, < and > written as entities (None and numbers pass unchanged)."""
    if isinstance(text, str):
        return html.escape(text, quote=False) if any(c in text for c in _SPECIAL) else text
    return text


def plot_unescape(text: str) -> str:
    """The user's text back from a figure label (for tests and lookups)."""
    return html.unescape(text) if "&" in text else text


def _escape_array(values: Any) -> Any:
    """An array of labels escaped; unchanged (the same object) when nothing needs it, checked
    on the distinct values only so that 400,000 repeated labels cost a hash, not a loop."""
    if values is None or isinstance(values, str):
        return plot_escape(values)
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if arr.dtype.kind not in "OUS" or arr.size == 0:
        return values
    flat = arr.ravel()
    uniques = pd.unique(pd.Series(flat, dtype=object))
    texts = [u for u in uniques if isinstance(u, str)]
    joined = "\n".join(texts)  # one scan in C: IDs rarely hold &, < or >
    if not any(c in joined for c in _SPECIAL):
        return values
    bad = {u for u in texts if any(c in u for c in _SPECIAL)}
    if not bad:
        return values
    out = np.array([plot_escape(v) if v in bad else v for v in flat], dtype=object)
    return out.reshape(arr.shape)


def _escape_title(obj: Any) -> None:
    title = getattr(obj, "title", None)
    if title is not None and getattr(title, "text", None):
        title.text = plot_escape(title.text)


def escape_figure(fig: Any) -> Any:
    """`fig` (changed in place, and returned) with user text made plain for plotly."""
    for trace in fig.data:
        props = trace._props if hasattr(trace, "_props") else {}
        for attr in ("text", "hovertext", "x", "y"):
            if attr in props or getattr(trace, attr, None) is not None:
                value = getattr(trace, attr, None)
                new = _escape_array(value)
                if new is not value:
                    setattr(trace, attr, new)
        if getattr(trace, "name", None):
            trace.name = plot_escape(trace.name)
        legend_title = getattr(trace, "legendgrouptitle", None)
        if legend_title is not None and legend_title.text:
            legend_title.text = plot_escape(legend_title.text)
    layout = fig.layout
    _escape_title(layout)
    if layout.legend is not None:
        _escape_title(layout.legend)
    # the axes the figure sets (plotly's own layout dict: dir(layout) lists every property)
    for name in [k for k in fig._layout if k.startswith(("xaxis", "yaxis"))]:
        if getattr(layout, name, None) is not None:
            axis = getattr(layout, name)
            _escape_title(axis)
            if axis.categoryarray is not None:
                axis.categoryarray = list(_escape_array(list(axis.categoryarray)))
            if axis.ticktext is not None:
                axis.ticktext = list(_escape_array(list(axis.ticktext)))
            if axis.tickvals is not None:  # on a category axis: categories, now escaped
                axis.tickvals = list(_escape_array(list(axis.tickvals)))
    for ann in layout.annotations or ():
        if ann.text:
            ann.text = plot_escape(ann.text)
        for pos in ("x", "y"):  # a position on a category axis is a (now escaped) category
            if isinstance(getattr(ann, pos), str):
                setattr(ann, pos, plot_escape(getattr(ann, pos)))
    return fig
