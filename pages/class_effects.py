"""Class effects page: the caterpillar plot, one panel per random term, and the table."""

import numpy as np
import streamlit as st

import ui_common as ui
from hlm_core.effects import ranef_table
from hlm_core.figures import MODES, caterpillar
from hlm_core.report import plural

ui.page_header(
    "Class effects",
    "How each group differs from the average, with a 95% interval. Groups whose interval does "
    "not include the average are coloured.",
)
result = ui.need_fit()
if result is None:
    st.stop()

groups = result.group_names
group = groups[0]
if len(groups) > 1:
    c1, c2, c3 = st.columns(3)
    with c1:
        group = st.selectbox(
            "Level",
            groups,
            format_func=ui.group_label,
            key="w_effects_level",
            persist_state="session",
            help="For a model with several levels (class in school), choose which groups to show.",
        )
else:
    c2, c3 = st.columns([3, 3])
with c2:
    mode = st.radio(
        "Show",
        ["own", "deviation"],
        format_func=MODES.get,
        horizontal=True,
        key="w_effects_mode",
        persist_state="session",
        help="Own value = overall effect + the group's difference (the group's own intercept or "
        "slope). Deviation = only the difference from the overall average.",
    )
with c3:
    search = st.text_input(
        "Find a group",
        key="w_effects_search",
        persist_state="session",
        placeholder="Type part of a group's name",
    )

table = ranef_table(result, group)
n_groups = int(table["level"].nunique())
c4, c5 = st.columns([3, 5])
with c4:
    subset = st.radio(
        "Groups shown",
        ["all", "extremes"],
        format_func=lambda s: "All groups" if s == "all" else "Highest and lowest only",
        horizontal=True,
        key="w_effects_subset",
        persist_state="session",
    )
with c5:
    top_n = st.number_input(
        "How many at each end",
        min_value=1,
        max_value=max(1, n_groups),
        value=min(10, max(1, n_groups)),
        key="w_effects_topn",
        persist_state="session",
        disabled=subset == "all",
    )

matches: list[str] = []
if search.strip():
    needle = search.strip().casefold()
    levels = table["level"].astype(str).drop_duplicates()
    matches = levels[levels.str.casefold().str.contains(needle, regex=False)].tolist()
    if matches:
        st.caption(
            f"{len(matches):,} group(s) match '{search.strip()}'"
            + (": marked in the plots." if len(matches) <= 20 else "; the first 20 are marked.")
        )
    else:
        st.caption(f"No group matches '{search.strip()}'.")

outcome = result.spec.outcome
fixef = result.fixef()
null_model = len(fixef) == 1
for term in result.random_terms(group):
    t = table[table["term"] == term]
    if subset == "extremes" and len(t) > 2 * top_n:
        value = t["coef" if mode == "own" else "ranef"].to_numpy()
        order = np.argsort(value, kind="stable")
        keep = np.r_[order[:top_n], order[-top_n:]]
        t = t.iloc[np.sort(keep)]
    if term == "(Intercept)":
        heading = (
            f"Average {outcome} per {ui.group_label(group)}"
            if null_model
            else f"Intercept per {ui.group_label(group)} ({outcome} when the predictors are 0)"
        )
    else:
        heading = f"Effect of {term} per {ui.group_label(group)}"
    st.subheader(heading)
    fig = caterpillar(
        t,
        term,
        mode,
        value_title=f"{MODES[mode]}: {term}",
        group_title=ui.group_label(group),
        search=matches,
    )
    st.plotly_chart(fig, key=f"caterpillar_{group}_{term}", config={"displaylogo": False})
    above = int((t["ranef_low"] > 0).sum())  # the same groups in either view
    below = int((t["ranef_high"] < 0).sum())
    st.caption(
        f"{len(t):,} {plural(group)} shown. {above:,} clearly above the average, {below:,} clearly "
        "below; for the others the interval includes the average. Small groups have wide "
        "intervals: the model can say less about them."
    )

st.subheader("Table")
shown = table if not matches else table[table["level"].astype(str).isin(matches)]
MAX_ROWS = 5000  # a bigger table only slows the page; the CSV has every row
st.dataframe(
    shown.head(MAX_ROWS),
    hide_index=True,
    column_config={
        c: st.column_config.NumberColumn(format="%.4f")
        for c in ["ranef", "cond_sd", "ranef_low", "ranef_high", "coef", "coef_low", "coef_high"]
    },
    height=320,
)
if len(shown) > MAX_ROWS:
    st.caption(
        f"The first {MAX_ROWS:,} of {len(shown):,} rows: use Find a group above, or download "
        "the CSV for all of them."
    )
st.caption(
    "ranef = difference from the average (lme4's ranef), coef = the group's own value (fixed "
    "effect + ranef, lme4's coef), with 95% intervals from the conditional SD."
)
ui.download_csv(table, f"class_effects_{group}.csv", "Download class effects (CSV)",
                key="dl_effects")
