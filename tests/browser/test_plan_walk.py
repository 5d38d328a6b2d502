"""Real-browser walk of the Plan a study page: the ICC read from the null model of exam.csv, the
number of schools answered as the closed form says, the curves drawn, and a simulation started
and cancelled with its progress bar."""

from __future__ import annotations

import re

import pytest

from hlm_core.power import Plan, solve
from tests.browser.test_walkthrough import fit_formula, open_page, screenshot, settle, upload


def number_value(page, label: str) -> float:
    return float(page.get_by_role("spinbutton", name=label, exact=True).input_value())


def test_plan_a_study_from_the_pilot_data(page, artifacts, exam_csv_path):
    upload(page, exam_csv_path)
    fit_formula(page, "normexam ~ schgend + (1 | school)")

    open_page(page, "Plan a study")
    page.get_by_role("button", name="Fit the null model").click()
    page.get_by_text("from your data: ICC: share of the variance between").wait_for()
    settle(page)
    rho2 = number_value(page, "ICC, level 2 (rho2)")
    n = number_value(page, "Pupils per cluster (n)")
    assert rho2 == pytest.approx(0.1683, abs=1e-4)  # lme4: 0.16834 (tests/fixtures)
    assert n == pytest.approx(round(4059 / 65, 1))
    want = solve(Plan("cra2", rho2=rho2, n=n, es=0.25), "clusters").clusters
    sentence = page.get_by_text(re.compile(r"^You need \d+ clusters")).inner_text()
    assert sentence.startswith(f"You need {want} clusters"), sentence
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 2")
    assert page.get_by_text("target power 80%").first.is_visible()

    eff = page.get_by_role("spinbutton", name="Effect size to detect (SD)", exact=True)
    eff.fill("0.35")
    eff.press("Enter")
    settle(page)
    want = solve(Plan("cra2", rho2=rho2, n=n, es=0.35), "clusters").clusters
    assert page.get_by_text(re.compile(rf"^You need {want} clusters")).is_visible()
    screenshot(page, artifacts, "plan")

    sims = page.get_by_role("spinbutton", name="Simulations", exact=True)
    sims.fill("2000")
    page.get_by_role("button", name="Run the simulation").click()
    page.get_by_test_id("stProgress").wait_for(timeout=30_000)
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text(re.compile(r"Simulated power \([\d,]+ simulations, cancelled\)")).wait_for(
        timeout=60_000
    )
    assert page.get_by_text("95% Monte-Carlo interval").is_visible()
    settle(page)
    screenshot(page, artifacts, "plan-simulation")
