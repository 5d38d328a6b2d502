"""Satterthwaite df and lme4's convergence Hessian, on prepared designs made once.

Both need the profiled criterion at many points near the optimum: the df differentiate the
coefficients' covariance in theta (2 evaluations per theta) and take the theta covariance from
the criterion's Hessian (1 + 2k^2 evaluations), and lme4's checkConv takes the Hessian by its
deriv12 rule. At 10,000,000 rows each fresh prepared design (mixedlm's native products) cost
~20 s of wall time, and mixedlm's df code prepared its own besides the fit's and the check's.
Now the df and the check share one prepared design and, through `Evaluations`, every criterion
value: for |theta| <= 1 (mixedlm's step is 1e-4 max(1, |theta|), lme4's 1e-4) the df's Hessian
costs no evaluation of its own.

The df's design has centred, unit-scale fixed-effect columns (`centred_scaled`): their finite
differences on raw Julian dates (~2.46e6) drowned in rounding (lmerTest's too: its df for the
slope changed from 71.8 to 71.0 when the dates were centred, which cannot change it). The
criterion in theta only moves by a constant with X's parametrisation, so the check's Hessian is
the same matrix, less rounded. The fit itself stays on the columns as they are, as lme4's.
"""

from __future__ import annotations

import numpy as np
from mixedlm.estimation.reml import LMMOptimizer, _build_lambda_blocks
from mixedlm.inference.ddf import (
    _finite_difference_step,
    _profiled_theta_covariance,
    _vcov_from_theta,
)

MAX_HESSIAN_THETA = 15  # beyond this, the 2k^2 deviance evaluations of the check cost too much
SINGULAR_TOL = 1e-4  # lme4's check.conv.singular tolerance (as isSingular)


WELL_SCALED = 10.0  # columns whose mean and root-mean-square are within this of 0 and 1


def centred_scaled(X: np.ndarray, columns: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
    """`Xs` and `A^-1` with `X = Xs @ A`: columns centred (when there is an intercept column)
    and scaled to unit root-mean-square, so that beta = A^-1 beta_s and
    vcov = A^-1 vcov_s A^-T. `columns=False`: only `A^-1` (Xs is None), a column at a time
    instead of a copy of X (the compact design maps its own rows)."""
    p = X.shape[1]
    A = np.eye(p)
    Xs = np.array(X, dtype=float, copy=True) if columns else None
    ones = [j for j in range(p) if np.all(X[:, j] == 1.0)]
    for j in range(p):
        col = Xs[:, j] if columns else np.array(X[:, j], dtype=float)
        if ones and j != ones[0]:
            A[ones[0], j] = col.mean()
            col -= A[ones[0], j]
        size = float(np.sqrt(np.mean(col**2)))
        if size > 0 and not (ones and j == ones[0]):
            col /= size
            A[j, j] = size
    return Xs, np.linalg.inv(A)


def well_scaled(A_inv: np.ndarray) -> bool:
    """True when the columns are already about centred and of unit scale (every mean within
    WELL_SCALED of 0, every root-mean-square within a factor WELL_SCALED of 1): the df are
    then as exact on the columns as they are, and no second prepared design is needed."""
    A = np.linalg.inv(A_inv)
    diag = np.diag(A)
    off = A - np.diag(diag)
    return bool(np.all(np.abs(off) <= WELL_SCALED) and np.all(diag <= WELL_SCALED)
                and np.all(diag >= 1 / WELL_SCALED))


class Evaluations:
    """One prepared design's profiled criterion, each theta evaluated once."""

    def __init__(self, optimizer: LMMOptimizer):
        self._opt = optimizer
        self._seen: dict[bytes, float] = {}

    def objective(self, theta: np.ndarray) -> float:
        key = np.asarray(theta, dtype=float).tobytes()
        if key not in self._seen:
            self._seen[key] = float(self._opt.objective(theta))
        return self._seen[key]

    def _evaluate_core(self, theta: np.ndarray):
        return self._opt._evaluate_core(theta)

    @property
    def count(self) -> int:
        return len(self._seen)


def fitted_vcov(res, evaluations: Evaluations) -> np.ndarray:
    """The coefficients' covariance at the fitted theta (as `res.vcov()`) from one native
    evaluation: mixedlm's own vcov() rebuilds Z'Z and factors it in Python (0.8 s at
    10,000,000 rows)."""
    if res.matrices.n_fixed == 0:
        return np.empty((0, 0))
    return np.asarray(_vcov_from_theta(res, np.asarray(res.theta, dtype=float), evaluations))


def satterthwaite_df(res, reml: bool, evaluations: Evaluations, A_inv: np.ndarray,
                     vcov_s: np.ndarray) -> np.ndarray:
    """Satterthwaite df as lmerTest computes them, for REML and ML fits alike, for the raw
    coefficients beta = A^-1 beta_s of a fit on centred, scaled columns (`vcov_s`: theirs).

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
    theta = np.asarray(res.theta, dtype=float)
    variances = np.diag(A_inv @ vcov_s @ A_inv.T)
    rel = np.zeros((p, len(theta)))
    for k, value in enumerate(theta):  # mixedlm's central differences of vcov in theta
        step = _finite_difference_step(float(value))
        plus, minus = theta.copy(), theta.copy()
        plus[k] += step
        minus[k] -= step
        g = (_vcov_from_theta(res, plus, evaluations)
             - _vcov_from_theta(res, minus, evaluations)) / (2.0 * step)
        d = np.einsum("ij,jk,ik->i", A_inv, g, A_inv)
        np.divide(d, variances, out=rel[:, k], where=variances > 0)
    theta_cov = _profiled_theta_covariance(res, theta, evaluations)
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


def theta_hessian(res, evaluations: Evaluations, delta: float = 1e-4) -> np.ndarray | None:
    """The criterion's Hessian in theta by lme4's deriv12 (central differences with step 1e-4,
    shortened at a lower bound), the matrix lme4's checkConv tests for "nearly unidentifiable";
    None for a singular fit, which lme4 does not test."""
    x = np.asarray(res.theta, dtype=float)
    lower = _theta_lower(x, res.matrices.random_structures)
    if (x[lower == 0] < SINGULAR_TOL).any() or len(x) > MAX_HESSIAN_THETA:
        return None
    f = evaluations.objective
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
