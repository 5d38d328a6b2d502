"""Parametric bootstrap for a generalized model, as lme4's bootMer(type = "parametric") on a
glmer fit: each draw simulates new outcomes from the fitted model (lme4's simulate(): random
effects from N(0, the fitted covariance), then yes/no from Bernoulli(p) or counts from
Poisson(mu) given them), refits the same model (Laplace, or the same nAGQ) and keeps its SDs,
correlations and latent ICC. The intervals are the linear models' percentile intervals
(hlm_core.bootstrap.boot_intervals), from the same BootDraws.

The refit minimises glmer's deviance over (theta, beta) from the estimate (the draws are near
it), with the profile's quasi-Newton search (hlm_core.intervals_glmm.minimise). For the log
link the latent ICC's distribution variance log(1 + 1/lambda) is recomputed per draw for a
model without predictors (lambda from the draw's own intercept and variance) and held at its
estimate otherwise, as the profile interval does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from hlm_core.intervals import _theta_hat, icc_factor, psd_cholesky
from hlm_core.result import FitResult


def simulate_glmm(result: FitResult, rng: np.random.Generator) -> np.ndarray:
    """One outcome vector from the fitted generalized model (lme4's simulate.merMod)."""
    mf = result.model_frame
    eta = mf.X @ result.fixed["estimate"].to_numpy()
    for b in mf.blocks:
        cov = result.extra["covariances"][b.vc_group]
        effects = rng.standard_normal((b.n_levels, cov.shape[0])) @ psd_cholesky(cov).T
        eta = eta + np.einsum("ij,ij->i", b.Z, effects[b.codes])
    if result.family == "binomial":
        return (rng.random(mf.nobs) < 1 / (1 + np.exp(-eta))).astype(float)
    return rng.poisson(np.exp(eta)).astype(float)


class GlmmRefitter:
    """Refits one design's generalized model to new outcomes."""

    def __init__(self, result: FitResult):
        from hlm_core.engines.glmm_engine import _family
        from hlm_core.engines.mixedlm_engine import build_matrices
        from hlm_core.intervals_glmm import GlmmProfileModel

        self.model = GlmmProfileModel(result)
        self.matrices = build_matrices(result.model_frame)
        self.family = _family(result.family)
        self.nagq = result.spec.nagq
        self.start = np.r_[_theta_hat(result), result.fixed["estimate"].to_numpy()]
        nt = len(self.start) - self.model.n_fixed
        self.lower = np.r_[self.model.theta_lower(), np.full(self.model.n_fixed, -np.inf)]
        self.upper = np.full(len(self.lower), np.inf)
        self.n_theta = nt

    def fit(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(theta, beta) of the refit to `y`, or None when it fails."""
        from mixedlm.estimation.joint_glmm import JointGLMMObjective

        from hlm_core.intervals_glmm import minimise

        objective = JointGLMMObjective(replace(self.matrices, y=y), self.family, self.nagq,
                                       pirls_tol=1e-8)

        def dev(x: np.ndarray) -> float:
            try:
                v = objective(x)
            except (ValueError, FloatingPointError, np.linalg.LinAlgError):
                return np.inf
            return float(v) if np.isfinite(v) else np.inf

        x, d = minimise(dev, self.start, self.lower, self.upper)
        if not np.isfinite(d):
            return None
        return x[: self.n_theta], x[self.n_theta :]


def _latent_icc(result: FitResult, refit: GlmmRefitter, ms, theta, beta) -> float:
    h = sum(float(np.trace(L.T @ M @ L)) for L, M in
            zip(refit.model.lambda_blocks(theta), ms, strict=True))
    var_dist = float(result.extra["distribution_variance"])
    if result.family == "poisson" and not result.icc_adjusted:
        var_dist = float(np.log1p(1 / np.exp(beta[0] + h / 2)))
    return h / (h + var_dist)


def glmm_bootstrap(
    result: FitResult,
    nsim: int,
    seed: int,
    progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
):
    """`nsim` parametric-bootstrap refits of a generalized model (hlm_core.bootstrap.BootDraws)."""
    from hlm_core.bootstrap import BootDraws

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    refit = GlmmRefitter(result)
    ms = icc_factor(result)
    thetas, sdcors, iccs = [], [], []
    failed = 0
    for i in range(nsim):
        if should_stop():
            raise InterruptedError("bootstrap cancelled")
        out = refit.fit(simulate_glmm(result, rng))
        if out is None:
            failed += 1
        else:
            theta, beta = out
            thetas.append(theta)
            sdcors.append(refit.model.sdcor(theta))
            iccs.append(_latent_icc(result, refit, ms, theta, beta))
        if progress:
            progress((i + 1) / nsim)
    k = len(thetas)
    return BootDraws(
        theta=np.array(thetas).reshape(k, refit.n_theta), sigma=np.ones(k),
        sdcor=np.array(sdcors).reshape(k, len(result.varcorr)), icc=np.array(iccs),
        nsim=nsim, seed=seed, failed=failed, seconds=time.perf_counter() - t0,
    )
