"""Groups drawn as points with 95% intervals, sorted along one axis: the caterpillar
(figures_groups) and the rank plot (figures_fair) draw them the same way, here.

Up to `label_threshold` groups each gets its name on the category axis and horizontal error
bars; more groups go along a numbered axis with vertical bars; with WebGL (thousands of groups)
no bars at all but one shaded band from each group's low to high end behind the points
(thousands of error bars take seconds to draw in a software-rendered browser).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

BAND_FILL = "rgba(148,163,184,0.35)"


@dataclass(frozen=True)
class IntervalPoints:
    """Sorted groups: position on the sorted axis, value and its interval, names, hover."""

    pos: np.ndarray  # 1..n along the sorted axis
    val: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    names: np.ndarray  # group names (text), shown on hover and on a category axis
    custom: np.ndarray  # per point, what `hover` reads as customdata
    hover: str


def add_interval_band(fig: go.Figure, p: IntervalPoints) -> None:
    """One band from every group's low to high end (for WebGL plots, instead of bars)."""
    band = {"mode": "lines", "line": {"width": 0}, "hoverinfo": "skip",
            "legendgroup": "intervals"}
    fig.add_trace(go.Scattergl(x=p.pos, y=p.lo, name="95% intervals (low)", showlegend=False,
                               **band))
    fig.add_trace(go.Scattergl(x=p.pos, y=p.hi, name="95% intervals", fill="tonexty",
                               fillcolor=BAND_FILL, showlegend=True, **band))


def add_interval_points(
    fig: go.Figure,
    p: IntervalPoints,
    mask: np.ndarray,
    label: str,
    colour: str,
    *,
    by_name: bool,
    webgl: bool,
    thin_bars: bool,
    showlegend: bool | None = None,
) -> None:
    """The groups in `mask` as one trace named `label` in `colour`: along the names with
    horizontal bars (`by_name`), else along `pos` with vertical bars, or none with WebGL.
    `thin_bars`: no caps on the bars (many groups). `showlegend` None leaves plotly's
    default."""
    n = len(p.val)
    err = {"type": "data", "symmetric": False, "array": p.hi[mask] - p.val[mask],
           "arrayminus": p.val[mask] - p.lo[mask], "color": colour, "thickness": 1.2,
           "width": 0 if thin_bars else 3}
    common = {"name": label, "mode": "markers",
              "marker": {"color": colour, "size": 7 if n <= 200 else 4},
              "customdata": p.custom[mask], "text": p.names[mask], "hovertemplate": p.hover}
    if showlegend is not None:
        common["showlegend"] = showlegend
    scatter = go.Scattergl if webgl else go.Scatter
    if by_name:
        fig.add_trace(scatter(x=p.val[mask], y=p.names[mask], error_x=err, **common))
    elif webgl:
        fig.add_trace(scatter(x=p.pos[mask], y=p.val[mask], **common))
    else:
        fig.add_trace(scatter(x=p.pos[mask], y=p.val[mask], error_y=err, **common))
