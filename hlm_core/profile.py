"""lme4's likelihood-profile machinery (profile.merMod + confint.thpr), ported step for step.

A profile walks one parameter away from its estimate, re-optimising all the others at each
step, and records zeta = sign(x - estimate) * sqrt(deviance(x) - deviance(estimate)). The 95%
interval is where zeta crosses -1.96 and +1.96. lme4 chooses the steps (`nextpar`), fits a
natural interpolating spline of zeta on the parameter (`interpSpline`), inverts it with
`backSpline` and reads off the crossings; we do the same, so the bounds agree to the digits the
splines allow, and where a walk stops at the edge of the parameter space (an SD at 0, a
correlation at +-1) the bound is that edge, as in lme4.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import interpolate, stats

ALPHAMAX = 0.01  # lme4 profile(): walk until zeta passes sqrt(qchisq(1 - alphamax, npar))
MAXPTS = 100
DELTA_CUTOFF = 1 / 8
MAXMULT = 10
MINSTEP = 1e-6

# zeta_at(x, start) -> (zeta, the other parameters at their optimum) for one profiled value x
ZetaFunction = Callable[[float, np.ndarray], tuple[float, np.ndarray]]


@dataclass
class Profile:
    """One parameter's profile: the points visited, sorted by the parameter."""

    par: np.ndarray
    zeta: np.ndarray
    lower: float  # the edge of the parameter space below (0 for an SD, -1 for a correlation)
    upper: float


def cutoff_for(n_par: int) -> float:
    return float(np.sqrt(stats.chi2.ppf(1 - ALPHAMAX, n_par)))


def _nextpar(mat: np.ndarray, r: int, delta: float, lower: float, upper: float) -> float:
    """lme4's nextpar(): a step that changes zeta by about `delta`, by linear extrapolation."""
    pvals = mat[r - 1 : r + 1, 1]
    zeta = mat[r - 1 : r + 1, 0]
    num = pvals[1] - pvals[0]
    denom = zeta[1] - zeta[0]
    if not np.isfinite(denom) or denom == 0:
        step = MINSTEP
    else:
        step = delta * num / denom
        if step < 0:
            step = MINSTEP
        elif abs(step) > abs(MAXMULT * num):
            step = np.sign(step) * abs(MAXMULT * num)
    return float(min(upper, max(lower, pvals[1] + np.sign(num) * step)))


def _fill(mat, zeta_at, delta, cutoff, lower, upper, should_stop) -> np.ndarray:
    """lme4's fillmat(): keep stepping while inside the bounds and |zeta| <= cutoff."""
    i = 1
    while (
        i < MAXPTS - 1
        and lower < mat[i, 1] < upper
        and (not np.isfinite(mat[i, 0]) or abs(mat[i, 0]) <= cutoff)
    ):
        if should_stop():
            raise InterruptedError
        x = _nextpar(mat, i, delta, lower, upper)
        z, others = zeta_at(x, mat[i, 2:])
        mat[i + 1] = np.concatenate([[z, x], others])
        i += 1
    return mat[: i + 1]


def walk(
    zeta_at: ZetaFunction,
    estimate: float,
    others: np.ndarray,
    lower: float,
    upper: float,
    cutoff: float,
    should_stop: Callable[[], bool] = lambda: False,
) -> Profile:
    """Profile one parameter from its estimate upwards, then downwards (lme4's FUN(w))."""
    delta = cutoff * DELTA_CUTOFF
    base = np.concatenate([[0.0, estimate], others])
    shift = 0.001 if estimate == 0 else estimate * 1.01
    z, o = zeta_at(shift, others)
    first = np.concatenate([[z, shift], o])
    up = np.tile(base, (MAXPTS, 1))
    up[1] = first
    rows = [_fill(up, zeta_at, delta, cutoff, lower, upper, should_stop)]
    if estimate > lower:
        down = np.tile(base, (MAXPTS, 1))
        down[0] = first
        rows.append(_fill(down, zeta_at, delta, cutoff, lower, upper, should_stop))
    pts = np.unique(np.vstack(rows)[:, :2], axis=0)
    pts = pts[np.isfinite(pts[:, 0])]
    pts = pts[np.argsort(pts[:, 1], kind="stable")]
    return Profile(par=pts[:, 1], zeta=pts[:, 0], lower=lower, upper=upper)


def _back_spline(knots: np.ndarray, value: np.ndarray, slope: np.ndarray):
    """splines::backSpline(): the inverse of a monotone cubic spline, as (knots, coefficients)
    of a piecewise cubic in zeta (Hermite pieces, quadratic end pieces)."""
    nk = len(knots)
    kdiff = np.diff(knots)
    adiff = np.diff(value)
    if np.all(adiff < 0):
        rev = True
    elif np.all(adiff > 0):
        rev = False
    else:
        raise ValueError("spline must be monotone")
    bc = np.zeros((nk, 4))
    bc[:, 0] = knots
    bc[:, 1] = 1 / slope
    for i in range(nk - 1):
        h = adiff[i]
        a = np.array([[h**2, h**3], [2 * h, 3 * h**2]])
        b = np.array([kdiff[i] - h * bc[i, 1], bc[i + 1, 1] - bc[i, 1]])
        bc[i, 2:4] = np.linalg.solve(a, b)
    bc[nk - 1, 1:] = np.nan
    if nk > 2:
        bc[0, 3] = bc[nk - 2, 3] = 0
        h = adiff[0]
        bc[0, 1:3] = np.linalg.solve(np.array([[h, h**2], [1, 2 * h]]), [kdiff[0], 1 / slope[1]])
        bc[nk - 2, 2] = (kdiff[-1] - adiff[-1] * bc[nk - 2, 1]) / adiff[-1] ** 2
    if bc[0, 2] > 0:
        bc[0, 2] = 0
        bc[0, 1] = kdiff[0] / adiff[0]
    if bc[nk - 2, 2] < 0:
        bc[nk - 2, 2] = 0
        bc[nk - 2, 1] = kdiff[-1] / adiff[-1]
    if rev:
        return value[::-1], bc[::-1]
    return value, bc


def _predict_poly(knots: np.ndarray, coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """predict.polySpline(): NaN outside the knots, as R's cut() gives NA there."""
    out = np.full(len(x), np.nan)
    for k, v in enumerate(x):
        if v == knots[0]:
            i = 0
        elif knots[0] < v <= knots[-1]:
            i = int(np.searchsorted(knots, v, side="left")) - 1
        else:
            continue
        d = v - knots[i]
        c = coef[i]
        out[k] = c[0] + d * (c[1] + d * (c[2] + d * c[3]))
    return out


def confint(prof: Profile, level: float = 0.95) -> tuple[float, float]:
    """confint.thpr(): invert the profile's spline at zeta = qnorm((1 -+ level) / 2); where the
    walk never got that far (it hit the edge), the bound is the edge."""
    a = (1 - level) / 2
    zcut = stats.norm.ppf([a, 1 - a])
    try:
        if len(prof.par) < 4 or np.any(np.diff(prof.par) <= 0):
            raise ValueError("too few distinct points for a cubic spline")
        spl = interpolate.CubicSpline(prof.par, prof.zeta, bc_type="natural")
        knots, coef = _back_spline(prof.par, prof.zeta, spl(prof.par, 1))
        p = _predict_poly(knots, coef, zcut)
    except (ValueError, np.linalg.LinAlgError, ZeroDivisionError):
        diffs = np.diff(prof.zeta)
        if len(diffs) == 0 or np.all(diffs < -0.01):
            return float("nan"), float("nan")  # lme4: "non-monotonic profile"
        p = np.interp(zcut, prof.zeta, prof.par, left=np.nan, right=np.nan)
        if np.any(np.diff(prof.zeta) <= 0):  # np.interp needs increasing zeta
            order = np.argsort(prof.zeta, kind="stable")
            p = np.interp(zcut, prof.zeta[order], prof.par[order], left=np.nan, right=np.nan)
    low = prof.lower if not np.isfinite(p[0]) else float(p[0])
    high = prof.upper if not np.isfinite(p[1]) else float(p[1])
    return low, high
