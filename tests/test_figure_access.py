"""Figures readable by everyone (issue 10, point 14, the figures' part): dark text set on every
axis and legend (so a theme's pale grey cannot override it), marks with at least 3:1 contrast,
and group lines told apart without colour: a colour-blind-safe palette, a dash pattern per
group and a label at each line's end. (The browser suite checks the rendered pages.)"""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from hlm_core import figures
from hlm_core.effects import pred_slope, ranef_table
from hlm_core.fairness import expected_ranks, shrinkage
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from tests.refdata import FIXTURES

OKABE_ITO = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#E69F00", "#56B4E9",
             "#F0E442"}


def contrast(a: str, b: str = "#ffffff") -> float:
    def lum(h: str) -> float:
        c = [int(h.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.fixture(scope="module")
def res():
    d = pd.read_csv(FIXTURES / "tutorial" / "classroom.csv")
    return fit(d, parse_formula("score ~ exam.prep.days + (exam.prep.days | class)"))


def all_figures(res):
    t = ranef_table(res, "class")
    lines = pred_slope(res, "exam.prep.days", 0, 10)
    return {
        "caterpillar": figures.caterpillar(t, "(Intercept)"),
        "shrinkage": figures.shrinkage_plot(shrinkage(res, group="class")),
        "ranks": figures.rank_plot(expected_ranks(res, group="class", n_draws=200)),
        "lines": figures.group_lines(lines, "exam.prep.days", "score", "Lines"),
        "ladder": figures.ladder_plot(pd.DataFrame({"model": ["a", "b"], "AIC": [2.0, 1.0],
                                                    "BIC": [3.0, 2.0]})),
    }


def test_axis_and_legend_text_is_dark_on_every_figure(res):
    for name, fig in all_figures(res).items():
        lay = fig.layout
        for ax in (lay.xaxis, lay.yaxis):
            assert ax.tickfont.color and contrast(ax.tickfont.color) >= 4.5, name
            assert ax.title.font.color and contrast(ax.title.font.color) >= 4.5, name
        assert contrast(lay.legend.font.color) >= 4.5, name
        assert contrast(lay.font.color) >= 4.5, name


def test_marks_have_3_to_1_contrast(res):
    for colour in (figures.ABOVE, figures.BELOW, figures.WITHIN, *figures.QUALITATIVE):
        assert contrast(colour) >= 3.0, colour


def test_group_lines_differ_without_colour(res):
    lines = pred_slope(res, "exam.prep.days", 0, 10)
    fig = figures.group_lines(lines, "exam.prep.days", "score", "Lines")
    traces = [t for t in fig.data if t.mode == "lines"]
    assert len(traces) == 7
    styles = [(t.line.color, t.line.dash) for t in traces]
    assert len(set(styles)) == 7 and len({d for _, d in styles[:6]}) == 6
    assert {c.upper() for c, _ in styles} <= OKABE_ITO | {"#8A5A00"}
    # a label at each line's right end, in dark text
    ends = {a.text: (a.x, a.y) for a in fig.layout.annotations}
    span = max(max(t.y) for t in traces) - min(min(t.y) for t in traces)
    for t in traces:
        x, y = ends[t.name]
        end = list(t.x).index(max(t.x))
        assert x == pytest.approx(t.x[end])
        assert t.y[end] - 1e-9 <= y <= t.y[end] + 0.3 * span  # nudged up at most a little
    ys = sorted(y for _, y in ends.values())
    # labels never print on top of each other
    assert min(b - a for a, b in itertools.pairwise(ys)) >= span / 25
    assert all(contrast(a.font.color) >= 4.5 for a in fig.layout.annotations)
    assert fig.layout.margin.r >= 20  # room for the labels
    for k in range(12):  # twelve groups: twelve distinct (colour, dash) pairs
        assert figures.line_style(k) not in {figures.line_style(j) for j in range(k)}
