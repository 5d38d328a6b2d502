"""Likelihood-ratio tests of nested models, the way lme4's `anova(m0, m1)` does them.

Models fitted by REML are refitted by ML first (REML likelihoods of models with different
fixed effects are not comparable); the result says when that happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from hlm_core.errors import ModelError
from hlm_core.result import FitResult


@dataclass
class Comparison:
    table: pd.DataFrame  # a row per model: npar, AIC, BIC, logLik, deviance, Chisq, Df, p_value
    chisq: float
    df: int
    p_value: float
    refit_ml: bool
    notes: list[str] = field(default_factory=list)


def as_ml(result: FitResult, frame: pd.DataFrame) -> tuple[FitResult, bool]:
    """The ML version of a fit (refitting only when it was REML)."""
    from hlm_core.fit import fit

    if not result.reml:
        return result, False
    return fit(frame, result.spec.with_(reml=False)), True


def lrt(a: FitResult, b: FitResult, frame: pd.DataFrame) -> Comparison:
    """Compare two nested models; the one with fewer parameters is the null."""
    ma, ra = as_ml(a, frame)
    mb, rb = as_ml(b, frame)
    if ma.nobs != mb.nobs:
        raise ModelError(
            f"The two models use different rows ({ma.nobs:,} and {mb.nobs:,}) because their "
            "columns have different missing values, so they can't be compared. Remove the rows "
            "with missing values first, or compare models that use the same columns."
        )
    small, big = sorted([ma, mb], key=lambda r: r.df_loglik)
    if small.df_loglik == big.df_loglik:
        raise ModelError(
            "Both models have the same number of parameters, so a likelihood-ratio test "
            "can't tell them apart. Compare their AIC and BIC instead."
        )
    chisq = max(0.0, 2 * (big.loglik - small.loglik))
    ddf = big.df_loglik - small.df_loglik
    p = float(stats.chi2.sf(chisq, ddf))
    table = compare_table([small, big])
    table.loc[1, ["Chisq", "Df", "p_value"]] = [chisq, ddf, p]
    notes = []
    if ra or rb:
        notes.append(
            "Models fitted by REML were refitted by ML for this test, as lme4's anova() does."
        )
    return Comparison(table=table, chisq=chisq, df=ddf, p_value=p, refit_ml=ra or rb, notes=notes)


def compare_table(results: list[FitResult], names: list[str] | None = None) -> pd.DataFrame:
    """AIC/BIC/logLik/deviance for several fits (as they are: REML or ML)."""
    rows = []
    for i, r in enumerate(results):
        rows.append(
            {
                "model": names[i] if names else f"Model {i + 1}",
                "formula": r.formula,
                "method": r.method,
                "npar": r.df_loglik,
                "AIC": r.aic,
                "BIC": r.bic,
                "logLik": r.loglik,
                "deviance": -2 * r.loglik,
                "Chisq": np.nan,
                "Df": np.nan,
                "p_value": np.nan,
            }
        )
    return pd.DataFrame(rows)
