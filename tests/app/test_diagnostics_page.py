"""Diagnostics page: residual plots and Q-Q plots from the fit, influential groups refitted on
request (once), and convergence triage with one-click simpler models for a singular fit."""

from collections import Counter

import numpy as np
import pytest
from apphelpers import (
    FIXTURES,
    button,
    count_jobs,
    figures,
    fit_by_formula,
    frame_by_key,
    go,
    new_app,
    open_tab,
    reference,
    state,
    texts,
    trace_array,
    upload,
    widget,
)

from hlm_core.crosscheck import crosscheck
from hlm_core.diagnostics import fitted_and_residuals, influential_groups
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import read_table
from ui.text import plain

BDF = (FIXTURES / "bdf.csv").read_bytes()
SINGULAR = "langPOST ~ IQ.verb + Minority + (Minority | schoolNR)"


@pytest.fixture
def exam_rs_app(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    return fit_by_formula(at, "normexam ~ standLRT + (standLRT | school)")


def test_figures_from_the_fit(exam_rs_app):
    at = go(exam_rs_app, "diagnostics")
    assert "The fit converged and is not singular" in texts(at)
    resid = figures(at, "diag_resid")
    assert len(resid) == 1 and len(figures(at)) == 1  # one chart at a time (lazy tabs)
    frame = read_table(FIXTURES / "exam.csv").frame
    want = fitted_and_residuals(fit(frame, parse_formula(
        "normexam ~ standLRT + (standLRT | school)")))
    pts = resid[0]["data"][0]
    # 4,059 students: 400 are drawn, every unusual one (|standardised residual| > 2.5) among
    # them, the others a random sample (the trend line uses them all)
    x, y = trace_array(pts, "x").astype(float), trace_array(pts, "y").astype(float)
    assert len(x) == len(y) == 400
    def points(f, r) -> Counter:
        return Counter((round(a, 6), round(b, 6)) for a, b in zip(f, r, strict=True))

    drawn = points(x, y)
    assert drawn <= points(want["fitted"], want["residual"])  # students of the data, once each
    unusual = want[want["std_residual"].abs() > 2.5]
    assert 10 < len(unusual) < 200
    assert points(unusual["fitted"], unusual["residual"]) <= drawn
    # a random sample, not the extremes only: most drawn points are ordinary
    assert (np.abs(y) < 2 * want["residual"].std()).mean() > 0.8
    assert "400 of 4,059 students drawn: every one with an unusual residual" in texts(at)
    # Q-Q plots: the residuals and each random effect (intercept and slope per school)
    open_tab(at, "w_diag_view", "Normal Q-Q plots")
    assert not at.exception and not figures(at, "diag_resid")
    qq = figures(at, "diag_qq")
    titles = [f["layout"]["title"]["text"] for f in qq]
    assert titles == ["Residuals (students)", "school: intercepts", "school: slopes of standLRT"]
    # 4,059 residuals: an even spread of 1,000 of the sorted values is drawn, both tails kept
    drawn = trace_array(qq[0]["data"][0], "y").astype(float)
    std = np.sort(want["std_residual"].to_numpy())
    assert len(drawn) == 1000
    assert drawn[0] == pytest.approx(std[0]) and drawn[-1] == pytest.approx(std[-1])
    assert drawn == pytest.approx(std[np.round(np.linspace(0, len(std) - 1, 1000)).astype(int)],
                                  rel=1e-6)
    assert len(trace_array(qq[1]["data"][0], "x")) == 65
    sample = trace_array(qq[1]["data"][0], "y").astype(float)
    assert list(sample) == sorted(sample)
    open_tab(at, "w_diag_view", "Residual spread per group")
    spread = figures(at, "diag_spread")[0]
    assert len(trace_array(spread["data"][0], "x")) == 65
    sigma = reference("exam_rs")["reml"]["sigma"]  # lme4's residual SD of this model
    assert spread["layout"]["shapes"][0]["y0"] == pytest.approx(sigma, abs=2e-3)


def test_influential_groups_refit_on_request_once(exam_rs_app, monkeypatch):
    at = go(exam_rs_app, "diagnostics")
    assert not [d for d in at.dataframe]  # nothing refitted until asked
    calls = count_jobs(monkeypatch)  # the refits run as one job in a worker process
    button(at, "Refit without each of the top 5 groups").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert len(table) == 5 and calls == [influential_groups]
    assert {"school", "n", "(Intercept)", "standLRT", "largest change (SE)"} <= set(table.columns)
    assert (table["largest change (SE)"] > 0).all()
    assert "Download influence table (CSV)" in [b.label for b in at.get("download_button")]
    # kept for this fit: visiting another page and coming back does not refit
    go(at, "results")
    go(at, "diagnostics")
    assert len(at.dataframe[0].value) == 5 and calls == [influential_groups]


def test_singular_fit_triage_offers_the_uncorrelated_model():
    at = upload(new_app(), "bdf.csv", BDF)
    fit_by_formula(at, SINGULAR)
    go(at, "diagnostics")
    t = texts(at)
    assert "The fit is singular" in t
    assert "The correlation of **(Intercept)** and **MinorityY**" in t
    labels = [plain(b.label) for b in at.button]  # labels are Markdown (escaped user text)
    assert "Try the other optimizer" in labels
    assert "Fit: Uncorrelated random slopes (||)" in labels
    assert "Fit: Random intercepts only" in labels
    # the other optimizer: refits and says whether the estimates depend on it
    button(at, "Try the other optimizer").click().run()
    assert any("optimizer" in i.value and "Log-likelihood" in i.value for i in at.info)
    # one click: the uncorrelated model is fitted (through the fit cache) and shown on Results
    button(at, "Fit: Uncorrelated random slopes (||)").click().run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Results"
    want = "langPOST ~ IQ.verb + Minority + (Minority || schoolNR)"
    assert want in texts(at)
    assert state(at).fit_key[1] == parse_formula(want)
    assert frame_by_key(at, "fixed_effects")["Term"].tolist() == [
        "(Intercept)", "IQ.verb", "MinorityY"
    ]
    # the Model page now describes that model
    go(at, "model")
    assert widget(at, "text_input", "Formula").value == want
    assert widget(at, "toggle", "Correlated random effects").value is False


def test_random_intercepts_only_in_one_click():
    at = upload(new_app(), "bdf.csv", BDF)
    fit_by_formula(at, SINGULAR)
    go(at, "diagnostics")
    button(at, "Fit: Random intercepts only").click().run()
    assert at.title[0].value == "Results"
    assert "langPOST ~ IQ.verb + Minority + (1 | schoolNR)" in texts(at)
    go(at, "diagnostics")
    assert "The fit converged and is not singular" in texts(at)


def test_crosscheck_with_statsmodels_on_request_once(exam_rs_app, monkeypatch):
    at = go(exam_rs_app, "diagnostics")
    label = "Cross-check with a second engine (statsmodels)"
    assert not [d for d in at.dataframe]  # nothing refitted until asked
    calls = count_jobs(monkeypatch)  # the statsmodels refit runs as a job in a worker process
    button(at, label).click().run()
    assert not at.exception and not at.error
    verdicts = [s.value for s in at.success]
    assert any(
        "The two engines agree to within 0.001 of a standard error on every fixed effect" in v
        for v in verdicts
    ), verdicts
    table = frame_by_key(at, "crosscheck")
    assert table["Quantity"].tolist() == [
        "fixed: (Intercept)", "fixed: standLRT", "SD: (Intercept)", "SD: standLRT",
        "SD: Residual", "logLik",
    ]
    assert list(table.columns) == [
        "Quantity", "This app", "statsmodels", "Difference", "Difference (SE)"
    ]
    assert table["Difference (SE)"].iloc[:2].abs().max() < 0.001
    assert "Download cross-check (CSV)" in [b.label for b in at.get("download_button")]
    # kept for this fit: another page and back, or the button again, does not refit
    go(at, "results")
    go(at, "diagnostics")
    assert any("agree to within 0.001" in s.value for s in at.success)
    button(at, label).click().run()
    assert calls == [crosscheck]


def test_crosscheck_says_plainly_when_it_cannot_check_the_model(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    fit_by_formula(at, "normexam ~ standLRT + (1 | school) + (1 | sex)")
    go(at, "diagnostics")
    button(at, "Cross-check with a second engine (statsmodels)").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("handles one grouping level only" in e for e in errors), errors
    assert all("Traceback" not in e for e in errors)
