"""Simulation power for one fixed effect of the fitted model (what R's simr does), honest about
few clusters: each simulated data set is refitted and tested with the Satterthwaite t-test (not a
z-test) or the likelihood-ratio test.

The design is built once from the data the model used: the top-level groups (e.g. schools) are
taken in a seeded random order and repeated to reach the number asked for (each repeat is a new
group with its own random effects, so 2 x 20 schools keep the data's mix of treated and control
schools); then each innermost group (e.g. class) gets the number of pupils asked for, its rows
taken in a seeded random order and repeated when more are needed. Every simulation draws new
random effects from the fitted variance components and new residuals, on the fitted fixed
effects (with the chosen term set to the effect the user wants to detect).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from scipy import stats

from hlm_core.design import ModelFrame, RandomBlock
from hlm_core.errors import ModelError
from hlm_core.result import FitResult

Test = Literal["t", "lrt"]
MAX_SIMS = 10_000


@dataclass(frozen=True)
class SimSettings:
    """What to simulate. ``effect`` is in the outcome's units (None: as fitted);
    ``clusters`` counts top-level groups and ``group_size`` rows per innermost group
    (None: as in the data)."""

    term: str
    effect: float | None = None
    clusters: int | None = None
    group_size: int | None = None
    nsim: int = 100
    test: Test = "t"
    alpha: float = 0.05
    seed: int = 1


@dataclass
class SimResult:
    settings: SimSettings
    power: float  # share of successful refits with p < alpha
    ci: tuple[float, float]  # 95% Clopper-Pearson (exact binomial) Monte-Carlo interval
    n_done: int  # simulations run (fewer than asked when cancelled)
    n_significant: int
    n_failed: int  # refits that failed or did not converge (left out of the power)
    n_singular: int
    cancelled: bool
    p_values: list[float] = field(default_factory=list)
    top_group: str = ""
    inner_group: str = ""
    n_top: int = 0
    n_rows: int = 0
    notes: list[str] = field(default_factory=list)


def mc_interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval for a simulated proportion (as simr's binom.test)."""
    if trials == 0:
        return (0.0, 1.0)
    a = (1 - level) / 2
    lo = float(stats.beta.ppf(a, successes, trials - successes + 1)) if successes > 0 else 0.0
    hi = (
        float(stats.beta.ppf(1 - a, successes + 1, trials - successes))
        if successes < trials
        else 1.0
    )
    return lo, hi


# --------------------------------------------------------------------------- the design


def top_and_inner(mf: ModelFrame) -> tuple[RandomBlock, RandomBlock]:
    """Top level = the grouping with the fewest groups; innermost = the one with the most."""
    if not mf.blocks:
        raise ModelError("Simulation needs a model with at least one grouping level.")
    top = min(mf.blocks, key=lambda b: b.n_levels)
    inner = max(mf.blocks, key=lambda b: b.n_levels)
    return top, inner


def _cycle(order: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first k items of `order` repeated, and which repeat each one is."""
    idx = np.arange(k)
    return order[idx % len(order)], idx // len(order)


def simulation_rows(
    mf: ModelFrame, clusters: int | None, group_size: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the model frame the simulated design uses, and each row's copy number."""
    top, inner = top_and_inner(mf)
    n_top = top.n_levels if clusters is None else int(clusters)
    picked, copy_of_top = _cycle(rng.permutation(top.n_levels), n_top)
    rows_out: list[np.ndarray] = []
    copies: list[np.ndarray] = []
    by_top = _rows_by_code(top.codes)
    for level, copy in zip(picked, copy_of_top, strict=True):
        rows = by_top[level]
        if group_size is not None:
            groups = _rows_by_code(inner.codes[rows])
            rows = np.concatenate(
                [_cycle(rng.permutation(rows[g]), int(group_size))[0] for g in groups.values()]
            )
        rows_out.append(rows)
        copies.append(np.full(len(rows), copy))
    return np.concatenate(rows_out), np.concatenate(copies)


def _rows_by_code(codes: np.ndarray) -> dict[int, np.ndarray]:
    order = np.argsort(codes, kind="stable")
    uniq, starts = np.unique(codes[order], return_index=True)
    parts = np.split(order, starts[1:])
    return {int(u): p for u, p in zip(uniq, parts, strict=True)}


def _relabel(block: RandomBlock, rows: np.ndarray, copy: np.ndarray) -> RandomBlock:
    """The block on the simulated rows: each copy of a group is a new group."""
    key = block.codes[rows].astype(np.int64) * (int(copy.max()) + 1) + copy
    uniq, codes = np.unique(key, return_inverse=True)
    return replace(
        block, codes=codes.astype(np.int64), levels=[str(u) for u in uniq], Z=block.Z[rows]
    )


def simulated_frame(result: FitResult, settings: SimSettings) -> tuple[ModelFrame, np.ndarray]:
    """The design (a ModelFrame with a placeholder outcome) and the fixed effects to simulate."""
    mf = result.model_frame
    if mf is None:
        raise ModelError("This result has no model design to simulate from; fit the model again.")
    if settings.term not in mf.fixed_names:
        raise ModelError(
            f"'{settings.term}' is not a fixed effect of this model. Choose one of: "
            + ", ".join(mf.fixed_names)
        )
    _check(settings, mf)
    rng = np.random.default_rng(settings.seed)
    rows, copy = simulation_rows(mf, settings.clusters, settings.group_size, rng)
    blocks = [_relabel(b, rows, copy) for b in mf.blocks]
    sizes = {b.group: np.bincount(b.codes) for b in blocks}
    sim = replace(
        mf, y=np.zeros(len(rows)), X=mf.X[rows], blocks=blocks, rows=np.arange(len(rows)),
        rows_total=len(rows), dropped_by_column={}, notes=[], group_sizes=sizes,
    )
    beta = result.fixed["estimate"].to_numpy(dtype=float).copy()
    if settings.effect is not None:
        beta[mf.fixed_names.index(settings.term)] = settings.effect
    return sim, beta


def _check(settings: SimSettings, mf: ModelFrame) -> None:
    if not 1 <= settings.nsim <= MAX_SIMS:
        raise ModelError(f"Choose between 1 and {MAX_SIMS:,} simulations.")
    if settings.clusters is not None and settings.clusters < 3:
        raise ModelError("Simulate at least 3 top-level groups; a variance needs several.")
    if settings.group_size is not None and settings.group_size < 1:
        raise ModelError("Each group needs at least 1 row.")
    if not 0 < settings.alpha < 1:
        raise ModelError("The significance level must be between 0 and 1.")
    if settings.test not in ("t", "lrt"):
        raise ModelError("Choose the t-test ('t') or the likelihood-ratio test ('lrt').")


# --------------------------------------------------------------------------- simulate and test


def _draw_y(sim: ModelFrame, beta: np.ndarray, result: FitResult, rng) -> np.ndarray:
    covs = result.extra["covariances"]
    y = sim.X @ beta + result.sigma * rng.standard_normal(sim.nobs)
    for b in sim.blocks:
        cov = np.atleast_2d(covs[b.vc_group])
        u = rng.multivariate_normal(np.zeros(cov.shape[0]), cov, size=b.n_levels, method="eigh")
        y += np.einsum("ij,ij->i", b.Z, u[b.codes])
    return y


def _p_value(sim: ModelFrame, k: int, test: Test, reml: bool) -> tuple[float, bool, bool]:
    """p for fixed effect k; and whether the refit converged and was singular."""
    from hlm_core.engines.mixedlm_engine import fit_arrays
    from hlm_core.fit import SINGULAR_TOL

    full = fit_arrays(sim, reml=reml if test == "t" else False)
    singular = any((np.abs(np.diag(L)) < SINGULAR_TOL).any() for L in full.lambda_blocks)
    if test == "t":
        se = math.sqrt(full.vcov[k, k])
        t = full.beta[k] / se
        return float(2 * stats.t.sf(abs(t), full.df[k])), full.converged, singular
    keep = [i for i in range(sim.X.shape[1]) if i != k]
    small = replace(sim, X=sim.X[:, keep], fixed_names=[sim.fixed_names[i] for i in keep])
    null = fit_arrays(small, reml=False)
    chisq = max(0.0, 2 * (full.loglik - null.loglik))
    return float(stats.chi2.sf(chisq, 1)), full.converged and null.converged, singular


def _single_blas_thread():
    """Many small refits: BLAS threads only fight each other (10x slower on a busy server)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional speed-up
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(1)


class PowerSimulation:
    """A simulation run that can be done in pieces (the app runs a few refits per page run,
    so the progress bar moves and Cancel is honoured between pieces). Simulation i draws from
    its own seed (settings.seed, i), so the answer does not depend on how it was split up."""

    def __init__(self, result: FitResult, settings: SimSettings):
        self.result = result
        self.settings = settings
        self.sim, self.beta = simulated_frame(result, settings)
        self.k = self.sim.fixed_names.index(settings.term)
        self.records: list[tuple[float, bool, bool]] = []  # (p, usable, singular) per refit
        self.cancelled = False

    @property
    def done(self) -> int:
        return len(self.records)

    @property
    def finished(self) -> bool:
        return self.cancelled or self.done >= self.settings.nsim

    def run(
        self,
        count: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> None:
        """Run up to `count` more simulations (all that are left by default)."""
        total = self.settings.nsim
        stop = total if count is None else min(total, self.done + count)
        with _single_blas_thread():
            while self.done < stop:
                if cancel is not None and cancel():
                    self.cancelled = True
                    return
                self.records.append(self._one(self.done))
                if progress is not None:
                    progress(self.done, total)

    def _one(self, i: int) -> tuple[float, bool, bool]:
        rng = np.random.default_rng([self.settings.seed, i])
        y = _draw_y(self.sim, self.beta, self.result, rng)
        try:
            p, ok, sing = _p_value(replace(self.sim, y=y), self.k, self.settings.test,
                                   self.result.reml)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError, RuntimeError):
            return float("nan"), False, False
        return p, ok and math.isfinite(p), sing

    def run_for(self, seconds: float) -> list[tuple[float, bool, bool]]:
        """Run simulations for about `seconds` (at least one, at most all that are left) and
        return their records: the app runs each piece this way in a worker process and adds
        the records to its own copy (`records.extend`)."""
        import time

        start, before = time.monotonic(), self.done
        while not self.finished and (self.done == before
                                     or time.monotonic() - start < seconds):
            self.run(1)
        return self.records[before:]

    def summary(self) -> SimResult:
        """The power so far with its Monte-Carlo interval."""
        pvals = [p for p, ok, _ in self.records if ok]
        done = self.done
        failed = done - len(pvals)
        singular = sum(s for _, _, s in self.records)
        hits = sum(p < self.settings.alpha for p in pvals)
        top, inner = top_and_inner(self.sim)
        notes = []
        if failed:
            notes.append(f"{failed} of {done} refits failed or did not converge and are left "
                         "out of the power.")
        if singular:
            notes.append(f"{singular} of {done} refits estimated a variance as zero (singular "
                         "fit), as happens with few groups.")
        return SimResult(
            settings=self.settings, power=hits / len(pvals) if pvals else float("nan"),
            ci=mc_interval(hits, len(pvals)), n_done=done, n_significant=hits, n_failed=failed,
            n_singular=singular, cancelled=self.cancelled, p_values=pvals,
            top_group=top.group, inner_group=inner.group, n_top=top.n_levels,
            n_rows=self.sim.nobs, notes=notes,
        )


def run_piece(sim: PowerSimulation, seconds: float) -> list[tuple[float, bool, bool]]:
    """`sim.run_for(seconds)`, as a module-level function (a worker process runs it)."""
    return sim.run_for(seconds)


def simulate_power(
    result: FitResult,
    settings: SimSettings,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> SimResult:
    """Simulate ``settings.nsim`` data sets from the fitted model, refit, test ``settings.term``.

    ``progress(done, total)`` is called after each simulation; when ``cancel()`` turns True the
    run stops and the result holds what was done so far (``cancelled=True``). The same seed
    gives the same answer."""
    run = PowerSimulation(result, settings)
    run.run(progress=progress, cancel=cancel)
    return run.summary()
