"""Compare page: the model ladder. One click fits the null model, then adds the student-level
predictors, the group-level predictors, the random slopes and the interactions of the model on
the Model page (plus any saved models), all by ML, and compares each with the one before."""

import numpy as np
import pandas as pd
import streamlit as st

from hlm_core.compare import compare_two, ladder_sentences, ladder_specs, unique_names
from hlm_core.errors import HLMError
from hlm_core.figures import ladder_plot
from hlm_core.formula import format_formula
from ui import data, fits, guidance, intervals, model, nav, widgets
from ui.state import session
from ui.text import md

widgets.page_header(
    "Compare",
    "How much does each part of the model add? The model ladder starts from the null model "
    "(no predictors) and adds one part at a time, testing each step against the one before.",
)
if nav.need_data():
    st.stop()

frame = data.working_frame()
model.ensure_model_state(frame)
spec = session().spec
if spec is None or not spec.random:
    st.info(
        "Choose a model on the Model page first (an outcome and a grouping variable): the "
        "ladder climbs from the null model up to it."
    )
    st.page_link(nav.MODEL_PAGE, label="Go to Model", icon=":material/tune:")
    st.stop()

st.markdown(f"**Your model:** {widgets.md_code(format_formula(spec))} (from the Model page)")
guidance.workshop_note("comparison")
centred = model.centering_text(spec)
if centred:
    st.caption(
        f":material/align_horizontal_center: **Centring:** {md(centred, None)} (in every model "
        "of the "
        "ladder that uses the predictor)."
    )

try:
    # once per data and model: which predictors are level-2 takes ~0.07 s on STAR
    steps = fits.memo("ladder_specs", (session().data_key(), spec),
                      lambda: ladder_specs(frame, spec))
except (HLMError, KeyError, ValueError) as exc:
    widgets.show_error(str(exc) if isinstance(exc, HLMError) else
                  "The ladder can't be built for this model. Check the model on the Model page.")
    st.stop()

saved = fits.saved_models()
extra: list = []
if saved:
    names = [n for n, _ in saved]
    chosen = st.multiselect(
        "Saved models to add",
        names,
        default=names,
        key="w_compare_saved",
        persist_state="session",
        help="Models saved with 'Save this model' on the Model or Results page. They are "
        "fitted by ML too and added below the ladder.",
    )
    extra = [(n, s) for n, s in saved if n in chosen]
else:
    st.caption(
        ":material/bookmark: To compare other models as well, fit them and press **Save this "
        "model** on the Model or Results page; they are added below the ladder."
    )

# the models compared: the ladder's steps, then the chosen saved models (one count everywhere)
compared = list(zip(unique_names([n for n, _ in steps + extra]), [s_ for _, s_ in steps + extra],
                    strict=True))
with st.expander(f"The models compared: {len(compared)}", expanded=False):
    st.markdown(
        "\n".join(f"{i}. **{widgets.md_text(name)}**: {widgets.md_code(format_formula(s_))}"
                   + (" (saved)" if i > len(steps) else "")
                   for i, (name, s_) in enumerate(compared, start=1))
    )

if st.button("Fit the model ladder", type="primary", icon=":material/stacked_line_chart:"):
    fits.fit_ladder(spec, extra)

found = fits.cached_ladder(spec, extra)
if found is None:
    st.info(
        "Press **Fit the model ladder**. Every model is fitted by maximum likelihood (ML), so "
        "that their likelihoods can be compared; this takes a few seconds per model."
    )
    st.stop()
if isinstance(found, str):
    widgets.show_error(found)
    st.stop()
lad = found

# ---------------------------------------------------------------- the null model
null = lad.results[0]
first_group = null.group_names[0]
sizes = null.model_frame.group_sizes[null.model_frame.blocks[0].group]
avg = float(np.mean(sizes))
st.subheader("How much do the groups differ? (the null model)")
null_ci = intervals.profile(null, key="profile_null")  # at once when quick, else on request
m1, m2, m3, m4 = st.columns(4)
m1.metric(
    "ICC (null model, ML)",
    f"{lad.icc:.3f}",
    delta=intervals.icc_delta(null_ci),
    delta_color="off",
    delta_arrow="off",
    help="Share of the variation in the outcome that lies between groups, before any "
    "predictor, from the null model fitted by ML (as every model here). The Results page's "
    "ICC comes from your model as fitted there (REML by default), so the two can differ a "
    "little.",
)
m2.metric(
    "Design effect",
    f"{lad.design_effect:.2f}",
    help="1 + (average group size − 1) × ICC: how much the grouping inflates the variance of "
    "an average compared with the same number of independent students.",
)
m3.metric(f"Average {md(widgets.group_label(first_group))} size", f"{avg:,.1f}")
m4.metric("Models compared", f"{len(lad.results)}")
for note in lad.notes[:-2]:  # rows left out so that every model uses the same rows
    st.caption(f":material/info: {widgets.md_text(note)}")
st.caption(
    f"{100 * lad.icc:.1f}% of the variation in {md(spec.outcome)} lies between "
    f"{md(null.group_words(first_group))}. With a design effect of "
    f"{lad.design_effect:.2f}, an analysis "
    f"that ignored the {md(null.group_words(first_group))} would report standard errors about "
    f"{np.sqrt(max(lad.design_effect, 0.0)):.1f} times too small for averages."
)
if null_ci is None and st.button("Compute the ICC's 95% interval", key="ci_null_go",
                                 icon=":material/straighten:"):
    null_ci = intervals.profile(null, key="profile_null", compute=True)
    st.rerun()
if isinstance(null_ci, str):
    widgets.show_error(null_ci)
elif null_ci is not None and null_ci.icc is not None:
    st.caption(
        f":material/straighten: The ICC's 95% interval, "
        f"{100 * null_ci.icc[0]:.1f}% to {100 * null_ci.icc[1]:.1f}%, is a likelihood-profile "
        "interval (the ML likelihood, as lme4's confint() profiles)."
    )



def explained_intervals(null, models, names) -> None:
    """Bootstrap intervals of the variance explained, on request (progress, Cancel, seed).
    Not for yes/no or count models: hlm_core.bootstrap.explained_intervals refits linear
    models only."""
    if not models or null.is_glmm:
        return
    with st.expander("95% intervals for the variance explained (parametric bootstrap)"):
        nsim, seed = intervals.boot_settings("explained", default_nsim=200)
        run = st.button("Run the bootstrap", key="explained_go", icon=":material/casino:")
        found = intervals.explained(null, models, nsim, seed, key="explained", compute=run)
        if found is None:
            if intervals.was_cancelled("explained"):
                st.info("Stopped: nothing was computed.", icon=":material/cancel:")
            st.caption(
                "Simulates new outcomes from each model, refits it and the null model to each, "
                f"and reads the 2.5% and 97.5% points of the variance explained. About "
                f"{nsim:,} refits per model."
            )
            return
        if isinstance(found, str):
            widgets.show_error(found)
            return
        rows = []
        for name, table in zip(names, found, strict=True):
            for r in table.itertuples():
                level = ("Students (level 1)" if r.level == "level1"
                         else widgets.group_label(r.level))
                ci = ("" if not (np.isfinite(r.ci_low) and np.isfinite(r.ci_high))
                      else f"[{100 * r.ci_low:.1f}%, {100 * r.ci_high:.1f}%]")
                rows.append({"Model": name, "Level": level, "Explained": r.estimate,
                             "95% CI": ci})
        st.dataframe(pd.DataFrame(rows), hide_index=True,
                     column_config={"Explained": st.column_config.NumberColumn(
                         format="percent")})
        st.caption(
            f"Parametric bootstrap: {nsim:,} simulated data sets per model (seed {seed}); the "
            "same seed gives the same intervals. The smaller model rarely holds exactly under "
            "the larger one, so the draws give the spread and the interval is centred on the "
            "estimate."
        )


# ---------------------------------------------------------------- what the ladder says
st.subheader("What each step adds")
st.markdown("\n".join(f"- {md(s, None)}" for s in ladder_sentences(lad)))

t = lad.table


def p_text(p: float) -> str:
    if not np.isfinite(p):
        return ""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


# numbered names ("2. + random slopes"): the step order shows, and no name starts with "+",
# which a spreadsheet would read as a formula (the CSV escapes such cells with a quote)
step_names = [f"{i}. {n}" for i, n in enumerate(t["model"], start=1)]
group_cols = [
    c for c in t.columns if c.startswith("var_explained_") and c != "var_explained_level1"
]
def stat_text(x: float, fmt: str) -> str:
    return "" if not np.isfinite(x) else format(x, fmt)


shown = pd.DataFrame(
    {
        "Model": step_names,
        "Parameters": t["npar"].astype(int),
        "logLik": t["logLik"],
        "AIC": t["AIC"],
        "BIC": t["BIC"],
        "Deviance": t["deviance"],
        "χ²": [stat_text(x, ".3f") for x in t["Chisq"]],
        "df": [stat_text(x, ".0f") for x in t["Df"]],
        "p": [p_text(p) for p in t["p_value"]],
        "p (boundary-corrected)": [p_text(p) for p in t["p_boundary"]],
    }
)
st.subheader("The ladder")
num2 = st.column_config.NumberColumn(format="%.2f")
st.dataframe(
    shown,
    hide_index=True,
    column_config={
        "logLik": num2,
        "AIC": num2,
        "BIC": num2,
        "Deviance": st.column_config.NumberColumn(format="%.2f", help="−2 × logLik"),
        "χ²": st.column_config.TextColumn(
            help="Likelihood-ratio test of this model against the one above it."
        ),
        "p (boundary-corrected)": st.column_config.TextColumn(
            help="For a step that adds a variance (a random slope): the p value from a 50:50 "
            "mixture of χ² distributions, because a variance can't be below zero. The plain "
            "p is too conservative there."
        ),
    },
)
st.caption(
    ":material/info: All models are fitted by ML (maximum likelihood)"
    + (", including yours, which the Model page estimates by REML" if spec.reml else "")
    + ": REML likelihoods of models with different fixed effects can't be compared (lme4's "
    "anova() refits by ML too). χ², df and p test each model against the one above it "
    "(likelihood-ratio test). p (boundary-corrected) is a 50:50 mixture of χ² distributions, "
    "for steps that add a variance, which can't be below zero."
)
if extra:
    st.caption(
        "Saved models are tested against the model above them; that test is valid only when "
        "the one model is a simpler version of the other (nested). Otherwise compare AIC and "
        "BIC."
    )

st.subheader("Variance explained, relative to the null model")
explained = pd.DataFrame(
    {
        "Model": step_names,
        "Formula": t["formula"],
        "Students (level 1)": t["var_explained_level1"],
        **{f"{widgets.group_label(c[len('var_explained_'):])}": t[c] for c in group_cols},
    }
)
pct = st.column_config.NumberColumn(format="percent")
st.dataframe(
    explained,
    hide_index=True,
    column_config={c: pct for c in explained.columns[2:]},
)
st.caption(
    "How much smaller the residual (student-level) variance and the "
    f"{md(first_group)}-level intercept variance are than in the null model. After random slopes "
    "are added the intercept variance depends on where the predictors are 0, so that share can "
    "fall or turn negative."
)
explained_intervals(null, lad.results[1:], step_names[1:])
if centred:
    st.caption(f":material/align_horizontal_center: **Centring:** {md(centred, None)}.")
widgets.download_csv(t.assign(model=step_names), "model_ladder.csv",
                "Download model comparison (CSV)", key="dl_ladder")

widgets.chart(ladder_plot(t), key="ladder_plot")
st.caption("AIC and BIC of each model: lower is better; the ring marks the lowest.")

# ---------------------------------------------------------------- A against B
st.subheader("Test model A against model B")
st.caption(
    "As the R tutorial's anova(model.a, model.b): choose any two of the models above. When "
    "one is a simpler version of the other (nested), a likelihood-ratio test says whether the "
    "larger one fits better; otherwise AIC and BIC compare them."
)
labels = [n for n, _ in compared]
ca, cb = st.columns(2)
pick_a = ca.selectbox("Model A", labels, index=0, key="w_compare_a", persist_state="session")
pick_b = cb.selectbox("Model B", labels, index=len(labels) - 1, key="w_compare_b",
                      persist_state="session")
if pick_a == pick_b:
    st.info("Choose two different models.")
else:
    ia, ib = labels.index(pick_a), labels.index(pick_b)
    try:
        two = fits.memo("compare_two", (session().data_key(), labels, ia, ib),
                        lambda: compare_two(lad.results[ia], lad.results[ib],
                                            frame, (pick_a, pick_b)))
    except HLMError as exc:
        widgets.show_error(str(exc))
    else:
        st.markdown("\n".join(f"- {widgets.md_text(x)}" for x in two.sentences))
        st.dataframe(
            two.table.assign(p_value=[p_text(p) for p in two.table["p_value"]]),
            hide_index=True,
            column_config={c: num2 for c in ("AIC", "BIC", "logLik", "deviance", "Chisq")},
        )

st.divider()
c1, c2 = st.columns(2)
c1.page_link(nav.MODEL_PAGE, label="Change the model", icon=":material/tune:")
c2.page_link(nav.RESULTS_PAGE, label="Results of your model", icon=":material/table_chart:")
