"""Generalized models (lme4's `glmer`) with mixedlm, fed our arrays directly.

As for linear models (`mixedlm_engine`), mixedlm sees only our ModelFrame's arrays and
generated names; nothing of its objects leaves this module. Two things are done here the way
lme4 does them rather than mixedlm's default way:

* the fixed effects' covariance is lme4's `vcov(use.hessian = TRUE)`: twice the inverse of the
  finite-difference Hessian (lme4's `deriv12`, step 1e-4) of the deviance over (theta, beta);
  mixedlm's own vcov treats theta as known and gives SEs up to ~2 % smaller than `summary()`;
* the conditional SDs of the modes come from our batched solver (`condvar`) with the rows
  weighted by the final PIRLS weights, which is lme4's `ranef(condVar = TRUE)` for a GLMM.

mixedlm's search is not taken at its word: `glmm_check` tests its answer as lme4's checkConv
does (from the same evaluations as the Hessian above) and continues the search where it is not
an optimum, so `converged` is lme4's verdict on the point we report.

A model with one scalar random term fitted by Laplace (`y ~ x + (1 | class)`) does not reach
mixedlm at all: `glmm_scalar` computes the same deviance, modes and Hessian in a few vectorised
passes over the rows (1,000,000 pupils: ~2 s of CPU instead of ~17 s). Naming an optimizer
(Diagnostics' "Try the other optimizer") sends it through mixedlm's search, as a cross-check.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from mixedlm.estimation.reml import _build_lambda_blocks
from mixedlm.families.binomial import Binomial
from mixedlm.families.poisson import Poisson
from mixedlm.models.control import glmerControl
from mixedlm.models.glmer_fit import GlmerMod

from hlm_core.design import ModelFrame
from hlm_core.engines.glmm_check import TrustedDeviance, deriv12, trusted_optimum
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
    return deriv12(f, x0, delta)[2]


def _vcov(H: np.ndarray, n_theta: int, fallback: np.ndarray) -> tuple[np.ndarray, bool]:
    """lme4's Hessian-based vcov of beta; the conditional one when the Hessian is not usable."""
    try:
        V = 2 * np.linalg.inv(H)
        Vb = (V[n_theta:, n_theta:] + V[n_theta:, n_theta:].T) / 2
        if np.all(np.isfinite(Vb)) and np.all(np.linalg.eigvalsh(Vb) > 0):
            return Vb, True
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        pass
    return fallback, False


def _glmer_model(mf: ModelFrame, family: str, optimizer: str | None) -> GlmerMod:
    """mixedlm's glmer object over our arrays (no formula or data of the user's reaches it)."""
    model = GlmerMod.__new__(GlmerMod)
    model.formula = _shell_formula(mf)
    model.data = None
    model.family = _family(family)
    model.verbose = 0
    model.na_action = None
    model.contrasts = None
    model.control = glmerControl(
        optimizer=optimizer or "COBYQA",
        check_nlev_gtreq_5="ignore",
        check_scaleX="ignore",
        check_rankX="ignore",
        check_singular=False,
    )
    model.matrices = build_matrices(mf)
    return model


def _nagq0_start(mf: ModelFrame, family: str) -> np.ndarray | None:
    """lme4's start for the Laplace search: the nAGQ = 0 fit's (theta, beta)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = _glmer_model(mf, family, None).fit(nAGQ=0)
        x = np.r_[np.asarray(res.theta, float), np.asarray(res.beta, float)]
    except (np.linalg.LinAlgError, ValueError, FloatingPointError, RuntimeError):
        return None
    return x if np.all(np.isfinite(x)) else None


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
    model = _glmer_model(mf, family, optimizer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit(nAGQ=nagq)
    # mixedlm's "converged" is its search's word; lme4's check decides (glmm_check)
    messages = [str(w.message) for w in caught if "converge" not in str(w.message).lower()]
    structures = model.matrices.random_structures
    dev = TrustedDeviance(model.matrices, model.family, nagq)
    opt = trusted_optimum(dev, np.r_[np.asarray(res.theta, float), np.asarray(res.beta, float)],
                          HESSIAN_STEP, lambda: _nagq0_start(mf, family))
    if not np.isfinite(opt.deviance):
        raise ValueError("no parameter value where the conditional modes could be found")
    nt = dev.n_theta
    theta, beta = opt.x[:nt], opt.x[nt:]
    vcov, ok = _vcov(opt.hessian, nt, np.asarray(res.vcov(), dtype=float))
    sat = float(res._saturated_log_likelihood)
    M = model.matrices
    return GlmmRawFit(
        beta=beta,
        vcov=vcov,
        theta=theta,
        b=opt.b,
        loglik=sat - opt.deviance / 2,
        saturated_loglik=sat,
        converged=opt.converged,
        messages=messages,
        lambda_blocks=[np.asarray(L) for L in _build_lambda_blocks(theta, structures)],
        eta=M.X @ beta + M.Z @ opt.b + M.offset,
        hessian_ok=ok,
    )
