"""The vectorised Laplace route for one scalar random term (hlm_core/engines/glmm_scalar.py)
against the general route through mixedlm (the one the glmer reference tests also cover for
nested, crossed and random-slope models): the same deviance, gradient and Hessian at given
parameters, and the same fitted numbers on small data. Speed is measured in
benchmarks/bench_glmm.py, not here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mixedlm.estimation.joint_glmm import JointGLMMObjective

from hlm_core.design import model_frame
from hlm_core.engines import glmm_scalar
from hlm_core.engines.glmm_engine import _deriv12_hessian, _family
from hlm_core.engines.mixedlm_engine import build_matrices
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import read_table

PUPILS = Path(__file__).parent / "fixtures" / "glmm" / "pupils.csv"
MOSTLY_PASS = Path(__file__).parent / "fixtures" / "glmm_scalar"  # make_data.py, make_reference.R
MODELS = [
    ("result ~ ses + sex + small + (1 | class)", "binomial"),
    ("absences ~ ses + small + (1 | class)", "poisson"),
    ("passed01 ~ small + (0 + ses | class)", "binomial"),  # a scalar term that is not 1
]


@pytest.fixture(scope="module")
def pupils() -> pd.DataFrame:
    return read_table(PUPILS).frame


def _objectives(frame, formula, family):
    mf = model_frame(frame, parse_formula(formula).with_(family=family))
    b = mf.blocks[0]
    ours = glmm_scalar.ScalarLaplace(mf.y, mf.X, b.Z[:, 0], b.codes, b.n_levels, family)
    general = JointGLMMObjective(build_matrices(mf), _family(family), 1, pirls_tol=1e-10)
    # mixedlm's objective is relative to the saturated model; ours is -2 logLik in full
    sat = glmm_scalar._saturated_loglik(ours.y, family)
    return mf, ours, (lambda x: general.evaluate(x)[0] - 2 * sat)


@pytest.mark.parametrize(("formula", "family"), MODELS)
def test_deviance_gradient_and_hessian_equal_the_general_route(pupils, formula, family):
    mf, ours, general = _objectives(pupils, formula, family)
    rng = np.random.default_rng(3)
    for theta in (0.3, 1.2):
        x = np.r_[theta, rng.normal(0, 0.3, mf.X.shape[1])]
        dev, grad = ours.value_and_grad(x)
        assert dev == pytest.approx(general(x), rel=1e-11)
        h = 1e-5
        numeric = [(ours.value_and_grad(x + e)[0] - ours.value_and_grad(x - e)[0]) / (2 * h)
                   for e in np.eye(len(x)) * h]
        assert np.allclose(grad, numeric, rtol=1e-5, atol=1e-4)
    H = glmm_scalar.gradient_hessian(ours, x)
    assert np.allclose(H, _deriv12_hessian(general, x), rtol=1e-4, atol=1e-3 * np.abs(H).max())


@pytest.mark.parametrize(("formula", "family"), MODELS)
def test_fit_equals_the_general_route(pupils, formula, family):
    spec = parse_formula(formula).with_(family=family)
    assert glmm_scalar.applies(model_frame(pupils, spec), 1, None)
    fast, general = fit(pupils, spec), fit(pupils, spec, optimizer="COBYQA")
    assert fast.converged and general.converged
    assert list(fast.fixed["term"]) == list(general.fixed["term"])
    se = general.fixed["std_error"].to_numpy()
    assert np.all(np.abs(fast.fixed["estimate"] - general.fixed["estimate"]) <= 0.002 * se)
    assert np.allclose(fast.fixed["std_error"], se, rtol=2e-3)
    assert np.allclose(fast.varcorr["sdcor"], general.varcorr["sdcor"], rtol=2e-3, atol=1e-4)
    assert general.loglik - 1e-4 <= fast.loglik <= general.loglik + 2e-3
    g = next(iter(fast.ranef))
    a, b = fast.ranef[g], general.ranef[g]
    assert list(a["level"]) == list(b["level"]) and list(a["term"]) == list(b["term"])
    assert np.allclose(a["value"], b["value"], atol=2e-3 * b["value"].abs().max())
    assert np.allclose(a["cond_sd"], b["cond_sd"], rtol=2e-3)
    assert np.allclose(fast.extra["eta"], general.extra["eta"], atol=2e-3)
    assert fast.singular == general.singular and fast.warnings == general.warnings


def test_no_between_class_variance_is_singular_on_both_routes():
    rng = np.random.default_rng(7)
    n = 600
    frame = pd.DataFrame({"class": [f"K{i % 30:02d}" for i in range(n)],
                          "x": rng.normal(size=n)})
    frame["y"] = (rng.random(n) < 1 / (1 + np.exp(-0.4 * frame["x"]))).astype(int)
    spec = parse_formula("y ~ x + (1 | class)").with_(family="binomial")
    fast, general = fit(frame, spec), fit(frame, spec, optimizer="COBYQA")
    assert fast.varcorr["sdcor"].iloc[0] < 1e-3
    assert fast.singular and general.singular
    assert fast.loglik >= general.loglik - 1e-6
    assert np.allclose(fast.fixed["estimate"], general.fixed["estimate"], atol=1e-3)
    assert np.allclose(fast.fixed["std_error"], general.fixed["std_error"], rtol=0.01)


def test_other_models_keep_the_general_route(pupils):
    for formula, nagq in [("result ~ ses + (1 | school/class)", 1),
                          ("result ~ ses + (1 + ses | class)", 1),
                          ("result ~ ses + (1 | class)", 7)]:
        mf = model_frame(pupils, parse_formula(formula).with_(family="binomial", nagq=nagq))
        assert not glmm_scalar.applies(mf, nagq, None)
    mf = model_frame(pupils, parse_formula("result ~ ses + (1 | class)").with_(family="binomial"))
    assert not glmm_scalar.applies(mf, 1, "COBYQA")  # a named optimizer: the engine's search


def test_modes_far_out_match_lme4_with_exact_modes():
    """Most classes all-pass: lme4's default PIRLS tolerance stops the modes short (its SEs
    then differ by 1.5 % and its logLik is 0.01 lower); with tolPwrss = 1e-12 lme4 solves the
    same criterion exactly, and so does this route."""
    ref = json.loads((MOSTLY_PASS / "mostly_pass.json").read_text())
    frame = read_table(MOSTLY_PASS / "mostly_pass.csv").frame
    res = fit(frame, parse_formula("passed ~ x + (1 | class)").with_(family="binomial"))
    tight, default = ref["tight"], ref["default"]
    assert list(res.fixed["term"]) == tight["terms"]
    se = np.array(tight["std_error"])
    assert np.all(np.abs(res.fixed["estimate"] - tight["estimate"]) <= 1e-3 * se)
    assert np.allclose(res.fixed["std_error"], se, rtol=1e-4)
    assert res.varcorr["sdcor"].iloc[0] == pytest.approx(tight["sd"], rel=1e-4)
    assert res.loglik == pytest.approx(tight["loglik"], abs=1e-5)
    assert default["loglik"] + 5e-3 < res.loglik <= default["loglik"] + 0.05
    tab = res.ranef["class"].set_index("level").loc[tight["levels"]]
    assert np.allclose(tab["value"], tight["values"], atol=1e-4)
    assert np.allclose(tab["cond_sd"], tight["cond_sd"], rtol=1e-4)


def test_where_the_laplace_deviance_has_two_minima_the_fit_ends_where_lme4_does():
    """4 events in 1,000 pupils: lme4 ends at theta = 0 although its own Laplace deviance is
    lower near theta = 4; starting from lme4's first stage (nAGQ = 0) we end where it does."""
    ref = json.loads((MOSTLY_PASS / "rare.json").read_text())
    frame = read_table(MOSTLY_PASS / "rare.csv").frame
    spec = parse_formula("event ~ x + (1 | class)").with_(family="binomial")
    mf = model_frame(frame, spec)
    b = mf.blocks[0]
    obj = glmm_scalar.ScalarLaplace(mf.y, mf.X, b.Z[:, 0], b.codes, b.n_levels, "binomial")
    far = ref["far"]
    assert -obj.value_and_grad(np.r_[far["theta"], far["beta"]])[0] / 2 == pytest.approx(
        far["loglik"], abs=1e-6)  # the same criterion as lme4's devfun, at the far minimum
    res = fit(frame, spec)
    lme4 = ref["default"]
    assert res.varcorr["sdcor"].iloc[0] < 1e-3 and res.singular
    assert res.loglik == pytest.approx(lme4["loglik"], abs=1e-4)
    assert res.loglik < far["loglik"] - 0.5
    se = np.array(lme4["std_error"])
    assert np.all(np.abs(res.fixed["estimate"] - lme4["estimate"]) <= 0.01 * se)
    assert np.allclose(res.fixed["std_error"], se, rtol=0.01)
