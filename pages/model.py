"""Model page: build the model with widgets or type an lme4 formula; both stay in step.
Fit model fits once per (data, model) in this session."""

import streamlit as st

from hlm_core.checks import double_bar_notes
from hlm_core.formula import format_formula
from ui import builder, builder_glmm, data, fits, guidance, model, nav, widgets
from ui.state import session
from ui.text import md

widgets.page_header(
    "Model",
    "Choose what to explain (the outcome), what may explain it (predictors), and how the rows "
    "group. Or type the model as a formula.",
)
if nav.need_data():
    st.stop()

frame = data.working_frame()
guidance.workshop_note("model")
model.ensure_model_state(frame)
choices = session().choices
opts = builder.builder_options(choices, frame)


def changed(name: str):
    return {"on_change": model.on_builder_change, "args": (name,)}


# ---------------------------------------------------------------- the builder
col1, col2 = st.columns(2, gap="large")
with col1:
    st.selectbox(
        "Outcome",
        opts["outcome"],
        key=model.W["outcome"],
        placeholder="Choose a number column",
        help="What the model explains, e.g. a test score. Only number columns are listed "
        "(and, for a yes/no outcome, columns with two values such as pass/fail).",
        **changed("outcome"),
    )
    st.radio(
        "Outcome type",
        opts["family"],
        key=model.W["family"],
        format_func=builder_glmm.FAMILY_LABELS.get,
        horizontal=True,
        help="Score: a number such as a test result (linear model). Yes/no: pass/fail, "
        "TRUE/FALSE or 0/1 (logistic model, results in odds). Count: whole numbers from 0, such "
        "as days absent (Poisson model, results as rate ratios). Set from the outcome column; "
        "change it if it is wrong.",
        **changed("family"),
    )
    if choices.get("family") == "binomial":
        st.toggle("Make pass/fail from a score (a pass mark)", key=model.W_THRESHOLD["on"],
                  on_change=model.on_threshold_change,
                  help="For example 'proficient' = math at least 500, without editing the file.")
        if choices.get("threshold") is not None:
            tc1, tc2 = st.columns([1, 2])
            tc1.selectbox("Passes when the outcome is", opts["threshold_op"],
                          key=model.W_THRESHOLD["op"], on_change=model.on_threshold_change)
            tc2.number_input("Pass mark", key=model.W_THRESHOLD["value"],
                             on_change=model.on_threshold_change)
        elif opts["success"]:
            st.selectbox(
                "Counts as success",
                opts["success"],
                key=model.W["success"],
                placeholder=f"{opts['success'][1]} (R's rule: the second value in sorted order)",
                help="Which of the two values the model predicts the chance of.",
                **changed("success"),
            )
    if choices.get("family", "gaussian") != "gaussian":
        st.number_input(
            "Quadrature points (nAGQ)", min_value=1, max_value=25, step=1, key=model.W["nagq"],
            help="1 = the Laplace approximation (lme4's default). More points approximate the "
            "likelihood more exactly but work only with one random intercept and no slopes.",
            **changed("nagq"),
        )
        guidance.workshop_note("yes_no_outcomes")
    st.multiselect(
        "Predictors",
        opts["predictors"],
        key=model.W["predictors"],
        placeholder="None: a model with no predictors (to see how much classes differ)",
        help="Student-level (e.g. days of preparation) or class-level columns (e.g. class size).",
        **changed("predictors"),
    )
    centrable = opts["centering"]
    if centrable:
        within = choices["group"] or "group"
        w_md = md(within)
        st.markdown(
            "**Centring**",
            help="Grand mean: subtract the overall mean, so the intercept is the outcome of an "
            f"average student. Group mean: subtract each {w_md}'s own mean (the effect within "
            f"a {w_md}) and add the {w_md} mean as a predictor of its own (the contextual "
            f"effect: how the {w_md}'s average matters).",
        )
        ccols = st.columns(min(3, len(centrable)))
        for i, p in enumerate(centrable):
            with ccols[i % len(ccols)]:
                st.selectbox(
                    f"Centre {md(p)}",
                    list(builder.CENTERING),
                    key=model.W_CENTER + p,
                    format_func=lambda h, w=within: (
                        f"Group mean (within {w})" if h == "group" else builder.CENTERING[h]
                    ),
                    on_change=model.on_center_change,
                    args=(p,),
                )
        guidance.workshop_note("centring")
    st.multiselect(
        "Interactions",
        opts["interactions"],
        key=model.W["interactions"],
        format_func=builder.interaction_label,
        placeholder="Choose two or more predictors first" if len(opts["slopes"]) < 2 else
        "None",
        disabled=len(opts["slopes"]) < 2,
        help="Does the effect of one predictor depend on another? A student-level × class-level "
        "pair is a cross-level interaction.",
        **changed("interactions"),
    )
    st.radio(
        "Estimation",
        list(builder.METHODS),
        key=model.W["method"],
        format_func=builder.METHODS.get,
        horizontal=True,
        disabled=choices.get("family", "gaussian") != "gaussian",
        help="REML gives the best variance estimates; ML is needed to compare models that "
        "differ in their predictors with a likelihood-ratio test. Yes/no and count models are "
        "always estimated by ML.",
        **changed("method"),
    )
with col2:
    st.selectbox(
        "Grouping variable",
        opts["group"],
        key=model.W["group"],
        placeholder="Choose the column that says which class each row is in",
        help="The column naming each row's class (or school): the groups the model compares.",
        **changed("group"),
    )
    st.multiselect(
        "Higher levels (optional)",
        opts["higher"],
        key=model.W["higher"],
        disabled=not choices["group"],
        placeholder="e.g. school, then district",
        help="If classes sit in schools (and schools in districts), add them here, smallest first.",
        **changed("higher"),
    )
    st.multiselect(
        "Crossed with (optional)",
        opts["crossed"],
        key=model.W["crossed"],
        disabled=not choices["group"],
        placeholder="e.g. secondary school, when pupils come from many primary schools",
        help="A second grouping that cuts across the first instead of containing it: pupils of "
        "one primary school go on to several secondary schools. Each gets its own random "
        "intercept, (1 | primary) + (1 | secondary).",
        **changed("crossed"),
    )
    st.multiselect(
        "Random slopes",
        opts["slopes"],
        key=model.W["slopes"],
        disabled=not opts["slopes"] or not choices["group"],
        placeholder="Choose predictors first" if not opts["slopes"] else "None",
        help="Predictors whose effect may differ from class to class (e.g. days of preparation "
        "helps more in some classes).",
        **changed("slopes"),
    )
    st.toggle(
        "Correlated random effects",
        key=model.W["correlated"],
        disabled=not choices["slopes"],
        help="Let a class's average and its slopes be correlated (lme4's `|`); off gives the "
        "uncorrelated form (`||`).",
        **changed("correlated"),
    )

# ---------------------------------------------------------------- the formula
st.text_input(
    "Formula",
    key=model.W_FORMULA,
    on_change=model.on_formula_enter,
    placeholder="score ~ exam.prep.days + (exam.prep.days | class)",
    help="The model in lme4's formula language. Type a formula and press Enter to set the "
    "choices above; changing the choices rewrites the formula.",
)
error = session().formula_error
if error:
    message, position, text = error
    widgets.show_error(message)
    if position is not None and text:
        st.code(f"{text}\n{' ' * max(0, position)}^", language=None)
elif session().custom:
    st.info(
        "This formula has parts the choices above can't show; the model uses the formula as "
        "typed.",
        icon=":material/info:",
    )

spec = session().spec
if spec is not None:
    if spec.family == "gaussian":
        st.caption(f"Estimated by {'REML' if spec.reml else 'ML'}.")
    else:
        st.caption(md(builder_glmm.spec_caption(spec), None))
    for what_bar_did in double_bar_notes(spec, frame):  # `||` with a category, as lme4
        widgets.note(what_bar_did)
    centred = model.centering_text(spec)
    if centred:
        st.caption(
            f":material/align_horizontal_center: **Centring** (applied to the data, not part of "
            f"lme4's formula): {md(centred, None)}."
        )

# ---------------------------------------------------------------- crossed: the structure check
if choices["group"] and choices.get("crossed"):
    for other in choices["crossed"]:
        kind, sentence = builder.crossing(frame, choices["group"], other)
        if kind == "crossed":
            st.caption(f":material/grid_on: {md(sentence, None)}")
        elif kind == "error":
            widgets.show_error(sentence)
        else:
            st.warning(md(sentence, None), icon=":material/account_tree:")

# ---------------------------------------------------------------- fit
ready = spec is not None and bool(spec.random) and not error
if spec is None:
    st.info("Choose an outcome to start.")
elif not spec.random:
    st.info("The model has no grouping variable. Choose the column saying which class (or "
            "school) each row belongs to under Grouping variable, or add it to the formula as "
            "`(1 | class)`.")

if st.button("Fit model", type="primary", disabled=not ready, icon=":material/play_arrow:"):
    if fits.fit_model(spec) is not None:
        st.rerun()  # the sidebar (drawn above) must show the model just fitted

if session().fit_error:
    widgets.show_error(session().fit_error)

result = fits.current_fit()
if result is not None:
    if fits.fit_is_stale():
        st.warning(
            f"The results show the model fitted before: "
            f"{widgets.md_code(format_formula(result.spec))} "
            f"({result.method}). Press Fit model to fit the model above.",
            icon=":material/history:",
        )
    else:
        fit_s = result.timing.get("fit_s")
        took = f" in {fit_s:.1f} s" if fit_s is not None else ""
        st.success(
            f"Fitted{took}: {result.nobs:,} rows in "
            + " and ".join(f"{n:,} {md(result.group_words(g))}" for g, n in result.ngroups.items())
            + ".",
            icon=":material/check_circle:",
        )
    dropped = fits.rows_dropped_text(result)
    if dropped:
        st.info(md(dropped, None), icon=":material/filter_alt:")
    for w in result.warnings:
        st.warning(md(w, None), icon=":material/warning:")
    st.page_link(nav.RESULTS_PAGE, label="See the results", icon=":material/arrow_forward:")
    if not fits.fit_is_stale():
        widgets.save_model_controls(result.spec, key="save_model_page")

model.builder_rendered()  # last: the browser now has the builder as the choices say
