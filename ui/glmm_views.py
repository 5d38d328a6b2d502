"""Result tables for yes/no and count models as the pages show them (Wald z, odds or rate
ratios), so the pages stay thin and the linear tables stay as they were."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hlm_core.result import FitResult
from ui.text import md


def ratio_name(result: FitResult) -> str:
    return "Odds ratio" if result.family == "binomial" else "Rate ratio"


def fixed_caption(result: FitResult) -> str:
    what = result.extra.get("outcome_meaning", "")
    ratio = ratio_name(result).lower()
    scale = "logit" if result.family == "binomial" else "log"
    times = "the odds are" if scale == "logit" else "the expected count is"
    return (f"The model describes {what}. Estimates on the {scale} scale with standard errors, "
            f"Wald z and p (as lme4's summary) and 95% confidence intervals; the {ratio} is "
            f"exp(estimate): how many times {times} multiplied for one unit more of a number "
            "predictor, or for a category compared with the reference group (its first value "
            "in sorted order).")


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
    """The ICC's name in tables: 'Latent ICC (adjusted)'."""
    return "Latent ICC" + (" (adjusted)" if result.icc_adjusted else "")


def icc_metric(result: FitResult) -> tuple[str, str]:
    """The headline metric's short label (it must fit a fifth of the page) and its help:
    what 'latent' and 'adjusted' mean go in the help, not the label."""
    label = "Latent ICC" + (" (adj.)" if result.icc_adjusted else "")
    help_ = result.extra.get("icc_definition", "")
    if result.icc_adjusted:
        help_ += (" Adjusted: of the variation the predictors leave, as in a model with "
                  "predictors.")
    return label, help_


def diagnostics_section(result: FitResult) -> None:
    """The Diagnostics page's checks for a yes/no or count model (instead of the normal-theory
    residual plots): binned residuals, per-group observed - expected, overdispersion."""
    from hlm_core.diagnostics_glmm import binned_residuals, group_residuals, overdispersion
    from hlm_core.effects_glmm import response_title
    from hlm_core.figures_glmm import binned_residual_plot, group_residual_plot
    from ui import widgets

    fitted_title = f"Fitted: {response_title(result).lower()}"
    st.subheader("Binned residuals")
    binned = binned_residuals(result)
    widgets.chart(binned_residual_plot(binned, fitted_title), key="diag_binned")
    out = int(binned["outside"].sum())
    st.caption(
        "Pupils sorted by their fitted value and put in bins; each point is a bin's average "
        "of observed minus fitted. About 95% of the bins should lie inside the dotted band; "
        f"here {len(binned) - out} of {len(binned)} do. A pattern (a curve) suggests a missing "
        "predictor or bend."
    )
    group = result.model_frame.blocks[0].group
    group_md = md(widgets.group_label(group))  # a column name is text, never Markdown
    st.subheader(f"Observed minus expected per {group_md}")
    per = group_residuals(result, group)
    what = "proportion" if result.family == "binomial" else "mean count"
    widgets.chart(group_residual_plot(per, widgets.group_label(group),
                                      f"Observed - expected {what}"), key="diag_groups")
    st.caption(
        f"Each point is a {group_md}: its observed {what} minus what the "
        "predictors alone expect, with the band chance alone would give. Groups outside the "
        "band are what the group effects capture."
    )
    if result.family == "poisson":
        st.subheader("Overdispersion")
        st.write(overdispersion(result).sentence())
    st.caption("The normal Q-Q plots and the residual spread per group are for score "
               "outcomes (they assume normal residuals); for yes/no and count models use the "
               "checks above.")


def no_crosscheck_note() -> None:
    """Why the second-engine cross-check offered for score outcomes is not offered here."""
    st.subheader("Cross-check with a second engine")
    st.info(
        "Not available for yes/no and count models. The second engine used for score "
        "outcomes, statsmodels, fits these models only in a Bayesian way (its "
        "BinomialBayesMixedGLM and PoissonBayesMixedGLM), whose estimates differ from "
        "maximum likelihood by design, so a comparison would not test these numbers. They "
        "are instead checked against R's lme4 (glmer) in this program's own tests.",
        icon=":material/info:",
    )
