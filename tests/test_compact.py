"""The linear engine's fast paths against its general ones (issue 11, point 4).

The compact design (hlm_core/engines/compact.py) replaces the rows of each cell of grouping
levels by pseudo-rows with the same cross-products: the cross-products, and every number of a
fit, must equal those of the full design. The df and lme4's convergence Hessian share one
prepared design and every criterion value (engines/mixedlm_df.py): the df must equal mixedlm's
own computation on a design of their own, as before."""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest
from mixedlm.inference.ddf import _vcov_derivatives

import hlm_core.engines.mixedlm_engine as engine
from benchmarks.make_data import classes_dataset, star_like_dataset
from hlm_core.design import model_frame
from hlm_core.engines.compact import compact_rows
from hlm_core.fit import fit
from hlm_core.formula import parse_formula


def _grouped(n: int = 3000, groups: int = 60) -> pd.DataFrame:
    """Classes with a categorical and a large-valued predictor (day numbers ~2.46e6)."""
    d = classes_dataset(n, groups, seed=5)
    rng = np.random.default_rng(5)
    d["sex"] = rng.choice(["F", "M"], n)
    d["day"] = 2_460_000 + rng.integers(0, 300, n)
    d["y"] += 0.5 * (d["sex"] == "M") + 0.002 * (d["day"] - 2_460_150)
    return d


CASES = [
    (_grouped(), "y ~ x + sex + (x | class)"),
    (_grouped(), "y ~ x + day + (1 | class)"),
    (_grouped(), "y ~ 0 + x + (x || class)"),
    (star_like_dataset(), "math ~ cltype + ses + sx + (1 | sch/tch)"),
]


def _crossproducts(matrices) -> np.ndarray:
    W = np.column_stack([matrices.Z.toarray(), matrices.X, matrices.y])
    return W.T @ W


@pytest.mark.parametrize(("data", "formula"), CASES)
def test_compact_design_has_the_full_designs_crossproducts(data, formula):
    mf = model_frame(data, parse_formula(formula))
    rows = compact_rows(mf, mf.X)
    assert rows is not None and len(rows.y) * 3 <= mf.nobs  # it did compact
    full = engine.build_matrices(mf)
    small = engine.build_matrices(mf, mf.X, rows)
    assert small.n_obs == full.n_obs and small.Z.shape == full.Z.shape
    want, got = _crossproducts(full), _crossproducts(small)
    scale = np.sqrt(np.outer(np.diag(want), np.diag(want)))
    assert np.max(np.abs(got - want) / np.where(scale > 0, scale, 1.0)) < 1e-11


def test_crossed_factors_with_a_cell_per_row_are_not_compacted():
    rng = np.random.default_rng(2)
    n = 600
    d = pd.DataFrame({"y": rng.normal(size=n), "a": rng.integers(0, 30, n).astype(str),
                      "b": rng.integers(0, 30, n).astype(str)})
    mf = model_frame(d, parse_formula("y ~ 1 + (1 | a) + (1 | b)"))
    assert compact_rows(mf, mf.X) is None  # ~400 cells of 600 rows: nothing to gain


def _general(monkeypatch, data, spec):
    """The same fit on the full design (the compact path switched off)."""
    with monkeypatch.context() as m:
        m.setattr(engine, "compact_rows", lambda mf, X: None)
        return fit(data, spec)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize(("data", "formula"), CASES)
def test_fit_on_the_compact_design_equals_the_fit_on_all_rows(monkeypatch, data, formula, reml):
    spec = parse_formula(formula, reml=reml)
    fast, slow = fit(data, spec), _general(monkeypatch, data, spec)
    # to rounding: on raw day numbers (~2.46e6, as lme4 fits them) the two paths' optima differ
    # by ~1e-5 of a standard error; on ordinary columns by ~1e-11
    se = slow.fixed["std_error"].to_numpy()
    assert np.all(np.abs(fast.fixed["estimate"] - slow.fixed["estimate"]) <= 1e-4 * se)
    np.testing.assert_allclose(fast.fixed["std_error"], se, rtol=1e-7)
    np.testing.assert_allclose(fast.fixed["df"], slow.fixed["df"], rtol=1e-4)
    np.testing.assert_allclose(fast.varcorr["vcov"], slow.varcorr["vcov"], rtol=1e-6,
                               atol=1e-9)
    assert fast.loglik == pytest.approx(slow.loglik, abs=1e-5)
    assert fast.deviance == pytest.approx(slow.deviance, abs=2e-5)
    for group, table in slow.ranef.items():
        np.testing.assert_allclose(fast.ranef[group]["value"], table["value"], atol=1e-7)
        np.testing.assert_allclose(fast.ranef[group]["cond_sd"], table["cond_sd"], atol=1e-7)
    def words(res):  # (a technical note quotes an rcond like 2.0539e-22, equal to rounding)
        return [re.sub(r"[-+]?\d+\.?\d*(e[-+]?\d+)?", "#", w) for w in res.warnings]

    assert words(fast) == words(slow)
    assert fast.singular == slow.singular


def test_reml_criterion_of_the_compact_fit_is_the_raw_designs():
    """REML's criterion is reported for the raw X, as lme4 reports it: the criterion evaluated
    on the full raw design at the fitted theta (the fit ran on the compact design)."""
    data = _grouped()
    spec = parse_formula("y ~ x + day + sex + (x | class)")
    res = fit(data, spec)
    mf = model_frame(data, spec)
    raw = engine.LMMOptimizer(engine.build_matrices(mf), REML=True)
    assert res.deviance == pytest.approx(raw.objective(res.extra["theta"]), abs=1e-6)


@pytest.mark.parametrize(("data", "formula"), CASES[:2] + CASES[3:])
def test_shared_df_equal_mixedlms_own_on_a_design_of_their_own(data, formula):
    """Satterthwaite df and vcov from a prepared design made once, each criterion value computed
    once, equal mixedlm's vcov() and _vcov_derivatives, which prepare their own design."""
    mf = model_frame(data, parse_formula(formula))
    Xs, A_inv = engine.centred_scaled(mf.X)
    res, opt = engine._lmer_fit(mf, engine.build_matrices(mf, Xs), True,
                                engine._control(None), None)
    evaluations = engine.Evaluations(opt)
    engine.theta_hessian(res, evaluations)  # lme4's check first, as fit_arrays does
    vcov_s = engine.fitted_vcov(res, evaluations)
    np.testing.assert_allclose(vcov_s, res.vcov(), rtol=1e-9)
    got = engine.satterthwaite_df(res, True, evaluations, A_inv, vcov_s)
    if np.all(np.abs(res.theta) <= 1):  # the df's Hessian reused the check's points
        assert evaluations.count == 1 + 2 * len(res.theta) ** 2
    grads, theta_cov = _vcov_derivatives(copy.copy(res))
    variances = np.diag(A_inv @ res.vcov() @ A_inv.T)
    rel = np.column_stack([np.einsum("ij,jk,ik->i", A_inv, g, A_inv) / variances
                           for g in grads])
    n, p = res.matrices.n_obs, res.matrices.n_fixed
    want = np.clip(2.0 / (np.einsum("ij,ij->i", rel @ theta_cov, rel) + 2.0 / (n - p)),
                   1.0, n - p)
    np.testing.assert_allclose(got, want, rtol=1e-8)


@pytest.mark.parametrize(("data", "formula"),
                         [*CASES, (_grouped(), "y ~ 0 + x + (0 + x | class)")])  # no ones
def test_start_theta_on_the_compact_design_is_mixedlms_on_all_rows(data, formula):
    mf = model_frame(data, parse_formula(formula))
    Xs, _ = engine.centred_scaled(mf.X)
    full = engine.build_matrices(mf, Xs)
    want = engine.LMMOptimizer(full, REML=True, use_rust=False).get_start_theta()
    rows = compact_rows(mf, Xs)
    got = engine._start_theta(engine.build_matrices(mf, Xs, rows), rows, mf.y, Xs, True)
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_many_distinct_columns_use_every_row():
    """k(k+1)/2 passes over the rows for the cross-products stop paying beyond MAX_DISTINCT."""
    d = _grouped()
    rng = np.random.default_rng(8)
    for j in range(10):
        d[f"z{j}"] = rng.normal(size=len(d))
    mf = model_frame(d, parse_formula("y ~ x + " + " + ".join(f"z{j}" for j in range(10))
                                      + " + (1 | class)"))
    assert compact_rows(mf, mf.X) is None
    small = model_frame(d, parse_formula("y ~ x + z0 + z1 + (1 | class)"))
    assert compact_rows(small, small.X) is not None
