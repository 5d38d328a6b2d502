"""Profile-likelihood 95% intervals for every SD, correlation and sigma, and for the ICC.

As lme4's `confint(fit, method = "profile")`: the deviance is written as a function of the
parameters on the SD/correlation scale (lme4's `devfun2`, with the fixed effects profiled out),
each parameter is walked away from its estimate while the others are re-optimised, and the
interval is read off a spline through the profile (hlm_core.profile). lme4 profiles the ML
deviance even for a REML fit (`devfun2` calls `refitML`), so we do too: the intervals of a
REML and an ML fit of the same model are the same, as in R.

The ICC is a function of the relative covariance factor theta alone (ICC = h / (1 + h) with
h = mean random-effect variance / sigma^2), so its profile needs no sigma: we walk the ICC and
minimise the sigma-profiled ML deviance over the directions of theta that give that ICC.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize

from hlm_core import profile as prof
from hlm_core.engines.mixedlm_engine import DevianceFunction
from hlm_core.errors import ModelError
from hlm_core.result import FitResult

LEVEL = 0.95
MANY_FREE = 5  # free parameters from which each profile point also starts from the estimate
RESTARTS = 5  # Nelder-Mead runs per profile point at most (each from the last one's best)
RESTART_FROM = 4  # free parameters from which it restarts (smaller problems converge at once)


@dataclass
class Intervals:
    """Intervals on the varcorr table's sdcor scale, one row per varcorr row, plus the ICC."""

    table: pd.DataFrame  # group, term1, term2, sdcor, ci_low, ci_high, edge (words or "")
    icc: tuple[float, float] | None
    method: str  # "profile" or "boot"
    seconds: float
    nsim: int | None = None
    seed: int | None = None
    notes: list[str] = field(default_factory=list)


def psd_cholesky(a: np.ndarray) -> np.ndarray | None:
    """Lower Cholesky factor of a positive semi-definite matrix; zero pivots (an SD of 0, a
    correlation of +-1) give zero columns, as lme4's safe_chol. None if not PSD."""
    q = a.shape[0]
    L = np.zeros_like(a)
    for j in range(q):
        d = a[j, j] - L[j, :j] @ L[j, :j]
        scale = abs(a[j, j])  # relative tolerances: the same answer whatever sigma scales a by
        if d < -1e-8 * scale:
            return None
        if d <= 1e-12 * scale:
            continue
        L[j, j] = np.sqrt(d)
        L[j + 1 :, j] = (a[j + 1 :, j] - L[j + 1 :, :j] @ L[j, :j]) / L[j, j]
    return L


def sdcor_of(lambdas: list[np.ndarray], correlated: list[bool], sigma: float) -> np.ndarray:
    """SDs then correlations per block, then sigma: the varcorr table's sdcor column."""
    out = []
    for L, corr in zip(lambdas, correlated, strict=True):
        cov = sigma**2 * (L @ L.T)
        sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
        out.append(sd)
        if corr:
            iu = np.triu_indices(L.shape[0], 1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out.append(np.nan_to_num(cov[iu] / (sd[iu[0]] * sd[iu[1]])))
    return np.concatenate([*out, [sigma]])


@lru_cache(maxsize=32)
def _tri(q: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Strict upper and full lower triangle indices of a q x q matrix (cached: hot path)."""
    return np.triu_indices(q, 1), np.tril_indices(q)


def theta_of_sdcor(blocks: list[tuple[int, bool]], pars: np.ndarray,
                   sigma: float = 1.0) -> np.ndarray | None:
    """mixedlm's theta (row-wise lower triangles) for SDs and correlations in varcorr row
    order (blocks: (number of terms, correlated)); None if they make no valid covariance."""
    out, k = [], 0
    for q, corr in blocks:
        sd = pars[k : k + q]
        k += q
        if not corr or q == 1:
            out.append(sd / sigma)
            continue
        iu, il = _tri(q)
        r = np.eye(q)
        r[iu] = pars[k : k + len(iu[0])]
        r[iu[1], iu[0]] = r[iu]
        k += len(iu[0])
        L = psd_cholesky(r * np.outer(sd, sd) / sigma**2)
        if L is None:
            return None
        out.append(L[il])
    return np.concatenate(out)


def design_blocks(result: FitResult):
    """The fit's design and its random-effect blocks as (number of terms, correlated)."""
    mf = result.model_frame
    if mf is None:
        raise ModelError("This result has no design attached; fit the model again.")
    return mf, [(len(b.term_names), b.correlated) for b in mf.blocks]


def sdcor_bounds(blocks: list[tuple[int, bool]]) -> tuple[list[float], list[float]]:
    """The edges of the parameter space on the sdcor scale: SDs in [0, inf), correlations in
    [-1, 1] (lme4's getProfLower / getProfUpper)."""
    lower: list[float] = []
    upper: list[float] = []
    for q, corr in blocks:
        lower += [0.0] * q
        upper += [np.inf] * q
        if corr:
            k = q * (q - 1) // 2
            lower += [-1.0] * k
            upper += [1.0] * k
    return lower, upper


class SdcorModel:
    """The ML deviance as a function of (SDs, correlations, sigma) in varcorr row order."""

    def __init__(self, result: FitResult):
        mf, self.blocks = design_blocks(result)
        self.devfun = DevianceFunction(mf, reml=False)
        self.n = mf.nobs
        lower, upper = sdcor_bounds(self.blocks)
        self.lower = np.array([*lower, 0.0])
        self.upper = np.array([*upper, np.inf])
        self.z = [b.Z for b in mf.blocks]

    def theta(self, pars: np.ndarray) -> np.ndarray | None:
        """mixedlm's theta (row-wise lower triangles) for the parameters; None if invalid."""
        sigma = pars[-1]
        if not sigma > 0:
            return None
        return theta_of_sdcor(self.blocks, pars, sigma)

    def pars(self, theta: np.ndarray, sigma: float) -> np.ndarray:
        """The inverse of theta(): SDs and correlations from theta and sigma."""
        return sdcor_of(self.devfun.lambda_blocks(theta), [c for _, c in self.blocks], sigma)

    def deviance(self, pars: np.ndarray) -> float:
        """lme4's devfun2 for a linear model: ldL2 + pwrss / sigma^2 + n log(2 pi sigma^2)."""
        theta = self.theta(pars)
        if theta is None:
            return np.inf
        parts = self.devfun.parts(theta)
        if parts is None:
            return np.inf
        s2 = pars[-1] ** 2
        dev = parts.ldL2 + parts.pwrss / s2 + self.n * np.log(2 * np.pi * s2)
        return dev if np.isfinite(dev) else np.inf  # a NaN would derail Nelder-Mead

    def ml_fit(self, theta_start: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """The ML estimates (lme4's refitML): theta, sdcor parameters, deviance. Polished on
        the SD/correlation scale, so that no profile point can undercut the optimum (lme4
        stops with "profiling detected new, lower deviance" when one does)."""
        theta, sigma, _, _ = self.devfun.refit(theta_start)
        pars = self.pars(theta, sigma)
        polished, dev = _minimise(self.deviance, pars, self.lower, self.upper)
        if dev < self.deviance(pars) - 1e-6:
            pars = polished
            theta = self.theta(pars)
        return theta, pars, self.deviance(pars)


def _minimise(fun, start: np.ndarray, lower: np.ndarray, upper: np.ndarray):
    """Minimise over the free parameters with bounds, derivative-free (as lme4's BOBYQA):
    Nelder-Mead to tight tolerances. Finite-difference gradients are too noisy on a deviance
    in the thousands to find the last few hundredths the profile's zeta depends on."""
    x0 = np.clip(start, lower, upper)
    if len(x0) == 1:
        return _minimise_1d(fun, float(x0[0]), float(lower[0]), float(upper[0]))
    bounds = list(zip(lower, np.where(np.isfinite(upper), upper, None), strict=True))
    best_x, best = x0, np.inf
    runs = RESTARTS if len(x0) >= RESTART_FROM else 1
    for _ in range(runs):  # a fresh simplex where the last one stalled (on ridges it does)
        res = optimize.minimize(fun, best_x, method="Nelder-Mead", bounds=bounds,
                                options={"xatol": 1e-9, "fatol": 1e-10, "maxfev": 400 * len(x0)})
        improved = res.fun < best - 1e-4  # deviance units: zeta moves by < 1e-4
        if res.fun < best:
            best_x, best = res.x, float(res.fun)
        if not improved:
            break
    return best_x, best


def _minimise_1d(fun, x0: float, lo: float, hi: float):
    """One free parameter: Brent's bounded search, widening an open upper end until the
    minimum is inside it."""
    top = hi if np.isfinite(hi) else max(4 * abs(x0), 1e-8)
    for _ in range(40):
        res = optimize.minimize_scalar(lambda v: fun(np.array([v])), bounds=(lo, top),
                                       method="bounded",
                                       options={"xatol": 1e-10 * max(1.0, abs(top))})
        if np.isfinite(hi) or res.x < top * 0.99:
            break
        top *= 4
    best = np.array([res.x])
    if fun(np.array([lo])) < res.fun:  # the bounded search stops just inside an edge
        best = np.array([lo])
    return best, float(fun(best))


def _feasible(fun, start: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """A start the deviance is defined at: with one correlation held at a new value, the
    others may no longer make a valid correlation matrix; shrink them toward 0 until they do."""
    x0 = np.array(start, dtype=float)
    corr = lower == -1.0
    for _ in range(40):
        if np.isfinite(fun(x0)) or not corr.any():
            break
        x0[corr] *= 0.8
    return x0


def _linear_search(fun, start: np.ndarray, lo: np.ndarray, up: np.ndarray,
                   at_estimate: np.ndarray) -> tuple[np.ndarray, float]:
    """The other parameters' optimum at one profile point of a linear model."""
    others, dev = _minimise(fun, _feasible(fun, start, lo), lo, up)
    if len(start) >= MANY_FREE:  # ridges: a second start from the estimate's values
        alt, alt_dev = _minimise(fun, _feasible(fun, at_estimate, lo), lo, up)
        if alt_dev < dev:
            others, dev = alt, alt_dev
    return others, dev


def _zeta_function(model, w: int, est: np.ndarray, base: float, search=_linear_search):
    """zeta(x, start) for parameter w: re-optimise the others with w held at x (by
    `search(fun, start, lower, upper, the others' estimates)`); `model` has `deviance(pars)`,
    `lower` and `upper`."""
    keep = np.arange(len(est)) != w
    lo, up = model.lower[keep], model.upper[keep]

    def zeta_at(x: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        full = est.copy()
        full[w] = x

        def fun(others: np.ndarray) -> float:
            full[keep] = others
            return model.deviance(full)

        if keep.sum() == 0:
            return np.sign(x - est[w]) * np.sqrt(max(0.0, fun(start) - base)), start
        others, dev = search(fun, start, lo, up, est[keep])
        if not np.isfinite(dev):
            return np.nan, others
        return float(np.sign(x - est[w]) * np.sqrt(max(0.0, dev - base))), others

    return zeta_at


def _theta_hat(result: FitResult) -> np.ndarray:
    theta = result.extra.get("theta")
    if theta is not None:
        return np.asarray(theta, dtype=float)
    out = []
    mf = result.model_frame
    for b in mf.blocks:
        L = psd_cholesky(result.extra["covariances"][b.vc_group] / result.sigma**2)
        out.append(L[np.tril_indices(len(b.term_names))] if b.correlated else np.diag(L))
    return np.concatenate(out)


def _n_fixed(result: FitResult) -> int:
    return len(result.fixed)


def edge_words(result: FitResult, row, low: float, high: float) -> str:
    """What a bound at the edge of the parameter space means, in words (or "")."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return ("No interval: the likelihood profile was too irregular to read one (lme4 "
                "calls this a 'non-monotonic profile'). Try a simpler random part.")
    if row.group == "Residual":
        return ""
    if row.term2:
        ends = [e for e, hit in (("-1", low <= -1 + 1e-9), ("+1", high >= 1 - 1e-9)) if hit]
        if ends:
            return (f"The interval reaches {' and '.join(ends)}, the limit of a correlation: "
                    "the data can't pin this correlation down.")
        return ""
    if low <= 1e-12:
        what = "the average" if row.term1 == "(Intercept)" else f"the effect of {row.term1}"
        return (f"The lower bound is 0: the data are consistent with {what} not differing "
                f"between {result.group_words(row.group)} at all.")
    return ""


def icc_factor(result: FitResult) -> list[np.ndarray]:
    """Per block, M = Z'Z / n: the ICC's h(theta) = sum of trace(Lambda' M Lambda), which is the
    mean random-effect variance over sigma^2 (Johnson 2014; the plain ICC for a null model)."""
    return [b.Z.T @ b.Z / b.Z.shape[0] for b in result.model_frame.blocks]


def icc_of_theta(devfun: DevianceFunction, ms: list[np.ndarray], theta: np.ndarray) -> float:
    h = sum(float(np.trace(L.T @ M @ L)) for L, M in
            zip(devfun.lambda_blocks(theta), ms, strict=True))
    return h / (1 + h)


def _icc_profile(model: SdcorModel, result: FitResult, theta_ml: np.ndarray, base: float,
                 cutoff: float, should_stop) -> tuple[float, float]:
    """Walk the ICC: for ICC = x, h = x / (1 - x); theta = phi * sqrt(h / h(phi)) for any
    direction phi, and the sigma-profiled ML deviance is minimised over phi."""
    dfun = model.devfun
    ms = icc_factor(result)
    lo = np.where(np.isfinite(dfun.lower), dfun.lower, -np.inf)

    def h_of(theta):
        return sum(float(np.trace(L.T @ M @ L)) for L, M in
                   zip(dfun.lambda_blocks(theta), ms, strict=True))

    def dev_at(x, phi):
        hp = h_of(phi)
        if x <= 0:
            theta = np.zeros_like(phi)
        elif x >= 1 or hp <= 0:
            return np.inf
        else:
            theta = phi * np.sqrt(x / (1 - x) / hp)
        parts = dfun.parts(theta)
        return np.inf if parts is None else parts.deviance

    est = icc_of_theta(dfun, ms, theta_ml)
    start = theta_ml if h_of(theta_ml) > 0 else np.where(dfun.lower == 0, 1.0, 0.0)

    def zeta_at(x, start):
        if len(start) == 1 or x <= 0:
            d, phi = dev_at(x, start), start
        else:
            phi, d = _minimise(lambda p: dev_at(x, p), start, lo, np.full(len(start), np.inf))
        if not np.isfinite(d):
            return np.nan, phi
        return float(np.sign(x - est) * np.sqrt(max(0.0, d - base))), phi

    walked = prof.walk(zeta_at, est, start, 0.0, 1.0, cutoff, should_stop)
    return prof.confint(walked, LEVEL)


def _counted(zeta_at, progress, w: int, steps: int):
    """zeta_at that reports progress: a profile takes some 20 points per parameter."""
    if progress is None:
        return zeta_at
    count = [0]

    def counted(x, start):
        count[0] += 1
        progress((w + min(count[0] / 20, 0.95)) / steps)
        return zeta_at(x, start)

    return counted


def profile_intervals(
    result: FitResult,
    progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Intervals:
    """Profile-likelihood 95% intervals for every varcorr row and the ICC (lme4's
    confint(fit, method = "profile")). Raises InterruptedError when `should_stop()` says so."""
    if result.is_glmm:  # glmer's deviance over theta and beta (hlm_core.intervals_glmm)
        from hlm_core.intervals_glmm import glmm_profile_intervals

        return glmm_profile_intervals(result, progress, should_stop)
    t0 = time.perf_counter()
    model = SdcorModel(result)
    theta_ml, est, base = model.ml_fit(_theta_hat(result))
    npar = len(est) + _n_fixed(result)
    cutoff = prof.cutoff_for(npar)
    vc = result.varcorr
    rows = []
    steps = len(est) + 1
    for w, row in enumerate(vc.itertuples(index=False)):
        zeta_at = _counted(_zeta_function(model, w, est, base), progress, w, steps)
        keep = np.arange(len(est)) != w
        walked = prof.walk(zeta_at, est[w], est[keep], model.lower[w], model.upper[w],
                           cutoff, should_stop)
        low, high = prof.confint(walked, LEVEL)
        rows.append((row.group, row.term1, row.term2, row.sdcor, low, high,
                     edge_words(result, row, low, high)))
    icc = None
    if result.icc is not None:
        if progress:
            progress((steps - 1) / steps)
        icc = _icc_profile(model, result, theta_ml, base, cutoff, should_stop)
    if progress:
        progress(1.0)
    table = pd.DataFrame(rows, columns=["group", "term1", "term2", "sdcor", "ci_low", "ci_high",
                                        "edge"])
    notes = []
    if result.reml:
        notes.append("As in lme4, the profile uses the maximum-likelihood deviance, also for a "
                     "REML fit.")
    return Intervals(table=table, icc=icc, method="profile",
                     seconds=time.perf_counter() - t0, notes=notes)

