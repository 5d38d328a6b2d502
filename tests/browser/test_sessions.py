"""Two people on one server never see each other's data or fits (real browser, real server).

Context A uploads exam.csv and context B hsb82.csv; they type different models and press Fit
model at the same moment. Then, page by page, each must show only its own file, row count,
formula, estimates, and schools (the two files' school IDs don't overlap: 1-65 against
four-digit codes), and nothing of the other's. A third, fresh context sees only the "no data
yet" guidance.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from tests.browser.test_walkthrough import DATA_UPLOAD

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
FRESH = '[data-testid="stElementContainer"][data-stale="false"]'
PAGES = ["Data", "Model", "Results", "Class effects", "Slopes"]
# the distinct point labels (groups) of the first plotly figure inside `sel`
GROUPS_JS = """
sel => { const d = document.querySelector(sel + ' .js-plotly-plot');
  if (!d || !d._fullData || !d._fullData.length) return null;
  const names = new Set();
  (d.data || []).forEach(tr => { if (Array.isArray(tr.text))
    tr.text.forEach(t => { if (t !== null) names.add(String(t)); }); });
  return [...names]; }
"""


@dataclass
class User:
    name: str
    file: str
    formula: str
    reference: str  # tests/fixtures/<reference>.json: lme4 / lmerTest numbers for this fit
    rows: int
    columns: int
    groups: int
    page: object = None
    context: object = None
    sizes: dict[str, int] = field(default_factory=dict)

    def load_sizes(self) -> None:
        data = pd.read_csv(FIXTURES / self.file, dtype={"school": str})
        self.sizes = data["school"].value_counts().to_dict()
        assert len(self.sizes) == self.groups and len(data) == self.rows

    @property
    def schools(self) -> set[str]:
        return set(self.sizes)

    @property
    def rows_text(self) -> str:
        return f"{self.file}: {self.rows:,} rows, {self.columns} columns"


def users() -> tuple[User, User]:
    a = User("A", "exam.csv", "normexam ~ standLRT + (1 | school)", "exam_ri", 4059, 10, 65)
    b = User(
        "B",
        "hsb82.csv",
        "mAch ~ meanses + sector + cses + meanses:cses + sector:cses + (1 | school)",
        "hsb_rb_ri",
        7185,
        8,
        160,
    )
    for u in (a, b):
        u.load_sizes()
    assert not a.schools & b.schools  # so a school on the wrong page is a leak
    return a, b


def open_context(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.get_by_role("button", name="Use example data").wait_for()
    return context, page


def settle(page) -> None:
    """Until Streamlit has finished the current run (no 'running' status widget)."""
    time.sleep(0.3)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000
    )
    time.sleep(0.2)


def open_page(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=title, exact=True).first.wait_for()
    settle(page)


def body_text(page) -> str:
    return page.locator("body").inner_text()


def no_errors(page, where: str) -> None:
    errors = page.locator(ERRORS)
    if errors.count():
        pytest.fail(f"{where}: the app shows an error: {errors.first.inner_text()[:300]}")


def figure_groups(page, container: str) -> set[str]:
    handle = page.wait_for_function(GROUPS_JS, arg=container, timeout=60_000)
    return set(handle.json_value())


def check_own_and_only_own(me: User, other: User, title: str) -> None:
    """The page `title` of `me` shows `me`'s data and fit, and nothing of `other`'s."""
    page = me.page
    where = f"{me.name} ({me.file}), {title} page"
    no_errors(page, where)
    text = body_text(page)
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    assert me.file in sidebar and f"{me.rows:,} rows" in sidebar, (where, sidebar)
    assert me.formula in sidebar, (where, sidebar)
    assert other.file not in text, where
    assert other.formula not in text, where
    assert f"{other.rows:,}" not in text, where

    if title == "Data":
        assert page.get_by_text(me.rows_text).is_visible(), where
    elif title == "Model":
        assert page.get_by_role("textbox", name="Formula").input_value() == me.formula, where
        assert page.get_by_text(f"{me.rows:,} rows in {me.groups} schools").is_visible(), where
    elif title == "Results":
        metric = page.get_by_test_id("stMetric").filter(has_text="Observations")
        assert metric.get_by_test_id("stMetricValue").inner_text() == f"{me.rows:,}", where
        ref = json.loads((FIXTURES / f"{me.reference}.json").read_text())["reml"]
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download fixed effects (CSV)").click()
        table = pd.read_csv(dl.value.path())
        shown = dict(zip(table["term"], table["estimate"], strict=True))
        assert set(shown) == {f["term"] for f in ref["fixed"]}, (where, shown)
        for f in ref["fixed"]:
            tol = max(1e-4 * abs(f["estimate"]), 1e-3 * f["std_error"])
            assert shown[f["term"]] == pytest.approx(f["estimate"], abs=tol), (where, f["term"])
    elif title == "Class effects":
        shown = figure_groups(page, '[class*="st-key-caterpillar_"]')
        assert shown <= me.schools, (where, sorted(shown - me.schools)[:5])
        big_enough = {s for s, n in me.sizes.items() if n >= 5}  # small ones may be hidden
        assert big_enough <= shown, where
    elif title == "Slopes":
        shown = figure_groups(page, ".st-key-slopes_model")
        assert shown <= me.schools, (where, sorted(shown - me.schools)[:5])
        assert len(shown) >= len({s for s, n in me.sizes.items() if n >= 5}), where


def test_two_sessions_with_different_data_never_mix(browser, app_url):
    a, b = users()
    contexts = []
    try:
        for u in (a, b):
            u.context, u.page = open_context(browser, app_url)
            contexts.append(u.context)
        # both upload, then both wait: the two reads overlap at the server
        for u in (a, b):
            u.page.locator(DATA_UPLOAD).first.set_input_files(
                str(FIXTURES / u.file)
            )
        for u in (a, b):
            u.page.get_by_text(u.rows_text).wait_for()
            settle(u.page)
        for u in (a, b):
            open_page(u.page, "Model")
            box = u.page.get_by_role("textbox", name="Formula")
            box.fill(u.formula)
            box.press("Enter")
            u.page.get_by_test_id("stSidebar").get_by_text(u.formula, exact=True).wait_for()
            # until this run has drawn Fit model (and so the builder above it): pressing it
            # earlier can fit the builder's previous model
            fit = u.page.get_by_role("button", name="Fit model")
            u.page.locator(FRESH).filter(has=fit).wait_for()
            settle(u.page)
        # press Fit model in both before waiting for either: the two fits run together
        for u in (a, b):
            u.page.get_by_role("button", name="Fit model").click()
        for u in (a, b):
            u.page.get_by_text("Fitted in").wait_for(timeout=120_000)
            settle(u.page)

        for title in PAGES:
            for me, other in ((a, b), (b, a)):
                open_page(me.page, title)
                check_own_and_only_own(me, other, title)

        # a third person who has just opened the app sees no one's data, only guidance
        c_context, c = open_context(browser, app_url)
        contexts.append(c_context)
        settle(c)
        assert c.get_by_text("Upload a file above").is_visible()
        assert "No data loaded yet" in c.get_by_test_id("stSidebar").inner_text()
        for title in PAGES[1:]:
            open_page(c, title)
            no_errors(c, f"fresh session, {title} page")
            assert c.get_by_text("No data yet").first.is_visible(), title
            text = body_text(c)
            for u in (a, b):
                assert u.file not in text and u.formula not in text, title
            assert c.locator(".js-plotly-plot").count() == 0, title

        # and the first two still have their own results
        for me, other in ((a, b), (b, a)):
            open_page(me.page, "Results")
            check_own_and_only_own(me, other, "Results")
    finally:
        for ctx in contexts:
            ctx.close()
