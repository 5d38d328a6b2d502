"""Real-browser walk of the new pages: the model ladder on the Compare page (table read from the
grid, CSV downloaded), then the Diagnostics page, the fair comparisons on the Class effects
page and the centring and crossed choices on the Model page, each screenshotted."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.browser.test_walkthrough import (
    fit_formula,
    open_page,
    open_tab,
    pick,
    screenshot,
    settle,
    show_fair,
    upload,
)

ROOT = Path(__file__).resolve().parents[2]
LRT = json.loads((ROOT / "tests" / "fixtures" / "exam_rs.json").read_text())["lrt"]


def grid_values(page, index: int) -> list[str]:
    cells = page.get_by_test_id("stDataFrame").nth(index).locator('[role="gridcell"]')
    cells.first.wait_for(state="attached")
    return cells.all_inner_texts()


def test_model_ladder_on_the_compare_page(page, artifacts, exam_csv_path):
    upload(page, exam_csv_path)
    fit_formula(page, "normexam ~ standLRT + (standLRT | school)")

    open_page(page, "Compare")
    page.get_by_role("button", name="Fit the model ladder").click()
    page.get_by_role("heading", name="The ladder").wait_for(timeout=60_000)
    settle(page)
    values = grid_values(page, 0)
    for name in ("1. Null model", "2. + student-level predictors", "3. + random slopes"):
        assert name in values, values[:40]
    row = values[values.index("3. + random slopes"):][:10]
    # Model, Parameters, logLik, AIC, BIC, Deviance, χ², df, p, p (boundary-corrected)
    assert row[6] == "40.372", row
    assert float(row[6]) == pytest.approx(LRT["chisq"], abs=1e-3)
    assert row[7] == str(LRT["df"])
    assert row[8] == "< 0.001" and row[9] == "< 0.001", row
    assert page.get_by_text("Adding random slopes improved the fit: χ²(2) = 40.37").is_visible()
    assert page.get_by_text("ICC (null model, ML)").is_visible()
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download model comparison (CSV)").click()
    assert dl.value.suggested_filename == "model_ladder.csv"
    table = pd.read_csv(dl.value.path())
    assert table["model"].tolist() == [
        "1. Null model", "2. + student-level predictors", "3. + random slopes"
    ]
    assert table["Chisq"].iloc[-1] == pytest.approx(LRT["chisq"], abs=1e-3)
    assert table["Df"].iloc[-1] == LRT["df"]
    page.locator(".js-plotly-plot").first.wait_for()
    screenshot(page, artifacts, "compare-ladder")

    open_page(page, "Diagnostics")
    # one chart per tab: residuals first, then the Q-Q plots (residuals, intercepts, slopes)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 1")
    open_tab(page, "Normal Q-Q plots")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 3")
    open_tab(page, "Residual spread per group")
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 1")
    assert page.get_by_text("The fit converged and is not singular").is_visible()
    page.get_by_role("button", name="Refit without each of the top 5 groups").click()
    page.get_by_role("button", name="Download influence table (CSV)").wait_for(timeout=60_000)
    settle(page)
    screenshot(page, artifacts, "diagnostics")

    open_page(page, "Class effects")
    page.get_by_role("heading", name="Fair comparisons").wait_for()
    show_fair(page)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 4")
    assert page.get_by_text("1 school with fewer than 5 students hidden").is_visible()
    screenshot(page, artifacts, "class-effects-fair")


def test_centring_and_crossed_in_the_builder(page, artifacts, exam_csv_path):
    upload(page, exam_csv_path)
    open_page(page, "Model")
    pick(page, "Outcome", "normexam")
    pick(page, "Predictors", "standLRT")
    pick(page, "Grouping variable", "school")
    pick(page, "Centre standLRT", "Group mean (within school)")
    pick(page, "Crossed with (optional)", "intake")
    assert (
        page.get_by_role("textbox", name="Formula").input_value()
        == "normexam ~ standLRT + (1 | school) + (1 | intake)"
    )
    assert page.get_by_text(
        "standLRT centred within school; school mean of standLRT added as standLRT.mean"
    ).first.is_visible()
    page.get_by_role("button", name="Fit model").click()
    page.get_by_text("Fitted in").wait_for(timeout=60_000)
    settle(page)
    screenshot(page, artifacts, "model-centring-crossed")
