"""Fair class comparisons: shrinkage, reliability, expected ranks, and small-group privacy.

A league table of raw class means rewards small classes for luck. These views show how much
each class's own data say (reliability, HLM's lambda), how far the model pulls small classes
toward the average (shrinkage), and how uncertain a class's rank really is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hlm_core.design import INTERCEPT
from hlm_core.errors import ModelError
from hlm_core.result import FitResult

DEFAULT_MIN_GROUP = 5  # groups smaller than this are hidden in views meant for teachers


def _block(result: FitResult, group: str | None):
    mf = result.model_frame
    if mf is None:
        raise ModelError("This result has no design attached; fit the model again.")
    group = group or mf.blocks[0].group
    for b in mf.blocks:
        if b.group == group:
            return mf, b
    raise ModelError(f"'{group}' is not a grouping level of this model.")


def reliability(result: FitResult, group: str | None = None) -> pd.DataFrame:
    """Reliability of each group's intercept, lambda_j = tau00 / (tau00 + sigma^2 / n_j)
    (Raudenbush & Bryk 2002, eq. 3.58); the mean over groups is HLM's 'reliability estimate'."""
    mf, b = _block(result, group)
    if INTERCEPT not in b.term_names:
        raise ModelError(f"The model has no random intercept for '{b.group}'.")
    if result.is_glmm:  # no pupil-level variance: lambda from the conditional variance
        from hlm_core.fairness_glmm import reliability_glmm

        return reliability_glmm(result, mf, b)
    tau00 = result.extra["covariances"][b.vc_group][0, 0]
    n = mf.group_sizes[b.group].astype(float)
    lam = tau00 / (tau00 + result.sigma**2 / n)
    return pd.DataFrame({"level": b.levels, "n": n.astype(int), "reliability": lam})


def _own_fit(Z: np.ndarray, resid: np.ndarray, codes: np.ndarray, G: int) -> np.ndarray:
    """Per group, the least-squares coefficients of the residuals on the columns of Z (G x q),
    from each group's normal equations summed with bincount (no loop over groups); NaN for a
    group whose columns are (nearly) collinear."""
    q = Z.shape[1]
    ztz = np.empty((G, q, q))
    for i in range(q):
        for j in range(i, q):
            ztz[:, i, j] = ztz[:, j, i] = np.bincount(codes, Z[:, i] * Z[:, j], G)
    ztr = np.column_stack([np.bincount(codes, Z[:, i] * resid, G) for i in range(q)])
    scale = np.maximum(np.abs(np.diagonal(ztz, axis1=1, axis2=2)).max(axis=1), 1e-300)
    ok = np.abs(np.linalg.det(ztz / scale[:, None, None])) > 1e-10
    out = np.full((G, q), np.nan)
    if ok.any():
        out[ok] = np.linalg.solve(ztz[ok], ztr[ok][:, :, None])[:, :, 0]
    return out


def shrinkage(result: FitResult, term: str = INTERCEPT, group: str | None = None) -> pd.DataFrame:
    """Each group's own estimate next to the model's.

    "Own" is what the group's data alone say given the fixed effects: the fixed coefficient
    plus the least-squares fit of that group's residuals (y - X beta) on all of the block's
    columns together (with a random slope, the intercept is the group's own line at 0, the
    same quantity as the model's intercept, not its mean residual); the model's estimate adds
    the shrunken BLUP instead. Both are on the scale of `coef`. A group whose own data can't
    fit every column (one value of the slope's predictor) has no own estimate (NaN).
    """
    mf, b = _block(result, group)
    if term not in b.term_names:
        raise ModelError(f"'{term}' does not vary between groups of '{b.group}' in this model.")
    if result.is_glmm:  # own and model intercepts on the link scale
        from hlm_core.fairness_glmm import shrinkage_glmm

        return shrinkage_glmm(result, term, mf, b)
    k = b.term_names.index(term)
    beta = result.fixed["estimate"].to_numpy()
    resid = mf.y - mf.X @ beta
    own_dev = _own_fit(b.Z, resid, b.codes, b.n_levels)[:, k]
    fixef = result.fixef().get(term, 0.0)
    co = result.coef[b.group]
    model = co.loc[co["term"] == term, "value"].to_numpy()
    return pd.DataFrame(
        {
            "level": b.levels,
            "n": mf.group_sizes[b.group],
            "own_estimate": fixef + own_dev,
            "model_estimate": model,
            "average": fixef,
        }
    )


def kept_share(table: pd.DataFrame) -> np.ndarray:
    """The share of its own difference from the average that the model keeps for each group,
    (model - average) / (own - average), from `shrinkage` output: the quantity the shrinkage
    chart shows. For a model with random intercepts only it equals the reliability λ_j; with
    random slopes the intercept (the level where every predictor is 0) can be pulled much
    harder than λ of the group's average suggests. NaN where the own estimate is the average."""
    own = table["own_estimate"].to_numpy(dtype=float) - table["average"].to_numpy(dtype=float)
    model = table["model_estimate"].to_numpy(dtype=float) - table["average"].to_numpy(
        dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.abs(own) > 1e-12 * (1 + np.abs(model)), model / own, np.nan)


def rank_uncertainty_text(table: pd.DataFrame, unit: str, units: str) -> str:
    """What the width of the rank intervals (`expected_ranks` output) means, in words: a
    typical interval of 0 places is a finding about certainty, never "spans 0 places"."""
    width = (table["rank_high"] - table["rank_low"]).to_numpy(dtype=float)
    if not width.size or not np.isfinite(width).any():
        return ""
    typical = float(np.nanmedian(width))
    if np.nanmax(width) == 0:
        return (f"Every {unit}'s rank is certain at 95%: the {units} differ far more than "
                "their uncertainty, so the order shown is the order.")
    if typical == 0:
        return (f"Most {units}' ranks are certain at 95% (their interval is a single place); "
                f"{int((width > 0).sum()):,} {units} could swap places with a neighbour.")
    return (f"A typical {unit}'s 95% interval covers {typical + 1:.0f} places (for example "
            f"ranks 3 to {3 + typical:.0f}): {units} whose intervals overlap may be in either "
            "order, so small differences in rank are not real differences.")


def _term_effects(result: FitResult, term: str, group: str | None):
    _, b = _block(result, group)
    re_ = result.ranef[b.group]
    sub = re_[re_["term"] == term]
    if sub.empty:
        raise ModelError(f"'{term}' does not vary between groups of '{b.group}' in this model.")
    return b, sub


def _ranks(draws: np.ndarray) -> np.ndarray:
    """Rank each row of draws (1 = highest)."""
    order = np.argsort(-draws, axis=1)
    r = np.empty_like(order)
    np.put_along_axis(r, order, np.arange(1, draws.shape[1] + 1)[None, :], axis=1)
    return r.astype(np.int32)


def _rank_table(levels, mu: np.ndarray, all_r: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "level": levels,
            "expected_rank": all_r.mean(axis=0),
            "rank_low": np.percentile(all_r, 2.5, axis=0),
            "rank_high": np.percentile(all_r, 97.5, axis=0),
            "point_rank": (-mu).argsort().argsort() + 1,
        }
    )


def expected_ranks(
    result: FitResult,
    term: str = INTERCEPT,
    group: str | None = None,
    n_draws: int = 1000,
    seed: int = 20241,
) -> pd.DataFrame:
    """Each group's expected rank (1 = highest) with a 95% interval, by drawing every group's
    effect from its conditional distribution (BLUP, conditional SD) and ranking each draw.
    The variance components are taken as known; expected_ranks_boot adds their uncertainty."""
    _, sub = _term_effects(result, term, group)
    mu = sub["value"].to_numpy()
    sd = np.nan_to_num(sub["cond_sd"].to_numpy())
    G = len(mu)
    rng = np.random.default_rng(seed)
    chunk = max(1, int(2e7 // max(G, 1)))
    ranks = []
    done = 0
    while done < n_draws:
        m = min(chunk, n_draws - done)
        ranks.append(_ranks(mu[None, :] + sd[None, :] * rng.standard_normal((m, G))))
        done += m
    return _rank_table(sub["level"].to_numpy(), mu, np.concatenate(ranks, axis=0))


def expected_ranks_boot(
    result: FitResult,
    draws,
    term: str = INTERCEPT,
    group: str | None = None,
    per_draw: int = 5,
) -> pd.DataFrame:
    """Expected ranks whose intervals carry the uncertainty in the variance components too
    (Laird & Louis 1987): for each parametric-bootstrap refit (hlm_core.bootstrap.BootDraws)
    the groups' effects are recomputed from the real data with that refit's variance
    components, `per_draw` sets of effects are drawn from their conditional distribution,
    and every set is ranked."""
    from hlm_core.condvar import conditional_covariances
    from hlm_core.engines.mixedlm_engine import DevianceFunction

    mf = result.model_frame
    b, sub = _term_effects(result, term, group)
    k_block = [x.group for x in mf.blocks].index(b.group)
    k_term = b.term_names.index(term)
    offset = sum(x.n_levels * len(x.term_names) for x in mf.blocks[:k_block])
    q = len(b.term_names)
    devfun = DevianceFunction(mf, result.reml)
    rng = np.random.default_rng(draws.seed)
    ranks = []
    for theta, sigma in zip(draws.theta, draws.sigma, strict=True):
        parts = devfun.parts(theta)
        if parts is None:
            continue
        lambdas = devfun.lambda_blocks(theta)
        mu = parts.b[offset : offset + b.n_levels * q].reshape(b.n_levels, q)[:, k_term]
        cv = conditional_covariances(mf.blocks, lambdas, sigma)[k_block][:, k_term, k_term]
        sd = np.sqrt(np.maximum(cv, 0.0))
        ranks.append(_ranks(mu[None, :] + sd[None, :] * rng.standard_normal((per_draw, len(mu)))))
    if not ranks:
        raise ModelError("Every bootstrap refit failed, so the ranks have no interval.")
    return _rank_table(sub["level"].to_numpy(), sub["value"].to_numpy(),
                       np.concatenate(ranks, axis=0))


def hide_small_groups(table: pd.DataFrame, min_size: int = DEFAULT_MIN_GROUP) -> pd.DataFrame:
    """Drop rows of groups with fewer than `min_size` students (privacy in teacher views)."""
    if "n" not in table.columns or min_size <= 1:
        return table
    return table[table["n"] >= min_size].reset_index(drop=True)
