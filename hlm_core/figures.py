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
  travel to the browser as compact typed arrays). Up to `webgl_threshold` groups (1,000) every
  trace is a set of groups with the intervals as error bars. Above it the points are `Scattergl`
  traces and the intervals are one band (two `Scattergl` line traces, low and high ends by
  rank, filled between, no `text`): thousands of error bars take seconds to draw in a browser
  without a graphics card, and at that density a band shows the same spread.
* `group_lines`: up to `max_traces` groups (default 200) there is one `Scatter` trace per group,
  named after the group. Above that, one `Scattergl` trace holds every line, separated by gaps
  (NaN in x and y, `None` in text).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hlm_core.report import num

ABOVE = "#1d4ed8"  # blue
BELOW = "#c2410c"  # orange
WITHIN = "#94a3b8"  # slate grey
LINE = "#2563eb"
QUALITATIVE = (
    "#2563eb",
    "#dc2626",
    "#16a34a",
    "#9333ea",
    "#ea580c",
    "#0891b2",
    "#ca8a04",
    "#db2777",
    "#4b5563",
    "#65a30d",
)

MODES = {"own": "Group's own value", "deviation": "Deviation from average"}
FONT = {"family": "sans-serif", "size": 13}



def _standard_layout(fig: go.Figure, height: int) -> None:
    """The layout the model-check and comparison figures share: legend on top, tight margins."""
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        hovermode="closest",
        font=FONT,
    )

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
    webgl_threshold: int = 1000,
) -> go.Figure:
    """Caterpillar plot of one random term: one point per group with its 95% interval, sorted.

    `table` is `hlm_core.effects.ranef_table` output (long format). `mode="own"` plots each
    group's own value (fixed effect + random effect) with a reference line at the overall value
    (the fixed effect); `mode="deviation"` plots the random effect with the reference at 0.
    Groups whose interval excludes the reference are coloured when `highlight` is on.
    Up to `label_threshold` groups are listed by name down the side; more are drawn by rank
    (hover shows the name). `search` marks the named groups with an arrow.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {sorted(MODES)}")
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
    names = t["level"].astype(str).to_numpy(dtype=object)[order]
    sizes = (
        t["n"].to_numpy()[order] if "n" in t.columns else np.full(len(val), np.nan, dtype=float)
    )
    n = len(val)
    by_name = n <= label_threshold
    rank = np.arange(1, n + 1)

    above = lo > ref
    below = hi < ref
    within = ~(above | below)
    if not highlight:
        within = np.ones(n, dtype=bool)
        above = below = np.zeros(n, dtype=bool)
    groups = [
        ("Interval includes the average", within, WITHIN),
        ("Clearly above the average", above, ABOVE),
        ("Clearly below the average", below, BELOW),
    ]
    webgl = n > webgl_threshold
    scatter = go.Scattergl if webgl else go.Scatter
    custom = np.column_stack([sizes.astype(float), lo, hi])
    value_axis = "x" if by_name else "y"
    hover = (
        "<b>%{text}</b><br>"
        f"value %{{{value_axis}:.4g}}<br>"
        "95% interval %{customdata[1]:.4g} to %{customdata[2]:.4g}<br>"
        "n = %{customdata[0]}<extra></extra>"
    )
    fig = go.Figure()
    if webgl:
        # Thousands of error bars (or segments) are slow to draw without a graphics card
        # (seconds for 20,000 groups in a software-rendered browser); at this density one band
        # from each group's low to high end, behind the points, shows the same spread.
        band = {"mode": "lines", "line": {"width": 0}, "hoverinfo": "skip",
                "legendgroup": "intervals"}
        fig.add_trace(go.Scattergl(x=rank, y=lo, name="95% intervals (low)", showlegend=False,
                                   **band))
        fig.add_trace(go.Scattergl(x=rank, y=hi, name="95% intervals", fill="tonexty",
                                   fillcolor="rgba(148,163,184,0.35)", showlegend=True, **band))
    for label, mask, colour in groups:
        if not mask.any():
            continue
        err = {
            "type": "data",
            "symmetric": False,
            "array": hi[mask] - val[mask],
            "arrayminus": val[mask] - lo[mask],
            "color": colour,
            "thickness": 1.2,
            "width": 0 if n > label_threshold else 3,
        }
        marker = {"color": colour, "size": 7 if n <= 200 else 4}
        common = {
            "name": label,
            "mode": "markers",
            "marker": marker,
            "customdata": custom[mask],
            "text": names[mask],
            "hovertemplate": hover,
            "showlegend": highlight,
        }
        if by_name:
            fig.add_trace(scatter(x=val[mask], y=names[mask], error_x=err, **common))
        elif not webgl:
            fig.add_trace(scatter(x=rank[mask], y=val[mask], error_y=err, **common))
        else:
            fig.add_trace(scatter(x=rank[mask], y=val[mask], **common))

    value_title = f"{value_title or MODES[mode]}  (dashed line: {ref_label})"
    if by_name:
        fig.add_vline(x=ref, line={"color": "#334155", "dash": "dash", "width": 1.5})
        fig.update_yaxes(
            categoryorder="array", categoryarray=list(names), title=group_title, automargin=True
        )
        fig.update_xaxes(title=value_title, zeroline=False)
        height = 140 + 24 * max(n, 3)
    else:
        fig.add_hline(y=ref, line={"color": "#334155", "dash": "dash", "width": 1.5})
        fig.update_xaxes(
            title=f"{group_title}, sorted from lowest to highest ({n:,} groups)",
            showticklabels=n <= 0,
            range=[0, n + 1],
        )
        fig.update_yaxes(title=value_title, zeroline=False)
        height = 520
    wanted = {str(s) for s in search}
    if wanted:
        hits = np.flatnonzero(np.isin(names, list(wanted)))[:20]
        for i in hits:
            fig.add_annotation(
                x=val[i] if by_name else rank[i],
                y=names[i] if by_name else val[i],
                text=f"<b>{names[i]}</b>",
                showarrow=True,
                arrowhead=2,
                arrowcolor="#111827",
                ax=40,
                ay=-30,
                bgcolor="rgba(255,255,255,0.9)",
                bordercolor="#111827",
            )

    fig.update_layout(
        title={"text": title} if title else None,
        height=height,
        margin={"l": 10, "r": 10, "t": 60 if title else 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        hovermode="closest",
        font=FONT,
        uirevision=f"{term}-{mode}",
    )
    return fig


def group_lines(
    df: pd.DataFrame,
    predictor: str,
    outcome: str,
    title: str,
    *,
    y_range: Sequence[float] | None = None,
    order: Sequence[str] | None = None,
    max_traces: int = 200,
    legend_max: int = 12,
) -> go.Figure:
    """One line per group: `df` has columns `[predictor, "group", "prediction"]`
    (`effects.pred_slope` or `effects.group_ols_lines`).

    Up to `max_traces` groups: one trace per group (named after it; distinct colours and a
    legend up to `legend_max` groups). More: one WebGL trace, lines separated by gaps. Every
    point's `text` is its group's name. `order` lists the groups in the order (and so the
    colours) to draw them, e.g. the model's group order, so two figures of the same groups match;
    by default the order of first appearance in `df`.
    """
    d = df[[predictor, "group", "prediction"]]
    group_col = d["group"].astype(str)
    if order is not None:
        known = pd.Index([str(g) for g in order])
        codes = known.get_indexer(group_col)
        extra = codes < 0
        if extra.any():  # groups not in `order` go last, in order of appearance
            codes[extra] = len(known) + pd.factorize(group_col[extra])[0]
    else:
        codes = pd.factorize(group_col)[0]
    n_groups = len(np.unique(codes))
    hover = (
        "<b>%{text}</b><br>"
        f"{predictor} %{{x:.4g}}<br>{outcome} %{{y:.4g}}<extra></extra>"
    )
    fig = go.Figure()
    if n_groups <= max_traces:
        coloured = n_groups <= legend_max
        idx = np.argsort(codes, kind="stable")
        g_sorted = group_col.to_numpy(dtype=object)[idx]
        c_sorted = codes[idx]
        xs = d[predictor].to_numpy(dtype=float)[idx]
        ys = d["prediction"].to_numpy(dtype=float)[idx]
        # no rows (e.g. no group has two values of a class-level predictor): no lines
        bounds = np.flatnonzero(np.r_[True, c_sorted[1:] != c_sorted[:-1], True]) if len(
            c_sorted
        ) else []
        for k in range(len(bounds) - 1):
            a, b = bounds[k], bounds[k + 1]
            name = g_sorted[a]
            colour = QUALITATIVE[c_sorted[a] % len(QUALITATIVE)] if coloured else LINE
            fig.add_trace(
                go.Scatter(
                    x=xs[a:b],
                    y=ys[a:b],
                    name=name,
                    mode="lines",
                    line={"color": colour, "width": 2.5 if coloured else 1.2},
                    opacity=1.0 if coloured else 0.45,
                    text=[name] * (b - a),
                    hovertemplate=hover,
                    showlegend=coloured,
                )
            )
    else:
        idx = np.lexsort((d[predictor].to_numpy(dtype=float), codes))
        g_sorted = group_col.to_numpy(dtype=object)[idx]
        c_sorted = codes[idx]
        xs = d[predictor].to_numpy(dtype=float)[idx]
        ys = d["prediction"].to_numpy(dtype=float)[idx]
        starts = np.flatnonzero(np.r_[False, c_sorted[1:] != c_sorted[:-1]])
        # NaN breaks a line (plotly draws no segment across it); x, y stay compact float arrays
        x_all = np.insert(xs, starts, np.nan)
        y_all = np.insert(ys, starts, np.nan)
        t_all = np.insert(g_sorted, starts, None)
        fig.add_trace(
            go.Scattergl(
                x=x_all,
                y=y_all,
                text=t_all,  # object array: much faster for plotly than a list
                mode="lines",
                connectgaps=False,
                line={"color": LINE, "width": 1},
                opacity=0.35,
                name=f"{n_groups:,} groups",
                hovertemplate=hover,
                showlegend=False,
            )
        )
    fig.update_xaxes(title=predictor, zeroline=False)
    fig.update_yaxes(title=outcome, zeroline=False, range=list(y_range) if y_range else None)
    fig.update_layout(
        title={"text": title},
        height=480,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        hovermode="closest",
        font=FONT,
        legend={"title": None},
    )
    return fig


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
        out.extend(dict.fromkeys(str(v) for v in decode_array(text) if v is not None))
    return out


# ----------------------------------------------------------------------------- fair comparisons


def _marker_sizes(n: np.ndarray, smallest: float = 5.0, largest: float = 18.0) -> np.ndarray:
    """Marker diameters growing with the square root of group size (area ~ n)."""
    n = np.asarray(n, dtype=float)
    top = np.nanmax(n) if n.size and np.isfinite(n).any() else 1.0
    return smallest + (largest - smallest) * np.sqrt(np.nan_to_num(n) / max(top, 1.0))


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
    t = table.reset_index(drop=True)
    own = t["own_estimate"].to_numpy(dtype=float)
    model = t["model_estimate"].to_numpy(dtype=float)
    sort_key = np.where(np.isfinite(own), own, model)
    order = np.argsort(sort_key, kind="stable")
    own, model = own[order], model[order]
    names = t["level"].astype(str).to_numpy(dtype=object)[order]
    sizes = t["n"].to_numpy(dtype=float)[order]
    average = float(t["average"].iloc[0]) if len(t) else 0.0
    n = len(t)
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
    ref_label = f"overall average {num(average)}"
    title = f"{value_title}  (dashed line: {ref_label})"
    if by_name:
        fig.add_vline(x=average, line={"color": "#334155", "dash": "dash", "width": 1.5})
        fig.update_yaxes(categoryorder="array", categoryarray=list(names), title=group_title,
                         automargin=True)
        fig.update_xaxes(title=title, zeroline=False)
        height = 160 + 24 * max(n, 3)
    else:
        fig.add_hline(y=average, line={"color": "#334155", "dash": "dash", "width": 1.5})
        fig.update_xaxes(title=f"{group_title}, sorted by their own data ({n:,} groups)",
                         showticklabels=False, range=[0, n + 1])
        fig.update_yaxes(title=title, zeroline=False)
        height = 520
    _standard_layout(fig, height)
    return fig


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
    scatter = go.Scattergl if webgl else go.Scatter
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
    pos = np.arange(1, n + 1)
    if webgl and not by_name:
        band = {"mode": "lines", "line": {"width": 0}, "hoverinfo": "skip",
                "legendgroup": "intervals"}
        fig.add_trace(go.Scattergl(x=pos, y=lo, showlegend=False, name="95% intervals (low)",
                                   **band))
        fig.add_trace(go.Scattergl(x=pos, y=hi, fill="tonexty",
                                   fillcolor="rgba(148,163,184,0.35)",
                                   name="95% intervals", showlegend=True, **band))
    for label, mask, colour in (
        ("Could be in either half", either, WITHIN),
        ("Clearly in the top half", top, ABOVE),
        ("Clearly in the bottom half", bottom, BELOW),
    ):
        if not mask.any():
            continue
        err = {"type": "data", "symmetric": False, "array": hi[mask] - er[mask],
               "arrayminus": er[mask] - lo[mask], "color": colour, "thickness": 1.2,
               "width": 0 if n > label_threshold else 3}
        common = {
            "mode": "markers",
            "marker": {"color": colour, "size": 7 if n <= 200 else 4},
            "text": names[mask],
            "customdata": custom[mask],
            "hovertemplate": hover,
            "name": label,
        }
        if by_name:
            fig.add_trace(scatter(x=er[mask], y=names[mask], error_x=err, **common))
        elif webgl:
            fig.add_trace(scatter(x=pos[mask], y=er[mask], **common))
        else:
            fig.add_trace(scatter(x=pos[mask], y=er[mask], error_y=err, **common))
    rank_title = f"Rank among {total:,} (1 = highest)"
    if by_name:
        fig.update_yaxes(categoryorder="array", categoryarray=list(names)[::-1],
                         title=group_title, automargin=True)
        fig.update_xaxes(title=rank_title, range=[0.5, total + 0.5], zeroline=False)
        height = 160 + 24 * max(n, 3)
    else:
        fig.update_xaxes(title=f"{group_title}, best expected rank first ({n:,} groups)",
                         showticklabels=False, range=[0, n + 1])
        fig.update_yaxes(title=rank_title, range=[total + 0.5, 0.5], zeroline=False)
        height = 520
    _standard_layout(fig, height)
    return fig


# ----------------------------------------------------------------------------- diagnostics


def _thin(n: int, max_points: int, seed: int = 7) -> np.ndarray:
    """Indices of at most `max_points` of `n` points (a fixed random subset, in order)."""
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_points, replace=False))


def residuals_vs_fitted(
    df: pd.DataFrame, *, outcome: str = "outcome", max_points: int = 20000, bins: int = 20
) -> go.Figure:
    """Residuals against fitted values (`hlm_core.diagnostics.fitted_and_residuals`), with a
    line through the mean residual in `bins` slices of the fitted values: it should stay flat
    near 0. Above `max_points` rows a fixed random subset is drawn (the trend uses them all)."""
    fitted = df["fitted"].to_numpy(dtype=float)
    resid = df["residual"].to_numpy(dtype=float)
    keep = _thin(len(df), max_points)
    scatter = go.Scattergl if len(keep) > 2000 else go.Scatter
    fig = go.Figure()
    fig.add_trace(
        scatter(
            x=fitted[keep],
            y=resid[keep],
            mode="markers",
            marker={"color": LINE, "size": 5 if len(keep) <= 2000 else 3, "opacity": 0.45},
            text=df["group"].astype(str).to_numpy(dtype=object)[keep],
            hovertemplate="<b>%{text}</b><br>fitted %{x:.4g}<br>residual %{y:.4g}<extra></extra>",
            name="students" if len(keep) == len(df) else f"{len(keep):,} of {len(df):,} rows",
            showlegend=False,
        )
    )
    if len(df) >= 2 * bins:
        edges = np.unique(np.quantile(fitted, np.linspace(0, 1, bins + 1)))
        which = np.clip(np.searchsorted(edges, fitted, side="right") - 1, 0, len(edges) - 2)
        cnt = np.bincount(which, minlength=len(edges) - 1)
        ok = cnt > 0
        mx = np.bincount(which, fitted, len(edges) - 1)[ok] / cnt[ok]
        my = np.bincount(which, resid, len(edges) - 1)[ok] / cnt[ok]
        fig.add_trace(
            go.Scatter(x=mx, y=my, mode="lines+markers", line={"color": BELOW, "width": 2.5},
                       marker={"size": 5}, name="mean residual (trend)", hoverinfo="skip")
        )
    fig.add_hline(y=0, line={"color": "#334155", "dash": "dash", "width": 1.5})
    fig.update_xaxes(title=f"Fitted {outcome} (fixed part + group effects)", zeroline=False)
    fig.update_yaxes(title="Residual", zeroline=False)
    _standard_layout(fig, 420)
    return fig


def qq_plot(
    qq: pd.DataFrame,
    title: str,
    *,
    labels: Sequence[str] | None = None,
    max_points: int = 3000,
) -> go.Figure:
    """Normal Q-Q plot of `hlm_core.diagnostics.qq_points` output, with the line through the
    quartiles (R's qqline). Points on the line: the values look normally distributed. Above
    `max_points` points an even spread of them is drawn, always with both tails."""
    th = qq["theoretical"].to_numpy(dtype=float)
    sa = qq["sample"].to_numpy(dtype=float)
    n = len(qq)
    if n > max_points:
        keep = np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(int))
    else:
        keep = np.arange(n)
    fig = go.Figure()
    trace = {
        "x": th[keep],
        "y": sa[keep],
        "mode": "markers",
        "marker": {"color": LINE, "size": 5 if len(keep) <= 500 else 3, "opacity": 0.7},
        "name": title,
        "showlegend": False,
    }
    if labels is not None:
        trace["text"] = np.asarray(labels, dtype=object)[keep]
        trace["hovertemplate"] = (
            "<b>%{text}</b><br>expected %{x:.3g}<br>observed %{y:.4g}<extra></extra>"
        )
    else:
        trace["hovertemplate"] = "expected %{x:.3g}<br>observed %{y:.4g}<extra></extra>"
    fig.add_trace((go.Scattergl if len(keep) > 2000 else go.Scatter)(**trace))
    if n >= 4:
        q1, q3 = np.quantile(sa, [0.25, 0.75])
        t1, t3 = -0.6744897501960817, 0.6744897501960817
        slope = (q3 - q1) / (t3 - t1)
        icpt = q1 - slope * t1
        xs = np.array([th.min(), th.max()])
        fig.add_trace(go.Scatter(x=xs, y=icpt + slope * xs, mode="lines",
                                 line={"color": BELOW, "dash": "dash", "width": 1.5},
                                 hoverinfo="skip", showlegend=False, name="reference line"))
    fig.update_xaxes(title="Expected if normal (z)", zeroline=False)
    fig.update_yaxes(title="Observed", zeroline=False)
    fig.update_layout(
        title={"text": title, "font": {"size": 14}},
        height=340,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        hovermode="closest",
        font=FONT,
    )
    return fig


def spread_plot(spread: pd.DataFrame, sigma: float, *, group_title: str = "Group") -> go.Figure:
    """Residual SD of each group against its size (`hlm_core.diagnostics.residual_spread`),
    with the model's residual SD as a dashed line. Small groups scatter widely by chance; a
    large group far above the line has unusually mixed results."""
    s = spread.dropna(subset=["sd"])
    n = len(s)
    scatter = go.Scattergl if n > 2000 else go.Scatter
    fig = go.Figure()
    fig.add_trace(
        scatter(
            x=s["n"].to_numpy(dtype=float),
            y=s["sd"].to_numpy(dtype=float),
            mode="markers",
            marker={"color": LINE, "size": 7 if n <= 500 else 4, "opacity": 0.7},
            text=s["group"].astype(str).to_numpy(dtype=object),
            hovertemplate=(
                "<b>%{text}</b><br>n = %{x}<br>residual SD %{y:.4g}<extra></extra>"
            ),
            showlegend=False,
            name=group_title,
        )
    )
    fig.add_hline(y=sigma, line={"color": "#334155", "dash": "dash", "width": 1.5})
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", hoverinfo="skip",
                             line={"color": "#334155", "dash": "dash", "width": 1.5},
                             name=f"the model's residual SD ({num(sigma)})"))
    sizes = s["n"].to_numpy(dtype=float)
    if n and sizes.max() > 20 * max(sizes.min(), 1):
        ticks = [v * 10**e for e in range(0, 8) for v in (1, 2, 5)]
        ticks = [v for v in ticks if sizes.min() / 2 <= v <= sizes.max() * 2]
        fig.update_xaxes(type="log", tickvals=ticks, ticktext=[f"{v:,}" for v in ticks])
    fig.update_xaxes(title=f"Students in the {group_title}")
    fig.update_yaxes(title="Residual SD in the group", rangemode="tozero")
    _standard_layout(fig, 380)
    return fig


# ----------------------------------------------------------------------------- model ladder


def ladder_plot(table: pd.DataFrame) -> go.Figure:
    """AIC and BIC of each model of a ladder (`hlm_core.compare.ladder(...).table`), in the
    ladder's order: lower is better; the lowest of each is marked."""
    names = table["model"].astype(str).tolist()
    fig = go.Figure()
    for col, colour, symbol in (("AIC", LINE, "circle"), ("BIC", BELOW, "square")):
        vals = table[col].to_numpy(dtype=float)
        fig.add_trace(go.Scatter(
            x=names, y=vals, mode="lines+markers", name=col,
            line={"color": colour, "width": 2.5}, marker={"size": 9, "symbol": symbol},
            text=names, hovertemplate=f"<b>%{{text}}</b><br>{col} %{{y:,.1f}}<extra></extra>",
        ))
        if np.isfinite(vals).any():
            best = int(np.nanargmin(vals))
            fig.add_trace(go.Scatter(
                x=[names[best]], y=[vals[best]], mode="markers", showlegend=False,
                marker={"size": 18, "color": "rgba(0,0,0,0)", "line": {"color": colour,
                                                                        "width": 2}},
                hoverinfo="skip", name=f"lowest {col}",
            ))
    fig.update_xaxes(title=None, categoryorder="array", categoryarray=names)
    fig.update_yaxes(title="Information criterion (lower is better)", tickformat=",.0f")
    _standard_layout(fig, 340)
    return fig


# ----------------------------------------------------------------------------- presenter view


def scale_fonts(fig: go.Figure, scale: float) -> go.Figure:
    """`fig` with every font scaled by `scale` (the presenter view; 1 leaves it as is): the base
    font (ticks, legend, axis titles inherit it), hover labels, the title and annotations."""
    if scale == 1:
        return fig
    base = fig.layout.font.size if fig.layout.font and fig.layout.font.size else FONT["size"]
    size = round(base * scale)
    fig.update_layout(font={"size": size}, hoverlabel={"font": {"size": size}})
    if fig.layout.title and fig.layout.title.text:
        fig.update_layout(title_font_size=round(size * 1.2))
    for ann in fig.layout.annotations or ():
        ann.font.size = round((ann.font.size or base) * scale)
    return fig
