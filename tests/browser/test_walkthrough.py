"""Real-browser walks through the dashboard: upload through the real uploader, model by typed
formula and by the builder widgets, fit, read the Results estimate, count the caterpillar's
points in the plotly figure's data, and screenshot every page."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
REF = json.loads((ROOT / "tests" / "fixtures" / "exam_ri.json").read_text())["reml"]
REF_ESTIMATE = {f["term"]: f["estimate"] for f in REF["fixed"]}

# every group shown by the plotly figures on the page: each point's `text` is its group's name
# (hlm_core.figures); caterpillar points carry their interval as error bars
PLOT_GROUPS_JS = """
() => [...document.querySelectorAll('.js-plotly-plot')].map(div => {
  const names = [];
  let withErrors = 0;
  (div.data || []).forEach((tr, i) => {
    const labels = Array.isArray(tr.text) ? tr.text : [];
    for (const name of new Set(labels)) names.push(name);
    // plotly.js decodes the typed arrays Python sends into _fullData
    const full = (div._fullData || [])[i] || {};
    const err = [full.error_y, full.error_x].find(e => e && e.visible && e.array);
    if (err && err.arrayminus && err.array.length === labels.length) withErrors += labels.length;
  });
  return {traces: (div.data || []).length, types: (div.data || []).map(t => t.type),
          names: names.filter(n => n !== null), withErrors};
})
"""


# the Data page's first uploader is "Upload data" (the second is "Open analysis")
DATA_UPLOAD = '[data-testid="stFileUploader"] input[type="file"]'


def settle(page, seconds: float = 0.3) -> None:
    """Wait until Streamlit has finished the current run (no 'running' status widget)."""
    time.sleep(seconds)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
    )
    time.sleep(0.2)


def screenshot(page, folder: Path, name: str) -> None:
    """A screenshot of the whole page (the app scrolls inside its main area)."""
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return m ? m.scrollHeight : document.body.scrollHeight; }"
    )
    page.set_viewport_size({"width": 1400, "height": max(1000, min(int(height) + 40, 8000))})
    time.sleep(0.5)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def open_page(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=title, exact=True).first.wait_for()
    settle(page)


def show_fair(page) -> None:
    """Switch on the Class effects page's fair comparisons (they wait behind a toggle so the
    caterpillar draws first) and wait for the run."""
    page.get_by_text("Show the fair comparisons for all").click()
    page.get_by_role("heading", name="Ranks, with their uncertainty").wait_for()
    settle(page)


def show_effects_table(page) -> None:
    """Open the Class effects page's table (a lazy expander: it runs when opened) and wait for
    its cells; nothing when it is open already."""
    if not page.get_by_test_id("stExpander").get_by_test_id("stDataFrame").count():
        page.get_by_test_id("stExpander").get_by_text("Table of every").first.click()
    page.get_by_test_id("stExpander").get_by_test_id("stDataFrame").first.locator(
        '[role="gridcell"]').first.wait_for(state="attached")
    settle(page)


def show_report_figures(page) -> None:
    """Open the Report page's "Figures as images" (a lazy expander: its list and buttons run
    when it is opened) and wait for its first PNG button; nothing when it is open already."""
    buttons = page.get_by_role("button", name="Download PNG")
    if not buttons.count():
        page.get_by_test_id("stExpander").get_by_text("Figures as images").click()
    buttons.first.wait_for()
    settle(page)


def open_tab(page, name: str) -> None:
    """Open a tab (the Diagnostics page's tabs are lazy: the open one runs on the server)."""
    page.get_by_role("tab", name=name).click()
    settle(page)


def upload(page, path: Path) -> None:
    page.locator(DATA_UPLOAD).first.set_input_files(str(path))
    page.get_by_text(f"{path.name}: 4,059 rows, 10 columns").wait_for(timeout=60_000)
    settle(page)


def fit_formula(page, formula: str) -> None:
    """Type `formula` in the Model page's Formula box and fit it. Waits for the builder's first
    run (it sets its defaults) and for the sidebar to show the typed model, so the box is not
    reset under the typing."""
    open_page(page, "Model")
    settle(page, 1.0)
    box = page.get_by_role("textbox", name="Formula")
    box.fill(formula)
    box.press("Enter")
    page.get_by_test_id("stSidebar").get_by_text(formula).wait_for()
    settle(page)
    page.get_by_role("button", name="Fit model").click()
    page.get_by_text("Fitted in").wait_for(timeout=60_000)
    settle(page)


def pick(page, label: str, option: str) -> None:
    """Choose `option` in the selectbox or multiselect labelled `label`."""
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    item = page.get_by_role("option", name=option, exact=True)
    try:
        item.wait_for(timeout=2_000)
    except Exception:  # the list sometimes opens only from the keyboard
        box.press("ArrowDown")
    item.click()
    page.keyboard.press("Escape")
    settle(page)


def fit_and_check_results(page, folder: Path, prefix: str) -> None:
    page.get_by_role("button", name="Fit model").click()
    page.get_by_text("Fitted in").wait_for(timeout=60_000)
    settle(page)
    screenshot(page, folder, f"{prefix}-2-model")

    open_page(page, "Results")
    page.get_by_role("heading", name="Fixed effects").wait_for()
    cells = page.get_by_test_id("stDataFrame").first.locator('[role="gridcell"]')
    cells.first.wait_for(state="attached")
    values = cells.all_inner_texts()
    assert "standLRT" in values, values[:20]
    shown = float(values[values.index("standLRT") + 1])
    assert shown == pytest.approx(REF_ESTIMATE["standLRT"], abs=1e-4)
    intercept = float(values[values.index("(Intercept)") + 1])
    assert intercept == pytest.approx(REF_ESTIMATE["(Intercept)"], abs=1e-4)
    assert page.get_by_text("What the model found").is_visible()
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download fixed effects (CSV)").click()
    assert dl.value.suggested_filename == "fixed_effects.csv"
    table = pd.read_csv(dl.value.path())
    est = dict(zip(table["term"], table["estimate"], strict=True))
    assert est["standLRT"] == pytest.approx(REF_ESTIMATE["standLRT"], abs=1e-6)
    screenshot(page, folder, f"{prefix}-3-results")

    open_page(page, "Class effects")
    # the caterpillar; the fair comparisons (shrinkage and ranks) when switched on
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 1")
    show_fair(page)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 3")
    page.wait_for_function("() => document.querySelector('.js-plotly-plot').data")
    caterpillar = page.evaluate(PLOT_GROUPS_JS)[0]
    # by default the one school with fewer than 5 students is hidden (privacy)
    assert len(caterpillar["names"]) == 64 and caterpillar["withErrors"] == 64
    page.get_by_text("Hide groups with fewer than k students").click()
    settle(page)
    page.wait_for_function("() => document.querySelector('.js-plotly-plot').data")
    caterpillar = page.evaluate(PLOT_GROUPS_JS)[0]
    assert len(caterpillar["names"]) == 65 and len(set(caterpillar["names"])) == 65
    assert caterpillar["withErrors"] == 65  # every point has its interval
    assert_drawn_once(page)  # the caterpillar by rank, the shrinkage and the rank charts
    screenshot(page, folder, f"{prefix}-4-class-effects")

    open_page(page, "Slopes")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 2")
    lines = page.evaluate(PLOT_GROUPS_JS)
    # 65 schools: more than 12 lines are drawn as one grey SVG trace, each point named
    assert lines[0]["traces"] == 1 and lines[0]["types"] == ["scatter"]
    assert len(set(lines[0]["names"])) == 65
    assert_drawn_once(page)
    screenshot(page, folder, f"{prefix}-5-slopes")


# each figure's margins as plotly drew it against those the app asked for: equal when the
# app's margins already held the labels (hlm_core.figure_margins), so plotly drew it once
# instead of measuring the labels, growing a margin and drawing it all again
GROWN_MARGINS_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(p => {
  const m = p._fullLayout.margin, s = p._fullLayout._size;
  return ['l', 'r', 't', 'b'].filter(k => Math.round(s[k]) > m[k])
    .map(k => `${k}: ${m[k]} -> ${Math.round(s[k])}`);
})"""


def assert_drawn_once(page) -> None:
    """No figure on the page needed a margin larger than the app gave it."""
    grown = page.evaluate(GROWN_MARGINS_JS)
    assert grown and all(not g for g in grown), grown


TITLE_LEGEND_GAP_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(p => {
  const title = p.querySelector('.gtitle'), legend = p.querySelector('.legend');
  return legend.getBoundingClientRect().top - title.getBoundingClientRect().bottom;
})"""


def test_xlsx_upload_typed_formula_fit_results_caterpillar(page, artifacts, exam_xlsx_path):
    upload(page, exam_xlsx_path)
    screenshot(page, artifacts, "formula-1-data")

    open_page(page, "Model")
    box = page.get_by_role("textbox", name="Formula")
    box.fill("normexam ~ standLRT + (1 | school)")
    box.press("Enter")
    settle(page)
    # the builder followed the typed formula
    assert page.get_by_role("combobox", name="Outcome").input_value() == "normexam"
    assert page.get_by_role("combobox", name="Grouping variable").input_value() == "school"
    fit_and_check_results(page, artifacts, "formula")


def test_builder_widgets_fit_results_caterpillar(page, artifacts, exam_xlsx_path):
    upload(page, exam_xlsx_path)
    open_page(page, "Model")
    pick(page, "Outcome", "normexam")
    pick(page, "Predictors", "standLRT")
    pick(page, "Grouping variable", "school")
    assert (
        page.get_by_role("textbox", name="Formula").input_value()
        == "normexam ~ standLRT + (1 | school)"
    )
    fit_and_check_results(page, artifacts, "builder")


def test_formula_error_is_shown_in_place(page, artifacts, exam_csv_path):
    upload(page, exam_csv_path)
    open_page(page, "Model")
    box = page.get_by_role("textbox", name="Formula")
    box.fill("normexam ~ standLRT + (1 | school")
    box.press("Enter")
    settle(page)
    alert = page.get_by_test_id("stAlertContentError")
    alert.first.wait_for()
    assert "never closed" in alert.first.inner_text()
    assert page.get_by_role("button", name="Fit model").is_disabled()
    screenshot(page, artifacts, "error-formula")


def test_pages_without_data_show_guidance(page, artifacts):
    for title in ("Model", "Results", "Class effects", "Slopes"):
        open_page(page, title)
        assert page.get_by_text("No data yet").is_visible()
        assert page.get_by_role("link", name="Go to Data").is_visible()
        assert page.get_by_test_id("stException").count() == 0
    screenshot(page, artifacts, "empty-slopes")


def test_example_data_walk(page, artifacts):
    page.get_by_role("button", name="Use example data").click()
    page.get_by_text("Example: classroom: 500 rows, 5 columns").wait_for()
    settle(page)
    screenshot(page, artifacts, "example-1-data")
    open_page(page, "Model")
    box = page.get_by_role("textbox", name="Formula")
    box.fill("score ~ exam.prep.days + poverty + parent.ed + (exam.prep.days | class)")
    box.press("Enter")
    settle(page)
    page.get_by_role("button", name="Fit model").click()
    page.get_by_text("Fitted in").wait_for(timeout=60_000)
    settle(page)
    screenshot(page, artifacts, "example-2-model")
    open_page(page, "Results")
    assert page.get_by_text("6 of 500 rows were left out").is_visible()
    screenshot(page, artifacts, "example-3-results")
    open_page(page, "Class effects")
    # two caterpillars (intercept, slope); shrinkage and ranks when switched on
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 2")
    show_fair(page)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 4")
    plots = page.evaluate(PLOT_GROUPS_JS)
    assert [len(p["names"]) for p in plots[:2]] == [7, 7]
    assert_drawn_once(page)  # caterpillars by name ("Class A" ... down the side)
    screenshot(page, artifacts, "example-4-class-effects")
    open_page(page, "Slopes")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 2")
    plots = page.evaluate(PLOT_GROUPS_JS)
    assert plots[0]["traces"] == 7 and plots[1]["traces"] == 7
    # "Class A" … "Class G" wrap the legend onto three rows: it must stay clear of the title
    gaps = page.evaluate(TITLE_LEGEND_GAP_JS)
    assert len(gaps) == 2 and all(g >= 0 for g in gaps), gaps
    assert_drawn_once(page)
    screenshot(page, artifacts, "example-5-slopes")
    open_page(page, "Diagnostics")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 1")
    page.wait_for_function("() => document.querySelector('.js-plotly-plot')._fullLayout")
    assert_drawn_once(page)  # the residuals against fitted values
