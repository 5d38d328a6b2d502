"""Laplace fits with one scalar random effect (`y ~ ... + (1 | class)`), vectorised in numpy.

Why a second route: with a single grouping factor and one random term, Lambda'Z'WZ Lambda + I
is diagonal, so the conditional modes are one scalar Newton problem per group and lme4's
Laplace deviance

    D(theta, beta) = -2 sum_i log p(y_i | u) + |u|^2 + sum_j log(1 + theta^2 sum_{i in j} z_i^2 w_i)

(u the conditional modes, w the PIRLS weights) and its exact gradient cost a few passes over
the rows. mixedlm's general route spends ~85 full sparse PIRLS solves on 1,000,000 pupils
(derivative-free search in two stages, then a 19-point finite-difference Hessian). Here the
search takes lme4's two stages too, each with exact derivatives: theta alone with beta and u
found jointly (nAGQ = 0, `glmm_scalar_start`), then a quasi-Newton search over (theta, beta)
on the Laplace deviance from there; the Hessian for lme4's SEs is the central difference
(lme4's step, 1e-4) of the analytic gradient: 2 (p + 1) gradients instead of 2 (p + 1)^2 + 1
deviances. The numbers are lme4's definitions throughout (full log-likelihood with the y! terms,
`vcov(use.hessian = TRUE)`, b = theta u); tests compare this route with the general one and
with lme4.

Both families here use their canonical link (logit, log), so the PIRLS weight is dmu/deta and
the score is y - mu.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, optimize
from scipy.special import gammaln

from hlm_core.design import ModelFrame
from hlm_core.engines.glmm_engine import HESSIAN_STEP, GlmmRawFit

MODE_TOL = 1e-10  # largest Newton step in the spherical modes u at convergence
MODE_MAXIT = 60
GRAD_TOL = 2e-3  # lme4's check.conv.grad tolerance on the scaled gradient
ETA_CLIP = 500.0  # |eta| beyond this only overflows exp (mu is 0 or 1 to double precision)


def applies(mf: ModelFrame, nagq: int, optimizer: str | None) -> bool:
    """This route: Laplace, one grouping factor with one random term, the default optimizer
    (a named optimizer asks for the general engine, e.g. Diagnostics' 'other optimizer')."""
    return (nagq == 1 and optimizer is None and len(mf.blocks) == 1
            and mf.blocks[0].Z.shape[1] == 1 and mf.X.shape[1] > 0)


class ScalarLaplace:
    """lme4's Laplace deviance and its gradient over (theta, beta) for one scalar random term.

    Keeps the last conditional modes as the next solve's start (successive evaluations are
    close together, so the per-group Newton needs only a few passes)."""

    def __init__(self, y: np.ndarray, X: np.ndarray, z: np.ndarray, codes: np.ndarray,
                 n_groups: int, family: str) -> None:
        self.y, self.X, self.family = np.asarray(y, float), np.ascontiguousarray(X), family
        self.codes, self.G = np.asarray(codes, np.intp), n_groups
        self.z = None if np.all(z == 1) else np.asarray(z, float)  # None: a random intercept
        self.u = np.zeros(n_groups)
        self.const = 2.0 * float(gammaln(self.y + 1).sum()) if family == "poisson" else 0.0
        self.last: dict = {}

    # -- per-row pieces ------------------------------------------------------------------
    def _mean(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """mu and the PIRLS weight w = dmu/deta (few passes: this runs in every Newton step)."""
        if self.family == "poisson":
            mu = np.exp(eta)
            return mu, mu
        e = np.clip(eta, -ETA_CLIP, ETA_CLIP)  # in place from here: 8 MB per array at 1e6 rows
        np.negative(e, out=e)
        np.exp(e, out=e)
        mu = e + 1.0
        np.reciprocal(mu, out=mu)
        e *= mu  # 1 - mu = e mu without cancellation
        e *= mu
        return mu, e

    def _m2loglik(self, eta: np.ndarray, mu: np.ndarray) -> float:
        """-2 sum log p(y | eta), without the y! terms (kept in self.const)."""
        if self.family == "poisson":
            return float(-2.0 * (self.y @ eta - mu.sum()))
        # log(1 + exp(eta)) = eta - log(mu)
        return float(-2.0 * (self.y @ eta - eta.sum() + np.log(mu).sum()))

    def _gsum(self, v: np.ndarray, zpow: int = 0) -> np.ndarray:
        """Per-group sums of v * z^zpow."""
        if self.z is not None and zpow:
            v = v * self.z**zpow
        return np.bincount(self.codes, weights=v, minlength=self.G)

    def _eta(self, offset: np.ndarray, theta: float, u: np.ndarray) -> np.ndarray:
        eta = np.take(theta * u, self.codes)
        if self.z is not None:
            eta *= self.z
        eta += offset
        return eta

    def _state(self, offset: np.ndarray, theta: float, u: np.ndarray) -> tuple:
        eta = self._eta(offset, theta, u)
        mu, w = self._mean(eta)
        T, S = self._gsum(self.y - mu, 1), self._gsum(w, 2)
        return eta, mu, w, T, S, theta * T - u  # the last: minus half dF/du, per group

    def modes(self, theta: float, offset: np.ndarray) -> dict:
        """Conditional modes u by per-group Newton; a group's step is halved while it would
        not shrink that group's gradient (each group's problem is convex and 1-D)."""
        u = self.u.copy()
        eta, mu, w, T, S, g = self._state(offset, theta, u)
        converged = False
        for _ in range(MODE_MAXIT):
            step = g / (1.0 + theta**2 * S)
            if np.max(np.abs(step), initial=0.0) < MODE_TOL:
                converged = True
                break
            for _half in range(30):
                new = self._state(offset, theta, u + step)
                worse = np.abs(new[5]) > np.abs(g) + 1e-9
                if not worse.any():
                    break
                step = np.where(worse, step / 2, step)
            u = u + step
            eta, mu, w, T, S, g = new
        self.u = u
        return {"u": u, "eta": eta, "mu": mu, "w": w, "converged": converged, "S": S, "T": T}

    # -- the objective -------------------------------------------------------------------
    def value_and_grad(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        """lme4's Laplace deviance at (theta, beta) (with the y! terms) and its gradient."""
        key = np.asarray(params, float).tobytes()
        if key == self.last.get("key"):  # the search re-asks for the point it ended on
            return self.last["dev"], self.last["grad"].copy()
        theta, beta = float(params[0]), params[1:]
        m = self.modes(theta, self.X @ beta)
        u, S, T, w, mu = m["u"], m["S"], m["T"], m["w"], m["mu"]
        w1 = w * (1.0 - 2.0 * mu) if self.family == "binomial" else w  # d w / d eta
        h = 1.0 + theta**2 * S
        dev = self._m2loglik(m["eta"], mu) + self.const + float(u @ u + np.log(h).sum())
        K = self._gsum(w1, 3)
        # gradient in beta: X' v with v collecting the penalty, log-det and mode-shift terms
        zc = 1.0 if self.z is None else self.z
        a = np.take(theta**2 / h, self.codes) * (w1 if self.z is None else w1 * zc**2)
        b = np.take(theta**4 * K / h**2, self.codes) * (w if self.z is None else w * zc)
        g_beta = self.X.T @ (-2.0 * (self.y - mu) + a - b)
        du = (T - theta * u * S) / h  # d u / d theta
        g_theta = float(-2.0 * u @ T + np.sum((2 * theta * S + theta**2 * K * (u + theta * du))
                                              / h))
        grad = np.r_[g_theta, g_beta]
        self.last = {**m, "key": key, "dev": dev, "grad": grad.copy()}
        return dev, grad

    def conditional_vcov(self, theta: float) -> np.ndarray:
        """sigma^2 (RX'RX)^-1 at the last modes: lme4's vcov(use.hessian = FALSE)."""
        w = self.last["w"]
        zw = w if self.z is None else w * self.z
        h = 1.0 + theta**2 * self.last["S"]
        C = np.column_stack([self._gsum(zw * x) for x in self.X.T])
        A = self.X.T @ (self.X * w[:, None]) - (C.T * (theta**2 / h)) @ C
        return np.linalg.inv(A)


def _glm_start(X: np.ndarray, y: np.ndarray, family: str) -> np.ndarray:
    """beta of the GLM without random effects (lme4 starts from glm's estimates too)."""
    mu = (y + 0.5) / 2 if family == "binomial" else y + 0.1
    eta = np.log(mu / (1 - mu)) if family == "binomial" else np.log(mu)
    beta = np.zeros(X.shape[1])
    for _ in range(25):
        w = mu * (1 - mu) if family == "binomial" else mu
        zres = eta + (y - mu) / w
        new = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (w * zres))
        done = np.max(np.abs(new - beta)) < 1e-8
        beta, eta = new, X @ new
        mu = 1 / (1 + np.exp(-eta)) if family == "binomial" else np.exp(eta)
        if done:
            break
    return beta


def gradient_hessian(obj: ScalarLaplace, x0: np.ndarray, delta: float = HESSIAN_STEP
                     ) -> np.ndarray:
    """Central differences of the analytic gradient (lme4's step): the deviance's Hessian."""
    n = len(x0)
    H = np.empty((n, n))
    u0 = obj.u.copy()
    for i in range(n):
        xa, xs = x0.copy(), x0.copy()
        xa[i] += delta
        xs[i] -= delta
        obj.u = u0.copy()
        ga = obj.value_and_grad(xa)[1]
        obj.u = u0.copy()
        gs = obj.value_and_grad(xs)[1]
        H[:, i] = (ga - gs) / (2 * delta)
    obj.u = u0
    return (H + H.T) / 2


def _search_frame(obj: ScalarLaplace, x0: np.ndarray) -> np.ndarray:
    """A linear map M with x = x0 + M s under which the deviance is close to |s|^2 / 2 + c:
    beta whitened by lme4's conditional information (2 RX'RX), theta scaled by a forward
    difference of its gradient. A round problem takes the quasi-Newton search few steps."""
    step = 1e-3
    _, g1 = obj.value_and_grad(x0 + np.r_[step, np.zeros(len(x0) - 1)])
    _, g0 = obj.value_and_grad(x0)  # last: the search starts here (and reuses it)
    A2 = 2 * np.linalg.inv(obj.conditional_vcov(float(x0[0])))
    h_theta = (g1[0] - g0[0]) / step
    M = np.zeros((len(x0), len(x0)))
    M[0, 0] = 1 / np.sqrt(h_theta) if h_theta > 1e-8 else 1.0
    try:
        M[1:, 1:] = np.linalg.cholesky(np.linalg.inv(A2))
    except np.linalg.LinAlgError:
        M[1:, 1:] = np.diag(1 / np.sqrt(np.maximum(np.diag(A2), 1e-300)))
    return M


def _minimise(obj: ScalarLaplace, x0: np.ndarray) -> tuple[np.ndarray, bool]:
    """L-BFGS-B over (theta, beta) in the whitened frame, theta >= 0 (lme4's bound)."""
    M = _search_frame(obj, x0)

    def f(s):
        dev, g = obj.value_and_grad(x0 + M @ s)
        return dev, M.T @ g

    bounds = [(-x0[0] / M[0, 0], None)] + [(None, None)] * (len(x0) - 1)
    res = optimize.minimize(f, np.zeros(len(x0)), jac=True, method="L-BFGS-B",
                            bounds=bounds, options={"maxiter": 500, "ftol": 1e-15,
                                                    "gtol": 1e-6, "maxcor": 20})
    x = x0 + M @ res.x
    x[0] = max(x[0], 0.0)
    return x, bool(res.success)


def _scaled_gradient(H: np.ndarray, grad: np.ndarray) -> float:
    """lme4's convergence check (checkConv): the largest of each parameter's smaller of
    |solve(chol(Hessian), gradient)| and |gradient|."""
    R = np.linalg.cholesky(H).T
    scaled = linalg.solve_triangular(R, grad, lower=False)
    return float(np.max(np.minimum(np.abs(scaled), np.abs(grad)), initial=0.0))


def fit_scalar_glmm(mf: ModelFrame, family: str) -> GlmmRawFit:
    """Fit by Laplace with one scalar random term; the same fields as the general engine."""
    block = mf.blocks[0]
    obj = ScalarLaplace(mf.y, mf.X, block.Z[:, 0], block.codes, block.n_levels, family)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _fit(obj, mf, family)


def _fit(obj: ScalarLaplace, mf: ModelFrame, family: str) -> GlmmRawFit:
    from hlm_core.engines.glmm_scalar_start import stage_zero

    x, success = _minimise(obj, stage_zero(obj, _glm_start(mf.X, obj.y, family)))
    dev, grad = obj.value_and_grad(x)
    final = obj.last
    theta, beta = float(x[0]), x[1:]
    fallback = obj.conditional_vcov(theta)
    vcov, ok, H = _hessian_vcov(obj, x, fallback)
    # converged as lme4 judges it: the gradient at the estimate (the search's own stopping
    # reason says little: at ftol 1e-15 its line search often ends on rounding noise)
    converged = success
    if ok:
        free = np.r_[theta > 0, np.ones(len(beta), bool)]
        try:
            converged = _scaled_gradient(H[np.ix_(free, free)], grad[free]) <= GRAD_TOL
        except np.linalg.LinAlgError:
            pass  # not positive definite: the SE warning already says so
    converged = converged and final["converged"]
    sat = _saturated_loglik(obj.y, family)
    return GlmmRawFit(
        beta=beta, vcov=vcov, theta=np.array([theta]), b=theta * final["u"],
        loglik=-dev / 2, saturated_loglik=sat, converged=converged, messages=[],
        lambda_blocks=[np.array([[theta]])], eta=final["eta"], hessian_ok=ok,
    )


def _hessian_vcov(obj: ScalarLaplace, x: np.ndarray, fallback: np.ndarray
                  ) -> tuple[np.ndarray, bool, np.ndarray]:
    """lme4's vcov(use.hessian = TRUE): the beta block of 2 H^-1; the conditional one when
    the Hessian is not usable."""
    try:
        H = gradient_hessian(obj, x)
        V = 2 * np.linalg.inv(H)
        Vb = (V[1:, 1:] + V[1:, 1:].T) / 2
        if np.all(np.isfinite(Vb)) and np.all(np.linalg.eigvalsh(Vb) > 0):
            return Vb, True, H
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        pass
    return fallback, False, np.full((len(x), len(x)), np.nan)


def _saturated_loglik(y: np.ndarray, family: str) -> float:
    if family == "binomial":
        return 0.0  # 0/1 outcomes: the saturated model predicts each exactly
    pos = y > 0
    return float(np.sum(y[pos] * np.log(y[pos])) - y.sum() - gammaln(y + 1).sum())
