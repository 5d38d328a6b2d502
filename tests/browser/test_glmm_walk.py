"""A yes/no outcome in the real browser: upload a CSV with a pass/fail column, type the
formula, see the outcome type switch to yes/no, fit, read the odds ratio on Results (against
lme4's glmer), and see the class effects as predicted probabilities. Screenshots for README."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from test_walkthrough import open_page, pick, screenshot, settle

ROOT = Path(__file__).resolve().parents[2]
GLMM = ROOT / "tests" / "fixtures" / "glmm"


def test_pass_fail_outcome_fit_odds_ratios_and_probabilities(page, artifacts):
    ref = {f["term"]: f for f in json.loads((GLMM / "bin_ri.json").read_text())["fixed"]}
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(
        str(GLMM / "pupils.csv"))
    page.get_by_text("pupils.csv: 1,071 rows, 8 columns").wait_for(timeout=60_000)
    settle(page)
    open_page(page, "Model")
    box = page.get_by_role("textbox", name="Formula")
    box.fill("result ~ ses + sex + small + (1 | class)")
    box.press("Enter")
    settle(page)
    page.get_by_text("binomial model with a logit link").wait_for()
    settle(page)
    assert page.get_by_role("radio", name="Yes/no (pass/fail)").is_checked()
    page.get_by_role("button", name="Fit model").click()
    page.get_by_text("Fitted in").wait_for(timeout=60_000)
    settle(page)
    screenshot(page, artifacts, "glmm-1-model")

    open_page(page, "Results")
    page.get_by_role("heading", name="Fixed effects").wait_for()
    cells = page.get_by_test_id("stDataFrame").first.locator('[role="gridcell"]')
    cells.first.wait_for(state="attached")
    values = cells.all_inner_texts()
    row = values.index("smallyes")
    estimate = float(values[row + 1])
    assert estimate == pytest.approx(ref["smallyes"]["estimate"], abs=2e-3)
    odds = float(values[row + 7])  # Term, Estimate, SE, z, p, CI low, CI high, Odds ratio
    assert odds == pytest.approx(math.exp(ref["smallyes"]["estimate"]), abs=5e-3)
    assert page.get_by_text("Latent ICC (adj.)", exact=True).first.is_visible()
    # one SD on 1,071 rows: the profile interval is there at once, lme4's confint numbers
    ci_ref = json.loads((ROOT / "tests" / "fixtures" / "glmm_ci" / "bin_ri.json").read_text())
    lme4_ci = ci_ref["intervals"][0]
    vc = page.get_by_test_id("stDataFrame").nth(1).locator('[role="gridcell"]')
    vc.first.wait_for(state="attached")
    vc_values = vc.all_inner_texts()
    cell = next(v for v in vc_values if v.startswith("["))
    low, high = (float(x) for x in cell.strip("[]").split(","))
    assert low == pytest.approx(lme4_ci["lower"], rel=5e-3)
    assert high == pytest.approx(lme4_ci["upper"], rel=5e-3)
    page.get_by_text("95% CI [0.09, 0.24]").first.wait_for()  # the latent ICC's interval
    screenshot(page, artifacts, "glmm-2-results")

    # the bootstrap on request: 100 draws, seed shown, kept for the fit
    page.get_by_text("Bootstrap intervals (parametric, as lme4's bootMer)").click()
    pick(page, "Bootstrap draws", "100")
    run = page.get_by_role("button", name="Run the bootstrap")
    if not run.is_visible():  # the rerun after the choice may fold the expander
        page.get_by_text("Bootstrap intervals (parametric, as lme4's bootMer)").click()
    run.click()
    page.get_by_text("(bootstrap).").wait_for(timeout=240_000)
    settle(page)
    page.get_by_text("Parametric bootstrap: 100 simulated data sets (seed 2024)").wait_for()
    boot = page.get_by_test_id("stDataFrame").nth(2).locator('[role="gridcell"]')
    cell = next(v for v in boot.all_inner_texts() if v.startswith("["))
    b_low, b_high = (float(x) for x in cell.strip("[]").split(","))
    assert 0.3 < b_low < 0.76 < b_high < 1.3  # around the SD 0.76, near the profile's
    screenshot(page, artifacts, "glmm-2b-results-bootstrap")

    open_page(page, "Class effects")
    page.get_by_text("Predicted probability for an average pupil").click()
    settle(page)
    page.get_by_role("heading", name="Chance of result = pass per class (average pupil)").wait_for()
    page.wait_for_function("() => { const d = document.querySelector('.js-plotly-plot');"
                           " return d && d._fullData && d._fullData.length; }")
    # the caterpillar: classes along x, their predicted probabilities (with intervals) on y
    numbers = page.evaluate(
        "() => document.querySelector('.js-plotly-plot')._fullData"
        ".filter(t => t.error_y && t.error_y.visible).flatMap(t => Array.from(t.y || []))")
    assert len(numbers) == 60
    assert numbers and all(0 <= x <= 1 for x in numbers)
    screenshot(page, artifacts, "glmm-3-class-effects")

    open_page(page, "Diagnostics")
    page.get_by_role("heading", name="Binned residuals").wait_for()
    page.get_by_role("button", name="Refit without each of the top 5 groups").click()
    page.get_by_text("Download influence table (CSV)").wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_text("Not available for yes/no and count models").first.is_visible()
    screenshot(page, artifacts, "glmm-4-diagnostics")
