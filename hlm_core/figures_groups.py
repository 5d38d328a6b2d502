"""Figures with one point or line per group: the caterpillar of group effects and the lines of
each group's predictions (see `hlm_core.figures` for how to count the groups they show).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hlm_core.figure_intervals import (
    IntervalPoints,
    add_interval_band,
    add_interval_points,
    add_value_line,
    add_value_runs,
)
from hlm_core.figure_style import (
    ABOVE,
    BELOW,
    FONT,
    INK,
    LINE,
    MODES,
    WITHIN,
    ink,
    line_style,
    sorted_group_axes,
)
from hlm_core.plot_text import escape_figure, plot_escape
from hlm_core.report import num


def caterpillar(
    table: pd.DataFrame,
    term: str,
    mode: str = "own",
    *,
    title: str | None = None,
    value_title: str | None = None,
    group_title: str = "Group",
    highlight: bool = True,
    search: Iterable[str] = (),
    label_threshold: int = 50,
    band_threshold: int = 1000,
) -> go.Figure:
    """Caterpillar plot of one random term: one point per group with its 95% interval, sorted.

    `table` is `hlm_core.effects.ranef_table` output (long format). `mode="own"` plots each
    group's own value (fixed effect + random effect) with a reference line at the overall value
    (the fixed effect); `mode="deviation"` plots the random effect with the reference at 0.
    Groups whose interval excludes the reference are coloured when `highlight` is on.
    Up to `label_threshold` groups are listed by name down the side; more are drawn by rank
    (hover shows the name). Above `band_threshold` groups (thousands: a point is a fraction of
    a pixel wide) the values are one line through every group, sorted, in front of one band
    of their intervals, and the groups whose interval clears the reference are drawn over the
    line in their colours (figure_intervals: what draws fast without a graphics card).
    `search` marks the named groups with an arrow.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {sorted(MODES)}")
    c = caterpillar_data(table, term, mode)
    n = len(c.val)
    by_name = n <= label_threshold
    fig = go.Figure()
    points = _interval_points(c, by_name)
    if n > band_threshold:
        add_interval_band(fig, points, webgl=False)
        (within_label, _, within), *clear = interval_classes(c, highlight)
        add_value_line(fig, points, within_label, within)  # every group, with hover
        for label, mask, colour in clear:
            add_value_runs(fig, points, mask, label, colour)
    else:
        for label, mask, colour in interval_classes(c, highlight):  # a trace per class
            if mask.any():
                add_interval_points(fig, points, mask, label, colour, by_name=by_name,
                                    webgl=False, thin_bars=n > label_threshold,
                                    showlegend=highlight)
    height = sorted_group_axes(
        fig, c.names, c.ref, c.ref_label, by_name=by_name,
        value_title=value_title or MODES[mode], group_title=group_title,
        order_words="sorted from lowest to highest", base_height=140,
    )
    _mark_groups(fig, c, search, by_name)
    fig.update_layout(
        title={"text": title} if title else None,
        height=height,
        margin={"l": 10, "r": 10, "t": 60 if title else 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        hovermode="closest",
        font=FONT,
        uirevision=f"{term}-{mode}",
    )
    ink(fig)
    return escape_figure(fig)


@dataclass
class CaterpillarData:
    """One term's groups sorted by value: value, interval, name, size and rank of each, and the
    reference line (overall value or 0) with its label."""

    val: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    names: np.ndarray
    sizes: np.ndarray
    rank: np.ndarray
    ref: float
    ref_label: str


def caterpillar_data(table: pd.DataFrame, term: str, mode: str) -> CaterpillarData:
    """The values a caterpillar plot draws for `term`, sorted from lowest to highest."""
    t = table[table["term"] == term]
    if mode == "own":
        val = t["coef"].to_numpy(dtype=float)
        lo = t["coef_low"].to_numpy(dtype=float)
        hi = t["coef_high"].to_numpy(dtype=float)
        fixed = val - t["ranef"].to_numpy(dtype=float)
        ref = float(np.nanmedian(fixed)) if fixed.size else 0.0
        ref_label = f"overall average {num(ref)}"
    else:
        val = t["ranef"].to_numpy(dtype=float)
        lo = t["ranef_low"].to_numpy(dtype=float)
        hi = t["ranef_high"].to_numpy(dtype=float)
        ref = 0.0
        ref_label = "average (0)"

    order = np.argsort(val, kind="stable")
    val, lo, hi = val[order], lo[order], hi[order]
    names = _name_array(t["level"])[order]
    sizes = (
        t["n"].to_numpy()[order] if "n" in t.columns else np.full(len(val), np.nan, dtype=float)
    )
    n = len(val)
    rank = np.arange(1, n + 1)
    return CaterpillarData(val, lo, hi, names, sizes, rank, ref, ref_label)


SHORT_NAME = 64  # characters: names up to this long travel as a fixed-width text array


def _name_array(levels: pd.Series) -> np.ndarray:
    """Group names as fixed-width text rather than Python objects when they are short (as
    IDs are): plotly then neither checks nor copies 20,000 names one by one (when the figure
    is built, and in st.plotly_chart's deep copy). A fixed width is the longest name's, for
    every name, so a very long one keeps the names as objects."""
    text = levels.astype(str)
    if len(text) and text.str.len().max() <= SHORT_NAME:
        return text.to_numpy(dtype=str)
    return text.to_numpy(dtype=object)


def interval_classes(
    c: CaterpillarData, highlight: bool
) -> list[tuple[str, np.ndarray, str]]:
    """Legend label, mask and colour of the groups whose interval includes the reference, lies
    above it and lies below it (all in the first when `highlight` is off)."""
    n = len(c.val)
    above = c.lo > c.ref
    below = c.hi < c.ref
    within = ~(above | below)
    if not highlight:
        within = np.ones(n, dtype=bool)
        above = below = np.zeros(n, dtype=bool)
    groups = [
        ("Interval includes the average", within, WITHIN),
        ("Clearly above the average", above, ABOVE),
        ("Clearly below the average", below, BELOW),
    ]
    return groups


def _interval_points(c: CaterpillarData, by_name: bool) -> IntervalPoints:
    value_axis = "x" if by_name else "y"
    hover = (
        "<b>%{text}</b><br>"
        f"value %{{{value_axis}:.4g}}<br>"
        "95% interval %{customdata[1]:.4g} to %{customdata[2]:.4g}<br>"
        "n = %{customdata[0]}<extra></extra>"
    )
    custom = np.column_stack([c.sizes.astype(float), c.lo, c.hi])
    return IntervalPoints(c.rank, c.val, c.lo, c.hi, c.names, custom, hover)


def _mark_groups(fig: go.Figure, c: CaterpillarData, search: Iterable[str], by_name: bool) -> None:
    """An arrow to each searched-for group (at most 20)."""
    val, names, rank = c.val, c.names, c.rank
    wanted = {str(s) for s in search}
    if wanted:
        hits = np.flatnonzero(np.isin(names, list(wanted)))[:20]
        for i in hits:
            fig.add_annotation(
                x=val[i] if by_name else rank[i],
                y=names[i] if by_name else val[i],
                text=str(names[i]),
                font={"weight": "bold"},
                showarrow=True,
                arrowhead=2,
                arrowcolor="#111827",
                ax=40,
                ay=-30,
                bgcolor="rgba(255,255,255,0.9)",
                bordercolor="#111827",
            )


def group_lines(
    df: pd.DataFrame,
    predictor: str,
    outcome: str,
    title: str,
    *,
    y_range: Sequence[float] | None = None,
    order: Sequence[str] | None = None,
    max_traces: int = 12,
    legend_max: int = 12,
) -> go.Figure:
    """One line per group: `df` has columns `[predictor, "group", "prediction"]`
    (`effects.pred_slope` or `effects.group_ols_lines`).

    Up to `max_traces` groups: one trace per group (named after it; distinct colours and a
    legend up to `legend_max` groups). More: one SVG trace, lines separated by gaps (the same
    grey lines as a trace each, for a fraction of the work in the server and the browser). Every
    point's `text` is its group's name. `order` lists the groups in the order (and so the
    colours) to draw them, e.g. the model's group order, so two figures of the same groups match;
    by default the order of first appearance in `df`.
    """
    d = df[[predictor, "group", "prediction"]]
    group_col = d["group"].astype(str)
    codes = group_codes(group_col, order)
    n_groups = len(np.unique(codes))
    hover = (
        "<b>%{text}</b><br>"
        f"{plot_escape(predictor)} %{{x:.4g}}<br>{plot_escape(outcome)} %{{y:.4g}}"
        "<extra></extra>"
    )
    fig = go.Figure()
    coloured = n_groups <= legend_max
    if n_groups <= max_traces:
        _add_line_per_group(fig, d, predictor, group_col, codes, hover, coloured, y_range)
    else:
        _add_lines_in_one_trace(fig, d, predictor, group_col, codes, hover, n_groups)
    yaxis = {"title": {"text": outcome}, "zeroline": False}
    if y_range:
        yaxis["range"] = list(y_range)
    fig.update_layout(
        xaxis={"title": {"text": predictor}, "zeroline": False},
        yaxis=yaxis,
        # the title at the top, the legend's rows between it and the plot (`_top_margin`)
        title={"text": title, "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 10}},
        height=480,
        # room on the right for the labels at the lines' ends
        margin={"l": 10, "t": _top_margin(group_col, coloured), "b": 10,
                "r": min(160, 20 + 7 * _longest(group_col)) if coloured else 10},
        hovermode="closest",
        font=FONT,
        # above the plot: at the side it would sit on the labels at the lines' ends
        legend={"title": None, "orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
    )
    ink(fig)
    return escape_figure(fig)


def _longest(group_col: pd.Series) -> int:
    return max((len(str(g)) for g in pd.unique(group_col)), default=0)


def _top_margin(group_col: pd.Series, coloured: bool) -> int:
    """Room above the plot for the title and the legend's rows, so that long group names
    ("Class A") wrapping the legend onto a third row never run over the title. Rows are counted
    for a half-width chart (two side by side, ~360 px): a legend item is its line sample and
    gap (~68 px) plus ~7 px per character."""
    if not coloured:
        return 60
    n = len(pd.unique(group_col))
    rows = math.ceil(n * (68 + 7 * _longest(group_col)) / 360)
    return 50 + 20 * max(rows, 1)


def group_codes(group_col: pd.Series, order: Sequence[str] | None) -> np.ndarray:
    """Each row's group as a number in drawing order: `order` first, then groups not in it
    in order of appearance (all in order of appearance without `order`)."""
    if order is not None:
        known = pd.Index([str(g) for g in order])
        codes = known.get_indexer(group_col)
        extra = codes < 0
        if extra.any():  # groups not in `order` go last, in order of appearance
            codes[extra] = len(known) + pd.factorize(group_col[extra])[0]
    else:
        codes = pd.factorize(group_col)[0]
    return codes


def _rows_in_order(
    d: pd.DataFrame, predictor: str, group_col: pd.Series, codes: np.ndarray, idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group names, group codes, x and y of the rows, taken in the order `idx`."""
    g_sorted = group_col.to_numpy(dtype=object)[idx]
    c_sorted = codes[idx]
    xs = d[predictor].to_numpy(dtype=float)[idx]
    ys = d["prediction"].to_numpy(dtype=float)[idx]
    return g_sorted, c_sorted, xs, ys


def _add_line_per_group(
    fig: go.Figure,
    d: pd.DataFrame,
    predictor: str,
    group_col: pd.Series,
    codes: np.ndarray,
    hover: str,
    coloured: bool,
    y_range: Sequence[float] | None = None,
) -> None:
    """One Scatter trace per group, named after it (coloured, with a dash pattern, a legend
    and a label at its end, when few)."""
    idx = np.argsort(codes, kind="stable")
    g_sorted, c_sorted, xs, ys = _rows_in_order(d, predictor, group_col, codes, idx)
    # no rows (e.g. no group has two values of a class-level predictor): no lines
    bounds = np.flatnonzero(np.r_[True, c_sorted[1:] != c_sorted[:-1], True]) if len(
        c_sorted
    ) else []
    ends: list[tuple[float, float, str]] = []
    traces = []
    for k in range(len(bounds) - 1):
        a, b = bounds[k], bounds[k + 1]
        name = g_sorted[a]
        colour, dash = line_style(c_sorted[a]) if coloured else (LINE, "solid")
        if coloured:  # a label at the line's right end: no need to match colours
            end = a + int(np.argmax(xs[a:b]))
            ends.append((xs[end], ys[end], str(name)))
        traces.append(
            go.Scatter(
                x=xs[a:b],
                y=ys[a:b],
                name=name,
                mode="lines",
                line={"color": colour, "width": 2.5 if coloured else 1.2, "dash": dash},
                opacity=1.0 if coloured else 0.45,
                text=[name] * (b - a),
                hovertemplate=hover,
                showlegend=coloured,
            )
        )
    fig.add_traces(traces)  # at once: plotly checks the figure's data once, not per trace
    _end_labels(fig, ends, ys, y_range)


def _end_labels(fig: go.Figure, ends: list[tuple[float, float, str]], ys: np.ndarray,
                y_range: Sequence[float] | None) -> None:
    """Each line's name at its right end, nudged apart vertically (labels of lines ending close
    together would print on top of each other): at least 1/24 of the y range between them."""
    if not ends:
        return
    lo, hi = y_range if y_range else (float(np.nanmin(ys)), float(np.nanmax(ys)))
    gap = (hi - lo) / 24 if hi > lo else 0.0
    placed: list[float] = []
    labels = []
    for x, y, name in sorted(ends, key=lambda e: e[1]):
        y_label = max(y, placed[-1] + gap) if placed else y
        placed.append(y_label)
        labels.append({"x": x, "y": y_label, "text": name, "showarrow": False,
                       "xanchor": "left", "xshift": 4, "font": {"color": INK, "size": 12}})
    # at once: each add_annotation checks every annotation before it again
    fig.update_layout(annotations=[*fig.layout.annotations, *labels])


def _add_lines_in_one_trace(
    fig: go.Figure,
    d: pd.DataFrame,
    predictor: str,
    group_col: pd.Series,
    codes: np.ndarray,
    hover: str,
    n_groups: int,
) -> None:
    """Every group's line in one SVG trace, separated by gaps: one path element however many
    lines, so thousands draw fast. (WebGL was slower: without a graphics card Chromium renders
    it in software, ~1 s of CPU per chart.)"""
    idx = np.lexsort((d[predictor].to_numpy(dtype=float), codes))
    g_sorted, c_sorted, xs, ys = _rows_in_order(d, predictor, group_col, codes, idx)
    starts = np.flatnonzero(np.r_[False, c_sorted[1:] != c_sorted[:-1]])
    # NaN breaks a line (plotly draws no segment across it); x, y stay compact float arrays
    x_all = np.insert(xs, starts, np.nan)
    y_all = np.insert(ys, starts, np.nan)
    t_all = np.insert(g_sorted, starts, None)
    fig.add_trace(
        go.Scatter(
            x=x_all,
            y=y_all,
            text=t_all,  # object array: much faster for plotly than a list
            mode="lines",
            connectgaps=False,
            # up to 200 groups as the lines of a trace each looked before (fewer lines, each
            # can be a little stronger); thousands fainter, so the bundle shows its spread
            line={"color": LINE, "width": 1.2 if n_groups <= 200 else 1},
            opacity=0.45 if n_groups <= 200 else 0.35,
            name=f"{n_groups:,} groups",
            hovertemplate=hover,
            showlegend=False,
        )
    )


def spread_groups(df: pd.DataFrame, k: int) -> list[str]:
    """`k` of the groups in a lines table, evenly spread from the lowest line to the highest
    (by mean prediction; the extremes always included), for drawing a readable, fast subset."""
    means = df.groupby(df["group"].astype(str), sort=False)["prediction"].mean().sort_values(
        kind="stable"
    )
    if len(means) <= k:
        return list(means.index)
    pick = np.unique(np.round(np.linspace(0, len(means) - 1, k)).astype(int))
    return list(means.index[pick])
