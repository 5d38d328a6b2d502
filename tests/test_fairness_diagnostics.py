"""Fair comparisons and diagnostics, checked against definitions and lme4 numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hlm_core.diagnostics import (
    fitted_and_residuals,
    influential_groups,
    qq_points,
    residual_spread,
    simpler_specs,
    try_other_optimizer,
)
from hlm_core.fairness import expected_ranks, hide_small_groups, reliability, shrinkage
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import read_table
from tests.refdata import FIXTURES, load_reference


@pytest.fixture(scope="module")
def exam():
    frame = read_table(FIXTURES / "exam.csv").frame
    return frame, fit(frame, parse_formula("normexam ~ 1 + (1 | school)"))


def test_reliability_is_hlm_lambda(exam):
    frame, res = exam
    ref = load_reference("exam_null")["reml"]["varcorr"]
    tau, s2 = ref[0]["vcov"], ref[1]["vcov"]
    rel = reliability(res).set_index("level")
    n1 = int((frame["school"] == 1).sum())
    assert rel.loc["1", "reliability"] == pytest.approx(tau / (tau + s2 / n1), abs=1e-4)
    assert 0.8 < rel["reliability"].mean() < 1


def test_shrinkage_pulls_own_means_toward_the_average(exam):
    frame, res = exam
    sh = shrinkage(res).set_index("level")
    mean1 = frame.loc[frame["school"] == 1, "normexam"].mean()
    assert sh.loc["1", "own_estimate"] == pytest.approx(mean1)
    # in a null model the BLUP is the own deviation times the reliability
    lam = reliability(res).set_index("level")["reliability"]
    dev_own = sh["own_estimate"] - sh["average"]
    dev_model = sh["model_estimate"] - sh["average"]
    np.testing.assert_allclose(dev_model, dev_own * lam, rtol=1e-4, atol=1e-8)


def test_expected_ranks_have_intervals_that_contain_the_point_rank(exam):
    _, res = exam
    er = expected_ranks(res, n_draws=400)
    assert len(er) == 65
    assert er["expected_rank"].mean() == pytest.approx(33.0)
    assert (er["rank_low"] <= er["rank_high"]).all()
    top = er.loc[er["point_rank"] == 1].iloc[0]
    assert top["rank_low"] <= 1 + 5 and top["expected_rank"] < 10


def test_hide_small_groups():
    t = pd.DataFrame({"level": ["a", "b"], "n": [3, 10]})
    assert list(hide_small_groups(t)["level"]) == ["b"]
    assert len(hide_small_groups(t, 1)) == 2


def test_residuals_add_up_and_qq_points(exam):
    frame, res = exam
    fr = fitted_and_residuals(res)
    np.testing.assert_allclose(fr["fitted"] + fr["residual"], frame["normexam"].to_numpy())
    assert fr["residual"].std() == pytest.approx(res.sigma, rel=0.05)
    qq = qq_points(fr["residual"].to_numpy())
    assert qq["theoretical"].is_monotonic_increasing and len(qq) == 4059
    spread = residual_spread(res)
    assert len(spread) == 65


def test_influential_groups_refit_and_report_changes(exam):
    frame, _ = exam
    res = fit(frame, parse_formula("normexam ~ standLRT + (1 | school)"))
    inf = influential_groups(res, frame, top=3)
    assert len(inf.table) == 3
    assert {"group", "n", "(Intercept)", "standLRT"} <= set(inf.table.columns)
    # leaving one school out must move the estimates a little, not nothing and not wildly
    assert (inf.table["standLRT"].abs() < 2).all()
    assert (inf.table["(Intercept)"].abs() > 0).any()


def test_triage_offers_uncorrelated_and_simpler_models():
    frame = read_table(FIXTURES / "bdf.csv").frame
    res = fit(frame, parse_formula("langPOST ~ IQ.verb + Minority + (Minority | schoolNR)"))
    assert res.singular
    options = dict(simpler_specs(res))
    assert "Uncorrelated random slopes (||)" in options
    assert any(not r.correlated for r in options["Uncorrelated random slopes (||)"].random)
    other, msg = try_other_optimizer(res, frame)
    assert other.loglik == pytest.approx(res.loglik, abs=1e-2)
    assert "optimizer" in msg
