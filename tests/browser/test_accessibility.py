"""Every page is readable by everyone (issue 10, point 14) and group IDs are categories on
screen (point 1), checked in Chromium on the R tutorial's classroom file (numeric class IDs).

axe-core (vendored, tests/browser/vendor/axe-core) runs on every page with a fitted model: no
serious or critical violations. axe does not judge text drawn inside charts (SVG), so the
charts' tick, axis-title and legend text are measured here: at least 4.5:1 against white."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.browser.conftest import shared_browser
from tests.browser.test_walkthrough import (
    open_page,
    open_tab,
    screenshot,
    settle,
    show_effects_table,
    show_fair,
    show_report_figures,
)

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "browser" / "vendor" / "axe-core" / "axe.min.js"
TUTORIAL = ROOT / "tests" / "fixtures" / "tutorial" / "classroom.csv"
FORMULA = "score ~ exam.prep.days + poverty + parent.ed + (exam.prep.days | class)"
PAGES = ["Data", "Model", "Results", "Class effects", "Slopes", "Compare", "Diagnostics",
         "Report & export"]

RUN_AXE = """
async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => ({target: n.target, summary: n.failureSummary}))}));
}
"""

CHART_TEXT = """
() => {
  const lum = (rgb) => {
    const c = rgb.match(/[\\d.]+/g).slice(0, 3).map(x => +x / 255)
      .map(x => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4));
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const out = [];
  document.querySelectorAll('.js-plotly-plot').forEach((div, k) => {
    div.querySelectorAll('.xtick text, .ytick text, .g-xtitle text, .g-ytitle text, '
                         + '.legendtext, .annotation-text').forEach(t => {
      const fill = getComputedStyle(t).fill;
      if (!fill || !fill.startsWith('rgb')) return;
      out.push({plot: k, text: t.textContent, ratio: 1.05 / (lum(fill) + 0.05)});
    });
  });
  return out;
}
"""


@pytest.fixture(scope="module")
def fitted(playwright_driver, app_url):
    browser = shared_browser(playwright_driver)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(app_url)
    page.get_by_role("button", name="Use example data").wait_for()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(
        str(TUTORIAL))
    page.get_by_text("classroom.csv: 500 rows, 6 columns").wait_for(timeout=60_000)
    settle(page)
    open_page(page, "Model")
    box = page.get_by_role("textbox", name="Formula")
    box.fill(FORMULA)
    box.press("Enter")
    settle(page)
    page.get_by_role("button", name="Fit model").click()
    page.get_by_text("Fitted in").wait_for(timeout=60_000)
    settle(page)
    yield page
    context.close()


def show(page, title: str) -> None:
    """Open a page with everything on it drawn (the Compare page's ladder fitted)."""
    open_page(page, title)
    if title == "Compare":
        button = page.get_by_role("button", name="Fit the model ladder")
        if button.count():
            button.click()
            page.get_by_role("heading", name="What each step adds").wait_for(timeout=120_000)
            settle(page)
    if title == "Class effects" and not page.get_by_role(
            "heading", name="Ranks, with their uncertainty").count():
        show_fair(page)  # the fair comparisons wait behind a switch: judge them too
    if title == "Class effects":
        show_effects_table(page)  # and the table behind its lazy expander
    if title == "Report & export":
        show_report_figures(page)  # the figures as images, behind a lazy expander
        # axe judges colours only on screen: bring the R script's highlighted code into view
        page.get_by_role("heading", name="Reproducible code").scroll_into_view_if_needed()
    page.wait_for_timeout(800)  # charts drawn


def test_no_serious_axe_violations_on_any_page(fitted, artifacts):
    page = fitted
    found = {}
    for title in PAGES:
        show(page, title)
        page.add_script_tag(path=str(AXE))
        bad = [v for v in page.evaluate(RUN_AXE) if v["impact"] in ("serious", "critical")]
        if bad:
            found[title] = bad
        screenshot(page, artifacts, f"a11y-{title.split()[0].lower()}")
    (artifacts / "axe-violations.json").write_text(json.dumps(found, indent=1))
    assert not found, json.dumps(found, indent=1)[:4000]


def test_chart_text_contrast(fitted):
    page = fitted
    views = [("Class effects", None), ("Slopes", None), ("Compare", None)] + [
        ("Diagnostics", tab) for tab in ("Residuals against fitted values", "Normal Q-Q plots",
                                         "Residual spread per group")]
    for title, tab in views:
        show(page, title)
        if tab:  # one chart per (lazy) tab
            open_tab(page, tab)
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot text').length")
        texts = page.evaluate(CHART_TEXT)
        assert texts, (title, tab)
        low = [t for t in texts if t["ratio"] < 4.5]
        assert not low, (title, tab, low[:10])


def test_sidebar_formula_is_code_of_at_least_12px(fitted):
    page = fitted
    open_page(page, "Results")
    sizes = page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid="stSidebar"] [data-testid="stCode"] code')].map(c =>
        [c.textContent, parseFloat(getComputedStyle(c).fontSize)])""")
    assert sizes and all(px >= 12 for _, px in sizes), sizes
    assert any(FORMULA in text for text, _ in sizes)


def test_numeric_class_ids_are_categories_sorted_by_value(fitted):
    page = fitted
    open_page(page, "Class effects")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 2")
    ticks = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')[0]
        .querySelectorAll('.ytick text')].map(t => t.textContent)""")
    d = pd.read_csv(TUTORIAL)
    from hlm_core.effects import ranef_table
    from hlm_core.fit import fit
    from hlm_core.formula import parse_formula

    t = ranef_table(fit(d, parse_formula(FORMULA)), "class")
    want = t[t["term"] == "(Intercept)"].sort_values("coef")["level"].tolist()
    assert ticks == want  # all 7 IDs, bottom to top from lowest to highest
