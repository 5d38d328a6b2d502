"""Plotly figures for a planning answer: power against the number of clusters and against the
effect size, each with the target power as a dashed line and the answer marked.

Built from hlm_core.plan_views' tables; the number of clusters is a count (whole numbers on
the axis), the effect size is in standard deviations of the outcome.
"""

from __future__ import annotations

import plotly.graph_objects as go

from hlm_core.figure_style import LINE, _standard_layout
from hlm_core.plan_views import power_by_clusters, power_by_effect
from hlm_core.power import TOP_LEVEL, TOP_NAME, PlanResult, power_at

TARGET = "#b91c1c"  # dark red: 6.5:1 on white
ANSWER = "#111827"


def _target_line(fig: go.Figure, target: float) -> None:
    fig.add_hline(
        y=target, line={"color": TARGET, "dash": "dash", "width": 1.5},
        annotation_text=f"target power {target:.0%}", annotation_position="bottom right",
        annotation_font={"color": TARGET},
    )


def _curve(x, y, hover: str, target: float, mark: tuple[float, float, str, str]) -> go.Figure:
    """A power curve, the target as a dashed line, and one marked point (x, y, label, name)."""
    fig = go.Figure(go.Scatter(
        x=x, y=y, mode="lines", name="power", line={"color": LINE, "width": 2.5},
        hovertemplate=hover + "<extra></extra>",
    ))
    _target_line(fig, target)
    mx, my, label, name = mark
    fig.add_trace(go.Scatter(
        x=[mx], y=[my], mode="markers+text", name=name,
        marker={"color": ANSWER, "size": 11, "symbol": "diamond"},
        text=[label], textposition="top left",
        hovertemplate=hover + f"<extra>{name}</extra>",
    ))
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    _standard_layout(fig, 360)
    return fig


def power_clusters_figure(res: PlanResult, top_label: str | None = None) -> go.Figure:
    """Power to detect res.es against the number of top-level units (J or K)."""
    table = power_by_clusters(res)
    label = top_label or f"Number of {TOP_NAME[res.plan.design]} ({TOP_LEVEL[res.plan.design]})"
    p = power_at(res.plan, es=res.es, clusters=res.clusters)
    fig = _curve(table["clusters"], table["power"], "%{x} units: power %{y:.1%}",
                 res.plan.power, (res.clusters, p, f"{res.clusters:g} → {p:.0%}", "your answer"))
    fig.update_xaxes(title_text=label, rangemode="tozero", tickformat="d")
    fig.update_yaxes(title_text=f"Power to detect {res.es:.2f} SD")
    return fig


def power_effect_figure(res: PlanResult) -> go.Figure:
    """Power against the effect size at the answer's number of clusters, MDES marked."""
    table = power_by_effect(res)
    top = TOP_LEVEL[res.plan.design]
    p = power_at(res.plan, es=res.mdes, clusters=res.clusters)
    fig = _curve(table["es"], table["power"], "effect %{x:.2f} SD: power %{y:.1%}",
                 res.plan.power,
                 (res.mdes, p, f"MDES {res.mdes:.2f} SD", "smallest detectable effect"))
    fig.update_xaxes(title_text=f"Effect size (SD of the outcome), with {top} = {res.clusters:g}",
                     rangemode="tozero")
    fig.update_yaxes(title_text="Power")
    return fig
