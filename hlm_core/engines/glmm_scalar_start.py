"""Where the scalar Laplace search starts: lme4's first stage (nAGQ = 0), vectorised.

lme4's `glmer` first optimises theta alone, with beta and the modes u found jointly by PIRLS
(its `nAGQ = 0` fit), and starts the Laplace search over (theta, beta) from there. Starting
from the same place matters where the Laplace deviance has more than one minimum (a rare
outcome can give one at theta = 0 and another far out): both routes then settle in lme4's.
The joint PIRLS needs per-group sums and a p x p solve per step (Z'WZ is diagonal).
"""

from __future__ import annotations

import numpy as np

from hlm_core.engines.glmm_scalar import MODE_MAXIT, MODE_TOL, ScalarLaplace

THETA_XTOL = 2e-2  # relative; only a starting point (the Laplace search refines theta)
STEP_TOL = 1e-5  # on the PIRLS steps here, for the same reason
MIN_START_THETA = 1e-2  # off the boundary, so that the search can see which way theta goes
MAX_THETA = 1e4


def joint_pirls(obj: ScalarLaplace, theta: float, beta: np.ndarray, tol: float = MODE_TOL
                ) -> tuple[np.ndarray, float, float]:
    """beta and u jointly at fixed theta by penalised IRLS (Newton with step halving on the
    penalised deviance); returns beta, lme4's nAGQ = 0 deviance there and its derivative in
    theta."""
    X = obj.X
    u = obj.u.copy()
    state = obj._state(X @ beta, theta, u)
    pen = obj._m2loglik(state[0], state[1]) + float(u @ u)
    for _ in range(MODE_MAXIT):
        C, A = _joint_hessian(obj, theta, state)
        _eta, mu, _w, _T, S, g = state
        h = 1.0 + theta**2 * S
        d_beta = np.linalg.solve(A, X.T @ (obj.y - mu) - C.T @ (theta * g / h))
        d_u = (g - theta * (C @ d_beta)) / h
        if max(np.max(np.abs(d_beta)), np.max(np.abs(d_u), initial=0.0)) < tol:
            break
        t = 1.0
        for _half in range(30):
            new_beta, new_u = beta + t * d_beta, u + t * d_u
            new = obj._state(X @ new_beta, theta, new_u)
            new_pen = obj._m2loglik(new[0], new[1]) + float(new_u @ new_u)
            if new_pen <= pen + 1e-12 * abs(pen):
                break
            t /= 2
        else:
            break  # no step lowers the penalised deviance: at the optimum to rounding
        beta, u, state, pen = new_beta, new_u, new, new_pen
        C = None
    if C is None:
        C, A = _joint_hessian(obj, theta, state)
    obj.u = u
    h = 1.0 + theta**2 * state[4]
    dev = pen + obj.const + float(np.log(h).sum())
    return beta, dev, _theta_derivative(obj, theta, u, state, C, A)


def _joint_hessian(obj: ScalarLaplace, theta: float, state: tuple
                   ) -> tuple[np.ndarray, np.ndarray]:
    """C (groups x p: sum of z w x per group) and the Schur complement A = X'WX - theta^2
    C' H_u^-1 C (half the Hessian in beta with u eliminated)."""
    X, w, S = obj.X, state[2], state[4]
    zw = w if obj.z is None else w * obj.z
    C = np.column_stack([obj._gsum(zw * x) for x in X.T])
    A = X.T @ (X * w[:, None]) - (C.T * (theta**2 / (1.0 + theta**2 * S))) @ C
    return C, A


def _theta_derivative(obj: ScalarLaplace, theta: float, u: np.ndarray, state: tuple,
                      C: np.ndarray, A: np.ndarray) -> float:
    """d/dtheta of the nAGQ = 0 deviance, with beta and u following their joint optimum: the
    penalised part by the envelope theorem, the log-determinant through the implicit
    derivatives of (beta, u), which solve the same system as a PIRLS step."""
    X = obj.X
    _eta, mu, w, T, S, _g = state
    h = 1.0 + theta**2 * S
    w1 = w * (1.0 - 2.0 * mu) if obj.family == "binomial" else w  # d w / d eta
    K = obj._gsum(w1, 3)
    zu = np.take(u, obj.codes) if obj.z is None else np.take(u, obj.codes) * obj.z
    q_beta, q_u = X.T @ (w * zu), -T + theta * S * u
    d_beta = np.linalg.solve(A, -q_beta + theta * (C.T @ (q_u / h)))
    d_u = (-q_u - theta * (C @ d_beta)) / h
    a = np.take(theta**2 / h, obj.codes) * (w1 if obj.z is None else w1 * obj.z**2)
    direct = -2.0 * float(u @ T) + float(np.sum((2 * theta * S + theta**2 * u * K) / h))
    return direct + float((X.T @ a) @ d_beta) + float(np.sum(theta**3 * K / h * d_u))


def stage_zero(obj: ScalarLaplace, beta0: np.ndarray) -> np.ndarray:
    """lme4's first stage from theta = 1: (theta, beta) to start the Laplace search from."""
    last = {"beta": beta0}

    def deriv(theta: float) -> float:
        last["beta"], _, g = joint_pirls(obj, theta, last["beta"], STEP_TOL)
        return g

    theta = descend(deriv, 1.0)
    return np.r_[max(theta, MIN_START_THETA), last["beta"]]


def descend(deriv, x0: float) -> float:
    """The local minimum of a function of x >= 0 that is even in x (so x = 0 is stationary)
    reached downhill from x0, from its derivative: bracket the sign change, then Illinois
    regula falsi to a relative THETA_XTOL. Ends on the last x evaluated."""
    g = deriv(x0)
    if g > 0:  # downhill is towards 0: is 0 itself the minimum (curving up from it)?
        small = MIN_START_THETA * x0
        g_small = deriv(small)
        if g_small >= 0:
            deriv(0.0)
            return 0.0
        lo, g_lo, hi, g_hi = small, g_small, x0, g
    else:
        lo, g_lo, hi = x0, g, 2 * x0
        g_hi = deriv(hi)
        while g_hi < 0 and hi < MAX_THETA:
            lo, g_lo, hi = hi, g_hi, 2 * hi
            g_hi = deriv(hi)
        if g_hi < 0:
            return hi
    x, side = hi, 0
    for _ in range(60):
        new = (lo * g_hi - hi * g_lo) / (g_hi - g_lo)
        g = deriv(new)
        done = abs(new - x) <= THETA_XTOL * new
        x = new
        if done or g == 0:
            break
        if g > 0:
            hi, g_hi = x, g
            if side == 1:
                g_lo /= 2
            side = 1
        else:
            lo, g_lo = x, g
            if side == -1:
                g_hi /= 2
            side = -1
    return x
