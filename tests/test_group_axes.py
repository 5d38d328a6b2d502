"""Every group axis is a category axis (issue 10, point 1).

Group IDs are names, never numbers: with classes 1-7 a numeric axis puts the points in ID
order and labels only some of them (2, 4, 6), and "007" would print as 7. Each figure that has
one axis per group must declare it as categories (the browser must not guess the type), in the
order the page says (sorted by value, or by expected rank), with every ID as typed as a tick.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hlm_core import figures
from hlm_core.effects import ranef_table
from hlm_core.fairness import expected_ranks, shrinkage
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from tests.refdata import FIXTURES

TUTORIAL = FIXTURES / "tutorial" / "classroom.csv"
IDS = {
    "numeric": None,  # the file's own 1-7
    "zero-padded": ["007", "010", "2", "045", "100", "0", "009"],
    "text": ["3B", "Mrs Lee", "10A", "Z", "a", "2", "Room 4"],
}


@pytest.fixture(scope="module")
def tutorial_fit():
    d = pd.read_csv(TUTORIAL)
    return fit(d, parse_formula("score ~ exam.prep.days + (exam.prep.days | class)"))


@pytest.fixture(scope="module", params=list(IDS))
def labelled(request, tutorial_fit):
    """The tutorial's fit with its class IDs written as in `IDS` (same numbers, other names)."""
    res = tutorial_fit
    ids = IDS[request.param]
    rename = (lambda s: s) if ids is None else (
        lambda s: s.map(dict(zip([str(i) for i in range(1, 8)], ids, strict=True))))
    tables = {
        "caterpillar": ranef_table(res, "class"),
        "shrinkage": shrinkage(res, group="class"),
        "ranks": expected_ranks(res, group="class", n_draws=400, seed=1),
    }
    for t in tables.values():
        t["level"] = rename(t["level"].astype(str))
    expected = ids or [str(i) for i in range(1, 8)]
    return tables, expected


def _group_axis(fig):
    """The figure's axis that lists the groups (the one whose categories are group names)."""
    lay = fig.layout
    for ax in (lay.yaxis, lay.xaxis):
        if ax.categoryarray is not None and len(ax.categoryarray):
            return ax
    raise AssertionError("no axis lists the groups")


def _check(ax, order: list[str], expected_ids: list[str]):
    assert ax.type == "category", "a group axis must be declared categorical"
    assert list(ax.categoryarray) == order
    assert sorted(order) == sorted(expected_ids)  # IDs as typed: "007" stays "007"
    # every ID is a tick, so none is skipped (24 px a row: they never overlap)
    assert ax.tickmode == "array" and list(ax.tickvals) == order
    assert list(ax.ticktext) == order


@pytest.mark.parametrize("mode", ["own", "deviation"])
def test_caterpillar_group_axis_sorted_by_value(labelled, mode):
    tables, ids = labelled
    t = tables["caterpillar"]
    fig = figures.caterpillar(t, "(Intercept)", mode)
    one = t[t["term"] == "(Intercept)"]
    col = "coef" if mode == "own" else "ranef"
    order = one.sort_values(col, kind="stable")["level"].tolist()
    _check(_group_axis(fig), order, ids)
    # and the points sit where their labels are: value increases along the category order
    pts = {y: x for tr in fig.data for x, y in zip(tr.x, tr.y, strict=True)}
    assert np.all(np.diff([pts[g] for g in order]) >= 0)


def test_shrinkage_group_axis_sorted_by_own_estimate(labelled):
    tables, ids = labelled
    t = tables["shrinkage"]
    fig = figures.shrinkage_plot(t)
    order = t.sort_values("own_estimate", kind="stable")["level"].tolist()
    _check(_group_axis(fig), order, ids)


def test_rank_group_axis_best_first(labelled):
    tables, ids = labelled
    t = tables["ranks"]
    fig = figures.rank_plot(t)
    best_first = t.sort_values("expected_rank", kind="stable")["level"].tolist()
    # the y axis runs upward, so the best (rank 1) is the last category: drawn at the top
    _check(_group_axis(fig), best_first[::-1], ids)


def test_ladder_model_names_are_categories():
    table = pd.DataFrame({"model": ["1", "2", "10"], "AIC": [10.0, 9.0, 8.0],
                          "BIC": [11.0, 10.0, 9.5]})
    ax = figures.ladder_plot(table).layout.xaxis
    assert ax.type == "category" and list(ax.categoryarray) == ["1", "2", "10"]
