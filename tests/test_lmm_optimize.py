"""The linear fit's optimiser (hlm_core/engines/lmm_optimize.py) against mixedlm's own "auto".

Ending the gradient stage at the rounding floor must give mixedlm's optimum (to rounding) with
far fewer criterion evaluations, and every fit it does not take (boundary optima, other
optimisers) must be mixedlm's own, unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from mixedlm.estimation.reml import LMMOptimizer

import hlm_core.engines.mixedlm_engine as engine
from benchmarks.make_data import classes_dataset
from hlm_core.design import model_frame
from hlm_core.engines import lmm_optimize
from hlm_core.formula import parse_formula


def _both(data, formula: str, optimizer: str | None = None):
    """Ours and mixedlm's optimiser on the fit's own design and start."""
    mf = model_frame(data, parse_formula(formula))
    rows = engine.compact_rows(mf, mf.X)
    matrices = engine.build_matrices(mf, mf.X, rows)
    start = None if rows is None else engine._start_theta(matrices, rows, mf.y, mf.X, True)
    ctrl = engine._control(optimizer)
    ours = lmm_optimize.optimize(LMMOptimizer(matrices, REML=True), start, ctrl)
    theirs = LMMOptimizer(matrices, REML=True).optimize(
        start=start, method=ctrl.optimizer, maxiter=ctrl.maxiter,
        options=ctrl.get_scipy_options(), restart_edge=ctrl.restart_edge,
    )
    return ours, theirs


def test_the_rounding_floor_ends_the_search_at_mixedlms_optimum():
    # 300,000 pupils: here mixedlm's L-BFGS-B stage ends "ABNORMAL" in line searches that
    # rounding defeats, and COBYQA starts again (113 evaluations in all)
    ours, theirs = _both(classes_dataset(300_000, 6_000, seed=3), "y ~ x + (x | class)")
    assert "rounding floor" in ours.message and theirs.optimizer == "COBYQA"
    assert ours.converged and ours.optimizer == "L-BFGS-B"
    assert ours.function_evals * 3 < theirs.function_evals
    assert np.max(np.abs(ours.theta - theirs.theta)) < 1e-6
    assert abs(ours.deviance - theirs.deviance) < 1e-12 * abs(theirs.deviance)
    assert np.max(np.abs(ours.beta - theirs.beta)) < 1e-8
    assert abs(ours.sigma - theirs.sigma) < 1e-7 * theirs.sigma


def test_an_ordinary_fit_is_mixedlms():
    ours, theirs = _both(classes_dataset(20_000, 400, seed=1), "y ~ x + (x | class)")
    assert ours.message.startswith("CONVERGENCE") and ours.function_evals == theirs.function_evals
    assert np.max(np.abs(ours.theta - theirs.theta)) < 1e-6
    assert abs(ours.deviance - theirs.deviance) < 1e-12 * abs(theirs.deviance)


@pytest.mark.parametrize("optimizer", [None, "COBYQA"])
def test_boundary_fits_and_other_optimisers_are_left_to_mixedlm(optimizer):
    # no slope variance at all: the slope's scale ends near zero, where mixedlm probes the
    # boundary and tries COBYQA; with another optimiser nothing of ours runs
    data = classes_dataset(4_000, 80, seed=2)
    rng = np.random.default_rng(2)
    data["y"] = 50 + 2 * data["x"] + rng.normal(0, 1, 80)[data["class"].str[1:].astype(int)] \
        + rng.normal(0, 2, len(data))
    ours, theirs = _both(data, "y ~ x + (x | class)", optimizer)
    assert ours.optimizer == theirs.optimizer and ours.function_evals == theirs.function_evals
    np.testing.assert_array_equal(ours.theta, theirs.theta)
    if optimizer is None:
        assert min(abs(ours.theta[1:])) < 1e-3  # it is a boundary fit
