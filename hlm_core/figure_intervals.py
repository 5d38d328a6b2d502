"""Groups drawn as points with 95% intervals, sorted along one axis: the caterpillar
(figures_groups) and the rank plot (figures_fair) draw them the same way, here.

Up to `label_threshold` groups each gets its name on the category axis and horizontal error
bars; more groups go along a numbered axis with vertical bars; thousands of groups get no bars
at all but one shaded band from each group's low to high end behind the points (thousands of
error bars take seconds to draw in a software-rendered browser): behind `Scattergl` points (the
rank plot), or, in the caterpillar, behind one line through every group's value (`add_value_line`),
both SVG: at 20,000 groups that draws in ~1.2 s of the browser's CPU, against ~1.8 s for WebGL
points and band (software WebGL, without a graphics card) and 4-8 s for SVG markers or one
NaN-separated segment per interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

BAND_FILL = "rgba(148,163,184,0.35)"
BAND_BINS = 2000  # steps of an SVG band at most: finer than a pixel on any screen


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


def add_interval_band(fig: go.Figure, p: IntervalPoints, *, webgl: bool = True) -> None:
    """One band from every group's low to high end (for thousands of groups, instead of
    bars): two line traces (low ends, high ends by rank) filled between, `Scattergl` or, with
    `webgl` off, SVG (one filled path)."""
    band = {"mode": "lines", "line": {"width": 0}, "hoverinfo": "skip",
            "legendgroup": "intervals"}
    if webgl:
        x, lo, hi, scatter = p.pos, p.lo, p.hi, go.Scattergl
    else:
        (x, lo, hi), scatter = band_steps(p.lo, p.hi), go.Scatter
    fig.add_trace(scatter(x=x, y=lo, name="95% intervals (low)", showlegend=False, **band))
    fig.add_trace(scatter(x=x, y=hi, name="95% intervals", fill="tonexty", fillcolor=BAND_FILL,
                          showlegend=True, **band))


def band_steps(lo: np.ndarray, hi: np.ndarray, bins: int = BAND_BINS
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The band of intervals (sorted by rank 1..n) as steps: neighbours in bins of k (the
    fewest that make at most `bins` bins; k = 1 up to `bins` groups), each bin drawn flat
    from half a rank before its first group to half a rank after its last, from its lowest
    low to its highest high. So the band covers every group's whole interval and is no wider
    than the groups in each bin make it; at 20,000 groups a bin is half a pixel wide, and the
    browser draws 4,000 corners instead of 20,000 (~0.15 s of its CPU a chart)."""
    n = len(lo)
    k = max(1, -(-n // bins))
    m = -(-n // k)
    pad = m * k - n
    low = np.concatenate([lo, np.full(pad, np.inf)]).reshape(m, k).min(axis=1)
    high = np.concatenate([hi, np.full(pad, -np.inf)]).reshape(m, k).max(axis=1)
    first = np.arange(m) * k + 1
    last = np.minimum(first + k - 1, n)
    x = np.column_stack([first - 0.5, last + 0.5]).ravel()
    return x, np.repeat(low, 2), np.repeat(high, 2)


def add_value_line(fig: go.Figure, p: IntervalPoints, label: str, colour: str) -> None:
    """Every group's value, joined in sorted order: one SVG line (one path element however
    many groups) for thousands of groups, where points would merge into a line anyway. Each
    vertex is a group: hovering names it, with its value, interval and size."""
    fig.add_trace(go.Scatter(y=p.val, mode="lines", name=label, **_ranks(p),
                             line={"color": colour, "width": 1.5}, customdata=p.custom,
                             text=p.names, hovertemplate=p.hover))


def add_value_runs(fig: go.Figure, p: IntervalPoints, mask: np.ndarray, label: str,
                   colour: str) -> None:
    """The groups in `mask` drawn over the value line in `colour`: each run of neighbours in
    the sorted order as a stretch of line, the runs separated by gaps, in one SVG trace (no
    hover: the line under it names every group). At 20,000 groups a group is a twentieth of
    a pixel wide, so what shows is where the runs are, as with points."""
    idx = np.flatnonzero(mask)
    if not idx.size:
        return
    breaks = np.flatnonzero(np.diff(idx) > 1) + 1  # where a run ends and the next begins
    x = np.insert(p.pos[idx].astype(float), breaks, np.nan)
    y = np.insert(p.val[idx], breaks, np.nan)
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=label, hoverinfo="skip",
                             connectgaps=False, line={"color": colour, "width": 2.5}))


def _ranks(p: IntervalPoints) -> dict:
    """The positions 1, 2, ..., n as plotly's `x0` and `dx` (nothing to send) when that is
    what they are, else as `x`."""
    n = len(p.pos)
    if n and np.array_equal(p.pos, np.arange(1, n + 1)):
        return {"x0": 1, "dx": 1}
    return {"x": p.pos}


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
