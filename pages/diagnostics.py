"""Diagnostics page: is the model trustworthy? Residuals against fitted values, normal Q-Q plots
of the residuals and of every random effect, the residual spread per group, the groups that
move the estimates most (refitted on request), and, for a singular or unconverged fit, what to
try next in one click."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from hlm_core.crosscheck import crosscheck, verdict
from hlm_core.diagnostics import (
    fitted_and_residuals,
    near_zero_terms,
    qq_points,
    residual_spread,
    simpler_specs,
    try_other_optimizer,
)
from hlm_core.figures import qq_plot, residuals_vs_fitted, spread_plot
from hlm_core.figures_checks import UNUSUAL_Z
from hlm_core.formula import format_formula
from hlm_core.report import num
from ui import data, fits, glmm_views, guidance, influence, model, nav, widgets
from ui.state import session
from ui.text import md

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from hlm_core.result import FitResult

# Each SVG point is an element the browser lays out and paints (~0.4 ms of CPU each without
# a graphics card): the residual plot draws every unusual student and a random 400 in all,
# which shows the band and its shape as well as thousands; the Q-Q plots draw an even spread
# of 1,000 with both tails.
RESID_POINTS, QQ_POINTS = 400, 1000


def residuals_view(result: FitResult, fit_key, outcome: str) -> None:
    """Residuals against fitted values, with the trend of their mean."""
    fr = fits.memo("diag_residuals", fit_key, lambda: fitted_and_residuals(result))
    widgets.chart(
        fits.memo("diag_resid_fig", fit_key,
                  lambda: residuals_vs_fitted(fr, outcome=outcome, max_points=RESID_POINTS)),
        key="diag_resid",
    )
    drawn = min(len(fr), RESID_POINTS)
    st.caption(
        "Each point is a student: the outcome minus what the model predicts for them "
        "(including their group's effect). Look for a flat trend line near 0 and an even "
        "band; a curve suggests a missing bend (e.g. a squared term), a funnel suggests "
        "unequal spread."
        + (f" {drawn:,} of {len(fr):,} students drawn: every one with an unusual residual "
           f"(more than {UNUSUAL_Z:g} SD from 0) and a random sample of the others; the trend "
           "line uses all." if drawn < len(fr) else "")
    )


def qq_panels(result: FitResult, fit_key) -> list[tuple[str, go.Figure]]:
    """(title, figure) of the residuals' Q-Q plot and each random effect's, built once per
    fit."""
    fr = fits.memo("diag_residuals", fit_key, lambda: fitted_and_residuals(result))
    panels = [("Residuals (students)", qq_points(fr["std_residual"].to_numpy()), None)]
    for g in result.group_names:
        re_ = result.ranef[g]
        for term in result.random_terms(g):
            sub = re_[re_["term"] == term]
            values = sub["value"].to_numpy(dtype=float)
            order = np.argsort(values, kind="stable")
            labels = sub["level"].astype(str).to_numpy(dtype=object)[order]
            what = "intercepts" if term == "(Intercept)" else f"slopes of {term}"
            panels.append((f"{widgets.group_label(g)}: {what}", qq_points(values), labels))
    return [(title, qq_plot(qq, title, labels=labels, max_points=QQ_POINTS))
            for title, qq, labels in panels]


def qq_view(result: FitResult, fit_key) -> None:
    """Normal Q-Q plots of the residuals and of every random effect, three to a row."""
    st.caption(
        "The model assumes the residuals and each set of group effects are roughly normal. "
        "Points near the dashed line: fine. Points bending away at the ends: heavier tails "
        "than normal (a few unusual students or groups)."
    )
    panels = fits.memo("diag_qq_figs", fit_key, lambda: qq_panels(result, fit_key))
    per_row = 3 if len(panels) >= 3 else len(panels)
    for start in range(0, len(panels), per_row):
        cols = st.columns(per_row)
        for col, (title, fig) in zip(cols, panels[start:start + per_row], strict=False):
            with col:
                widgets.chart(fig, key=f"diag_qq_{title}")


def spread_view(result: FitResult, fit_key, first: str, first_md: str) -> None:
    """The residual SD of each group of the first level against its size."""
    spread = fits.memo("diag_spread", fit_key, lambda: residual_spread(result))
    widgets.chart(
        fits.memo("diag_spread_fig", fit_key, lambda: spread_plot(
            spread, result.sigma, group_title=widgets.group_label(first))),
        key="diag_spread",
    )
    big = spread[spread["n"] >= 10].sort_values("sd", ascending=False).head(3)
    st.caption(
        f"Each point is a {first_md}: how widely its students' residuals vary, "
        f"against its number of students. Small {md(result.group_words(first))} scatter "
        "widely by chance; a large one far above the dashed line has unusually mixed results."
        + (" Widest among those with 10 or more students: "
           + ", ".join(f"{md(r.group)} (SD {num(r.sd)}, n = {r.n})" for r in big.itertuples())
           + "."
           if len(big) else "")
    )


widgets.page_header(
    "Diagnostics",
    "Check the model before trusting it: are the residuals patternless and roughly normal, "
    "does any group carry the results, and did the fit converge properly?",
)
result = nav.need_fit()
if result is None:
    st.stop()

frame = data.working_frame()
fit_key = session().fit_key
st.markdown(f"**Model:** {widgets.md_code(result.formula)} · {result.method}")
widgets.show_centering(result)
guidance.workshop_note("diagnostics")
if fits.fit_is_stale():
    st.warning(
        "The Model page now describes a different model. These checks are for the model above; "
        "press Fit model on the Model page to update them.",
        icon=":material/history:",
    )

# ---------------------------------------------------------------- convergence triage
st.subheader("Convergence")
zero = near_zero_terms(result)
vc = result.varcorr
corr = vc[(vc["term2"].fillna("") != "")]
extreme_corr = corr[corr["sdcor"].abs() > 0.99]
if not (result.singular or not result.converged or zero):
    st.success(
        "The fit converged and is not singular: every variance is estimated clearly above zero.",
        icon=":material/check_circle:",
    )
else:
    with st.container(border=True):
        if not result.converged:
            st.warning(
                "The optimizer did not confirm that it found the best estimates (no "
                "convergence). The numbers may be slightly off.",
                icon=":material/warning:",
            )
        if result.singular or zero:
            st.warning(
                "The fit is singular: the model has more random-effect structure than the data "
                "can support, so at least one variance is estimated at (about) zero or a "
                "correlation at ±1.",
                icon=":material/warning:",
            )
        lines = []
        for g, term in zero:
            row = vc[(vc["group"] == g) & (vc["term1"] == term) & (vc["term2"].fillna("") == "")]
            sd = float(row["sdcor"].iloc[0]) if len(row) else 0.0
            what = "the intercept" if term == "(Intercept)" else f"the slope of {term}"
            base = result.group_words(g)  # `||` blocks g.1, g.2 too
            lines.append(
                f"- The SD of **{md(what)}** between **{md(base)}** is about 0 ({num(sd)}): "
                f"{md(base)} hardly differ in it."
            )
        for r in extreme_corr.itertuples():
            lines.append(
                f"- The correlation of **{md(r.term1)}** and **{md(r.term2)}** between "
                f"**{md(result.group_words(r.group))}** is {r.sdcor:+.3f}: the two can't be "
                "told apart."
            )
        if lines:
            st.markdown("\n".join(lines))

        st.markdown("**Try the other optimizer**")
        st.caption(
            "Refits the same model with a derivative-free optimizer (like lme4's bobyqa). If "
            "both agree, the estimates are not an artefact of the optimizer."
        )
        if st.button("Try the other optimizer", icon=":material/autorenew:"):
            fits.diag_run("optimizer", try_other_optimizer, result, frame,
                          label="Refitting with the other optimizer")
        tried = fits.diag_get("optimizer")
        if isinstance(tried, str):
            widgets.show_error(tried)
        elif tried is not None:
            other, message = tried
            st.info(
                f"{md(message, None)} Log-likelihood: {result.loglik:,.3f} (original), "
                f"{other.loglik:,.3f} (other optimizer).",
                icon=":material/autorenew:",
            )
            if other.loglik - result.loglik > 1e-3:
                if st.button("Use the other optimizer's fit", icon=":material/check:"):
                    fits.use_fit(other)
                    st.switch_page(nav.RESULTS_PAGE)

        options = simpler_specs(result)
        if options:
            st.markdown("**Or fit a simpler model** (one click: fitted, then shown on Results)")
            for i, (label, simpler) in enumerate(options):
                c1, c2 = st.columns([2, 3], vertical_alignment="center")
                with c1:
                    clicked = st.button(f"Fit: {md(label)}", key=f"simpler_{i}",
                                        icon=":material/play_arrow:")
                c2.code(format_formula(simpler), language=None)
                if clicked:
                    if fits.fit_model(simpler, then=lambda r: model.set_spec(r.spec)):
                        st.switch_page(nav.RESULTS_PAGE)
                    else:
                        widgets.show_error(session().fit_error or "The fit failed.")

# ---------------------------------------------------------------- residuals
if result.is_glmm:  # yes/no and count models get their own checks, and the same refits
    glmm_views.diagnostics_section(result)
    influence.influence_section(result, frame)
    glmm_views.no_crosscheck_note()
    st.stop()
outcome = result.spec.outcome
first = result.model_frame.blocks[0].group
first_md = md(widgets.group_label(first))
# One chart at a time: each plotly chart costs the browser a few tenths of a second to draw
# without a graphics card, and five of them made this page's first visit slow. The tabs are
# lazy: only the open one runs and is sent.
st.subheader("Residuals and group effects")
resid_tab, qq_tab, spread_tab = st.tabs(
    ["Residuals against fitted values", "Normal Q-Q plots", "Residual spread per group"],
    key="w_diag_view",
    on_change="rerun",
)
if resid_tab.open:
    with resid_tab:
        residuals_view(result, fit_key, outcome)
if qq_tab.open:
    with qq_tab:
        qq_view(result, fit_key)
if spread_tab.open:
    with spread_tab:
        spread_view(result, fit_key, first, first_md)

# ---------------------------------------------------------------- influential groups
influence.influence_section(result, frame)

# ---------------------------------------------------------------- cross-check
st.subheader("Cross-check with a second engine")
st.caption(
    "Refits the same model with statsmodels' MixedLM, an independent implementation, and "
    "compares the estimates. Agreement is evidence that the numbers are not an artefact of one "
    "program's optimizer."
)


checked = fits.diag_get("crosscheck")
if checked is not None and checked[0] is not result:  # the other optimizer's fit replaced it
    fits.diag_forget("crosscheck")
    checked = None
if st.button("Cross-check with a second engine (statsmodels)", icon=":material/compare_arrows:"):
    checked = fits.diag_run("crosscheck", crosscheck, frame, result,
                            label="Refitting with statsmodels", wrap=lambda cc: (result, cc))
if checked is not None:
    cc = checked[1]
    if isinstance(cc, str):
        widgets.show_error(cc)
    else:
        if cc.agrees:
            st.success(md(verdict(cc), None), icon=":material/check_circle:")
        else:
            st.warning(md(verdict(cc), None), icon=":material/warning:")
        shown = cc.table.rename(columns={
            "quantity": "Quantity", "ours": "This app", "statsmodels": "statsmodels",
            "difference": "Difference", "difference_se": "Difference (SE)",
        })
        st.dataframe(
            shown,
            hide_index=True,
            column_config={
                "This app": st.column_config.NumberColumn(format="%.6f"),
                "statsmodels": st.column_config.NumberColumn(format="%.6f"),
                "Difference": st.column_config.NumberColumn(format="%.2e"),
                "Difference (SE)": st.column_config.NumberColumn(
                    format="%.2e",
                    help="For a fixed effect: the difference in units of its standard error.",
                ),
            },
        )
        for note in cc.notes:
            st.caption(f":material/info: statsmodels: {md(note, None)}")
        widgets.download_csv(shown, "crosscheck.csv", "Download cross-check (CSV)",
                             key="dl_crosscheck")
