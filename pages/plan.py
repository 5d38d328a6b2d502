"""Plan a study page: how many schools (or classes) the next study needs, its power, or the
smallest effect it can detect — PowerUpR's closed forms with inputs read from the user's data
(each with where it came from, and each can be overwritten), power curves, a what-if table,
and a simulation from the fitted model with a progress bar, Cancel and a seed."""

import streamlit as st

from hlm_core.errors import HLMError
from hlm_core.figures import power_clusters_figure, power_effect_figure
from hlm_core.plan_views import INPUT_HELP, INPUT_LABELS, powerupr_call, what_if
from hlm_core.power import DESIGN_LABELS, TOP_LEVEL, TOP_NAME, Plan, solve
from hlm_core.power_sim import MAX_SIMS, SimSettings
from ui import guidance, nav, widgets
from ui import plan as ui_plan
from ui.state import session
from ui.text import md

widgets.page_header(
    "Plan a study",
    "How many schools or classes does the next study need to detect the effect of a "
    "programme? Work out the number of clusters, the power, or the smallest effect a study "
    "can detect, with the ICC and group sizes taken from your data.",
)
s = session()
guidance.workshop_note("planning")

# ---------------------------------------------------------------- the question
c1, c2 = st.columns(2)
with c1:
    design = st.radio(
        "How will the programme be assigned?", list(DESIGN_LABELS), key="w_plan_design",
        format_func=DESIGN_LABELS.get,
        help="cra2, cra3 and bira2 are the names of these designs in R's PowerUpR.",
    )
with c2:
    what = st.radio(
        "What do you want to work out?", ["clusters", "power", "mdes"], key="w_plan_solve",
        format_func={"clusters": f"How many {TOP_NAME[design]} are needed",
                     "power": "The power of a study of a given size",
                     "mdes": "The smallest effect a study can detect (MDES)"}.get,
    )

# ---------------------------------------------------------------- values from the data
found = ui_plan.found_values(design)
with st.container(border=True):
    if s.table is None:
        st.markdown("**Values from your data:** none yet.")
        st.caption("Load data on the Data page and choose a model with a grouping variable: the "
                   "ICC and group sizes are then read from your data. Meanwhile the inputs "
                   "start at typical values.")
        st.page_link(nav.DATA_PAGE, label="Go to Data", icon=":material/upload_file:")
    else:
        have = ", ".join(INPUT_LABELS[n] for n in found if n in INPUT_LABELS) or "none yet"
        st.markdown(f"**Values from your data:** {md(have)}")
        b1, b2 = st.columns(2)
        if ui_plan.null_model() is None:
            if b1.button("Fit the null model", icon=":material/functions:",
                         help="The model with no predictors, only the grouping: it measures "
                         "the ICC. Nothing else on the other pages changes."):
                problem = ui_plan.fit_null_model(
                    then=lambda _, d=design: ui_plan.use_data_values(d))
                if problem:
                    widgets.show_error(problem)
                else:
                    st.rerun()
        b2.button("Use the values from my data", on_click=ui_plan.use_data_values,
                  args=(design,), icon=":material/restart_alt:",
                  help="Put every value the data give back into the inputs below.")
        if ui_plan.ladder() is None:
            st.caption("The R² of covariates come from the model ladder: fit it on the Compare "
                       "page to fill them from your predictors.")

# ---------------------------------------------------------------- the inputs
top = TOP_LEVEL[design]
names = ["es", "power", "rho2"] + (["rho3"] if design == "cra3" else []) + (
    ["omega2"] if design == "bira2" else []) + ["n", "J"] + (["K"] if design == "cra3" else [])
names += ["p", "r21"] + {"cra2": ["r22", "g2"], "cra3": ["r22", "r23", "g3"],
                         "bira2": ["r2t2", "g2"]}[design] + ["alpha"]
ui_plan.ensure_defaults(names, design, found)
shown = [n for n in names if not (n == "es" and what == "mdes")
         and not (n == top and what == "clusters")]
main = [n for n in shown if n in ("es", "power", "rho2", "rho3", "omega2", "n", "J", "K")]
more = [n for n in shown if n not in main]
values: dict[str, float] = {}
sources: dict[str, str] = {}


def number(name: str) -> None:
    help_key = {"J": "J_classes" if design == "cra3" else (
        "J_sites" if design == "bira2" else "J_clusters")}.get(name, name)
    label = {"J": "Classes per school (J)", "rho2": "ICC, classes within schools (rho2)",
             "r22": "R² of covariates, classes (r22)"}.get(name, INPUT_LABELS[name]) \
        if design == "cra3" else INPUT_LABELS[name]
    integer = name in ui_plan.INTEGER
    values[name] = st.number_input(
        label, key=ui_plan.key(name, design), help=INPUT_HELP[help_key],
        min_value=0 if integer else 0.0,
        step=1 if integer else (1.0 if name in ("n", "J", "K") else 0.01),
        format=ui_plan.input_format(name),
    )
    sources[name] = ui_plan.source_note(name, values[name], found)
    st.caption(md(sources[name]))


st.subheader("Your study")
cols = st.columns(3)
for i, name in enumerate(main):
    with cols[i % 3]:
        number(name)
with st.expander("More settings: share treated, covariates, significance level"):
    cols = st.columns(3)
    for i, name in enumerate(more):
        with cols[i % 3]:
            number(name)
    one_tailed = st.checkbox("One-tailed test", key="w_plan_one_tailed",
                             help=INPUT_HELP["one_tailed"])

plan_args = {k: (int(v) if k in ui_plan.INTEGER else float(v)) for k, v in values.items()}
plan = Plan(design=design, two_tailed=not one_tailed, **plan_args)
try:
    res = solve(plan, what)
except HLMError as exc:
    widgets.show_error(str(exc))
    st.stop()
ui_plan.store(res, sources)

# ---------------------------------------------------------------- the answer
st.subheader("The answer")
unit = TOP_NAME[design]
count = f"{res.clusters:g}"
m1, m2, m3 = st.columns(3)
m1.metric(f"Number of {unit} ({top})", count,
          help="The smallest whole number whose power reaches the target." if what ==
          "clusters" else "As entered.")
m2.metric(f"Power to detect {res.es:.2f} SD", f"{res.power:.1%}")
m3.metric("Smallest detectable effect (MDES)", f"{res.mdes:.3f} SD",
          help=f"At {plan.power:.0%} power; {100 * (1 - plan.alpha):g}% interval "
          f"{res.mdes_ci[0]:.3f} to {res.mdes_ci[1]:.3f} (PowerUpR).")
per = (f", with {plan.J:g} classes of {plan.n:g} pupils in each" if design == "cra3"
       else f" of {plan.n:g} pupils each")
if what == "clusters":
    sentence = (f"You need **{count} {unit}**{per} to detect an effect of {plan.es:g} SD with "
                f"{plan.power:.0%} power (df = {res.df:g}).")
elif what == "power":
    sentence = (f"With {count} {unit}{per}, the chance of detecting an effect of {plan.es:g} SD "
                f"is **{res.power:.1%}**.")
else:
    sentence = (f"With {count} {unit}{per}, the smallest effect detected with {plan.power:.0%} "
                f"power is **{res.mdes:.3f} SD**.")
st.success(sentence, icon=":material/check_circle:")
for note in res.notes:
    st.caption(note)

f1, f2 = st.columns(2)
with f1:
    widgets.chart(power_clusters_figure(res), key="plan_clusters", width="stretch")
with f2:
    widgets.chart(power_effect_figure(res), key="plan_effect", width="stretch")

st.markdown("**What if the ICC or the class size are a little different?**")
st.caption("Your inputs are estimates: the same question again with each moved a little.")
wi = what_if(res)
answer_label = {"clusters": f"{unit} needed", "power": "power", "mdes": "MDES (SD)"}[what]
wi = wi.rename(columns={"change": "What changes", "rho2": "ICC (rho2)", "rho3": "ICC (rho3)",
                        "n": "pupils per cluster", "answer": answer_label, "note": "Note"})
if not wi["Note"].astype(bool).any():
    wi = wi.drop(columns="Note")
st.dataframe(wi, hide_index=True, width="stretch")

with st.expander("The same calculation in R (PowerUpR)"):
    widgets.readable_code_colours()
    st.code(powerupr_call(res), language="r")

# ---------------------------------------------------------------- simulation
st.subheader("Check by simulation from your fitted model")
result = s.current_fit()
if result is None:
    st.caption("Fit a model with the programme (or another predictor) on the Model page to "
               "estimate power by simulating new studies from it, as R's simr does.")
    st.stop()
terms = [t for t in result.fixed["term"] if t != "(Intercept)"]
if not terms:
    st.caption("The fitted model has no predictor to test: add the programme variable.")
    st.stop()
st.caption("New data sets are simulated from the fitted model with the numbers of groups and "
           "pupils below, the model is refitted to each, and the effect is tested with the "
           "Satterthwaite t-test (or the likelihood-ratio test). Power is the share of "
           "simulated studies where p < alpha.")
top_group, inner_group = ui_plan.sim_levels(result)
fixef = result.fixef()
with st.form("plan_sim"):
    a1, a2, a3 = st.columns(3)
    term = a1.selectbox("Effect to test", terms, key="w_plan_sim_term")
    effect = a2.number_input(
        "Size of the effect (outcome units)", key="w_plan_sim_effect",
        value=float(round(fixef[terms[0]], 4)), format="%.4f",
        help="As fitted, or the effect you want to be able to detect, in the outcome's units.")
    test = a3.radio("Test", ["t", "lrt"], key="w_plan_sim_test", horizontal=True,
                    format_func={"t": "Satterthwaite t-test", "lrt": "Likelihood ratio"}.get,
                    help="The t-test with Satterthwaite df is honest with few clusters; the "
                    "likelihood-ratio test rejects too often then.")
    b1, b2, b3, b4 = st.columns(4)
    n_top = b1.number_input(f"Number of {ui_plan.group_text(result, top_group)} groups",
                            min_value=3, step=1, key=f"w_plan_sim_top_{res.clusters}",
                            value=int(res.clusters) if float(res.clusters).is_integer() else
                            int(result.ngroups[top_group]),
                            help="Each simulated study copies whole groups of your data (with "
                            "the groups inside them) until it has this many. Starts at the "
                            "answer above (and follows it until you change this number).")
    size = b2.number_input(
        f"Rows per {ui_plan.group_text(result, inner_group)} group", min_value=1, step=1,
        key="w_plan_sim_size",
        value=max(1, round(result.nobs / result.ngroups[inner_group])))
    nsim = b3.number_input("Simulations", min_value=10, max_value=MAX_SIMS, step=50,
                           value=200, key="w_plan_sim_n",
                           help="More simulations give a narrower interval (500 give about "
                           "±4 points of power).")
    seed = b4.number_input("Seed", min_value=0, step=1, value=1, key="w_plan_sim_seed",
                           help="The same seed gives the same answer.")
    go_sim = st.form_submit_button("Run the simulation", type="primary",
                                   icon=":material/play_arrow:")
if go_sim:
    problem = ui_plan.start_sim(result, SimSettings(
        term=term, effect=float(effect), clusters=int(n_top), group_size=int(size),
        nsim=int(nsim), test=test, alpha=plan.alpha, seed=int(seed)))
    if problem:
        widgets.show_error(problem)

run = ui_plan.sim_run()
if run is not None and run.result is result:
    summary = run.summary()
    ui_plan.store(res, sources, summary)
    if not run.finished:
        bar = st.progress(run.done / run.settings.nsim,
                          text=f"Simulation {run.done:,} of {run.settings.nsim:,}")
        st.button("Cancel", on_click=ui_plan.cancel_sim, icon=":material/stop_circle:")
        ui_plan.step_sim(bar)
        st.rerun()
    st.metric(
        f"Simulated power ({summary.n_done:,} simulations"
        f"{', cancelled' if summary.cancelled else ''})",
        f"{summary.power:.1%}" if summary.n_done else "–",
        help="95% Monte-Carlo interval (Clopper–Pearson): how far the estimate could be from "
        "the power with endless simulations.",
    )
    test_name = {"t": "Satterthwaite t-test", "lrt": "likelihood-ratio test"}[run.settings.test]
    st.caption(md(
        f"95% Monte-Carlo interval {summary.ci[0]:.1%} to {summary.ci[1]:.1%}. Effect of "
        f"{run.settings.term} set to {run.settings.effect:g}; {summary.n_top:,} groups and "
        f"{summary.n_rows:,} rows per simulated study; {test_name}; seed {run.settings.seed}."))
    for note in summary.notes:
        st.caption(note)
