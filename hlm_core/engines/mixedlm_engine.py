"""The default engine: mixedlm (an lme4 port with a Rust core), fed our arrays directly.

We build mixedlm's `ModelMatrices` from our ModelFrame instead of handing it a formula, so no
user text ever reaches an engine parser, and every name stays ours. Nothing of mixedlm's own
objects leaves this module: `fit_arrays` returns a plain `RawFit`.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from dataclasses import dataclass, field

import mixedlm  # noqa: F401 (imported whole, once, at module level: see below)
import numpy as np
from mixedlm.estimation.reml import LMMOptimizer, _build_lambda_blocks, _build_theta_bounds
from mixedlm.formula import parser as _mixedlm_parser
from mixedlm.inference.ddf import _vcov_derivatives
from mixedlm.matrices.design import ModelMatrices, RandomEffectStructure
from mixedlm.models.control import LmerControl
from mixedlm.models.lmer_fit import LmerMod
from scipy import sparse

from hlm_core.design import ModelFrame

# mixedlm is imported here, once, and not inside the functions: its modules import each other
# (models.lmer <-> models.lmer_fit), and two sessions of the app fitting at the same moment in
# two threads could each start that import cycle from a different end; one of them then got a
# half-initialised module ("cannot import name 'LmerMod'") and its fit failed. A module-level
# import runs under this module's import lock, so the second thread waits for the first.


MAX_HESSIAN_THETA = 15  # beyond this, the 2k^2 deviance evaluations of the check cost too much
SINGULAR_TOL = 1e-4  # lme4's check.conv.singular tolerance (as isSingular)


@dataclass
class RawFit:
    """Engine output in lme4's parameterisation, with nothing engine-specific in it."""

    beta: np.ndarray
    vcov: np.ndarray
    df: np.ndarray  # Satterthwaite denominator df per fixed effect
    theta: np.ndarray  # relative covariance factors, lme4 layout (block by block, lower tri)
    sigma: float
    b: np.ndarray  # the BLUPs (conditional modes), block by block, level by level
    loglik: float  # at the fitted criterion (REML or ML)
    criterion: float  # REMLcrit for REML, deviance for ML
    converged: bool
    messages: list[str] = field(default_factory=list)
    optimizer: str = ""
    lambda_blocks: list[np.ndarray] = field(default_factory=list)  # q_k x q_k lower-tri per block
    theta_hessian: np.ndarray | None = None  # lme4's deriv12 Hessian of the criterion in theta


def build_matrices(mf: ModelFrame):
    """Our ModelFrame as mixedlm's ModelMatrices (Z laid out level by level, terms within)."""
    n = mf.nobs
    z_blocks = []
    structures = []
    for b in mf.blocks:
        q = b.Z.shape[1]
        rows = np.repeat(np.arange(n), q)
        cols = (b.codes[:, None] * q + np.arange(q)[None, :]).ravel()
        vals = b.Z.ravel()
        nz = vals != 0
        z_blocks.append(
            sparse.csc_matrix((vals[nz], (rows[nz], cols[nz])), shape=(n, b.n_levels * q))
        )
        structures.append(
            RandomEffectStructure(
                grouping_factor=b.vc_group,
                term_names=list(b.term_names),
                n_levels=b.n_levels,
                n_terms=q,
                correlated=b.correlated,
                level_map={lv: i for i, lv in enumerate(b.levels)},
                level_indices=b.codes.astype(np.int32),
            )
        )
    Z = sparse.hstack(z_blocks, format="csc")
    return ModelMatrices(
        y=mf.y,
        X=np.ascontiguousarray(mf.X),
        Z=Z,
        fixed_names=list(mf.fixed_names),
        random_structures=structures,
        n_obs=n,
        n_fixed=mf.X.shape[1],
        n_random=Z.shape[1],
        weights=np.ones(n),
        offset=np.zeros(n),
    )


def _shell_formula(mf: ModelFrame):
    """A formula over generated safe names, only so mixedlm's result object is complete."""
    fixed = " + ".join(f"X{i}" for i in range(mf.X.shape[1])) or "1"
    bars = " + ".join(f"(1 | G{i})" for i in range(len(mf.blocks)))
    return _mixedlm_parser.parse_formula(f"y ~ 0 + {fixed} + {bars}")


def _centred_scaled(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`Xs` and `A^-1` with `X = Xs @ A`: columns centred (when there is an intercept column)
    and scaled to unit root-mean-square, so that beta = A^-1 beta_s."""
    p = X.shape[1]
    A = np.eye(p)
    Xs = np.array(X, dtype=float, copy=True)
    ones = [j for j in range(p) if np.all(X[:, j] == 1.0)]
    for j in range(p):
        if ones and j != ones[0]:
            A[ones[0], j] = Xs[:, j].mean()
            Xs[:, j] -= A[ones[0], j]
        size = float(np.sqrt(np.mean(Xs[:, j] ** 2)))
        if size > 0 and not (ones and j == ones[0]):
            Xs[:, j] /= size
            A[j, j] = size
    return Xs, np.linalg.inv(A)


def satterthwaite_df(res, reml: bool) -> np.ndarray:
    """Satterthwaite df as lmerTest computes them, for REML and ML fits alike.

    lmerTest differentiates the deviance in (theta, sigma) and uses the full inverse Hessian.
    mixedlm profiles sigma out and adds sigma's own share of the uncertainty of each variance
    as the constant 2/(n - p), which is right for REML (the REML deviance's curvature in sigma
    is 4(n - p)/sigma^2) but not for ML, whose curvature is 4n/sigma^2: its share is 2/n. With
    2/(n - p) the ML df came out up to 8% below lmerTest's on files with few groups. The rest
    (the theta part) is mixedlm's, which equals lmerTest's by the block-inverse identity.
    """
    p = res.matrices.n_fixed
    if p == 0:
        return np.empty(0)
    n = res.matrices.n_obs
    variances = np.diag(np.asarray(res.vcov(), dtype=float))
    # Differentiate on centred, unit-scale columns and map back: on raw Julian dates (~2.46e6)
    # the finite differences drown in rounding, and lmerTest's did too (its df for the slope
    # changed from 71.8 to 71.0 when the dates were centred, which cannot change it).
    Xs, A_inv = _centred_scaled(res.matrices.X)
    scaled = copy.copy(res)
    scaled.matrices = dataclasses.replace(res.matrices, X=Xs)
    grads, theta_cov = _vcov_derivatives(scaled)
    rel = np.zeros((p, len(grads)))
    for k, g in enumerate(grads):
        d = np.einsum("ij,jk,ik->i", A_inv, g, A_inv)
        np.divide(d, variances, out=rel[:, k], where=variances > 0)
    theta_part = np.maximum(np.einsum("ij,ij->i", rel @ theta_cov, rel), 0.0)
    sigma_dof = n - p if reml else n
    return np.clip(2.0 / (theta_part + 2.0 / sigma_dof), 1.0, sigma_dof)


def _theta_lower(theta: np.ndarray, structures) -> np.ndarray:
    """lme4's lower bounds: 0 for the diagonal entries of each relative factor, else none."""
    lower = np.full(len(theta), -np.inf)
    for k in range(len(theta)):
        unit = np.zeros(len(theta))
        unit[k] = 1.0
        if any(np.diag(L).any() for L in _build_lambda_blocks(unit, structures)):
            lower[k] = 0.0
    return lower


def theta_hessian(res, reml: bool, delta: float = 1e-4) -> np.ndarray | None:
    """The criterion's Hessian in theta by lme4's deriv12 (central differences with step 1e-4,
    shortened at a lower bound), the matrix lme4's checkConv tests for "nearly unidentifiable";
    None for a singular fit, which lme4 does not test."""
    x = np.asarray(res.theta, dtype=float)
    lower = _theta_lower(x, res.matrices.random_structures)
    if (x[lower == 0] < SINGULAR_TOL).any() or len(x) > MAX_HESSIAN_THETA:
        return None
    f = LMMOptimizer(res.matrices, REML=reml).objective
    up = np.full(len(x), delta)
    down = np.where(x - delta < lower, x - lower, delta)
    f0 = f(x)

    def at(*moves: tuple[int, float]) -> float:
        y = x.copy()
        for i, step in moves:
            y[i] += step
        return f(y)

    H = np.empty((len(x), len(x)))
    for j in range(len(x)):
        H[j, j] = at((j, up[j])) / up[j] ** 2 - 2 * f0 / (up[j] * down[j]) + at(
            (j, -down[j])) / down[j] ** 2
        for i in range(j):
            H[i, j] = H[j, i] = (
                at((i, up[i]), (j, up[j])) / (up[i] + up[j]) ** 2
                - at((i, up[i]), (j, -down[j])) / (up[i] + down[j]) ** 2
                - at((i, -down[i]), (j, up[j])) / (down[i] + up[j]) ** 2
                + at((i, -down[i]), (j, -down[j])) / (down[i] + down[j]) ** 2
            )
    return H


def fit_arrays(mf: ModelFrame, reml: bool, optimizer: str | None = None) -> RawFit:
    """Fit with mixedlm and return lme4-layout estimates plus Satterthwaite df."""
    ctrl = LmerControl(
        check_nlev_gtreq_5="ignore",
        check_scaleX="ignore",
        check_rankX="ignore",
        check_conv=True,
        check_singular=False,
        **({"optimizer": optimizer} if optimizer else {}),
    )
    model = LmerMod.__new__(LmerMod)
    model.formula = _shell_formula(mf)
    model.data = None
    model.REML = reml
    model.verbose = 0
    model.na_action = None
    model.contrasts = None
    model.control = ctrl
    model.matrices = build_matrices(mf)

    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit()
        ddf = satterthwaite_df(res, reml)
    messages.extend(str(w.message) for w in caught)
    structures = model.matrices.random_structures
    ll = res.logLik()
    crit = float(res.REMLcrit()) if reml else float(-2 * ll.value)
    return RawFit(
        beta=np.asarray(res.beta, dtype=float),
        vcov=np.asarray(res.vcov(), dtype=float),
        df=ddf,
        theta=np.asarray(res.theta, dtype=float),
        sigma=float(res.sigma),
        b=np.asarray(res.u, dtype=float),  # mixedlm keeps b (not spherical u) in .u
        loglik=float(ll.value),
        criterion=crit,
        converged=bool(res.converged),
        messages=messages,
        optimizer=str(getattr(res, "optimizer", "")),
        lambda_blocks=[np.asarray(L) for L in _build_lambda_blocks(res.theta, structures)],
        theta_hessian=theta_hessian(res, reml),
    )


@dataclass
class DevianceParts:
    """One evaluation of the profiled criterion at a relative covariance factor theta."""

    deviance: float  # REML criterion or ML deviance, with sigma profiled out
    ldL2: float  # log det of L L' (the random-effects part of the determinant)
    pwrss: float  # penalised weighted residual sum of squares (beta and u profiled out)
    beta: np.ndarray
    b: np.ndarray  # conditional modes of the random effects at theta


class DevianceFunction:
    """mixedlm's profiled deviance over our design, evaluated at any theta, and refits to new
    responses (parametric bootstrap) that reuse the prepared design products.

    Interval code needs the criterion as a function of the parameters (lme4's `devfun`); this
    wraps mixedlm's native evaluator and hands back only numpy numbers.
    """

    def __init__(self, mf: ModelFrame, reml: bool, _optimizer: LMMOptimizer | None = None):
        self.reml = reml
        self.nobs = mf.nobs
        self.n_fixed = mf.X.shape[1]
        self._structures = None
        if _optimizer is None:
            matrices = build_matrices(mf)
            self._structures = matrices.random_structures
            _optimizer = LMMOptimizer(matrices, REML=reml)
        self._opt = _optimizer
        self._structures = self._opt.matrices.random_structures
        self.lower = np.array(
            [lo if lo is not None else -np.inf for lo, _ in
             _build_theta_bounds(self._structures, self._opt.n_theta)]
        )

    def parts(self, theta: np.ndarray) -> DevianceParts | None:
        """The criterion and its pieces at theta; None where the factorisation fails."""
        core = self._opt._evaluate_core(np.asarray(theta, dtype=float))
        if core is None or not np.isfinite(core.deviance):
            return None
        return DevianceParts(
            deviance=float(core.deviance), ldL2=float(core.ldL2), pwrss=float(core.pwrss),
            beta=np.asarray(core.beta, dtype=float), b=np.asarray(core.u, dtype=float),
        )

    def deviance(self, theta: np.ndarray) -> float:
        """The criterion alone (the native evaluator's fastest path); inf where it fails."""
        theta = np.asarray(theta, dtype=float)
        if self._opt.use_rust and self._opt._rust_cache is not None:
            value = float(self._opt._rust_cache.response.deviance(theta, self.reml))
            return value if np.isfinite(value) else np.inf
        parts = self.parts(theta)
        return np.inf if parts is None else parts.deviance

    def lambda_blocks(self, theta: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(L) for L in _build_lambda_blocks(np.asarray(theta), self._structures)]

    def with_response(self, y: np.ndarray) -> DevianceFunction:
        """The same design with another response (only response products are rebuilt)."""
        twin = DevianceFunction.__new__(DevianceFunction)
        twin.__dict__.update(self.__dict__)
        twin._opt = self._opt.with_response(y)
        return twin

    def deviance_and_gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """The criterion and its exact gradient in theta (mixedlm's native derivatives)."""
        theta = np.asarray(theta, dtype=float)
        if self._opt.use_rust and self._opt._rust_cache is not None:
            value, grad = self._opt._rust_cache.response.deviance_with_gradient(theta, self.reml)
            return float(value), np.asarray(grad, dtype=float)
        parts = self.parts(theta)
        return (np.inf if parts is None else parts.deviance), np.full(len(theta), np.nan)

    def refit(self, start: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, bool]:
        """Optimise theta from `start` (as the main fit does); returns theta, sigma, beta,
        converged."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = self._opt.optimize(start=np.asarray(start, dtype=float), method="auto")
        return (np.asarray(res.theta, dtype=float), float(res.sigma),
                np.asarray(res.beta, dtype=float), bool(res.converged))
