"""Model-check figures for yes/no and count models: binned residuals with their +-2 SE band,
and each group's observed minus expected (sorted, groups as categories)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hlm_core.figure_style import ABOVE, BELOW, FONT, WITHIN


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, font=FONT,
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
                      hovermode="closest")
    return fig


def binned_residual_plot(df: pd.DataFrame, fitted_title: str) -> go.Figure:
    """`diagnostics_glmm.binned_residuals`: mean residual per bin of fitted values, with the
    band inside which about 95% of bins should fall."""
    fig = go.Figure()
    x = df["fitted"].to_numpy(dtype=float)
    fig.add_trace(go.Scatter(x=x, y=df["band"], mode="lines", name="+-2 SE band",
                             line={"color": "#64748b", "dash": "dot"}))
    fig.add_trace(go.Scatter(x=x, y=-df["band"], mode="lines", showlegend=False,
                             line={"color": "#64748b", "dash": "dot"}, hoverinfo="skip"))
    colours = np.where(df["outside"], BELOW, ABOVE)
    fig.add_trace(go.Scatter(
        x=x, y=df["residual"], mode="markers", name="mean residual in a bin",
        marker={"color": colours, "size": 8},
        customdata=df["n"], hovertemplate="fitted %{x:.3g}<br>mean residual %{y:.3g}<br>"
        "%{customdata} rows<extra></extra>"))
    fig.add_hline(y=0, line={"color": "#334155", "dash": "dash", "width": 1.5})
    fig.update_xaxes(title=fitted_title, zeroline=False)
    fig.update_yaxes(title="Mean residual (observed - fitted)", zeroline=False)
    return _layout(fig, 400)


def group_residual_plot(df: pd.DataFrame, group_title: str, value_title: str) -> go.Figure:
    """`diagnostics_glmm.group_residuals`, sorted: observed minus expected per group (fixed
    part only) with the +-2 SE band for pupils' chance variation."""
    t = df.sort_values("difference", kind="stable").reset_index(drop=True)
    labels = t["group"].astype(str).tolist()
    outside = (t["difference"].abs() > t["band"]).to_numpy()
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=labels, y=t["difference"], mode="markers", name="observed - expected",
        marker={"color": np.where(outside, BELOW, WITHIN), "size": 7},
        error_y={"type": "data", "array": t["band"], "color": "#94a3b8", "thickness": 1},
        customdata=t["n"], hovertemplate="<b>%{x}</b><br>difference %{y:.3g}<br>"
        "%{customdata} pupils<extra></extra>"))
    fig.add_hline(y=0, line={"color": "#334155", "dash": "dash", "width": 1.5})
    fig.update_xaxes(title=group_title, type="category", showticklabels=len(labels) <= 60)
    fig.update_yaxes(title=value_title, zeroline=False)
    return _layout(fig, 380)
