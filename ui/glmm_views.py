"""Result tables for yes/no and count models as the pages show them (Wald z, odds or rate
ratios), so the pages stay thin and the linear tables stay as they were."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hlm_core.result import FitResult


def ratio_name(result: FitResult) -> str:
    return "Odds ratio" if result.family == "binomial" else "Rate ratio"


def fixed_caption(result: FitResult) -> str:
    what = result.extra.get("outcome_meaning", "")
    ratio = ratio_name(result).lower()
    scale = "logit" if result.family == "binomial" else "log"
    return (f"The model describes {what}. Estimates on the {scale} scale with standard errors, "
            f"Wald z and p (as lme4's summary) and 95% confidence intervals; the {ratio} is "
            f"exp(estimate): how many times {'the odds' if scale == 'logit' else 'the count'} "
            "multiply per unit of the predictor (or for this category against the reference).")


def fixed_view(result: FitResult) -> tuple[pd.DataFrame, dict]:
    """The fixed-effects table and its column settings for a generalized model."""
    f = result.fixed
    r = "odds_ratio" if result.family == "binomial" else "rate_ratio"
    name = ratio_name(result)
    shown = pd.DataFrame({
        "Term": f["term"], "Estimate": f["estimate"], "Std. error": f["std_error"],
        "z": f["z_value"], "p": [("< 0.001" if p < 0.001 else f"{p:.3f}") for p in f["p_value"]],
        "95% CI low": f["ci_low"], "95% CI high": f["ci_high"], name: f[r],
        f"{name} CI low": f[f"{r}_ci_low"], f"{name} CI high": f[f"{r}_ci_high"],
    })
    num = st.column_config.NumberColumn
    config = {c: num(format="%.4f") for c in shown.columns if c not in ("Term", "z", "p")}
    config["z"] = num(format="%.2f")
    config[name] = num(format="%.3f", help=f"{name}: exp(estimate)")
    return shown, config


def icc_label(result: FitResult) -> str:
    return "ICC (latent scale" + (", adjusted)" if result.icc_adjusted else ")")
