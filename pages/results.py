"""Results page: what the fitted model found, in words and in lme4/lmerTest-style tables."""

import pandas as pd
import streamlit as st

from hlm_core.ci_output import varcorr_with_ci
from hlm_core.intervals import Intervals
from hlm_core.report import describe_results
from hlm_core.result import fixed_for_export
from ui import fits, glmm_views, guidance, intervals, nav, widgets
from ui.text import md

widgets.page_header("Results")
result = nav.need_fit()
if result is None:
    st.stop()

st.markdown(f"**Model:** {widgets.md_code(result.formula)} · {result.method} · "
            f"engine {result.engine}")
if fits.fit_is_stale():
    st.warning(
        "The Model page now describes a different model. These results are for the model above; "
        "press Fit model on the Model page to update them.",
        icon=":material/history:",
    )

ci = intervals.profile(result)  # at once when quick; otherwise on request, below
with st.container(border=True):
    st.markdown("**What the model found**")
    st.markdown(md(describe_results(result), None))

dropped = fits.rows_dropped_text(result)
if dropped:
    st.info(md(dropped, None), icon=":material/filter_alt:")
for w in result.warnings:
    st.warning(md(w, None), icon=":material/warning:")
for note in result.notes:
    if note != dropped:
        st.caption(f":material/info: {md(note, None)}")

# ---------------------------------------------------------------- headline numbers
cols = st.columns(4 + len(result.ngroups))
cols[0].metric("Observations", f"{result.nobs:,}")
for i, (g, n) in enumerate(result.ngroups.items(), start=1):
    cols[i].metric(f"Groups: {md(widgets.group_label(g))}", f"{n:,}")
k = 1 + len(result.ngroups)
icc_name = "ICC (adjusted)" if result.icc_adjusted else "ICC"
icc_metric = (icc_name, (guidance.help_text("ICC") or "") + " For a model with predictors: of "
              "the variation the predictors leave (adjusted ICC).")
if result.is_glmm:
    icc_name = glmm_views.icc_label(result)
    icc_metric = glmm_views.icc_metric(result)
cols[k].metric(
    icc_metric[0],
    "–" if result.icc is None else f"{result.icc:.3f}",
    delta=intervals.icc_delta(ci),
    delta_color="off",
    delta_arrow="off",
    help=icc_metric[1],
)
cols[k + 1].metric(
    "R² marginal", f"{result.r2_marginal:.3f}", help=guidance.help_text("R² marginal")
)
cols[k + 2].metric(
    "R² conditional",
    f"{result.r2_conditional:.3f}",
    help=guidance.help_text("R² conditional"),
)

guidance.workshop_note("icc")

# ---------------------------------------------------------------- fixed effects
st.subheader("Fixed effects")
guidance.workshop_note("fixed_effects")
if result.is_glmm:
    guidance.workshop_note("yes_no_outcomes")
    st.caption(md(glmm_views.fixed_caption(result), None))
    if result.extra.get("icc_definition"):
        st.caption(f":material/info: {result.extra['icc_definition']}")
else:
    st.caption(
        "Estimates with standard errors, Satterthwaite degrees of freedom (as lmerTest), t, p "
        "and 95% confidence intervals. Term names as in lme4."
    )
widgets.show_centering(result)
fixed = result.fixed
shown = None if result.is_glmm else pd.DataFrame(
    {
        "Term": fixed["term"],
        "Estimate": fixed["estimate"],
        "Std. error": fixed["std_error"],
        "df": fixed["df"],
        "t": fixed["t_value"],
        "p": [("< 0.001" if p < 0.001 else f"{p:.3f}") for p in fixed["p_value"]],
        "95% CI low": fixed["ci_low"],
        "95% CI high": fixed["ci_high"],
    }
)
num4 = st.column_config.NumberColumn(format="%.4f")
if result.is_glmm:
    shown, fixed_config = glmm_views.fixed_view(result)
st.dataframe(
    shown,
    hide_index=True,
    column_config=fixed_config if result.is_glmm else {
        "Estimate": st.column_config.NumberColumn(format="%.4f",
                                                  help=guidance.help_text("fixed effect")),
        "Std. error": st.column_config.NumberColumn(format="%.4f",
                                                    help=guidance.help_text("standard error")),
        "df": st.column_config.NumberColumn(format="%.1f",
                                            help=guidance.help_text("Satterthwaite df")),
        "t": st.column_config.NumberColumn(format="%.2f"),
        "p": st.column_config.TextColumn(help=guidance.help_text("p value")),
        "95% CI low": st.column_config.NumberColumn(format="%.4f",
                                                    help=guidance.help_text("confidence interval")),
        "95% CI high": st.column_config.NumberColumn(
            format="%.4f", help=guidance.help_text("confidence interval")),
    },
)
widgets.download_csv(fixed_for_export(result), "fixed_effects.csv", "Download fixed effects (CSV)",
                     key="dl_fixed")

# ---------------------------------------------------------------- variance components
st.subheader("Variance components", help=guidance.help_text("variance component"))
guidance.workshop_note("variance_components")
guidance.workshop_note("random_effect")
st.caption(
    "How much groups differ: the standard deviation (SD) of each random effect and of the "
    "residual (within groups), and the correlations between random effects."
    if not result.is_glmm else
    "How much groups differ: the standard deviation (SD) of each random effect on the "
    f"{result.extra.get('link', 'link')} scale (a yes/no or count outcome has no residual SD), "
    "and the correlations between random effects, each with its 95% interval."
)
widgets.show_centering(result)
if ci is None:
    if st.button("Compute 95% intervals", icon=":material/straighten:", key="ci_profile_go",
                 help="Likelihood-profile intervals, as lme4's confint(), once per fit: "
                 + ("for a yes/no or count model with several variances this can take a "
                    "minute (the fixed effects are refitted at every step)." if result.is_glmm
                    else "a few seconds for this model.")):
        ci = intervals.profile(result, compute=True)
        if isinstance(ci, Intervals):
            st.rerun()  # the ICC at the top shows its interval too
    elif intervals.was_cancelled("profile"):
        st.info("Stopped: no intervals were computed.", icon=":material/cancel:")
if isinstance(ci, str):
    widgets.show_error(ci)
vc = result.varcorr
is_var = vc["term2"].fillna("") == ""
ci_cells = (
    [intervals.ci_text(lo, hi, 4) for lo, hi in zip(ci.table["ci_low"], ci.table["ci_high"],
                                                     strict=True)]
    if isinstance(ci, Intervals) else [""] * len(vc)
)
ci_cells = pd.Series(ci_cells, index=vc.index)
variances = pd.DataFrame(
    {
        "Group": vc.loc[is_var, "group"],
        "Effect": vc.loc[is_var, "term1"].replace("", "(within groups)"),
        "Variance": vc.loc[is_var, "vcov"],
        "SD": vc.loc[is_var, "sdcor"],
        "95% CI": ci_cells[is_var],
    }
)
ci_help = st.column_config.TextColumn(
    help="95% likelihood-profile interval, as lme4's confint(): of the SD (of the correlation "
    "in the table of correlations). The profile uses the ML likelihood, as lme4 does."
)
st.dataframe(
    variances, hide_index=True, column_config={"Variance": num4, "SD": num4, "95% CI": ci_help}
)
corr = vc[~is_var]
if len(corr):
    st.dataframe(
        pd.DataFrame(
            {
                "Group": corr["group"],
                "Between": corr["term1"],
                "And": corr["term2"],
                "Correlation": corr["sdcor"],
                "95% CI": ci_cells[~is_var],
            }
        ),
        hide_index=True,
        column_config={"Correlation": st.column_config.NumberColumn(format="%.3f"),
                       "95% CI": ci_help},
    )
intervals.show_edges(ci)
if result.is_glmm:
    if isinstance(ci, Intervals):
        for note in ci.notes:
            st.caption(f":material/info: {md(note, None)}")
    intervals.boot_section(result, icc_name)
widgets.download_csv(varcorr_with_ci(result), "variance_components.csv",
                     "Download variance components (CSV)", key="dl_varcorr")

# ---------------------------------------------------------------- model fit
st.subheader("Model fit")
guidance.workshop_note("model_fit")
fit_table = pd.DataFrame(
    {
        "Statistic": [
            "log-likelihood",
            "AIC",
            "BIC",
            "deviance" if not result.reml else "REML criterion",
            "parameters",
            "observations",
            *[f"groups: {g}" for g in result.ngroups],
            "ICC" + (" (adjusted)" if result.icc_adjusted else ""),
            "R² marginal",
            "R² conditional",
            "residual SD",
            "converged",
            "singular",
        ],
        "Value": [
            result.loglik,
            result.aic,
            result.bic,
            result.deviance,
            result.df_loglik,
            result.nobs,
            *result.ngroups.values(),
            result.icc,
            result.r2_marginal,
            result.r2_conditional,
            result.sigma,
            "yes" if result.converged else "no",
            "yes" if result.singular else "no",
        ],
    }
)
if result.is_glmm:  # sigma is fixed at 1 for these families; the ICC is on the latent scale
    fit_table = fit_table[fit_table["Statistic"] != "residual SD"].reset_index(drop=True)
    fit_table.loc[fit_table["Statistic"].str.startswith("ICC"), "Statistic"] = icc_name
fit_table["Value"] = [
    f"{v:,.4f}" if isinstance(v, float) else (f"{v:,}" if isinstance(v, int) else str(v))
    for v in fit_table["Value"]
]
st.dataframe(fit_table, hide_index=True, width=420, height=35 * (len(fit_table) + 1) + 3)
widgets.download_csv(fit_table, "model_fit.csv", "Download model fit (CSV)", key="dl_fit")

st.divider()
st.markdown("**Save this model** to compare it with others on the Compare page.")
widgets.save_model_controls(result.spec, key="save_results_page")
c1, c2 = st.columns(2)
c1.page_link(nav.EFFECTS_PAGE, label="Class effects: how each group differs",
             icon=":material/leaderboard:")
c2.page_link(nav.SLOPES_PAGE, label="Slopes: each group's line", icon=":material/show_chart:")
c3, c4 = st.columns(2)
c3.page_link(nav.COMPARE_PAGE, label="Compare: the model ladder, from the null model up",
             icon=":material/stacked_line_chart:")
c4.page_link(nav.DIAGNOSTICS_PAGE, label="Diagnostics: residuals, influence, convergence",
             icon=":material/troubleshoot:")
