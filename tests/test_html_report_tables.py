"""The HTML report's tables read as the pages do (issue 10, point 13): df of a likelihood-ratio
test as a whole number ("2", not "2.0000"), Satterthwaite df to one decimal, p as "< 0.001" or
three decimals (never "3.69e-53"), no e-notation, "None" or "nan" anywhere a person reads; and
every table sits in a box that scrolls sideways instead of widening the page (the browser
check is tests/browser/test_report_layout.py)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from hlm_core.compare import ladder
from hlm_core.export import html_report
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from tests.refdata import FIXTURES


class _Cells(HTMLParser):
    """Each table's header and cell texts, and whether the table sits in a scroll box."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self._stack: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag == "table":
            self.tables.append({"wrapped": "table-wrap" in self._stack, "head": [], "rows": []})
        if tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        if tag in ("td", "th"):
            self._cell = []
        self._stack.append(cls)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.tables:
            text = "".join(self._cell).strip()
            t = self.tables[-1]
            (t["head"] if tag == "th" and len(t["rows"]) == 1 and not t["rows"][0] else
             t["rows"][-1]).append(text)
            self._cell = None
        if self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def report():
    d = pd.read_csv(FIXTURES / "exam.csv")
    spec = parse_formula("normexam ~ standLRT + sex + schgend + (standLRT | school)")
    res = fit(d, spec)
    table = ladder(d, spec).table
    html = html_report(res, "abc", None, {"python": "3"}, frame=d,
                       extra_tables={"Comparisons": table})
    p = _Cells()
    p.feed(html)
    return html, {tuple(t["head"]): t for t in p.tables}, table, res


def _table(tables, first_col):
    return next(t for head, t in tables.items() if head and head[0] == first_col)


def test_comparison_table_numbers_as_on_the_compare_page(report):
    _, tables, ladder_table, _ = report
    t = _table(tables, "model")
    cols = list(t["head"])
    body = [r for r in t["rows"] if r]
    df = [r[cols.index("Df")] for r in body]
    assert df == ["", "2", "2", "2"]
    p = [r[cols.index("p_value")] for r in body]
    assert p[1] == "< 0.001" and p[3] == "< 0.001"
    assert p[2] == f"{ladder_table['p_value'].iloc[2]:.3f}"
    aic = [r[cols.index("AIC")] for r in body]
    assert aic[0] == f"{ladder_table['AIC'].iloc[0]:.2f}"


def test_fixed_effects_df_one_decimal_and_p_as_pages(report):
    _, tables, _, res = report
    t = _table(tables, "term")
    cols = list(t["head"])
    body = [r for r in t["rows"] if r]
    assert [r[cols.index("df")] for r in body] == [f"{v:.1f}" for v in res.fixed["df"]]
    assert [r[cols.index("p_value")] for r in body] == [
        "< 0.001" if p < 0.001 else f"{p:.3f}" for p in res.fixed["p_value"]]
    assert [r[cols.index("estimate")] for r in body] == [
        f"{v:.4f}" for v in res.fixed["estimate"]]


def test_no_e_notation_none_or_nan_and_every_table_scrolls_in_its_box(report):
    html, tables, _, _ = report
    for head, t in tables.items():
        assert t["wrapped"], head
        for row in t["rows"]:
            for cell in row:
                assert not re.fullmatch(r"-?[\d.]+e[-+]\d+", cell), (head, cell)
                assert cell not in ("None", "nan", "NaN", "inf"), (head, cell)
    assert "overflow-x: auto" in html
