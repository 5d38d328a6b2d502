"""Class effects and slopes of yes/no and count models on the scale a reader knows: each
group's predicted probability (or expected count) for a pupil with average predictor values,
and per-group predicted curves beside the raw proportions (or mean counts) per group.

The model's own scale (logit or log) stays the default on the pages; these views are monotone
transforms of it, so a group "clearly above average" on one scale is so on the other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hlm_core.design import INTERCEPT
from hlm_core.result import FitResult


def inverse_link(result: FitResult, eta):
    """Probability (logit link) or expected count (log link) from the linear predictor."""
    eta = np.asarray(eta, dtype=float)
    return 1 / (1 + np.exp(-eta)) if result.family == "binomial" else np.exp(eta)


def average_eta(result: FitResult) -> float:
    """The fixed part for a pupil with the average value of every predictor column."""
    mf = result.model_frame
    return float(mf.X.mean(axis=0) @ result.fixed["estimate"].to_numpy())


def response_scale_table(result: FitResult, table: pd.DataFrame) -> pd.DataFrame:
    """`effects.ranef_table` rows of the intercept on the response scale: coef* = the group's
    predicted probability (count) for an average pupil, ranef* = its difference from the
    average group's. Other terms (slopes) are left out: they have no single response value."""
    t = table[table["term"] == INTERCEPT].copy()
    eta = average_eta(result)
    base = float(inverse_link(result, eta))
    for col in ("ranef", "ranef_low", "ranef_high"):
        t[col.replace("ranef", "coef")] = inverse_link(result, eta + t[col].to_numpy())
        t[col] = t[col.replace("ranef", "coef")] - base
    return t


def predicted_curves(result: FitResult, predictor: str, lo: float, hi: float, n: int = 40,
                     group: str | None = None, **held) -> pd.DataFrame:
    """Per-group predicted probability (count) over the predictor's range, others typical:
    `effects.pred_slope` (logit/log scale) through the inverse link."""
    from hlm_core.effects import pred_slope

    out = pred_slope(result, predictor, lo, hi, n=n, group=group, **held)
    out["prediction"] = inverse_link(result, out["prediction"].to_numpy())
    return out


def raw_rates(result: FitResult, x: np.ndarray, group: str, bins: int = 4) -> pd.DataFrame:
    """The raw proportion of successes (mean count) per group within quarters of the
    predictor (`x`: its values on the rows the model used, in their order): what the predicted
    curves should be read against. Columns: group, prediction (observed), n, x."""
    mf = result.model_frame
    x = np.asarray(x, dtype=float)
    edges = np.unique(np.quantile(x[np.isfinite(x)], np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        edges = np.array([x.min(), x.min() + 1.0])
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    centre = (edges[:-1] + edges[1:]) / 2
    block = next(b for b in mf.blocks if b.group == group)
    df = pd.DataFrame({"group": np.asarray(block.levels, dtype=object)[block.codes],
                       "bin": which, "y": mf.y})
    agg = df.groupby(["group", "bin"], sort=False)["y"].agg(["mean", "size"]).reset_index()
    agg["x"] = centre[agg["bin"].to_numpy()]
    agg = agg.sort_values(["group", "x"], kind="stable").reset_index(drop=True)
    return agg.rename(columns={"mean": "prediction", "size": "n"}).drop(columns="bin")


def response_title(result: FitResult) -> str:
    """The y-axis title of predicted curves: 'Chance of result = pass' / 'Expected absences'."""
    from hlm_core.report_glmm import success_phrase

    if result.family == "binomial":
        return f"Chance of {success_phrase(result)}"
    return f"Expected {result.spec.outcome}"
