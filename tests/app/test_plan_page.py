"""Plan a study page: typical values without data, the ICC(s) and group sizes read from the
user's fits (lme4 references), overwriting a value, the answer equal to hlm_core.power, the
simulation reproducible by seed, and the plan in the workbook, report and R code."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from apphelpers import (
    FIXTURES,
    button,
    fit_by_formula,
    go,
    new_app,
    state,
    texts,
    upload,
    widget,
)
from downloads import download_bytes, record_downloads
from openpyxl import load_workbook

from hlm_core.plan_views import TYPICAL
from hlm_core.power import Plan, solve
from hlm_core.power_sim import SimSettings, simulate_power
from ui.text import md

PREFILL = json.loads((FIXTURES / "power" / "prefill_reference.json").read_text())


def number(at, label: str):
    return widget(at, "number_input", label)


def metric(at, start: str) -> str:
    found = [m.value for m in at.metric if m.label.startswith(start)]
    assert found, [m.label for m in at.metric]
    return found[0]


@pytest.fixture
def downloads(monkeypatch):
    return record_downloads(monkeypatch)


@pytest.fixture
def exam_plan(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    fit_by_formula(at, "normexam ~ schgend + (1 | school)")
    go(at, "plan")
    button(at, "Fit the null model").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def test_without_data_the_inputs_start_at_typical_values():
    at = go(new_app(), "plan")
    assert "Values from your data:** none yet" in texts(at)
    assert number(at, "ICC, level 2 (rho2)").value == TYPICAL["rho2"]
    assert "typical value — replace it with yours" in texts(at)
    want = solve(Plan("cra2", rho2=TYPICAL["rho2"], n=TYPICAL["n"], es=TYPICAL["es"]),
                 "clusters")
    assert metric(at, "Number of clusters") == str(want.clusters)
    assert f"You need **{want.clusters} clusters" in texts(at)
    assert "Fit a model with the programme" in texts(at)  # no simulation without a fit


def test_icc_and_group_size_come_from_the_null_model(exam_plan):
    at = exam_plan
    ref = PREFILL["exam_null"]
    rho2 = number(at, "ICC, level 2 (rho2)").value
    assert rho2 == pytest.approx(ref["icc"], abs=1e-4)
    assert number(at, "Pupils per cluster (n)").value == pytest.approx(round(ref["n_mean"], 1))
    shown = texts(at)
    assert "from your data: ICC: share of the variance between 'school' groups" in \
        shown.replace("\\", "")
    assert f"95% interval {ref['icc_lower']:.3f} to {ref['icc_upper']:.3f}" in \
        shown.replace("\\", "")
    want = solve(Plan("cra2", rho2=rho2, n=round(ref["n_mean"], 1), es=0.25), "clusters")
    assert metric(at, "Number of clusters") == str(want.clusters)


def test_overwriting_a_value_says_so_and_the_data_value_comes_back(exam_plan):
    at = exam_plan
    number(at, "ICC, level 2 (rho2)").set_value(0.25).run()
    shown = texts(at).replace("\\", "")
    assert "entered by you (your data say 0.168" in shown
    n = number(at, "Pupils per cluster (n)").value
    want = solve(Plan("cra2", rho2=0.25, n=n, es=0.25), "clusters").clusters
    assert metric(at, "Number of clusters") == str(want)
    button(at, "Use the values from my data").click().run()
    assert number(at, "ICC, level 2 (rho2)").value == pytest.approx(PREFILL["exam_null"]["icc"],
                                                                     abs=1e-4)


def test_three_level_plan_reads_both_iccs():
    bdf = (FIXTURES / "bdf.csv").read_bytes()
    at = upload(new_app(), "bdf.csv", bdf)
    fit_by_formula(at, "langPOST ~ 1 + (1 | schoolNR/classNR)")
    go(at, "plan")
    widget(at, "radio", "How will the programme be assigned?").set_value("cra3").run()
    assert not at.exception, [e.value for e in at.exception]
    ref = PREFILL["bdf_nested"]
    assert number(at, "ICC, schools (rho3)").value == pytest.approx(ref["rho_school"], abs=1e-4)
    assert number(at, "ICC, classes within schools (rho2)").value == pytest.approx(
        ref["rho_class"], abs=1e-4)
    assert metric(at, "Number of schools (K)").isdigit()


def test_impossible_inputs_are_said_in_words(exam_plan):
    at = exam_plan
    widget(at, "radio", "What do you want to work out?").set_value("power").run()
    number(at, "Level-2 units (J)").set_value(2.0).run()
    assert not at.exception
    assert "no degrees of freedom left" in " ".join(e.value for e in at.error)


def test_simulation_runs_to_the_end_and_the_seed_repeats_it(exam_plan, monkeypatch):
    from apphelpers import count_jobs

    from hlm_core.power_sim import run_piece

    at = exam_plan
    jobs = count_jobs(monkeypatch)
    number(at, "Simulations").set_value(20)
    number(at, "Number of school groups").set_value(30)
    button(at, "Run the simulation").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert jobs and set(jobs) == {run_piece}  # the refits ran in worker processes
    first = metric(at, "Simulated power (20 simulations)")
    run = state(at).plan_sim
    assert run.finished and run.done == 20
    result = state(at).current_fit()
    settings = run.settings
    assert settings == SimSettings(term="schgendgirls", effect=settings.effect, clusters=30,
                                   group_size=62, nsim=20, test="t", alpha=0.05, seed=1)
    direct = simulate_power(result, settings)
    assert first == f"{direct.power:.1%}"
    button(at, "Run the simulation").click().run()
    assert metric(at, "Simulated power (20 simulations)") == first


def test_the_plan_goes_into_the_workbook_report_and_r_code(exam_plan, downloads):
    at = exam_plan
    number(at, "Simulations").set_value(10)
    button(at, "Run the simulation").click().run()
    res, _, sim = state(at).plan
    assert sim is not None and sim.n_done == 10
    go(at, "report")
    book = load_workbook(io.BytesIO(download_bytes(at, "dl_workbook", downloads)))
    rows = pd.DataFrame(book["Study plan"].iter_rows(min_row=2, values_only=True))
    assert f"{res.clusters}" in {str(v) for v in rows[1]}
    assert "Simulated power (10 simulations)" in set(rows[0])
    html = download_bytes(at, "dl_report", downloads).decode("utf-8")
    assert "<h2>Study plan</h2>" in html and "mrss.cra2(" in html
    assert "95% Monte-Carlo interval" in html


def test_multisite_plan_reads_omega2_from_a_random_slope(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    fit_by_formula(at, "normexam ~ standLRT + (standLRT | school)")
    go(at, "plan")
    widget(at, "radio", "How will the programme be assigned?").set_value("bira2").run()
    assert not at.exception, [e.value for e in at.exception]
    vc = {(r["group"], r["term1"], r["term2"]): r["vcov"]
          for r in json.loads((FIXTURES / "exam_rs.json").read_text())["reml"]["varcorr"]}
    want = vc[("school", "standLRT", "")] / vc[("school", "(Intercept)", "")]
    omega = number(at, "Effect heterogeneity across sites (omega2)").value
    assert omega == pytest.approx(want, abs=1e-3)
    assert "variance of the effect of standLRT" in texts(at).replace("\\", "")


def test_names_from_the_file_are_shown_as_text():
    import numpy as np

    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(12), 8)
    group = "[s](javascript:alert(1)) :material/home:"
    frame = pd.DataFrame({"**y**": rng.normal(size=96) + rng.normal(size=12)[g],
                          group: [f"<b>{k}</b>" for k in g], "t": g % 2})
    at = upload(new_app(), "h.csv", frame.to_csv(index=False).encode())
    fit_by_formula(at, f"`**y**` ~ t + (1 | `{group}`)")
    go(at, "plan")
    button(at, "Fit the null model").click().run()
    assert not at.exception, [e.value for e in at.exception]
    escaped = md(group)  # every punctuation mark backslash-escaped: shown, never rendered
    assert f"Number of {escaped} groups" in [n.label for n in at.number_input]
    assert widget(at, "number_input", f"Number of {group} groups")  # as the user reads it
    assert f"share of the variance between '{group}' groups" in texts(at)  # as shown
    raw = [c.value for c in at.caption]
    assert any(md(group) in c for c in raw) and not any("[s](" in c for c in raw)
