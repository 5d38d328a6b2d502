"""The model ladder against lme4's anova() on the exam references (null → ri → rs)."""

from __future__ import annotations

import pytest
from scipy import stats

from hlm_core.compare import boundary_p, ladder
from hlm_core.formula import parse_formula
from hlm_core.io import read_table
from tests.refdata import FIXTURES, load_reference


@pytest.fixture(scope="module")
def exam_ladder():
    frame = read_table(FIXTURES / "exam.csv").frame
    return ladder(frame, parse_formula(load_reference("exam_rs")["formula"]))


def test_steps_and_ml_likelihoods_match_lme4(exam_ladder):
    t = exam_ladder.table
    assert exam_ladder.names == ["Null model", "+ student-level predictors", "+ random slopes"]
    assert list(t["method"]) == ["ML", "ML", "ML"]
    for i, case in enumerate(["exam_null", "exam_ri", "exam_rs"]):
        assert t["logLik"][i] == pytest.approx(load_reference(case)["ml"]["loglik"], abs=2e-3)
        assert t["AIC"][i] == pytest.approx(load_reference(case)["ml"]["AIC"], abs=4e-3)


def test_neighbour_lrts_match_lme4_anova(exam_ladder):
    t = exam_ladder.table
    for i, case in [(1, "exam_ri"), (2, "exam_rs")]:
        ref = load_reference(case)["lrt"]
        assert t["Chisq"][i] == pytest.approx(ref["chisq"], abs=1e-3)
        assert t["Df"][i] == ref["df"]
        assert t["p_value"][i] == pytest.approx(ref["p_value"], rel=1e-2)


def test_boundary_corrected_p_for_the_random_slope(exam_ladder):
    t = exam_ladder.table
    x = t["Chisq"][2]
    mixture = 0.5 * stats.chi2.sf(x, 1) + 0.5 * stats.chi2.sf(x, 2)
    assert t["p_boundary"][2] == pytest.approx(mixture)
    assert t["p_boundary"][2] < t["p_value"][2]
    assert t["p_boundary"].isna()[1]  # adding a fixed effect is not a boundary test
    assert boundary_p(2.71, 1) == pytest.approx(0.5 * stats.chi2.sf(2.71, 1))


def test_null_model_icc_design_effect_and_variance_explained(exam_ladder):
    ref = load_reference("exam_null")["ml"]
    tau = ref["varcorr"][0]["vcov"]
    sigma2 = ref["varcorr"][1]["vcov"]
    assert exam_ladder.icc == pytest.approx(tau / (tau + sigma2), abs=1e-3)
    assert exam_ladder.design_effect == pytest.approx(1 + (4059 / 65 - 1) * exam_ladder.icc)
    ri = load_reference("exam_ri")["ml"]["varcorr"]
    t = exam_ladder.table
    level1 = (sigma2 - ri[1]["vcov"]) / sigma2
    assert t["var_explained_level1"][1] == pytest.approx(level1, abs=1e-3)
    assert t["var_explained_school"][1] == pytest.approx((tau - ri[0]["vcov"]) / tau, abs=1e-3)
