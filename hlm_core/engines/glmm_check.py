"""Is the general route's answer an optimum? lme4's check, and what to do when it is not.

mixedlm's search (COBYQA over theta then (theta, beta)) trusts its native PIRLS, which fails to
converge at many parameter values when conditional modes sit far out (many classes where every
pupil passed, a large class SD). The search then treats those points as infinitely bad and can
stop at the edge of the region where PIRLS works: a worse optimum, reported as converged, with a
Hessian measured across the failed evaluations (SEs ~2e-5). So after mixedlm returns:

* the deviance is re-evaluated by `TrustedDeviance`: the native PIRLS, and mixedlm's Python
  PIRLS (step-halving, started from the last converged modes) where the native one fails; both
  compute lme4's Laplace (or AGQ) deviance, so where both converge they agree to rounding;
* the Hessian lme4 uses for the SEs (`deriv12`, step 1e-4) also gives the gradient, so the
  check costs nothing beyond the Hessian the SEs need: every evaluation converged and, unless
  the fit is singular (lme4's checkConv stops there too), lme4's scaled gradient (which needs
  a positive definite Hessian) at most 2e-3;
* when that fails the search continues on the trusted deviance: a polish from mixedlm's point,
  then a restart from lme4's nAGQ = 0 start; the best point that passes the check is the fit,
  and when none does the fit is reported as not converged (the usual plain-words message).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from mixedlm.estimation.joint_glmm import JointGLMMObjective
from mixedlm.estimation.laplace import glmm_deviance_with_status

PIRLS_TOL = 1e-7  # lme4's tolPwrss (mixedlm's own default is 1e-6)
FALLBACK_MAXITER = 300  # the Python PIRLS halves its steps: far-out modes take many
NATIVE_GIVE_UP = 5  # native PIRLS failures after which an objective uses the Python one only


class TrustedDeviance:
    """glmer's deviance at (theta, beta) (relative to the saturated model, as mixedlm's), with
    the Python PIRLS where the native one does not converge; inf where neither does."""

    def __init__(self, matrices, family, nagq: int, pirls_tol: float = PIRLS_TOL) -> None:
        self.native = JointGLMMObjective(matrices, family, nagq, pirls_tol=pirls_tol)
        self.pirls_tol = pirls_tol
        self.matrices, self.family, self.nagq = matrices, family, nagq
        self.n_theta = self.native.n_theta
        self.lower = np.array([-np.inf if lo is None else lo for lo, _ in self.native.bounds])
        self.upper = np.full(len(self.lower), np.inf)
        self.failed = 0  # evaluations where neither PIRLS converged
        self.native_failed = 0
        self.b = np.zeros(matrices.n_random)  # the last converged modes: the fallback's start

    def evaluate(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """The deviance and the conditional modes b (covariance scale) at x."""
        x = np.asarray(x, float)
        try:
            ok = False
            if self.native_failed < NATIVE_GIVE_UP:
                dev, _, b, ok = self.native.evaluate(x)
                self.native_failed += not (ok and np.isfinite(dev))
            if not (ok and np.isfinite(dev)):
                dev, b, ok = self._python_pirls(x)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            dev, b, ok = np.inf, self.b, False
        if not (ok and np.isfinite(dev)):
            self.failed += 1
            return np.inf, self.b
        self.b = np.asarray(b, float)
        return float(dev), self.b

    def _python_pirls(self, x: np.ndarray) -> tuple[float, np.ndarray, bool]:
        theta, beta = x[: self.n_theta], x[self.n_theta :]
        mm = replace(self.native.mode_matrices,
                     offset=self.matrices.offset + self.matrices.X @ beta)
        dev, _, b, ok = glmm_deviance_with_status(
            theta, mm, self.family, max(1, self.nagq), u_start=self.b,
            pirls_maxiter=FALLBACK_MAXITER, pirls_tol=self.pirls_tol)
        return dev, b, ok

    def __call__(self, x: np.ndarray) -> float:
        return self.evaluate(x)[0]


def deriv12(f: Callable[[np.ndarray], float], x0: np.ndarray, delta: float
            ) -> tuple[float, np.ndarray, np.ndarray]:
    """lme4's deriv12: central-difference gradient and Hessian from the same evaluations."""
    n = len(x0)
    fx = f(x0)
    g, H = np.zeros(n), np.zeros((n, n))
    for i in range(n):
        xa, xs = x0.copy(), x0.copy()
        xa[i] += delta
        xs[i] -= delta
        fa, fs = f(xa), f(xs)
        g[i] = (fa - fs) / (2 * delta)
        H[i, i] = (fa - 2 * fx + fs) / delta**2
        for j in range(i):
            xaa, xas, xsa, xss = xa.copy(), xa.copy(), xs.copy(), xs.copy()
            xaa[j] += delta
            xas[j] -= delta
            xsa[j] += delta
            xss[j] -= delta
            H[i, j] = H[j, i] = (f(xaa) - f(xas) - f(xsa) + f(xss)) / (4 * delta**2)
    return fx, g, H


@dataclass
class Optimum:
    """Where the fit ends: parameters, deviance and its Hessian there, and lme4's verdict."""

    x: np.ndarray
    deviance: float
    hessian: np.ndarray
    converged: bool
    b: np.ndarray


def _passes(dev: TrustedDeviance, x: np.ndarray, f0: float, g: np.ndarray, H: np.ndarray,
            failed_before: int) -> bool:
    """lme4's checkConv at x: all evaluations converged; then, as lme4, a singular fit (a
    theta with lower bound 0 below 1e-4) is not checked further; otherwise the scaled gradient
    (which needs a positive definite Hessian) is at most 2e-3."""
    from hlm_core.engines.glmm_scalar import GRAD_TOL, _scaled_gradient
    from hlm_core.engines.mixedlm_engine import SINGULAR_TOL

    if dev.failed > failed_before or not (np.isfinite(f0) and np.all(np.isfinite(H))):
        return False
    if np.any(x[dev.lower == 0] < SINGULAR_TOL):
        return True
    try:
        return _scaled_gradient(H, g) <= GRAD_TOL
    except np.linalg.LinAlgError:
        return False  # "unable to evaluate scaled gradient": not a (proper) minimum


def _measure(dev: TrustedDeviance, x: np.ndarray, delta: float) -> tuple[Optimum, bool]:
    failed = dev.failed
    f0, g, H = deriv12(dev, x, delta)
    ok = _passes(dev, x, f0, g, H, failed)
    return Optimum(x=x, deviance=f0, hessian=H, converged=ok, b=dev.evaluate(x)[1]), ok


def trusted_optimum(dev: TrustedDeviance, x0: np.ndarray, delta: float,
                    restart: Callable[[], np.ndarray | None]) -> Optimum:
    """mixedlm's point x0 if it passes lme4's check (one Hessian, which the SEs need anyway);
    otherwise the search goes on: polish from x0, then from `restart()` (lme4's nAGQ = 0
    start). Returns the best point found; `converged` says whether it passes the check."""
    from hlm_core.intervals_glmm import minimise

    first, ok = _measure(dev, np.asarray(x0, float), delta)
    if ok:
        return first
    best = first
    for get_start in (lambda: first.x, restart):
        start = get_start()
        if start is None:
            continue
        x, f = minimise(dev, np.asarray(start, float), dev.lower, dev.upper)
        if not np.isfinite(f):
            continue
        cand, ok = _measure(dev, x, delta)
        if ok:
            return cand
        if cand.deviance < best.deviance:
            best = cand
    return best
