"""Plotly figures built from hlm_core's tables (no streamlit here).

The class-effects figures (caterpillar, group lines, shrinkage, ranks) are built from whole
arrays (no per-group Python loops over points), so they stay fast with 20,000 groups; the
diagnostics figures draw at most a fixed number of points (a subset or an even spread).

How to count what a figure shows (tests and the browser suite do this): in the class-effects
figures every point's `text` is the name of its group, so the groups shown are the distinct
`text` values of each trace (`groups_in_figure`; in `shrinkage_plot` a group appears in two
traces, its own and its model estimate, so count distinct names).

* `caterpillar`: one point per group, each with its 95% interval; the reference line is a layout
  shape. Each point's `customdata` row is `[n, interval low, interval high]` (numbers: they
  travel to the browser as compact typed arrays). Up to `band_threshold` groups (1,000) every
  trace is a set of groups with the intervals as error bars. Above it (a group is a fraction of
  a pixel wide) everything is SVG: the intervals are one band (two line traces, low and high
  ends by rank, filled between, no `text`), every group's value is one line through them in
  sorted order (the trace with every group's `text` and `customdata`: hover), and the groups
  whose interval clears the reference are drawn over it in their colours, one trace per class
  with gaps between runs of neighbours (no `text`). The ranks 1..n go as `x0`/`dx`. Thousands
  of error bars, SVG markers or WebGL points take seconds to draw in a browser without a
  graphics card (figure_intervals).
* `group_lines`: up to `max_traces` groups (default 12, the coloured ones) there is one
  `Scatter` trace per group, named after the group. Above that, one `Scatter` trace holds
  every line, separated by gaps (NaN in x and y, `None` in text): one SVG path however many
  lines (software WebGL, without a graphics card, cost ~1 s of the browser's CPU per chart).
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import plotly.graph_objects as go

from hlm_core.figure_style import (
    ABOVE,
    BELOW,
    DASHES,
    FONT,
    INK,
    LINE,
    MODES,
    QUALITATIVE,
    WITHIN,
    _standard_layout,
    category_axis,
    line_style,
    scale_fonts,
)
from hlm_core.figures_checks import ladder_plot, qq_plot, residuals_vs_fitted, spread_plot
from hlm_core.figures_fair import rank_plot, shrinkage_plot
from hlm_core.figures_groups import caterpillar, group_lines, spread_groups
from hlm_core.figures_plan import power_clusters_figure, power_effect_figure
from hlm_core.plot_text import plot_unescape

# The figures live in figure_style (look), figures_groups (one point or line per group),
# figures_fair (shrinkage, ranks), figures_checks (diagnostics, ladder) and figures_plan (power
# curves of a study plan); callers import
# them from here.
__all__ = [
    "ABOVE",
    "BELOW",
    "DASHES",
    "FONT",
    "INK",
    "LINE",
    "MODES",
    "QUALITATIVE",
    "WITHIN",
    "_standard_layout",
    "category_axis",
    "caterpillar",
    "decode_array",
    "group_lines",
    "groups_in_figure",
    "ladder_plot",
    "line_style",
    "power_clusters_figure",
    "power_effect_figure",
    "qq_plot",
    "rank_plot",
    "residuals_vs_fitted",
    "scale_fonts",
    "shrinkage_plot",
    "spread_groups",
    "spread_plot",
]

# ----------------------------------------------------------------------------- reading back


def decode_array(value: Any) -> np.ndarray:
    """A trace array as plotly JSON holds it: a list, or `{"dtype", "bdata"[, "shape"]}`."""
    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            shape = value["shape"]
            if isinstance(shape, str):
                shape = [int(s) for s in shape.split(",")]
            arr = arr.reshape(shape)
        return arr
    if value is None:
        return np.array([], dtype=object)
    return np.asarray(value, dtype=object)


def groups_in_figure(fig: go.Figure | dict) -> list[str]:
    """The groups a caterpillar or group-lines figure shows: each trace's distinct point
    labels (`text`), in trace order (see the module doc)."""
    data = fig.to_plotly_json()["data"] if isinstance(fig, go.Figure) else fig["data"]
    out: list[str] = []
    for trace in data:
        text = trace.get("text")
        if text is None or isinstance(text, str):
            continue
        out.extend(dict.fromkeys(plot_unescape(str(v)) for v in decode_array(text)
                                 if v is not None))
    return out


