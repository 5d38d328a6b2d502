"""Class effects page: the caterpillar plot, one panel per random term, and the table."""

import numpy as np
import pandas as pd
import streamlit as st

from hlm_core.effects import ranef_table
from hlm_core.effects_glmm import response_scale_table, response_title
from hlm_core.fairness import DEFAULT_MIN_GROUP, hide_small_groups
from hlm_core.figures import MODES, caterpillar
from ui import fair, fits, guidance, nav, widgets
from ui.state import session
from ui.text import md

widgets.page_header(
    "Class effects",
    "How each group differs from the average, with a 95% interval. Groups whose interval does "
    "not include the average are coloured.",
)
result = nav.need_fit()
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
            format_func=widgets.group_label,
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

fit_key = session().fit_key
full_table = fits.memo("effects_table", (fit_key, group), lambda: ranef_table(result, group))
g_md, gs_md = md(group), md(result.group_words(group))  # the group's name as Markdown text
if result.is_glmm:
    link = result.extra.get("link", "logit")
    scale = st.radio(
        "Scale",
        ["link", "response"],
        format_func=lambda v: f"Model scale ({link})" if v == "link" else (
            "Predicted probability for an average pupil" if result.family == "binomial"
            else "Expected count for an average pupil"),
        horizontal=True,
        key="w_effects_scale",
        persist_state="session",
        help="The model works on the log-odds (logit) or log scale. The other view shows each "
        "group's prediction for a pupil with average values of the predictors (intercepts "
        "only; slopes stay on the model scale).",
    )
    if scale == "response":
        full_table = response_scale_table(result, full_table)
hcol1, hcol2 = st.columns([3, 2], vertical_alignment="bottom")
with hcol1:
    hide = st.checkbox(
        "Hide groups with fewer than k students",
        value=True,
        key="w_effects_hide",
        persist_state="session",
        help="For views shared with teachers: a very small group's result could point to "
        "individual students. Hidden groups still count in the model; they are only left out "
        "of the plots, tables and downloads on this page.",
    )
with hcol2:
    k_min = st.number_input(
        "k (smallest group shown)",
        min_value=2,
        max_value=1000,
        value=DEFAULT_MIN_GROUP,
        key="w_effects_k",
        persist_state="session",
        disabled=not hide,
    )
min_size = int(k_min) if hide else 1
group_sizes = full_table.drop_duplicates("level")[["level", "n"]]
hidden = group_sizes[group_sizes["n"] < min_size]
table = hide_small_groups(full_table, min_size)
if hide:
    st.caption(
        f":material/visibility_off: {len(hidden):,} {gs_md if len(hidden) != 1 else g_md}"
        f" with fewer than {min_size} students hidden (privacy) in the plots, tables and downloads "
        "below; the model still uses their data."
        if len(hidden)
        else f":material/visibility: No {g_md} has fewer than {min_size} students: none hidden."
    )
if table.empty:
    st.info(f"Every {g_md} has fewer than {min_size} students, so all are hidden. Lower k or "
            "untick the box to see them.")
    st.stop()
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
            f"{len(matches):,} group(s) match '{md(search.strip())}'"
            + (": marked in the plots." if len(matches) <= 20 else "; the first 20 are marked.")
        )
    else:
        st.caption(f"No group matches '{md(search.strip())}'.")

outcome = result.spec.outcome
fixef = result.fixef()
null_model = len(fixef) == 1
guidance.workshop_note("caterpillar")
guidance.workshop_note("interval_width")
for term in pd.unique(table["term"]):
    t = table[table["term"] == term]
    if subset == "extremes" and len(t) > 2 * top_n:
        value = t["coef" if mode == "own" else "ranef"].to_numpy()
        order = np.argsort(value, kind="stable")
        keep = np.r_[order[:top_n], order[-top_n:]]
        t = t.iloc[np.sort(keep)]
    if result.is_glmm and scale == "response":
        heading = f"{md(response_title(result))} per {g_md} (average pupil)"
    elif term == "(Intercept)":
        heading = (
            f"Average {outcome} per {widgets.group_label(group)}"
            if null_model
            else f"Intercept per {widgets.group_label(group)} ({outcome} when the predictors are 0)"
        )
    else:
        heading = f"Effect of {term} per {widgets.group_label(group)}"
    st.subheader(md(heading, None))
    response = result.is_glmm and scale == "response"
    fig = fits.memo(  # built once per fit and view: a second visit only sends it
        f"caterpillar_{term}",
        (fit_key, group, mode, response, min_size, subset, top_n, tuple(matches)),
        lambda t=t, term=term, response=response: caterpillar(
            t,
            term,
            mode,
            value_title=response_title(result) if response else f"{MODES[mode]}: {term}",
            group_title=widgets.group_label(group),
            search=matches,
        ),
    )
    widgets.chart(fig, key=f"caterpillar_{group}_{term}")
    above = int((t["ranef_low"] > 0).sum())  # the same groups in either view
    below = int((t["ranef_high"] < 0).sum())
    st.caption(
        f"{len(t):,} {gs_md} shown. {above:,} clearly above the average, {below:,} clearly "
        "below; for the others the interval includes the average. Small groups have wide "
        "intervals: the model can say less about them."
    )

# The table waits behind a lazy expander: a big st.dataframe costs the browser ~0.1 s of CPU
# to draw, on every visit, for what most visits don't read; only an open expander runs.
table_box = st.expander(f"Table of every {g_md}'s effect and interval",
                        key="w_effects_table_open", on_change="rerun")
if table_box.open:
    with table_box:
        shown = table if not matches else table[table["level"].astype(str).isin(matches)]
        MAX_ROWS = 5000  # a bigger table only slows the page; the CSV has every row
        st.dataframe(
            shown.head(MAX_ROWS),
            hide_index=True,
            column_config={
                c: st.column_config.NumberColumn(format="%.4f")
                for c in ["ranef", "cond_sd", "ranef_low", "ranef_high", "coef", "coef_low",
                          "coef_high"]
            },
            height=320,
        )
        if len(shown) > MAX_ROWS:
            st.caption(
                f"The first {MAX_ROWS:,} of {len(shown):,} rows: use Find a group above, or "
                "download the CSV for all of them."
            )
        st.caption(
            "ranef = difference from the average (lme4's ranef), coef = the group's own value "
            "(fixed effect + ranef, lme4's coef), with 95% intervals from the conditional SD."
        )
widgets.show_centering(result)
widgets.download_csv(table, f"class_effects_{group}.csv", "Download class effects (CSV)",
                key="dl_effects")

# shrinkage, reliability and ranks (ui.fair): on request, so the caterpillar draws at once
fair.show(fair.View(result, group, table, group_sizes, len(hidden), min_size))
