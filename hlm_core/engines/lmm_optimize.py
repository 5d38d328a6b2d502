"""mixedlm's default optimiser ("auto"), with an end for the search at the rounding floor.

mixedlm's "auto" runs L-BFGS-B on the exact native gradient and, when that stage does not
report success, starts again with COBYQA. On large data the L-BFGS-B stage reaches the optimum
in about 15 evaluations but often cannot report success: lme4's criterion is a sum over the
rows, so near the optimum its rounding (about 1e-13 of a value in the millions) swamps the
decrease its line search asks for, and the stage then spends some 40 evaluations on line
searches that cannot succeed, after which COBYQA spends 50 more to find the same point to 1e-6.
At 10,000,000 pupils that was 14 of the fit's 20 seconds.

Here the L-BFGS-B stage stops once its best point meets mixedlm's own test for accepting that
stage (the largest gradient entry at most 1e-6 per row) and three evaluations in a row after it
could not lower the criterion by more than rounding. That point is returned only where
mixedlm's "auto" would accept a successful L-BFGS-B stage: a finite criterion and no variance
scale near zero (boundary optima keep mixedlm's own search, probes and COBYQA). Everything else
falls back to mixedlm's "auto" unchanged, and lme4's convergence check runs on every fit after.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from mixedlm.estimation.optimizers import _near_zero_variances, _rounding_tolerance
from mixedlm.estimation.reml import (
    _AUTO_FALLBACK_GRADIENT_TOL,
    _AUTO_GRADIENT_TOL,
    AUTO_OPTIMIZER,
    LMMOptimizer,
    OptimizationResult,
    _build_theta_bounds,
)
from mixedlm.models.control import LmerControl
from scipy.optimize import minimize

STALLED = 3  # evaluations in a row, after a point that passes, that lower nothing but rounding


class _Floor(Exception):
    """Raised inside the line search: the best point passes and nothing improves on it."""


class _Tracked:
    """The criterion with its gradient, remembering the best point and how long since it."""

    def __init__(self, evaluate: Callable[[np.ndarray], tuple[float, np.ndarray]],
                 accept: float):
        self.evaluate = evaluate
        self.accept = accept  # the largest gradient entry that mixedlm accepts
        self.x: np.ndarray | None = None
        self.fun = np.inf
        self.jac: np.ndarray | None = None
        self.nfev = 0
        self.stalled = 0

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self.nfev += 1
        value, grad = np.inf, np.zeros_like(theta)
        if np.all(np.isfinite(theta)):  # a failed line search can propose non-finite steps
            v, g = self.evaluate(np.array(theta, dtype=float))
            if np.isfinite(v) and np.all(np.isfinite(g)):
                value, grad = float(v), np.asarray(g, dtype=float)
        first = self.x is None and np.isfinite(value)
        if first or value < self.fun - _rounding_tolerance(self.fun):
            self.x, self.fun, self.jac, self.stalled = np.array(theta, dtype=float), value, grad, 0
        elif self.jac is not None and np.max(np.abs(self.jac)) <= self.accept:
            self.stalled += 1
            if self.stalled >= STALLED:
                raise _Floor
        elif value < self.fun:  # within rounding of the best but lower: keep the lower point
            self.x, self.fun, self.jac = np.array(theta, dtype=float), value, grad
        return value, grad


def _gradient_stage(opt: LMMOptimizer, start: np.ndarray, bounds: list,
                    ctrl: LmerControl) -> tuple[np.ndarray, np.ndarray, int, int, str] | None:
    """The L-BFGS-B stage; its best point when mixedlm's "auto" would accept it, else None."""
    response, reml, n = opt._rust_cache.response, opt.REML, opt.matrices.n_obs
    tracked = _Tracked(lambda t: response.deviance_with_gradient(t, reml),
                       _AUTO_FALLBACK_GRADIENT_TOL * n)
    options = {"maxiter": ctrl.maxiter, "ftol": 1e-15, "gtol": _AUTO_GRADIENT_TOL * n}
    scipy_options = ctrl.get_scipy_options()
    limit = scipy_options.get("maxfev", scipy_options.get("maxfun"))
    if limit is not None:
        options["maxfun"] = limit
    try:
        res = minimize(tracked, start, jac=True, method="L-BFGS-B", bounds=bounds,
                       options=options)
        success, nit, message = bool(res.success), int(res.nit), str(res.message)
    except _Floor:
        success, nit, message = True, -1, "stopped at the rounding floor of the criterion"
    if tracked.x is None or (not success and not message.startswith("ABNORMAL")):
        return None
    if np.max(np.abs(tracked.jac)) > tracked.accept or _near_zero_variances(tracked.x, start,
                                                                           bounds):
        return None
    return tracked.x, tracked.jac, nit, tracked.nfev, message


def optimize(opt: LMMOptimizer, start: np.ndarray | None, ctrl: LmerControl) -> OptimizationResult:
    """mixedlm's `opt.optimize` for `ctrl`, ending the gradient stage at the rounding floor
    where mixedlm would accept it (see the module docstring)."""
    if start is None:
        start = opt.get_start_theta()
    start = np.asarray(start, dtype=float)
    bounds = _build_theta_bounds(opt.matrices.random_structures, len(start))
    stage = None
    if (ctrl.optimizer == AUTO_OPTIMIZER and opt.use_rust and opt._rust_cache is not None
            and opt.n_theta):
        stage = _gradient_stage(opt, start, bounds, ctrl)
    if stage is None:
        return opt.optimize(
            start=start, method=ctrl.optimizer, maxiter=ctrl.maxiter,
            options=ctrl.get_scipy_options(), restart_edge=ctrl.restart_edge,
            use_analytic_gradient=ctrl.use_analytic_gradient,
        )
    theta, jac, nit, nfev, message = stage
    core = opt._final_evaluation(theta)
    return OptimizationResult(
        theta=theta, beta=core.beta, sigma=core.sigma, u=core.u, deviance=core.deviance,
        converged=True, n_iter=nit if nit >= 0 else nfev, gradient_norm=float(np.linalg.norm(jac)),
        at_boundary=opt._check_at_boundary(theta, bounds), message=message,
        function_evals=nfev, optimizer="L-BFGS-B",
    )
