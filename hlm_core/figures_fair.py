"""Fair-comparison figures: how far each group's estimate is pulled towards the average
(shrinkage) and how certain each group's rank is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hlm_core.figure_intervals import IntervalPoints, add_interval_band, add_interval_points
from hlm_core.figure_style import (
    ABOVE,
    BELOW,
    WITHIN,
    _standard_layout,
    category_axis,
    sorted_group_axes,
)
from hlm_core.plot_text import escape_figure
from hlm_core.report import num

# ----------------------------------------------------------------------------- fair comparisons


def _marker_sizes(n: np.ndarray, smallest: float = 5.0, largest: float = 18.0) -> np.ndarray:
    """Marker diameters growing with the square root of group size (area ~ n)."""
    n = np.asarray(n, dtype=float)
    top = np.nanmax(n) if n.size and np.isfinite(n).any() else 1.0
    return smallest + (largest - smallest) * np.sqrt(np.nan_to_num(n) / max(top, 1.0))


def shrinkage_data(
    table: pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Own estimates, model estimates, names and sizes sorted by the own estimate (groups
    without one by the model's), and the overall average."""
    t = table.reset_index(drop=True)
    own = t["own_estimate"].to_numpy(dtype=float)
    model = t["model_estimate"].to_numpy(dtype=float)
    sort_key = np.where(np.isfinite(own), own, model)
    order = np.argsort(sort_key, kind="stable")
    own, model = own[order], model[order]
    names = t["level"].astype(str).to_numpy(dtype=object)[order]
    sizes = t["n"].to_numpy(dtype=float)[order]
    average = float(t["average"].iloc[0]) if len(t) else 0.0
    return own, model, names, sizes, average


def shrinkage_plot(
    table: pd.DataFrame,
    *,
    value_title: str = "Estimate",
    group_title: str = "Group",
    label_threshold: int = 50,
    webgl_threshold: int = 2000,
) -> go.Figure:
    """Shrinkage: each group's own estimate (open circle: its data alone) joined to the model's
    estimate (filled circle, area ~ group size n) by a segment, against the overall average
    (dashed line). Small groups have long segments: the model pulls them toward the average.

    `table` is `hlm_core.fairness.shrinkage` output (level, n, own_estimate, model_estimate,
    average). Groups are sorted by their own estimate. Up to `label_threshold` groups are listed
    by name down the side; more are drawn by rank. Every point's `text` is its group's name;
    each point's `customdata` row is `[n, own estimate, model estimate]`.
    """
    own, model, names, sizes, average = shrinkage_data(table)
    n = len(names)
    by_name = n <= label_threshold
    pos = names if by_name else np.arange(1, n + 1)
    webgl = n > webgl_threshold
    scatter = go.Scattergl if webgl else go.Scatter

    def xy(p, v):
        return {"x": v, "y": p} if by_name else {"x": p, "y": v}

    # one trace of segments, broken by gaps (fast for thousands of groups)
    has_own = np.isfinite(own)
    # by rank, the positions are numbers with NaN gaps: a compact typed array (as an object
    # array with None, 60,000 values took ~0.1 s to serialise on every rerun of the page)
    seg_p = np.repeat(np.asarray(pos, dtype=object if by_name else float)[has_own], 3)
    seg_v = np.column_stack(
        [own[has_own], model[has_own], np.full(int(has_own.sum()), np.nan)]
    ).ravel()
    seg_p[2::3] = None if by_name else np.nan
    custom = np.column_stack([sizes, own, model])
    hover = (
        "<b>%{text}</b><br>n = %{customdata[0]}<br>own data %{customdata[1]:.4g}<br>"
        "model %{customdata[2]:.4g}<extra></extra>"
    )
    fig = go.Figure()
    fig.add_trace(
        scatter(
            **xy(seg_p, seg_v),
            mode="lines",
            line={"color": WITHIN, "width": 1.5},
            hoverinfo="skip",
            name="Pulled toward the average",
            showlegend=True,
        )
    )
    fig.add_trace(
        scatter(
            **xy(np.asarray(pos)[has_own], own[has_own]),
            mode="markers",
            marker={"symbol": "circle-open", "color": BELOW, "size": 8 if n <= 200 else 5,
                    "line": {"width": 1.5}},
            name="Own data only",
            text=names[has_own],
            customdata=custom[has_own],
            hovertemplate=hover,
        )
    )
    fig.add_trace(
        scatter(
            **xy(pos, model),
            mode="markers",
            marker={"color": ABOVE, "size": _marker_sizes(sizes), "opacity": 0.85,
                    "line": {"width": 0}},
            name="Model estimate (size = students in the group)",
            text=names,
            customdata=custom,
            hovertemplate=hover,
        )
    )
    height = sorted_group_axes(
        fig, names, average, f"overall average {num(average)}", by_name=by_name,
        value_title=value_title, group_title=group_title,
        order_words="sorted by their own data", base_height=160,
    )
    _standard_layout(fig, height)
    return escape_figure(fig)


def rank_plot(
    table: pd.DataFrame,
    *,
    group_title: str = "Group",
    n_ranked: int | None = None,
    label_threshold: int = 50,
    webgl_threshold: int = 1000,
) -> go.Figure:
    """Each group's expected rank (1 = highest) with its 95% interval, best first.

    `table` is `hlm_core.fairness.expected_ranks` output (level, expected_rank, rank_low,
    rank_high; an `n` column is shown on hover when present). `n_ranked` is how many groups the
    ranks are among (all of the model's groups, also when some are hidden here). Groups whose
    whole interval lies in the top (bottom) half of the ranking are coloured; one trace per
    colour. Every point's `text` is its group's name; `customdata` rows are
    `[n, rank low, rank high]`.
    """
    t = table.sort_values("expected_rank", kind="stable").reset_index(drop=True)
    er = t["expected_rank"].to_numpy(dtype=float)
    lo = t["rank_low"].to_numpy(dtype=float)
    hi = t["rank_high"].to_numpy(dtype=float)
    names = t["level"].astype(str).to_numpy(dtype=object)
    sizes = t["n"].to_numpy(dtype=float) if "n" in t.columns else np.full(len(t), np.nan)
    n = len(t)
    total = n_ranked or n
    by_name = n <= label_threshold
    webgl = n > webgl_threshold
    half = (total + 1) / 2
    top = hi < half  # the whole interval in the top half of the ranking
    bottom = lo > half
    either = ~(top | bottom)
    custom = np.column_stack([sizes, lo, hi])
    value_axis = "x" if by_name else "y"
    hover = (
        "<b>%{text}</b><br>"
        f"expected rank %{{{value_axis}:.1f}} of {total:,}<br>"
        "95% interval %{customdata[1]:.0f} to %{customdata[2]:.0f}<br>"
        "n = %{customdata[0]}<extra></extra>"
    )
    fig = go.Figure()
    points = IntervalPoints(np.arange(1, n + 1), er, lo, hi, names, custom, hover)
    if webgl and not by_name:
        add_interval_band(fig, points)
    for label, mask, colour in (
        ("Could be in either half", either, WITHIN),
        ("Clearly in the top half", top, ABOVE),
        ("Clearly in the bottom half", bottom, BELOW),
    ):
        if mask.any():
            add_interval_points(fig, points, mask, label, colour, by_name=by_name, webgl=webgl,
                                thin_bars=n > label_threshold)
    height = _rank_axes(fig, names, total, by_name, group_title)
    _standard_layout(fig, height)
    return escape_figure(fig)


def _rank_axes(
    fig: go.Figure, names: np.ndarray, total: int, by_name: bool, group_title: str
) -> int:
    """Axis titles and ranges (rank 1 at the top or left); returns the figure's height."""
    n = len(names)
    rank_title = f"Rank among {total:,} (1 = highest)"
    if by_name:
        fig.update_yaxes(**category_axis(list(names)[::-1]), title=group_title,
                         automargin=True)
        fig.update_xaxes(title=rank_title, range=[0.5, total + 0.5], zeroline=False)
        height = 160 + 24 * max(n, 3)
    else:
        fig.update_xaxes(title=f"{group_title}, best expected rank first ({n:,} groups)",
                         showticklabels=False, range=[0, n + 1])
        fig.update_yaxes(title=rank_title, range=[total + 0.5, 0.5], zeroline=False)
        height = 520
    return height
