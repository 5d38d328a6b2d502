"""Model-check and comparison figures: residuals against fitted values, normal Q-Q plots,
the spread of groups, and the model ladder. They draw at most a fixed number of points.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hlm_core.figure_style import (
    BELOW,
    FONT,
    LINE,
    _standard_layout,
    category_axis,
    ink,
    translucent,
)
from hlm_core.plot_text import escape_figure
from hlm_core.report import num

# ----------------------------------------------------------------------------- diagnostics


def _thin(n: int, max_points: int, seed: int = 7, must: np.ndarray | None = None) -> np.ndarray:
    """Indices of at most `max_points` of `n` points, in order: the indices in `must` (up to
    half of `max_points` of them, the first ones) and a fixed random subset of the others."""
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if must is None or not len(must):
        return np.sort(rng.choice(n, size=max_points, replace=False))
    must = np.asarray(must)[: max_points // 2]
    others = np.setdiff1d(np.arange(n), must, assume_unique=False)
    picked = rng.choice(others, size=max_points - len(must), replace=False)
    return np.sort(np.concatenate([must, picked]))


UNUSUAL_Z = 2.5  # a standardised residual this far from 0 marks an unusual student


def residuals_vs_fitted(
    df: pd.DataFrame, *, outcome: str = "outcome", max_points: int = 20000, bins: int = 20
) -> go.Figure:
    """Residuals against fitted values (`hlm_core.diagnostics.fitted_and_residuals`), with a
    line through the mean residual in `bins` slices of the fitted values: it should stay flat
    near 0. Above `max_points` rows the drawn points are every unusual one (standardised
    residual beyond +-UNUSUAL_Z, the most extreme first, up to half of them) and a fixed random
    subset of the rest; the trend uses them all."""
    fitted = df["fitted"].to_numpy(dtype=float)
    resid = df["residual"].to_numpy(dtype=float)
    must = None
    if "std_residual" in df:
        z = np.abs(df["std_residual"].to_numpy(dtype=float))
        unusual = np.flatnonzero(z > UNUSUAL_Z)
        must = unusual[np.argsort(-z[unusual], kind="stable")]
    keep = _thin(len(df), max_points, must=must)
    scatter = go.Scattergl if len(keep) > 2000 else go.Scatter
    fig = go.Figure()
    fig.add_trace(
        scatter(
            x=fitted[keep],
            y=resid[keep],
            mode="markers",
            marker={"color": translucent(LINE, 0.45), "size": 5 if len(keep) <= 2000 else 3},
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
    return escape_figure(fig)


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
        "marker": {"color": translucent(LINE, 0.7), "size": 5 if len(keep) <= 500 else 3},
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
    ink(fig)
    return escape_figure(fig)


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
            marker={"color": translucent(LINE, 0.7), "size": 7 if n <= 500 else 4},
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
    return escape_figure(fig)


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
    fig.update_xaxes(title=None, **category_axis(names))
    fig.update_yaxes(title="Information criterion (lower is better)", tickformat=",.0f")
    _standard_layout(fig, 340)
    return escape_figure(fig)
