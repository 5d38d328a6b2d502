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
from mixedlm.matrices.design import ModelMatrices, RandomEffectStructure
from mixedlm.models.control import LmerControl
from mixedlm.models.lmer import LmerResult
from mixedlm.models.lmer_fit import LmerMod  # noqa: F401 (imported for its import order)
from scipy import linalg, sparse

from hlm_core.design import ModelFrame
from hlm_core.engines import lmm_optimize
from hlm_core.engines.compact import CompactRows, compact_rows
from hlm_core.engines.mixedlm_df import (  # SINGULAR_TOL: re-exported (glmm_check.py)
    SINGULAR_TOL,  # noqa: F401
    Evaluations,
    centred_scaled,
    fitted_vcov,
    satterthwaite_df,
    theta_hessian,
    well_scaled,
)

# mixedlm is imported here, once, and not inside the functions: its modules import each other
# (models.lmer <-> models.lmer_fit), and two sessions of the app fitting at the same moment in
# two threads could each start that import cycle from a different end; one of them then got a
# half-initialised module ("cannot import name 'LmerMod'") and its fit failed. A module-level
# import runs under this module's import lock, so the second thread waits for the first.


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


def build_matrices(mf: ModelFrame, X: np.ndarray | None = None,
                   rows: CompactRows | None = None) -> ModelMatrices:
    """Our ModelFrame as mixedlm's ModelMatrices (Z laid out level by level, terms within),
    with fixed-effects design `X` (default mf.X); with `rows`, the compact design: the
    pseudo-rows first, then zero rows up to the model frame's n (see engines/compact.py)."""
    n = mf.nobs
    X = mf.X if X is None else X
    if rows is None:
        y, Xm, Zs, codes, m = mf.y, X, [b.Z for b in mf.blocks], [b.codes for b in mf.blocks], n
    else:
        m = len(rows.y)
        y, Xm = np.zeros(n), np.zeros((n, X.shape[1]))
        y[:m], Xm[:m] = rows.y, rows.X
        Zs, codes = rows.Z, rows.codes
    z_blocks = []
    structures = []
    for b, Zb, cb in zip(mf.blocks, Zs, codes, strict=True):
        q = Zb.shape[1]
        rws = np.repeat(np.arange(m), q)
        cols = (cb[:, None] * q + np.arange(q)[None, :]).ravel()
        vals = Zb.ravel()
        nz = vals != 0
        z_blocks.append(
            sparse.csc_matrix((vals[nz], (rws[nz], cols[nz])), shape=(n, b.n_levels * q))
        )
        structures.append(
            RandomEffectStructure(
                grouping_factor=b.vc_group,
                term_names=list(b.term_names),
                n_levels=b.n_levels,
                n_terms=q,
                correlated=b.correlated,
                level_map=dict(zip(b.levels, range(b.n_levels), strict=True)),
                level_indices=b.codes.astype(np.int32),  # the real rows' (start values)
            )
        )
    Z = sparse.hstack(z_blocks, format="csc")
    return ModelMatrices(
        y=y,
        X=np.ascontiguousarray(Xm),
        Z=Z,
        fixed_names=list(mf.fixed_names),
        random_structures=structures,
        n_obs=n,
        n_fixed=X.shape[1],
        n_random=Z.shape[1],
        weights=np.ones(n),
        offset=np.zeros(n),
    )


def _shell_formula(mf: ModelFrame):
    """A formula over generated safe names, only so mixedlm's result object is complete."""
    fixed = " + ".join(f"X{i}" for i in range(mf.X.shape[1])) or "1"
    bars = " + ".join(f"(1 | G{i})" for i in range(len(mf.blocks)))
    return _mixedlm_parser.parse_formula(f"y ~ 0 + {fixed} + {bars}")


def _start_theta(compact: ModelMatrices, rows: CompactRows, y: np.ndarray, X: np.ndarray,
                 reml: bool) -> np.ndarray:
    """mixedlm's own starting theta for a fit on the compact design (its first rows are the
    pseudo-rows): its OLS fit from the pseudo-rows (beta and sigma depend only on X'X, X'y,
    y'y and n, which they keep; weights 1, no offset, as here), and its scale from the spread
    of each grouping level's mean OLS residual, which the cells' sums give without a pass over
    the real rows `y`, `X` (10,000,000 rows: 0.6 s); from those rows when the design has no
    column of ones (pseudo-rows have no residuals of their own)."""
    m, n = len(rows.y), len(y)

    def ols() -> tuple[np.ndarray, float]:  # LMMOptimizer._fit_ols, without its pass over n
        Xc, yc = compact.X[:m], compact.y[:m]
        beta = linalg.solve(Xc.T @ Xc, Xc.T @ yc, assume_a="pos")
        return beta, float(np.sqrt(np.sum((yc - Xc @ beta) ** 2) / (n - len(beta))))

    if rows.cell_sums is None:
        probe = LMMOptimizer(dataclasses.replace(compact, y=y, X=X), REML=reml, use_rust=False)
        probe._fit_ols = ols
        return probe.get_start_theta()
    probe = LMMOptimizer(compact, REML=reml, use_rust=False)
    try:
        beta, sigma = ols()
    except (np.linalg.LinAlgError, ValueError):
        probe._fit_ols = ols
        return probe.get_start_theta()  # (mixedlm's defaults, as when its OLS fails)
    p = len(beta)
    resid = rows.cell_sums[:, -1] - rows.cell_sums[:, -1 - p:-1] @ beta  # per cell
    theta: list[float] = []
    for struct, level in zip(compact.random_structures, rows.cell_levels, strict=True):
        total = np.bincount(level, weights=resid, minlength=struct.n_levels)
        count = np.bincount(level, weights=rows.cell_n, minlength=struct.n_levels)
        means = total[count > 0] / count[count > 0]
        # mixedlm's rule, given one "row" per level holding its mean residual
        one_each = dataclasses.replace(struct, n_levels=len(means),
                                       level_indices=np.arange(len(means)))
        theta.extend(probe._get_adaptive_start_for_structure(one_each, means, sigma))
    return np.array(theta, dtype=np.float64)


def _control(optimizer: str | None) -> LmerControl:
    return LmerControl(
        check_nlev_gtreq_5="ignore",
        check_scaleX="ignore",
        check_rankX="ignore",
        check_conv=True,
        check_singular=False,
        **({"optimizer": optimizer} if optimizer else {}),
    )


def _lmer_fit(mf: ModelFrame, matrices: ModelMatrices, reml: bool, ctrl: LmerControl,
              start: np.ndarray | None) -> tuple[LmerResult, LMMOptimizer]:
    """mixedlm's LmerMod.fit (optimise, result, its convergence warning), keeping the
    optimizer: its prepared design then serves the df and the Hessian check too (preparing
    one costs as much as a dozen criterion evaluations at 10,000,000 rows). Without its
    run_model_checks: `_control` switches them off but one (at least 2 groups), which
    design.check_groups makes first, in words; its rank check ran an SVD of X even then."""
    opt = LMMOptimizer(matrices, REML=reml, verbose=0, use_rust=ctrl.use_rust)
    out = lmm_optimize.optimize(opt, start, ctrl)
    res = LmerResult(
        formula=_shell_formula(mf), matrices=matrices, theta=out.theta, beta=out.beta,
        sigma=out.sigma, u=out.u, deviance=out.deviance, REML=reml, converged=out.converged,
        n_iter=out.n_iter, gradient_norm=out.gradient_norm, at_boundary=out.at_boundary,
        message=out.message, function_evals=out.function_evals, optimizer=out.optimizer,
        control=ctrl,
    )
    if ctrl.check_conv and not res.converged:  # LmerMod.fit's words, which fit.py rewrites
        warnings.warn(
            "Model failed to converge. Consider increasing maxiter or trying a different "
            "optimizer.", category=UserWarning, stacklevel=2,
        )
    return res, opt


def fit_arrays(mf: ModelFrame, reml: bool, optimizer: str | None = None) -> RawFit:
    """Fit with mixedlm and return lme4-layout estimates plus Satterthwaite df.

    The fit runs on the compact design when it cuts the rows (engines/compact.py), on the
    columns as they are (as lme4 does: on centred columns badly scaled fits that fail in lme4
    succeeded with nonsense df). The df and lme4's convergence Hessian share one prepared
    design of centred, unit-scale columns and every criterion value (engines/mixedlm_df.py):
    the fit's own when its columns are about that already (`well_scaled`)."""
    ctrl = _control(optimizer)
    rows = compact_rows(mf, mf.X)
    Xs, A_inv = centred_scaled(mf.X, columns=rows is None)  # (the compact rows map by A^-1)
    same = well_scaled(A_inv)  # then the fit's own prepared design serves the df too
    matrices = build_matrices(mf, mf.X, rows)
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:  # (the start's too, as in LmerMod.fit)
        warnings.simplefilter("always")
        start = None if rows is None else _start_theta(matrices, rows, mf.y, mf.X, reml)
        res, opt = _lmer_fit(mf, matrices, reml, ctrl, start)
        # the criterion in theta changes by a constant with X's parametrisation: the check's
        # Hessian is the df's (and on centred columns it is not lost to rounding)
        if same:
            scaled, A_inv = res, np.eye(len(A_inv))
            on_scaled = Evaluations(opt)
        else:
            scaled = copy.copy(res)  # the same fit, on X = Xs A (the pseudo-rows map linearly)
            Xs = Xs if rows is None else matrices.X @ A_inv
            scaled.matrices = dataclasses.replace(res.matrices, X=np.ascontiguousarray(Xs))
            on_scaled = Evaluations(LMMOptimizer(scaled.matrices, REML=reml))
        hessian = theta_hessian(scaled, on_scaled)
        vcov_s = fitted_vcov(scaled, on_scaled)
        ddf = satterthwaite_df(scaled, reml, on_scaled, A_inv, vcov_s)
    messages.extend(str(w.message) for w in caught)
    ll = float(res.logLik().value)
    return RawFit(
        beta=np.asarray(res.beta, dtype=float),
        vcov=A_inv @ vcov_s @ A_inv.T,
        df=ddf,
        theta=np.asarray(res.theta, dtype=float),
        sigma=float(res.sigma),
        b=np.asarray(res.u, dtype=float),  # mixedlm keeps b (not spherical u) in .u
        loglik=ll,
        criterion=float(res.REMLcrit()) if reml else -2 * ll,
        converged=bool(res.converged),
        messages=messages,
        optimizer=str(getattr(res, "optimizer", "")),
        lambda_blocks=[np.asarray(L) for L in
                       _build_lambda_blocks(res.theta, matrices.random_structures)],
        theta_hessian=hessian,
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
