"""Generalized models (lme4's `glmer`) with mixedlm, fed our arrays directly.

As for linear models (`mixedlm_engine`), mixedlm sees only our ModelFrame's arrays and
generated names; nothing of its objects leaves this module. Two things are done here the way
lme4 does them rather than mixedlm's default way:

* the fixed effects' covariance is lme4's `vcov(use.hessian = TRUE)`: twice the inverse of the
  finite-difference Hessian (lme4's `deriv12`, step 1e-4) of the deviance over (theta, beta);
  mixedlm's own vcov treats theta as known and gives SEs up to ~2 % smaller than `summary()`;
* the conditional SDs of the modes come from our batched solver (`condvar`) with the rows
  weighted by the final PIRLS weights, which is lme4's `ranef(condVar = TRUE)` for a GLMM.

A model with one scalar random term fitted by Laplace (`y ~ x + (1 | class)`) does not reach
mixedlm at all: `glmm_scalar` computes the same deviance, modes and Hessian in a few vectorised
passes over the rows (1,000,000 pupils: ~2 s of CPU instead of ~17 s). Naming an optimizer
(Diagnostics' "Try the other optimizer") sends it through mixedlm's search, as a cross-check.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from mixedlm.estimation.joint_glmm import JointGLMMObjective
from mixedlm.estimation.reml import _build_lambda_blocks
from mixedlm.families.binomial import Binomial
from mixedlm.families.poisson import Poisson
from mixedlm.models.control import glmerControl
from mixedlm.models.glmer_fit import GlmerMod

from hlm_core.design import ModelFrame
from hlm_core.engines.mixedlm_engine import _shell_formula, build_matrices

HESSIAN_STEP = 1e-4  # lme4's deriv12 delta


@dataclass
class GlmmRawFit:
    """Engine output in lme4's parameterisation (sigma is 1 for these families)."""

    beta: np.ndarray
    vcov: np.ndarray
    theta: np.ndarray
    b: np.ndarray  # conditional modes, block by block, level by level (lme4's ranef layout)
    loglik: float  # the full marginal log-likelihood (with the y! / binomial constants)
    saturated_loglik: float  # the saturated model's, for lme4's AGQ deviance convention
    converged: bool
    messages: list[str] = field(default_factory=list)
    lambda_blocks: list[np.ndarray] = field(default_factory=list)
    eta: np.ndarray | None = None  # linear predictor incl. random effects, per row
    hessian_ok: bool = True
    sigma: float = 1.0


def _family(name: str):
    return Binomial() if name == "binomial" else Poisson()


def _deriv12_hessian(f, x0: np.ndarray, delta: float = HESSIAN_STEP) -> np.ndarray:
    """Central-difference Hessian exactly as lme4's `deriv12` (so SEs match `summary()`)."""
    n = len(x0)
    fx = f(x0)
    H = np.zeros((n, n))
    for i in range(n):
        xa, xs = x0.copy(), x0.copy()
        xa[i] += delta
        xs[i] -= delta
        H[i, i] = (f(xa) - 2 * fx + f(xs)) / delta**2
        for j in range(i):
            xaa, xas, xsa, xss = xa.copy(), xa.copy(), xs.copy(), xs.copy()
            xaa[j] += delta
            xas[j] -= delta
            xsa[j] += delta
            xss[j] -= delta
            H[i, j] = H[j, i] = (f(xaa) - f(xas) - f(xsa) + f(xss)) / (4 * delta**2)
    return H


def _vcov(matrices, family, nagq: int, theta: np.ndarray, beta: np.ndarray,
          fallback: np.ndarray) -> tuple[np.ndarray, bool]:
    """lme4's Hessian-based vcov of beta; the conditional one when the Hessian is not usable."""
    obj = JointGLMMObjective(matrices, family, nagq)
    try:
        H = _deriv12_hessian(lambda x: obj.evaluate(x)[0], np.r_[theta, beta])
        V = 2 * np.linalg.inv(H)
        nt = len(theta)
        Vb = (V[nt:, nt:] + V[nt:, nt:].T) / 2
        if np.all(np.isfinite(Vb)) and np.all(np.linalg.eigvalsh(Vb) > 0):
            return Vb, True
    except (np.linalg.LinAlgError, ValueError, FloatingPointError, RuntimeError):
        pass
    return fallback, False


def fit_glmm_arrays(mf: ModelFrame, family: str, nagq: int = 1,
                    optimizer: str | None = None) -> GlmmRawFit:
    """Fit a binomial (logit) or Poisson (log) GLMM by Laplace (nagq = 1) or AGQ(nagq).

    One scalar random term by Laplace goes through our vectorised route (`glmm_scalar`)."""
    from hlm_core.engines import glmm_scalar

    if glmm_scalar.applies(mf, nagq, optimizer):
        try:
            raw = glmm_scalar.fit_scalar_glmm(mf, family)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            raw = None  # the general route below decides (and words any failure)
        if raw is not None and np.isfinite(raw.loglik) and np.all(np.isfinite(raw.beta)):
            return raw
    ctrl = glmerControl(
        optimizer=optimizer or "COBYQA",
        check_nlev_gtreq_5="ignore",
        check_scaleX="ignore",
        check_rankX="ignore",
        check_singular=False,
    )
    model = GlmerMod.__new__(GlmerMod)
    model.formula = _shell_formula(mf)
    model.data = None
    model.family = _family(family)
    model.verbose = 0
    model.na_action = None
    model.contrasts = None
    model.control = ctrl
    model.matrices = build_matrices(mf)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit(nAGQ=nagq)
    messages = [str(w.message) for w in caught]
    structures = model.matrices.random_structures
    vcov, ok = _vcov(model.matrices, model.family, nagq, np.asarray(res.theta),
                     np.asarray(res.beta), np.asarray(res.vcov(), dtype=float))
    eta = np.asarray(res.linear_predictor(na_expand=False), dtype=float)
    return GlmmRawFit(
        beta=np.asarray(res.beta, dtype=float),
        vcov=vcov,
        theta=np.asarray(res.theta, dtype=float),
        b=np.asarray(res.u, dtype=float),  # mixedlm keeps b (not spherical u) in .u
        loglik=float(res.logLik().value),
        saturated_loglik=float(res._saturated_log_likelihood),
        converged=bool(res.converged),
        messages=messages,
        lambda_blocks=[np.asarray(L) for L in _build_lambda_blocks(res.theta, structures)],
        eta=eta,
        hessian_ok=ok,
    )
