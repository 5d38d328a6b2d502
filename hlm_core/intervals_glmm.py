"""Profile-likelihood 95% intervals for the random-effect SDs and correlations of a generalized
model (binomial logit, Poisson log), as lme4's `confint(gm, method = "profile")`.

lme4's profile.merMod for a glmerMod (devfun2's GLMM branch) has no sigma and cannot profile
the fixed effects out: its deviance is glmer's own (Laplace, or AGQ with nAGQ > 1) as a function
of the SDs and correlations *and* the fixed effects, and each profile point re-optimises all the
others, fixed effects included. We do the same with mixedlm's joint (theta, beta) deviance, and
walk and invert the profile with the linear models' port of lme4's machinery (hlm_core.profile),
so the steps, the spline and the edge rules are lme4's.

Each point is a smooth optimisation over a few parameters, so a quasi-Newton search (SLSQP with
central-difference gradients) replaces lme4's BOBYQA; Nelder-Mead takes over where it
fails. The fit is first polished on this scale (lme4 stops with "profiling detected new, lower
deviance" when a profile point undercuts the fit).

The latent ICC = h / (h + v), with h the mean random-effect variance (a function of theta) and v
the distribution variance (pi^2/3 for the logit link; for the log link log(1 + 1/lambda), held
at its estimate). For one variance parameter the ICC rises with the SD, so its interval is the
SD's interval carried over (a profile interval follows any monotone transformation); otherwise
the ICC is walked itself, minimising the deviance over the directions of theta that give it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import optimize

from hlm_core import profile as prof
from hlm_core.intervals import (
    LEVEL,
    Intervals,
    _counted,
    _feasible,
    _minimise,
    _theta_hat,
    _zeta_function,
    design_blocks,
    edge_words,
    icc_factor,
    sdcor_bounds,
    sdcor_of,
    theta_of_sdcor,
)
from hlm_core.result import FitResult

GRAD_STEP = 1e-5  # central differences: the PIRLS deviance is smooth far below this


class GlmmProfileModel:
    """glmer's deviance as a function of (SDs and correlations in varcorr order, beta)."""

    def __init__(self, result: FitResult):
        from mixedlm.estimation.joint_glmm import JointGLMMObjective

        from hlm_core.engines.glmm_engine import _family
        from hlm_core.engines.mixedlm_engine import build_matrices

        mf, self.blocks = design_blocks(result)
        matrices = build_matrices(mf)
        self.structures = matrices.random_structures
        self.objective = JointGLMMObjective(matrices, _family(result.family), result.spec.nagq,
                                            pirls_tol=1e-10)
        self.n_vc = len(result.varcorr)
        self.n_fixed = matrices.n_fixed
        lower, upper = sdcor_bounds(self.blocks)
        self.lower = np.array(lower + [-np.inf] * self.n_fixed)
        self.upper = np.array(upper + [np.inf] * self.n_fixed)

    def theta_lower(self) -> np.ndarray:
        """The lower bounds of theta: 0 on the diagonals of the Cholesky factors."""
        return np.concatenate([
            np.where(np.eye(q)[np.tril_indices(q)] == 1, 0.0, -np.inf) if corr else np.zeros(q)
            for q, corr in self.blocks])

    def lambda_blocks(self, theta: np.ndarray) -> list[np.ndarray]:
        from mixedlm.estimation.reml import _build_lambda_blocks

        return [np.asarray(L) for L in _build_lambda_blocks(theta, self.structures)]

    def sdcor(self, theta: np.ndarray) -> np.ndarray:
        return sdcor_of(self.lambda_blocks(theta), [c for _, c in self.blocks], 1.0)[:-1]

    def theta(self, pars: np.ndarray) -> np.ndarray | None:
        return theta_of_sdcor(self.blocks, pars[: self.n_vc])

    def deviance_at(self, theta: np.ndarray, beta: np.ndarray) -> float:
        try:
            dev = self.objective(np.r_[theta, beta])
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            return np.inf
        return float(dev) if np.isfinite(dev) else np.inf

    def deviance(self, pars: np.ndarray) -> float:
        """lme4's devfun2 for a GLMM: glmer's deviance at (SDs, correlations, beta)."""
        theta = self.theta(pars)
        return np.inf if theta is None else self.deviance_at(theta, pars[self.n_vc :])

    def polish(self, result: FitResult) -> tuple[np.ndarray, float]:
        """The fit's parameters (SDs, correlations, beta) moved to the exact optimum."""
        start = np.r_[self.sdcor(_theta_hat(result)), result.fixed["estimate"].to_numpy()]
        best, dev = minimise(self.deviance, start, self.lower, self.upper)
        if dev > self.deviance(start):
            best, dev = start, self.deviance(start)
        return best, dev


def _gradient(fun, x: np.ndarray, f0: float, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Central differences, one-sided where a bound is within a step."""
    g = np.zeros_like(x)
    for i in range(len(x)):
        h = GRAD_STEP * max(1.0, abs(x[i]))
        lo, hi = max(x[i] - h, lower[i]), min(x[i] + h, upper[i])
        xa, xb = x.copy(), x.copy()
        xa[i], xb[i] = hi, lo
        fa = f0 if hi == x[i] else fun(xa)
        fb = f0 if lo == x[i] else fun(xb)
        g[i] = (fa - fb) / (hi - lo) if hi > lo else 0.0
    return g


def minimise(fun, start: np.ndarray, lower: np.ndarray, upper: np.ndarray
             ) -> tuple[np.ndarray, float]:
    """Minimise a smooth deviance with bounds: SLSQP (L-BFGS-B's line search stalls at the
    first step on some of these profiles), Nelder-Mead where it fails."""
    x0 = np.clip(np.asarray(start, dtype=float), lower, upper)
    if len(x0) == 0:
        return x0, float(fun(x0))

    def fg(x):
        f = fun(x)
        if not np.isfinite(f):
            return 1e300, np.zeros_like(x)
        return f, _gradient(fun, x, f, lower, upper)

    bounds = list(zip(np.where(np.isfinite(lower), lower, None),
                      np.where(np.isfinite(upper), upper, None), strict=True))
    res = optimize.minimize(fg, x0, jac=True, method="SLSQP", bounds=bounds,
                            options={"ftol": 1e-12, "maxiter": 300})
    x, f = np.clip(res.x, lower, upper), float(fun(np.clip(res.x, lower, upper)))
    if not np.isfinite(f) or f > fun(x0):
        x, f = _minimise(fun, x0, lower, upper)
    return x, float(f)


def _search(fun, start: np.ndarray, lo: np.ndarray, up: np.ndarray, _at_estimate=None):
    """The other parameters' optimum (fixed effects included) at one profile point."""
    return minimise(fun, _feasible(fun, start, lo), lo, up)


def _icc_of(model: GlmmProfileModel, ms: list[np.ndarray], theta: np.ndarray,
            var_dist: float) -> float:
    h = sum(float(np.trace(L.T @ M @ L)) for L, M in
            zip(model.lambda_blocks(theta), ms, strict=True))
    return h / (h + var_dist)


def _icc_walk(model: GlmmProfileModel, result: FitResult, est: np.ndarray, base: float,
              var_dist: float, cutoff: float, should_stop) -> tuple[float, float]:
    """Walk the ICC: theta = phi * sqrt(h / h(phi)) with h = v x / (1 - x), minimising the
    deviance over the direction phi and beta."""
    ms = icc_factor(result)
    theta_hat = model.theta(est)
    nt = len(theta_hat)

    def h_of(phi):
        return sum(float(np.trace(L.T @ M @ L)) for L, M in
                   zip(model.lambda_blocks(phi), ms, strict=True))

    def dev_at(x, pars):
        phi, beta = pars[:nt], pars[nt:]
        hp = h_of(phi)
        if x >= 1 or (x > 0 and hp <= 0):
            return np.inf
        theta = np.zeros_like(phi) if x <= 0 else phi * np.sqrt(var_dist * x / (1 - x) / hp)
        return model.deviance_at(theta, beta)

    theta_lo = model.theta_lower()
    lo = np.r_[theta_lo, np.full(model.n_fixed, -np.inf)]
    up = np.full(len(lo), np.inf)
    icc_hat = _icc_of(model, ms, theta_hat, var_dist)
    phi0 = theta_hat if h_of(theta_hat) > 0 else np.where(theta_lo == 0, 1.0, 0.0)
    start = np.r_[phi0, est[model.n_vc :]]

    def zeta_at(x, start):
        pars, d = minimise(lambda p: dev_at(x, p), start, lo, up)
        if not np.isfinite(d):
            return np.nan, pars
        return float(np.sign(x - icc_hat) * np.sqrt(max(0.0, d - base))), pars

    walked = prof.walk(zeta_at, icc_hat, start, 0.0, 1.0, cutoff, should_stop)
    return prof.confint(walked, LEVEL)


def glmm_profile_intervals(
    result: FitResult,
    progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Intervals:
    """Profile-likelihood 95% intervals for every varcorr row and the latent ICC of a
    generalized model (lme4's confint(gm, method = "profile")). Raises InterruptedError when
    `should_stop()` says so."""
    t0 = time.perf_counter()
    model = GlmmProfileModel(result)
    est, base = model.polish(result)
    cutoff = prof.cutoff_for(len(est))  # lme4: all parameters, fixed effects included
    steps = model.n_vc + 1
    rows, by_row = [], []
    for w, row in enumerate(result.varcorr.itertuples(index=False)):
        zeta_at = _counted(_zeta_function(model, w, est, base, _search), progress, w, steps)
        keep = np.arange(len(est)) != w
        walked = prof.walk(zeta_at, est[w], est[keep], model.lower[w], model.upper[w],
                           cutoff, should_stop)
        low, high = prof.confint(walked, LEVEL)
        by_row.append((low, high))
        rows.append((row.group, row.term1, row.term2, row.sdcor, low, high,
                     edge_words(result, row, low, high)))
    var_dist = float(result.extra["distribution_variance"])
    icc = None
    if result.icc is not None:
        if progress:
            progress((steps - 1) / steps)
        if model.n_vc == 1:  # one SD: the ICC's interval is the SD's, carried over
            ms = icc_factor(result)
            icc = tuple(_icc_of(model, ms, np.array([v]), var_dist) for v in by_row[0])
        else:
            icc = _icc_walk(model, result, est, base, var_dist, cutoff, should_stop)
    if progress:
        progress(1.0)
    table = pd.DataFrame(rows, columns=["group", "term1", "term2", "sdcor", "ci_low", "ci_high",
                                        "edge"])
    notes = ["As in lme4, each profile point re-estimates the fixed effects and the other "
             "variance parameters on the model's own likelihood."]
    if result.family == "poisson":
        notes.append("The latent ICC's interval holds the count's own variance, log(1 + "
                     "1/lambda), at its estimate.")
    return Intervals(table=table, icc=icc, method="profile",
                     seconds=time.perf_counter() - t0, notes=notes)
