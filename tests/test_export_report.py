"""hlm_core.export's files (workbook, figure images, HTML report), the glossary and the bundled
example data, without the app."""

from __future__ import annotations

import ast
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from hlm_core.errors import HLMError
from hlm_core.examples import EXAMPLES, example_bytes, list_examples, load_example
from hlm_core.export import (
    excel_sheet_name,
    figure_image,
    html_report,
    model_fit_table,
    package_versions,
    report_figure_specs,
    report_figures,
    workbook,
)
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.glossary import TERMS, TOPICS, term_help
from hlm_core.io import read_table
from tests.refdata import FIXTURES

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def exam_rs():
    frame = read_table(FIXTURES / "exam.csv").frame
    return fit(frame, parse_formula("normexam ~ standLRT + (standLRT | school)"))


def test_workbook_sheets_numbers_and_escaping(exam_rs):
    extra = {
        "Comparisons": pd.DataFrame({"model": ["=cmd|' /C calc'!A0", "@risky", "plain"],
                                     "AIC": [1.5, -np.inf, np.nan], "Df": [1, 2, 3]}),
        "bad:/name?" * 5: pd.DataFrame({"x": [1]}),
    }
    book = load_workbook(io.BytesIO(workbook(exam_rs, extra)))
    assert book.sheetnames[:8] == ["About", "Fixed effects", "Variance components", "Model fit",
                                   "Class effects", "pred_slope", "APA table", "Comparisons"]
    assert len(book.sheetnames[8]) <= 31 and not set("[]:*?/\\") & set(book.sheetnames[8])
    rows = list(book["Comparisons"].iter_rows(values_only=True))
    assert rows[1] == ("=cmd|' /C calc'!A0", 1.5, 1)  # inert text (quote-prefix style)
    assert book["Comparisons"]["A2"].data_type == "s" and book["Comparisons"]["A2"].quotePrefix
    assert rows[2] == ("@risky", None, 2)  # inf and NaN are empty cells, not broken numbers
    assert rows[3][1] is None
    fixed = list(book["Fixed effects"].iter_rows(values_only=True))
    assert fixed[0] == tuple(exam_rs.fixed.columns)
    assert fixed[2][1] == pytest.approx(float(exam_rs.fixed["estimate"].iloc[1]), rel=1e-15)
    effects = list(book["Class effects"].iter_rows(values_only=True))
    assert len(effects) - 3 == 2 * 65  # header, 65 schools x 2 terms, blank, note
    pred = list(book["pred_slope"].iter_rows(values_only=True))
    assert pred[0] == ("standLRT", "group", "prediction") and len(pred) - 3 == 2 * 65


def test_sheet_names_are_valid_and_unique():
    taken = {"Fixed effects"}
    assert excel_sheet_name("Fixed effects", taken) == "Fixed effects (2)"
    assert excel_sheet_name("a" * 40) == "a" * 31
    assert excel_sheet_name("[x]:y") == "_x__y"


def test_model_fit_table_keeps_numbers(exam_rs):
    t = model_fit_table(exam_rs).set_index("Statistic")["Value"]
    assert t["log-likelihood"] == exam_rs.loglik and t["groups: school"] == 65
    assert t["estimation"] == "REML"


def test_html_report_without_figures_and_with_escaped_names(exam_rs):
    page = html_report(exam_rs, "f" * 64, {}, {"hlm_core": "<b>0.1</b>"},
                       data_name="<i>exam</i>.csv", created="2026-01-01 00:00 UTC")
    assert "&lt;i&gt;exam&lt;/i&gt;.csv" in page and "<i>exam" not in page
    assert "&lt;b&gt;0.1&lt;/b&gt;" in page
    assert "<script" not in page  # no figures: no plotly.js at all
    assert "http://" not in page and "https://" not in page
    assert "f" * 64 in page and "2026-01-01 00:00 UTC" in page


def test_html_report_embeds_plotly_once(exam_rs):
    figs = report_figures(exam_rs)
    assert len(figs) == 3  # caterpillar for the intercept and the slope, the predicted lines
    page = html_report(exam_rs, "0" * 64, figs, package_versions())
    assert page.count("plotly.js v") == 1 and page.count("Plotly.newPlot(") == 3
    assert 'src="http' not in page and "cdn.plot.ly/plotly" not in page


@pytest.mark.parametrize("formula, want", [
    ("normexam ~ 1 + (1 | school)", ["Intercept per school"]),
    ("normexam ~ sex + (1 | school)", ["Intercept per school"]),  # no numeric predictor
    ("normexam ~ standLRT + (standLRT | school)",
     ["Intercept per school", "Effect of standLRT per school",
      "Predicted normexam by standLRT, per school"]),
])
def test_report_figure_titles_come_without_drawing(formula, want, exam_rs, monkeypatch):
    """The Report page lists the figures from their titles and draws one only on a click:
    the titles are report_figures' keys, in order, and making them draws nothing."""
    import hlm_core.figures as figures

    frame = read_table(FIXTURES / "exam.csv").frame
    result = exam_rs if "standLRT |" in formula else fit(frame, parse_formula(formula))
    drawn = report_figures(result)
    assert list(drawn) == want

    def no_drawing(*args, **kwargs):
        raise AssertionError("a figure was drawn for its title")

    monkeypatch.setattr(figures, "caterpillar", no_drawing)
    monkeypatch.setattr(figures, "group_lines", no_drawing)
    assert [title for title, _ in report_figure_specs(result)] == want
    monkeypatch.undo()
    specs = report_figure_specs(result)
    for (title, build), fig in zip(specs, drawn.values(), strict=True):
        assert build().to_json() == fig.to_json(), title  # each builder draws its figure


def test_figure_image_without_a_browser_says_what_to_do(exam_rs, monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    fig = next(iter(report_figures(exam_rs).values()))
    with pytest.raises(HLMError) as err:
        figure_image(fig, "png")
    assert "Chrome or Chromium" in str(err.value) and "camera button" in str(err.value)
    with pytest.raises(ValueError):
        figure_image(fig, "gif")


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no /usr/bin/chromium")
def test_figure_image_png_and_svg(exam_rs):
    fig = next(iter(report_figures(exam_rs).values()))
    png = figure_image(fig, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    svg = figure_image(fig, "svg").decode("utf-8")
    assert svg.startswith(("<svg", "<?xml"))


# ----------------------------------------------------------------------------- glossary


def test_glossary_is_plain_python():
    tree = ast.parse((REPO / "hlm_core" / "glossary.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.module}
    assert "streamlit" not in imported
    assert all(isinstance(v, str) and v.strip() for v in {**TERMS, **TOPICS}.values())


def test_glossary_lookup():
    assert term_help("icc") == TERMS["ICC"] == term_help("Intraclass correlation")
    assert term_help("R2 conditional") == TERMS["R² conditional"]
    with pytest.raises(KeyError):
        term_help("flux capacitor")


# ----------------------------------------------------------------------------- examples


def test_bundled_examples_are_the_mlmrev_files():
    assert list(list_examples()) == ["classroom", "exam", "hsb82", "bdf"]
    for name in ("exam", "hsb82", "bdf"):
        assert example_bytes(name) == (FIXTURES / f"{name}.csv").read_bytes()
        frame = load_example(name)
        pd.testing.assert_frame_equal(frame, read_table(FIXTURES / f"{name}.csv").frame)
        info = EXAMPLES[name]
        assert "mlmRev" in info.source and info.levels[0] in frame.columns
        assert {"Data", "Model", "Results"} <= set(info.tour)
    notice = (REPO / "hlm_core" / "data" / "README.md").read_text()
    assert "mlmRev" in notice and "GPL" in notice
    assert load_example("classroom").shape == (500, 5)
    assert example_bytes("classroom") is None


@pytest.mark.parametrize("name", ["exam", "hsb82"])
def test_example_formulas_fit(name):
    frame = load_example(name)
    res = fit(frame, parse_formula(EXAMPLES[name].formulas[-1]))
    assert res.converged and math.isfinite(res.loglik)
