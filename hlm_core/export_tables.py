"""The tables a download holds besides the app's own: model fit, class effects and the
tutorial's pred.slope table. Used by the workbook and the HTML report.
"""

from __future__ import annotations

import pandas as pd

from hlm_core.ci_output import icc_ci_rows


def model_fit_table(result) -> pd.DataFrame:
    """The Results page's model-fit table with numbers as numbers (for files)."""
    rows: list[tuple[str, object]] = [
        ("log-likelihood", result.loglik),
        ("AIC", result.aic),
        ("BIC", result.bic),
        ("REML criterion" if result.reml else "deviance", result.deviance),
        ("parameters", int(result.df_loglik)),
        ("observations", int(result.nobs)),
        *[(f"groups: {g}", int(n)) for g, n in result.ngroups.items()],
        ("ICC" + (" (adjusted)" if result.icc_adjusted else ""), result.icc),
        *icc_ci_rows(result),
        ("R² marginal", result.r2_marginal),
        ("R² conditional", result.r2_conditional),
        ("residual SD", result.sigma),
        ("estimation", result.method),
        ("converged", "yes" if result.converged else "no"),
        ("singular", "yes" if result.singular else "no"),
    ]
    return pd.DataFrame(rows, columns=["Statistic", "Value"])


def numeric_predictors(result) -> list[str]:
    """Numeric predictors of the fit, those with a random slope first (as the Slopes page)."""
    mf = result.model_frame
    if mf is None:
        return []
    numeric = [v for v, info in mf.variables.items() if info.kind == "numeric"]
    slopes = [v for r in result.spec.random for t in r.slopes for v in t.variables if v in numeric]
    return list(dict.fromkeys(slopes + numeric))


def class_effects_table(result) -> pd.DataFrame:
    """Every grouping level's effects with intervals (ranef_table), stacked with a group column."""
    from hlm_core.effects import ranef_table

    parts = []
    for g in result.group_names:
        t = ranef_table(result, g)
        t.insert(0, "group", g)
        parts.append(t)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def pred_slope_table(result) -> tuple[str, pd.DataFrame] | None:
    """(predictor, pred_slope over the data range) for the first numeric predictor, or None."""
    from hlm_core.effects import pred_slope

    preds = numeric_predictors(result)
    if not preds:
        return None
    return preds[0], pred_slope(result, preds[0], n=2, group=result.group_names[0])
