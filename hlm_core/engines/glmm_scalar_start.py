"""Where the scalar Laplace search starts: lme4's first stage (nAGQ = 0), vectorised.

lme4's `glmer` first optimises theta alone, with beta and the modes u found jointly by PIRLS
(its `nAGQ = 0` fit), and starts the Laplace search over (theta, beta) from there. Starting
from the same place matters where the Laplace deviance has more than one minimum (a rare
outcome can give one at theta = 0 and another far out): both routes then settle in lme4's.
The joint PIRLS needs per-group sums and a p x p solve per step (Z'WZ is diagonal).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from hlm_core.engines.glmm_scalar import MODE_MAXIT, MODE_TOL, ScalarLaplace

THETA_XTOL = 2e-2  # relative; only a starting point (the Laplace search refines theta)
STEP_TOL = 1e-5  # on the PIRLS steps here, for the same reason
MIN_START_THETA = 1e-2  # off the boundary, so that the search can see which way theta goes


def joint_pirls(obj: ScalarLaplace, theta: float, beta: np.ndarray, tol: float = MODE_TOL
                ) -> tuple[np.ndarray, float]:
    """beta and u jointly at fixed theta by penalised IRLS (Newton with step halving on the
    penalised deviance); returns beta and lme4's nAGQ = 0 deviance there."""
    X = obj.X
    u = obj.u.copy()
    state = obj._state(X @ beta, theta, u)
    pen = obj._m2loglik(state[0], state[1]) + float(u @ u)
    for _ in range(MODE_MAXIT):
        _eta, mu, w, _T, S, g = state
        h = 1.0 + theta**2 * S
        zw = w if obj.z is None else w * obj.z
        C = np.column_stack([obj._gsum(zw * x) for x in X.T])
        A = X.T @ (X * w[:, None]) - (C.T * (theta**2 / h)) @ C
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
    obj.u = u
    h = 1.0 + theta**2 * state[4]
    return beta, pen + obj.const + float(np.log(h).sum())


def stage_zero(obj: ScalarLaplace, beta0: np.ndarray) -> np.ndarray:
    """lme4's first stage from theta = 1: (theta, beta) to start the Laplace search from."""
    last = {"beta": beta0}
    seen: dict[float, np.ndarray] = {}

    def dev(theta: float) -> float:
        beta, d = joint_pirls(obj, abs(theta), last["beta"], STEP_TOL)
        last["beta"] = seen[float(theta)] = beta
        return d

    res = optimize.minimize_scalar(dev, bracket=(1.0, 1.5), method="brent",
                                   options={"xtol": THETA_XTOL})
    theta = float(res.x)
    beta = seen.get(theta)
    if beta is None:
        beta, _ = joint_pirls(obj, abs(theta), last["beta"], STEP_TOL)
    return np.r_[max(abs(theta), MIN_START_THETA), beta]
