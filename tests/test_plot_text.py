"""Issue 17.3: user text in plotly figures is text, never plotly's pseudo-HTML.

A class ID `<a href="http://…">click me</a>`, `<b>`, `<br>` or `&lt;` in a name must reach the
browser escaped (`&lt;a href…`), in every figure that shows class IDs or column names; plotly
then draws the characters, not a link. The figures' JSON is checked here; the browser test
(tests/browser/test_markdown_injection.py) checks what the page draws.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from hlm_core import figures
from hlm_core.diagnostics import fitted_and_residuals, residual_spread
from hlm_core.effects import group_ols_lines, pred_slope, ranef_table
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.plot_text import escape_figure, plot_escape, plot_unescape

LINK = '<a href="http://127.0.0.1:9/x">click me</a>'
NAMES = [LINK, "<b>bold</b>", "A&amp;B", "x<br>y", "plain 7A", "<img src=x onerror=alert(1)>"]
OUTCOME = "<i>score</i>"
PREDICTOR = "hours<br>&"


@pytest.fixture(scope="module")
def hostile():
    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(len(NAMES)), 20)
    x = rng.normal(5, 2, len(g))
    y = 50 + 2 * x + rng.normal(0, 3, len(NAMES))[g] + rng.normal(0, 2, len(g))
    frame = pd.DataFrame({OUTCOME: y.round(2), PREDICTOR: x.round(2),
                          "class": [NAMES[i] for i in g]})
    spec = parse_formula(f"`{OUTCOME}` ~ `{PREDICTOR}` + (`{PREDICTOR}` | class)")
    return frame, fit(frame, spec)


def shown_text(fig) -> str:
    """Every string of the figure's JSON except our own hover templates."""
    data = json.loads(fig.to_json())
    for trace in data["data"]:
        trace.pop("hovertemplate", None)
    data["layout"].pop("uirevision", None)  # an identity, never drawn
    return json.dumps(data)


def assert_plain(fig) -> None:
    text = shown_text(fig)
    raw = re.findall(r"<(a|b|i|br|img)\b", text)
    assert not raw, f"unescaped tags {raw} in the figure"
    templates = " ".join(t.get("hovertemplate") or "" for t in json.loads(fig.to_json())["data"])
    assert "<i>score" not in templates and "hours<br>&" not in templates


def test_escape_helpers():
    assert plot_escape(LINK) == '&lt;a href="http://127.0.0.1:9/x"&gt;click me&lt;/a&gt;'
    assert plot_escape("A&amp;B") == "A&amp;amp;B"  # shown as typed, not as "A&B"
    assert plot_unescape(plot_escape(LINK)) == LINK
    assert plot_escape(None) is None and plot_escape(3.5) == 3.5


def test_every_class_effects_figure_escapes_names(hostile):
    frame, res = hostile
    table = ranef_table(res, "class")
    term = PREDICTOR if PREDICTOR in set(table["term"]) else table["term"].iloc[-1]
    figs = [
        figures.caterpillar(table, "(Intercept)", title=OUTCOME, value_title=OUTCOME,
                            group_title="class", search=[LINK]),
        figures.caterpillar(table, term, mode="deviation", label_threshold=2),
        figures.caterpillar(table, term, band_threshold=2, label_threshold=2),
        figures.group_lines(pred_slope(res, PREDICTOR), PREDICTOR, OUTCOME, OUTCOME),
        figures.group_lines(group_ols_lines(frame, OUTCOME, PREDICTOR, "class"), PREDICTOR,
                            OUTCOME, OUTCOME, max_traces=2),
    ]
    for fig in figs:
        assert_plain(fig)
    assert set(figures.groups_in_figure(figs[0])) == set(NAMES)  # names come back exact
    assert set(figures.groups_in_figure(figs[3])) == set(NAMES)


def test_diagnostics_figures_escape_names(hostile):
    _, res = hostile
    fitted = fitted_and_residuals(res)
    assert_plain(figures.residuals_vs_fitted(fitted, outcome=OUTCOME))
    assert_plain(figures.spread_plot(residual_spread(res), res.sigma, group_title=OUTCOME))
    assert_plain(figures.qq_plot(pd.DataFrame({"theoretical": [0.0, 1.0], "sample": [0.1, 0.9]}),
                                 OUTCOME, labels=NAMES[:2]))


def test_escape_figure_leaves_plain_figures_alone():
    fig = figures.ladder_plot(pd.DataFrame({"model": ["m1", "m2"], "AIC": [10.0, 9.0],
                                            "BIC": [11.0, 10.0]}))
    before = fig.to_json()
    assert escape_figure(fig).to_json() == before


def test_the_html_report_shows_names_as_text(hostile):
    from hlm_core.export import html_report, report_figures

    frame, res = hostile
    page = html_report(res, "0" * 64, report_figures(res), {}, data_name=NAMES[0], frame=frame)
    for raw in ('<a href="http://127.0.0.1:9/x">', "<img src=x", "<b>bold</b>", "<i>score</i>"):
        assert raw not in page, raw
        assert json.dumps(raw)[1:-1] not in page, raw  # nor inside the figures' JSON
        assert json.dumps(raw).replace("<", "\\u003c")[1:-1] not in page, raw
    assert "&lt;a href=" in page  # shown, as text
