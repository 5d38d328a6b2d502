"""A yes/no outcome in the real browser: upload a CSV with a pass/fail column, type the
formula, see the outcome type switch to yes/no, fit, read the odds ratio on Results (against
lme4's glmer), and see the class effects as predicted probabilities. Screenshots for README."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from test_walkthrough import open_page, screenshot, settle

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
    screenshot(page, artifacts, "glmm-2-results")

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
