"""hlm_core.figure_margins: margins sized for a figure's labels before it is drawn. The real
check is in the browser (tests/browser/test_walkthrough.py: plotly grew no margin of the
app's figures); these pin the estimate's behaviour."""

import copy

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hlm_core.figure_margins import reserve_margins
from hlm_core.figure_style import FONT

TIGHT = {"l": 10, "r": 10, "t": 30, "b": 10}


def scatter(y, **layout) -> go.Figure:
    fig = go.Figure(go.Scatter(x=np.arange(len(y), dtype=float), y=np.asarray(y, dtype=float),
                               mode="markers", showlegend=False))
    fig.update_layout(margin=TIGHT, font=FONT, **layout)
    fig.update_xaxes(title="Fitted score")
    fig.update_yaxes(title="Residual")
    return fig


def margins(fig: go.Figure) -> dict:
    return {k: getattr(fig.layout.margin, k) for k in "lrtb"}


def test_tight_margins_grow_to_hold_the_labels():
    fig = scatter([-133.0, 0.0, 118.6])
    out = reserve_margins(fig)
    assert out is fig
    m = margins(fig)
    # measured in Chromium: this figure's labels and titles took l 80, b 64 (t and r unused)
    assert 80 <= m["l"] <= 100 and 64 <= m["b"] <= 76
    assert m["t"] == 30 and m["r"] == 10


def test_wider_numbers_need_a_wider_margin_and_a_margin_never_shrinks():
    narrow = margins(reserve_margins(scatter([1.0, 9.0])))["l"]
    wide = margins(reserve_margins(scatter([-12345.678, 99999.0])))["l"]
    decimals = margins(reserve_margins(scatter([0.001, 0.009])))["l"]
    assert narrow < wide and narrow < decimals
    fig = scatter([1.0, 9.0])
    fig.update_layout(margin={"l": 300})
    assert margins(reserve_margins(fig))["l"] == 300


def test_the_same_again_changes_nothing_and_a_copy_gets_the_same():
    fig = reserve_margins(scatter([-133.0, 118.6]))
    first = margins(fig)
    assert margins(reserve_margins(fig)) == first
    # a copied figure keeps its arrays base64-encoded: the same numbers are read from them
    fresh = scatter([-133.0, 118.6])
    assert margins(reserve_margins(copy.deepcopy(fresh))) == first


def test_group_names_down_the_side_and_a_legend_above():
    names = ["Class A", "A much longer class name", "C"]
    fig = go.Figure(go.Scatter(x=[1.0, 2.0, 3.0], y=names, name="Clearly above"))
    fig.add_trace(go.Scatter(x=[1.0], y=["C"], name="Clearly below"))
    fig.update_layout(margin=TIGHT, font=FONT, legend={"orientation": "h", "y": 1.0,
                                                       "yanchor": "bottom"})
    m = margins(reserve_margins(fig))
    assert m["l"] >= 0.55 * 13 * len(names[1])  # the longest name fits
    assert m["t"] >= 39  # one row of legend above the plot (measured: 39 px)


def test_subplots_keep_their_margins():
    fig = make_subplots(rows=1, cols=2)
    fig.add_trace(go.Scatter(x=[1, 2], y=[3, 4]), row=1, col=1)
    fig.add_trace(go.Scatter(x=[1, 2], y=[3, 4]), row=1, col=2)
    fig.update_layout(margin=TIGHT)
    assert margins(reserve_margins(fig)) == TIGHT
