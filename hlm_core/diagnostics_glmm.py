"""Model checks for yes/no and count models, where raw residuals against a normal curve
mean little: binned residuals (Gelman & Hill), each group's observed minus expected, and the
overdispersion check for counts (as performance::check_overdispersion: Pearson chi-square over
the residual df). All read the FitResult; nothing refits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hlm_core.effects_glmm import inverse_link
from hlm_core.result import FitResult


def fitted_response(result: FitResult) -> np.ndarray:
    """Conditional fitted probability (count) per row used: inverse link of X beta + Z b."""
    return inverse_link(result, result.extra["eta"])


def _variance(result: FitResult, mu: np.ndarray) -> np.ndarray:
    return mu * (1 - mu) if result.family == "binomial" else mu


def binned_residuals(result: FitResult, bins: int | None = None) -> pd.DataFrame:
    """Rows grouped by fitted value into about sqrt(n) bins (at most 40): the mean fitted
    value, the mean residual (observed - fitted) and its +-2 SE band. Most bins should sit
    inside their band."""
    y = result.model_frame.y
    mu = fitted_response(result)
    n = len(y)
    k = bins or int(min(40, max(5, np.sqrt(n))))
    order = np.argsort(mu, kind="stable")
    parts = np.array_split(order, k)
    rows = []
    for idx in parts:
        if len(idx) == 0:
            continue
        r = y[idx] - mu[idx]
        se = float(np.sqrt(_variance(result, mu[idx]).sum()) / len(idx))
        rows.append({"fitted": float(mu[idx].mean()), "residual": float(r.mean()),
                     "band": 2 * se, "n": len(idx)})
    out = pd.DataFrame(rows)
    out["outside"] = out["residual"].abs() > out["band"]
    return out


def group_residuals(result: FitResult, group: str | None = None) -> pd.DataFrame:
    """Per group: observed and expected proportion (mean count) under the model's fixed part
    alone, their difference, and a +-2 SE band: groups far outside are what the group
    effects explain (and large ones with few pupils are worth a look)."""
    mf = result.model_frame
    block = mf.blocks[0] if group is None else next(b for b in mf.blocks if b.group == group)
    mu_fixed = inverse_link(result, mf.X @ result.fixed["estimate"].to_numpy())
    df = pd.DataFrame({"g": block.codes, "y": mf.y, "mu": mu_fixed,
                       "v": _variance(result, mu_fixed)})
    agg = df.groupby("g", sort=True).agg(n=("y", "size"), observed=("y", "mean"),
                                         expected=("mu", "mean"), v=("v", "sum"))
    agg["difference"] = agg["observed"] - agg["expected"]
    agg["band"] = 2 * np.sqrt(agg["v"]) / agg["n"]
    agg.insert(0, "group", np.asarray(block.levels, dtype=object)[agg.index.to_numpy()])
    return agg.drop(columns="v").reset_index(drop=True)


@dataclass
class Overdispersion:
    chisq: float  # Pearson chi-square
    df: int  # residual df: rows - parameters
    ratio: float  # chisq / df; about 1 when the Poisson assumption holds
    p_value: float

    def sentence(self) -> str:
        if self.p_value < 0.05 and self.ratio > 1:
            return (f"The counts vary more than a Poisson model expects (dispersion ratio "
                    f"{self.ratio:.2f}, p = {self.p_value:.3g}): standard errors are likely "
                    "too small. Consider adding predictors, or a pupil-level random effect "
                    "(1 | pupil id) for extra variation.")
        return (f"No sign of overdispersion (dispersion ratio {self.ratio:.2f}, "
                f"p = {self.p_value:.3g}): the counts vary about as a Poisson model expects.")


def overdispersion(result: FitResult) -> Overdispersion:
    """performance::check_overdispersion for a Poisson GLMM: sum of squared Pearson residuals
    (conditional on the group effects) against chi-square with rows - parameters df."""
    y = result.model_frame.y
    mu = fitted_response(result)
    chisq = float((((y - mu) ** 2) / _variance(result, mu)).sum())
    df = int(result.nobs - result.df_loglik)
    return Overdispersion(chisq, df, chisq / df, float(stats.chi2.sf(chisq, df)))
