"""The HTML report fits a 1,300 px window (issue 10, point 13): its widest table (the model
comparison, long formulas) wraps or scrolls inside its own box, never widening the page."""

from __future__ import annotations

import pandas as pd

from hlm_core.compare import ladder
from hlm_core.export import html_report
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from tests.refdata import FIXTURES


def test_report_tables_stay_inside_a_1300px_window(browser, tmp_path):
    d = pd.read_csv(FIXTURES / "exam.csv")
    spec = parse_formula("normexam ~ standLRT + sex + schgend + (standLRT | school)")
    table = ladder(d, spec).table
    # a saved model with a very long formula, as a teacher's own comparison has
    long = table.iloc[[3]].assign(model="saved: " + "very long model name " * 4,
                                  formula=" + ".join(["standLRT"] * 25))
    html = html_report(fit(d, spec), "f" * 64, None, {"python": "3"}, frame=d,
                       extra_tables={"Comparisons": pd.concat([table, long])})
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    try:
        page = context.new_page()
        page.goto(path.as_uri())
        sizes = page.evaluate("""() => ({
            page: document.documentElement.scrollWidth,
            view: document.documentElement.clientWidth,
            boxes: [...document.querySelectorAll('.table-wrap')].map(b => {
                const r = b.getBoundingClientRect();
                return {right: r.right, table: b.querySelector('table').scrollWidth,
                        box: b.clientWidth};
            }),
        })""")
        assert sizes["page"] <= sizes["view"], sizes
        assert sizes["boxes"] and all(b["right"] <= sizes["view"] for b in sizes["boxes"])
    finally:
        context.close()
