"""Slopes page: each group's line as the model predicts it, beside straight lines fitted to each
group's own raw data, so the user sees what the model adds."""

import numpy as np
import streamlit as st

from hlm_core.effects import (
    centring_group,
    default_step,
    group_ols_lines,
    held_values,
    model_scale_data,
    pred_slope,
)
from hlm_core.effects_glmm import predicted_curves, raw_rates, response_title
from hlm_core.errors import HLMError
from hlm_core.figures import group_lines, spread_groups
from hlm_core.plot_text import plot_escape
from ui import data, fits, guidance, nav, widgets
from ui.state import session
from ui.text import md

widgets.page_header(
    "Slopes",
    "How the outcome changes with one predictor in each group: the model's line for every group "
    "(left) beside a straight line fitted to each group's own data (right).",
)
result = nav.need_fit()
if result is None:
    st.stop()
guidance.workshop_note("slopes")

mf = result.model_frame
numeric = [v for v, info in mf.variables.items() if info.kind == "numeric"]
if not numeric:
    st.info(
        "This model has no number predictor to draw lines for. Add one (for example days of "
        "exam preparation) on the Model page and fit again."
    )
    st.page_link(nav.MODEL_PAGE, label="Go to Model", icon=":material/tune:")
    st.stop()

slope_vars = [
    v for re_ in result.spec.random for t in re_.slopes for v in t.variables if v in numeric
]
ordered = list(dict.fromkeys(slope_vars + numeric))
groups = result.group_names
c1, c2 = st.columns(2)
with c1:
    predictor = st.selectbox(
        "Predictor",
        ordered,
        key="w_slopes_predictor",
        persist_state="session",
        help="Predictors with a random slope come first: their lines differ in steepness. "
        + (guidance.help_text("random slope") or ""),
    )
group = groups[0]
if len(groups) > 1:
    with c2:
        group = st.selectbox(
            "Level",
            groups,
            format_func=widgets.group_label,
            key="w_slopes_level",
            persist_state="session",
            help="For a model with several levels (class in school), choose which groups to draw.",
        )

info = mf.variables[predictor]
lo_data, hi_data = float(info.minimum), float(info.maximum)
if hi_data <= lo_data:
    hi_data = lo_data + 1.0
# the rows the model used, with centred predictors on the model's scale, so the raw-data lines
# sit on the same axis as the model's lines
raw = fits.memo("slopes_rows", session().fit_key,
              lambda: model_scale_data(result, data.working_frame()))
values = raw[predictor].to_numpy(dtype=float)
x_title = predictor
if info.center == "group":
    x_title = f"{predictor} (centred within {centring_group(result.spec)})"
elif info.center == "grand":
    x_title = f"{predictor} (centred: 0 = overall mean {info.raw_mean:.4g})"
whole = bool(np.all(np.mod(values[np.isfinite(values)], 1) == 0)) and hi_data - lo_data >= 5
# 0 can always be chosen (the R tutorial's table starts at 0 days), the data's range is the
# default
lo_min = min(lo_data, 0.0) if info.center == "none" and lo_data >= 0 else lo_data
# a range kept from another model or opened from an analysis file must fit this slider
kept = st.session_state.get(f"w_slopes_range_{predictor}")
if kept is not None and not lo_min <= min(kept) <= max(kept) <= hi_data:
    del st.session_state[f"w_slopes_range_{predictor}"]
lo, hi = st.slider(
    f"Range of {md(predictor)}" + (" (centred)" if info.center != "none" else ""),
    min_value=lo_min,
    max_value=hi_data,
    value=(lo_data, hi_data),
    step=1.0 if whole else None,
    format="%d" if whole else None,
    key=f"w_slopes_range_{predictor}",
    persist_state="session",
)
if hi <= lo:
    hi = lo + (hi_data - lo_data) / 100

# ---------------------------------------------------------------- the other predictors
HOLDS = {"mean": "their means", "zero": "0 (each group's coef(), as the R tutorial)",
         "typed": "values I type"}
others = [v for v in mf.variables if v != predictor]
hold_choice = "mean"
if others:
    hold_choice = st.radio(
        "Hold the other predictors at",
        list(HOLDS),
        format_func=HOLDS.get,
        horizontal=True,
        key="w_slopes_hold",
        persist_state="session",
        help="The lines show how the outcome changes with the chosen predictor while every other "
        "predictor stays at one value. At 0 each line is the group's own intercept + slope × x "
        "(lme4's coef()); categories stay at their reference level unless you choose one.",
    )
hold: str | dict = hold_choice
if hold_choice == "typed":
    typed: dict = {}
    boxes = st.columns(min(3, len(others)))
    for k, v in enumerate(others):
        vi = mf.variables[v]
        with boxes[k % len(boxes)]:
            if vi.kind == "numeric":
                if isinstance(st.session_state.get(f"w_slopes_hold_{v}"), str):
                    del st.session_state[f"w_slopes_hold_{v}"]  # kept for a category before
                typed[v] = st.number_input(md(v), value=float(round(vi.mean, 4)), format="%.4g",
                                           key=f"w_slopes_hold_{v}", persist_state="session")
            else:
                typed[v] = st.selectbox(md(v), vi.levels, key=f"w_slopes_hold_{v}",
                                        persist_state="session")
    hold = typed
step = st.number_input(
    f"Step in {md(predictor)} for the table",
    min_value=(hi - lo) / 2000 if hi > lo else 1e-9,
    value=default_step(result, predictor),
    format="%g",
    key=f"w_slopes_step_{predictor}",
    persist_state="session",
    help="The table lists every group at " + predictor + " = from, from + step, ... up to the "
    "end of the range (1 for whole-number predictors such as days).",
)

# the view's key: the lines, the table and both figures are made once per fit and view, so a
# second visit only sends them (the 20,000-line figures of a million rows took 0.27 s of CPU)
view_key = (session().fit_key, predictor, group, lo, hi, repr(hold))


def model_lines():
    if result.is_glmm:  # curves of the predicted probability (or count) per group
        return predicted_curves(result, predictor, lo, hi, n=40, group=group, hold=hold)
    return pred_slope(result, predictor, lo, hi, n=2, group=group, hold=hold)


try:
    held = held_values(result, predictor, hold)
    predicted = fits.memo("slopes_predicted", view_key, model_lines)
    table = fits.memo("slopes_table", (view_key, step), lambda: pred_slope(
        result, predictor, lo, hi, group=group, step=step, hold=hold))
except HLMError as exc:
    widgets.show_error(str(exc))
    st.stop()
session().slopes = {"fit_key": session().fit_key, "predictor": predictor, "lo": lo, "hi": hi,
                    "step": step, "hold": hold}
held_text = ("Other predictors held at: " + ", ".join(
    f"{k} = {v if isinstance(v, str) else format(v, '.4g')}" for k, v in held.items()) + "."
    if held else "The model has no other predictors.")

outcome = result.spec.outcome
block = next(b for b in mf.blocks if b.group == group)


def own_group_lines():
    if len(block.columns) == 1:
        return group_ols_lines(raw, outcome, predictor, block.columns[0])
    # a nested level such as class:school: the group is the combination of the columns
    d = raw[[outcome, predictor]].copy()
    d[group] = data.combined_labels(raw, block.columns)
    return group_ols_lines(d, outcome, predictor, group)


if result.is_glmm:  # the raw proportion (mean count) per group in quarters of the predictor
    own_lines = fits.memo("raw_rates", (session().fit_key, predictor, group),
                          lambda: raw_rates(result, values, group).rename(
                              columns={"x": predictor}))
else:
    own_lines = fits.memo("ols_lines", (session().fit_key, predictor, group),
                          own_group_lines)

# Thousands of lines take seconds to draw in a browser without a graphics card, and are a blur
# anyway: above MAX_LINES draw an even spread of them unless the user asks for all.
MAX_LINES = 1000
n_groups = int(predicted["group"].nunique())
drawn_pred, drawn_own = predicted, own_lines
if n_groups > MAX_LINES:
    draw_all = st.checkbox(
        f"Draw all {n_groups:,} lines",
        key="w_slopes_all",
        persist_state="session",
        help="Slow in browsers without a graphics card.",
    )
    if not draw_all:
        keep = spread_groups(predicted, MAX_LINES)
        drawn_pred = predicted[predicted["group"].astype(str).isin(keep)]
        drawn_own = own_lines[own_lines["group"].astype(str).isin(keep)]
        st.caption(
            f"Showing {MAX_LINES:,} of {n_groups:,} {md(result.group_words(group))}, evenly "
            "spread from the lowest line to the highest. The table below and its CSV have all "
            "of them."
        )

ys = np.concatenate([drawn_pred["prediction"].to_numpy(), drawn_own["prediction"].to_numpy()])
ys = ys[np.isfinite(ys)]
pad = 0.05 * (ys.max() - ys.min()) if ys.size else 0.0
y_range = (ys.min() - pad, ys.max() + pad) if ys.size else None

model_title = f"What the model predicts, per {widgets.group_label(group)}"
own_title = f"Each {group if ':' not in group else 'group'}'s own data (straight-line fit)"
if result.is_glmm:
    outcome = response_title(result)
    own_title = (f"Each {group if ':' not in group else 'group'}'s raw "
                 f"{'proportion' if result.family == 'binomial' else 'mean count'}, "
                 f"in quarters of {predictor}")


def both_figures():
    figs = []
    for lines, title in ((drawn_pred, model_title), (drawn_own, own_title)):
        f = group_lines(lines, predictor, outcome, title, y_range=y_range, order=block.levels)
        f.update_xaxes(range=[lo, hi], title_text=plot_escape(x_title))
        figs.append(f)
    return figs


fig, fig2 = fits.memo("slopes_figures", (view_key, len(drawn_pred)), both_figures)
left, right = st.columns(2, gap="large")
with left:
    widgets.chart(fig, key="slopes_model")
    st.caption(
        f"{widgets.md_text(held_text)} Lines are pulled towards the overall line, most for "
        f"small {md(result.group_words(group))}."
    )
with right:
    widgets.chart(fig2, key="slopes_raw")
    skipped = n_groups - int(own_lines["group"].nunique())
    st.caption(
        ("The share of each group's pupils with the outcome (or their mean count) among "
         "those in each quarter of the predictor, without the model." if result.is_glmm else
         "An ordinary straight line through each group's own points, without the model.")
        + (f" {skipped:,} group(s) have too few different values of {md(predictor)} for a "
           "line."
           if skipped > 0 else "")
    )

guidance.workshop_note("random_slope")
guidance.workshop_note("shrinkage")

widgets.show_centering(result)
if info.center != "none":
    within = centring_group(result.spec)
    st.caption(
        f"Both panels put {md(predictor)} on the centred scale the model used"
        + (f": 0 is each {md(within)}'s own mean, so the lines show the effect within a "
           f"{md(within)}."
           if info.center == "group" else ".")
    )

st.subheader("Predicted lines (pred.slope)")
group_col = widgets.group_label(group) if group not in (predictor, "prediction") else "group"
shown = table.rename(columns={"group": group_col})
st.caption(
    f"One row per {widgets.md_text(group_col)} per step of {step:g} in "
    f"{widgets.md_text(predictor)}, from {lo:g} to {hi:g} ({len(shown):,} rows), as the R "
    f"tutorial's pred.slope table. {widgets.md_text(held_text)}"
)
st.dataframe(shown, hide_index=True, height=260,
             column_config={"prediction": st.column_config.NumberColumn(format="%.4f")})
widgets.download_csv(shown, f"pred_slope_{predictor}.csv", "Download predicted lines (CSV)",
                     key="dl_pred_slope")
