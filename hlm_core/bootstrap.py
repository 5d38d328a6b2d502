"""Parametric bootstrap, as lme4's bootMer(type = "parametric") with percentile intervals.

Each draw simulates new outcomes from the fitted model (lme4's simulate(): random effects
from N(0, the fitted covariance), residuals from N(0, sigma^2)), refits the same model (same
REML/ML) to them, and keeps the refit's SDs, correlations, sigma and ICC. The 2.5% and 97.5%
points of those draws are the interval, interpolated as boot::boot.ci(type = "perc") does
(which lme4's confint(method = "boot") calls). A seed fixes the draws; progress is reported
after each draw and `should_stop()` cancels (InterruptedError).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from hlm_core.design import ModelFrame
from hlm_core.engines.mixedlm_engine import DevianceFunction
from hlm_core.intervals import (
    LEVEL,
    Intervals,
    _theta_hat,
    edge_words,
    icc_factor,
    icc_of_theta,
    psd_cholesky,
    sdcor_of,
)
from hlm_core.result import FitResult

DEFAULT_NSIM = 500  # lme4's confint(method = "boot") default
DEFAULT_SEED = 2024
Progress = Callable[[float], None]


@dataclass
class BootDraws:
    """The refits of one bootstrap run: one row per successful draw."""

    theta: np.ndarray  # nsim_ok x n_theta
    sigma: np.ndarray
    sdcor: np.ndarray  # nsim_ok x varcorr rows
    icc: np.ndarray
    nsim: int
    seed: int
    failed: int
    seconds: float


class Refitter:
    """Refits one design to new responses: a bounded 1-D search for one variance parameter,
    SLSQP with mixedlm's exact gradient otherwise."""

    def __init__(self, mf: ModelFrame, reml: bool):
        self.devfun = DevianceFunction(mf, reml)
        self.reml = reml
        self.denom = mf.nobs - (mf.X.shape[1] if reml else 0)
        self.bounds = [(lo if np.isfinite(lo) else None, None) for lo in self.devfun.lower]
        self.lower = self.devfun.lower

    def fit(self, y: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, float] | None:
        f = self.devfun.with_response(y)
        if len(start) == 1:
            hi = max(10.0, 10 * float(start[0]))
            res = optimize.minimize_scalar(lambda t: f.deviance(np.array([t])), bounds=(0.0, hi),
                                           method="bounded", options={"xatol": 1e-6})
            at_zero = f.deviance(np.zeros(1)) <= res.fun
            theta = np.zeros(1) if at_zero else np.array([res.x])
        else:
            # SLSQP: in this SciPy, L-BFGS-B's per-iteration overhead (~3 ms) dwarfs the
            # native deviance evaluation on classroom-sized data.
            res = optimize.minimize(f.deviance_and_gradient, start, jac=True, method="SLSQP",
                                    bounds=self.bounds, options={"ftol": 1e-10, "maxiter": 200})
            theta = np.maximum(res.x, self.lower)
        parts = f.parts(theta)
        if parts is None:
            return None
        return theta, float(np.sqrt(parts.pwrss / self.denom))


def simulate(mf: ModelFrame, beta: np.ndarray, covs: list[np.ndarray], sigma: float,
             rng: np.random.Generator) -> np.ndarray:
    """One response vector from the fitted model (lme4's simulate.merMod for a linear model)."""
    y = mf.X @ beta + sigma * rng.standard_normal(mf.nobs)
    for b, cov in zip(mf.blocks, covs, strict=True):
        chol = psd_cholesky(cov)
        effects = rng.standard_normal((b.n_levels, cov.shape[0])) @ chol.T
        y += np.einsum("ij,ij->i", b.Z, effects[b.codes])
    return y


def _covariances(result: FitResult) -> list[np.ndarray]:
    return [result.extra["covariances"][b.vc_group] for b in result.model_frame.blocks]


def bootstrap(
    result: FitResult,
    nsim: int = DEFAULT_NSIM,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> BootDraws:
    """`nsim` parametric-bootstrap refits of `result`'s model."""
    if result.is_glmm:  # yes/no and count outcomes: hlm_core.bootstrap_glmm
        from hlm_core.bootstrap_glmm import glmm_bootstrap

        return glmm_bootstrap(result, nsim, seed, progress, should_stop)
    t0 = time.perf_counter()
    mf = result.model_frame
    rng = np.random.default_rng(seed)
    refit = Refitter(mf, result.reml)
    ms = icc_factor(result)
    correlated = [b.correlated for b in mf.blocks]
    theta0 = _theta_hat(result)
    beta = result.fixed["estimate"].to_numpy()
    covs = _covariances(result)
    thetas, sigmas, sdcors, iccs = [], [], [], []
    failed = 0
    for i in range(nsim):
        if should_stop():
            raise InterruptedError("bootstrap cancelled")
        y = simulate(mf, beta, covs, result.sigma, rng)
        out = refit.fit(y, theta0)
        if out is None:
            failed += 1
        else:
            theta, sigma = out
            thetas.append(theta)
            sigmas.append(sigma)
            sdcors.append(sdcor_of(refit.devfun.lambda_blocks(theta), correlated, sigma))
            iccs.append(icc_of_theta(refit.devfun, ms, theta))
        if progress:
            progress((i + 1) / nsim)
    return BootDraws(
        theta=np.array(thetas).reshape(len(thetas), len(theta0)), sigma=np.array(sigmas),
        sdcor=np.array(sdcors).reshape(len(sdcors), len(result.varcorr)), icc=np.array(iccs),
        nsim=nsim, seed=seed, failed=failed, seconds=time.perf_counter() - t0,
    )


def percentile(t: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """boot's norm.inter(): order statistics (R + 1) * alpha, interpolated on the normal scale."""
    t = np.sort(np.asarray(t, dtype=float)[np.isfinite(t)])
    r = len(t)
    if r == 0:
        return float("nan"), float("nan")
    out = []
    for alpha in ((1 - level) / 2, (1 + level) / 2):
        rk = (r + 1) * alpha
        k = int(np.trunc(rk))
        if k == rk and 0 < k <= r:
            out.append(float(t[k - 1]))
        elif k <= 0:
            out.append(float(t[0]))
        elif k >= r:
            out.append(float(t[-1]))
        else:
            z, zk, zk1 = stats.norm.ppf([alpha, k / (r + 1), (k + 1) / (r + 1)])
            out.append(float(t[k - 1] + (z - zk) / (zk1 - zk) * (t[k] - t[k - 1])))
    return out[0], out[1]


def boot_intervals(result: FitResult, draws: BootDraws) -> Intervals:
    """Percentile intervals for every varcorr row and the ICC from `draws`."""
    rows = []
    for j, row in enumerate(result.varcorr.itertuples(index=False)):
        low, high = percentile(draws.sdcor[:, j])
        rows.append((row.group, row.term1, row.term2, row.sdcor, low, high,
                     edge_words(result, row, low, high)))
    table = pd.DataFrame(rows, columns=["group", "term1", "term2", "sdcor", "ci_low", "ci_high",
                                        "edge"])
    icc = percentile(draws.icc) if result.icc is not None else None
    notes = [f"Parametric bootstrap: {draws.nsim} simulated data sets (seed {draws.seed}), "
             "percentile intervals."]
    if draws.failed:
        notes.append(f"{draws.failed} of the {draws.nsim} refits failed and were left out.")
    return Intervals(table=table, icc=icc, method="boot", seconds=draws.seconds,
                     nsim=draws.nsim, seed=draws.seed, notes=notes)


def explained_intervals(
    null: FitResult,
    model: FitResult,
    nsim: int = DEFAULT_NSIM,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> pd.DataFrame:
    """95% intervals for the variance explained at each level (the ladder's 1 - sigma^2 /
    sigma0^2 and 1 - tau / tau0): simulate from `model`, refit both models to each draw.

    The smaller model rarely holds under the larger one (a predictor's school means carry
    more than its pupil-level slope, say), so in the simulated world the null model's school
    variance, and with it the share explained, sits at a different centre than in the real
    data. The draws give the spread; each interval is those draws' percentiles moved so that
    their median sits at the estimate.
    """
    mf, mf0 = model.model_frame, null.model_frame
    rng = np.random.default_rng(seed)
    fit1, fit0 = Refitter(mf, model.reml), Refitter(mf0, null.reml)
    th1, th0 = _theta_hat(model), _theta_hat(null)
    beta = model.fixed["estimate"].to_numpy()
    covs = _covariances(model)
    levels = _intercept_slots(null, model)
    draws = []
    for i in range(nsim):
        if should_stop():
            raise InterruptedError("bootstrap cancelled")
        y = simulate(mf, beta, covs, model.sigma, rng)
        a, b = fit0.fit(y, th0), fit1.fit(y, th1)
        if a is not None and b is not None:
            draws.append(_explained(fit0, fit1, a, b, levels))
        if progress:
            progress((i + 1) / nsim)
    draws_arr = np.array(draws).reshape(len(draws), len(levels) + 1)
    names = ["level1", *[g for g, _, _ in levels]]
    est = _explained_estimate(null, model, levels)
    rows = []
    for k, (n, e) in enumerate(zip(names, est, strict=True)):
        col = draws_arr[:, k]
        low, high = percentile(col)
        shift = e - float(np.nanmedian(col)) if np.isfinite(col).any() else np.nan
        rows.append((n, e, low + shift, high + shift))
    return pd.DataFrame(rows, columns=["level", "estimate", "ci_low", "ci_high"])


def _intercept_slots(null: FitResult, model: FitResult) -> list[tuple[str, int, int]]:
    """(group, block index in null, block index in model) for groups with a random intercept
    in both models."""
    out = []
    for i, b0 in enumerate(null.model_frame.blocks):
        for j, b1 in enumerate(model.model_frame.blocks):
            if (b0.vc_group == b1.vc_group and "(Intercept)" in b0.term_names
                    and "(Intercept)" in b1.term_names):
                out.append((b0.vc_group, i, j))
    return out


def _tau(devfun: DevianceFunction, theta: np.ndarray, sigma: float, block: int) -> float:
    L = devfun.lambda_blocks(theta)[block]
    return float(sigma**2 * (L @ L.T)[0, 0])


def _explained(fit0: Refitter, fit1: Refitter, a, b, levels) -> list[float]:
    (t0, s0), (t1, s1) = a, b
    out = [(s0**2 - s1**2) / s0**2]
    for _, i, j in levels:
        tau0 = _tau(fit0.devfun, t0, s0, i)
        out.append((tau0 - _tau(fit1.devfun, t1, s1, j)) / tau0 if tau0 > 0 else np.nan)
    return out


def _explained_estimate(null: FitResult, model: FitResult, levels) -> list[float]:
    out = [(null.sigma**2 - model.sigma**2) / null.sigma**2]
    for g, _, _ in levels:
        t0 = null.extra["covariances"][g][0, 0]
        out.append((t0 - model.extra["covariances"][g][0, 0]) / t0 if t0 > 0 else np.nan)
    return out


def explained_intervals_each(
    null: FitResult,
    models: list[FitResult],
    nsim: int = DEFAULT_NSIM,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
) -> list[pd.DataFrame]:
    """`explained_intervals` for each of `models` against `null`, with one progress for all
    (a module-level function, so the app can run it in a worker process)."""
    out = []
    for i, model in enumerate(models):
        def part(f: float, i: int = i) -> None:
            if progress:
                progress((i + f) / len(models))
        out.append(explained_intervals(null, model, nsim=nsim, seed=seed, progress=part))
    return out
