"""Class effects page: the caterpillar plot, one panel per random term, and the table."""

import numpy as np
import pandas as pd
import streamlit as st

from hlm_core.effects import ranef_table
from hlm_core.effects_glmm import response_scale_table, response_title
from hlm_core.errors import HLMError
from hlm_core.fairness import (
    DEFAULT_MIN_GROUP,
    expected_ranks,
    expected_ranks_boot,
    hide_small_groups,
    kept_share,
    rank_uncertainty_text,
    reliability,
    shrinkage,
)
from hlm_core.figures import MODES, caterpillar, rank_plot, shrinkage_plot
from ui import fits, guidance, intervals, nav, widgets
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

full_table = ranef_table(result, group)
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
    fig = caterpillar(
        t,
        term,
        mode,
        value_title=response_title(result) if result.is_glmm and scale == "response"
        else f"{MODES[mode]}: {term}",
        group_title=widgets.group_label(group),
        search=matches,
    )
    widgets.chart(fig, key=f"caterpillar_{group}_{term}")
    above = int((t["ranef_low"] > 0).sum())  # the same groups in either view
    below = int((t["ranef_high"] < 0).sum())
    st.caption(
        f"{len(t):,} {gs_md} shown. {above:,} clearly above the average, {below:,} clearly "
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
widgets.show_centering(result)
widgets.download_csv(table, f"class_effects_{group}.csv", "Download class effects (CSV)",
                key="dl_effects")



def rank_bootstrap(result):
    """The parametric-bootstrap refits the ranks use, once the user ran them (on request).
    Not for a yes/no or count model: its groups' effects are recomputed per refit by the
    linear model's formulas (hlm_core.fairness.expected_ranks_boot)."""
    if result.is_glmm:
        return None
    with st.expander("Carry the uncertainty in how much groups differ (parametric bootstrap)"):
        st.caption(
            "The ranks draw each group's effect from its uncertainty, taking the model's "
            "estimate of how much groups differ as known. A parametric bootstrap refits the "
            "model to simulated data sets, so the rank intervals also carry the uncertainty in "
            "that estimate (Laird & Louis, 1987). With many groups the two agree closely."
        )
        nsim, seed = intervals.boot_settings("ranks", default_nsim=200)
        run = st.button("Run the bootstrap", key="ranks_go", icon=":material/casino:")
        found = intervals.draws(result, nsim, seed, key="ranks", compute=run)
        if isinstance(found, str):
            widgets.show_error(found)
            return None
        if found is None:
            if intervals.was_cancelled("ranks"):
                st.info("Stopped: the ranks below take the variances as known.",
                        icon=":material/cancel:")
            return None
        failed = f" ({found.failed} refits failed and were left out)" if found.failed else ""
        st.success(f"The ranks below use {found.nsim:,} bootstrap refits, seed {found.seed}"
                   f"{failed}.", icon=":material/check:")
        return found


# ---------------------------------------------------------------- fair comparisons
st.header("Fair comparisons")
st.caption(
    "A league table of raw averages rewards small groups for luck. These views show how much "
    "the model pulls each group toward the average (shrinkage), how much each group's own data "
    "can say (reliability), and how uncertain each group's rank really is."
)
# With thousands of groups these three views take seconds to draw in a browser without a
# graphics card and hold back the caterpillar above: they wait for the user to ask.
MAX_FAIR_AUTO = 2000
if len(group_sizes) > MAX_FAIR_AUTO and not st.toggle(
    f"Show the fair comparisons for all {len(group_sizes):,} {gs_md}",
    key="w_fair_show",
    persist_state="session",
    help="Shrinkage, reliability and ranks. Slow to draw for this many groups.",
):
    st.caption(
        f"With {len(group_sizes):,} {gs_md} these views take several seconds to draw; "
        "switch them on above when you need them."
    )
    st.stop()
terms = result.random_terms(group)
if result.is_glmm:  # own-versus-model on the link scale: intercepts only
    terms = [t for t in terms if t == "(Intercept)"] or terms
term = terms[0]
if len(terms) > 1:
    term = st.selectbox(
        "Effect to compare",
        terms,
        format_func=lambda x: (
            "Intercept (average level)" if x == "(Intercept)" else f"Slope of {x}"
        ),
        key="w_fair_term",
        persist_state="session",
    )
what = (f"{outcome} (intercept)" if term == "(Intercept)" else f"effect of {term}")
fit_key = session().fit_key
n_all = len(group_sizes)
keep = set(table["level"].astype(str).astype(object))  # iterating Arrow strings is slow

st.subheader("Shrinkage: each group's own data → the model's estimate")
guidance.workshop_note("shrinkage")
try:
    sh = fits.memo("fair_shrinkage", (fit_key, group, term), lambda: shrinkage(result, term, group))
except HLMError as exc:
    widgets.show_error(str(exc))
    sh = None
if sh is not None:
    # object, not Arrow strings: Arrow's isin takes ~50 ms for 20,000 names on every rerun
    sh_shown = sh[sh["level"].astype(str).astype(object).isin(keep)].reset_index(drop=True)
    # 20,000 groups take ~3 s to draw in a browser without a graphics card, and the page (the
    # caterpillar above, too) waits for it: above MAX_SHRINK draw an even spread, as on Slopes
    MAX_SHRINK = 1000
    sh_drawn = sh_shown
    if len(sh_shown) > MAX_SHRINK and not st.checkbox(
        f"Draw all {len(sh_shown):,} {gs_md}",
        key="w_fair_shrink_all",
        persist_state="session",
        help="Slow in browsers without a graphics card.",
    ):
        by = sh_shown["own_estimate"].fillna(sh_shown["model_estimate"]).to_numpy()
        order = np.argsort(by, kind="stable")
        pick = order[np.unique(np.linspace(0, len(order) - 1, MAX_SHRINK).round().astype(int))]
        sh_drawn = sh_shown.iloc[np.sort(pick)].reset_index(drop=True)
        st.caption(
            f"Showing {len(sh_drawn):,} of {len(sh_shown):,} {gs_md}, evenly spread from "
            "the lowest own estimate to the highest. The table below has all of them."
        )
    widgets.chart(  # built once per fit and view: a caterpillar option doesn't rebuild it
        fits.memo("fair_shrinkage_fig", (fit_key, group, term, min_size, len(sh_drawn)),
                lambda: shrinkage_plot(sh_drawn, value_title=what,
                                       group_title=widgets.group_label(group))),
        key=f"shrinkage_{group}_{term}",
    )
    moved = (sh_shown["model_estimate"] - sh_shown["own_estimate"]).abs()
    st.caption(
        "Open circle: what the group's own students alone say (given the other predictors). "
        "Filled circle: the model's estimate, its size showing how many students the group has. "
        f"Small {gs_md} are pulled furthest toward the dashed average line, because "
        "their own data say least"
        + (f" (largest pull: {moved.max():.3g})." if moved.notna().any() else ".")
    )

rel = None
if "(Intercept)" in terms:
    st.subheader("Reliability of each group's average")
    guidance.workshop_note("reliability")
    try:
        rel = fits.memo("fair_reliability", (fit_key, group), lambda: reliability(result, group))
    except HLMError as exc:
        widgets.show_error(str(exc))
    if rel is not None:
        r1, r2 = st.columns([1, 3])
        r1.metric(
            "Average reliability",
            f"{rel['reliability'].mean():.3f}",
            help="HLM's reliability estimate: the mean over all groups of λ = τ² / (τ² + σ² / n),"
            " how much of the spread of the groups' own averages is real difference rather "
            "than noise.",
        )
        r2.caption(
            f"Reliability (HLM's λ) of a {g_md}'s own average: 1 means its own data pin it "
            "down; near 0 means it is mostly noise, so the model relies on the overall average "
            f"instead. The average is over all {n_all:,} {gs_md}"
            + (", hidden ones included" if len(hidden) else "")
            + f"; range {rel['reliability'].min():.2f} to {rel['reliability'].max():.2f}."
        )
        if sh is not None and term == "(Intercept)":
            kept = kept_share(sh)
            slopes_here = any(t != "(Intercept)" for t in terms)
            st.caption(
                f":material/info: **Reliability and the shrinkage chart measure different "
                f"things.** Reliability is about a {g_md}'s *average*: it depends only on "
                f"its size and on how much {gs_md} differ. The shrinkage chart shows "
                f"each {g_md}'s *intercept*, its own line's level where every predictor is 0, "
                f"and the column *kept* in the table below is the share of its own difference "
                f"from the average that the model keeps (median {np.nanmedian(kept):.2f}). "
                + (f"With random slopes that level is read off each {g_md}'s own line at 0, "
                   "often at the edge of the data or beyond it, so it is measured less well "
                   "than the average and the model pulls it further than the reliability of "
                   "the average suggests."
                   if slopes_here else
                   f"With random intercepts only, *kept* equals the reliability of each "
                   f"{g_md}.")
            )

st.subheader("Ranks, with their uncertainty")
G = n_all
draws = 1000 if G <= 2000 else 200
boot = rank_bootstrap(result)
try:
    if boot is None:
        er = fits.memo_view("fair_ranks", (fit_key, group, term, draws), draws * G,
                            expected_ranks, result, term, group, n_draws=draws,
                            what="Drawing the ranks")
    else:
        per = max(1, -(-1000 // boot.nsim))  # at least 1,000 rankings in all
        draws = per * len(boot.sigma)
        er = fits.memo_view("fair_ranks", (fit_key, group, term, boot.nsim, boot.seed),
                            draws * G, expected_ranks_boot, result, boot, term, group,
                            per_draw=per, what="Drawing the ranks")
except HLMError as exc:
    widgets.show_error(str(exc))
    er = None
if er is not None:
    er = er.merge(group_sizes, on="level", how="left")
    er_shown = er[er["level"].astype(str).astype(object).isin(keep)].reset_index(drop=True)
    widgets.chart(
        fits.memo("fair_ranks_fig", (fit_key, group, term, draws, min_size), lambda: rank_plot(
            er_shown, group_title=widgets.group_label(group), n_ranked=G)),
        key=f"ranks_{group}_{term}",
    )
    source = (
        f"{draws:,} draws of all {G:,} {gs_md}' effects from their uncertainty"
        + ("" if boot is None else
           f", {draws // len(boot.sigma):,} from each of {len(boot.sigma):,} bootstrap refits "
           f"(seed {boot.seed}), so the intervals also carry the uncertainty in how much "
           f"{gs_md} differ")
    )
    st.caption(
        f"Each {g_md}'s expected rank by its {md(what, None)} (1 = highest) with a 95% "
        f"interval, from {source}. "
        + (f"Ranks are among all {G:,}, hidden ones included. " if len(hidden) else "")
        + rank_uncertainty_text(er_shown, g_md, gs_md)
        + " Coloured: the whole interval lies in the top (blue) or bottom (orange) half of the "
        "ranking."
    )

if sh is not None and er is not None:
    fair = sh.assign(kept=kept_share(sh)).merge(
        er[["level", "expected_rank", "rank_low", "rank_high"]], on="level")
    if rel is not None and term == "(Intercept)":
        fair = fair.merge(rel[["level", "reliability"]], on="level")
    fair = hide_small_groups(fair, min_size)
    st.dataframe(
        fair,
        hide_index=True,
        height=320,
        column_config={
            c: st.column_config.NumberColumn(format="%.4f")
            for c in ["own_estimate", "model_estimate", "average", "reliability"]
        } | {
            "expected_rank": st.column_config.NumberColumn(format="%.1f"),
            "rank_low": st.column_config.NumberColumn(format="%.0f"),
            "rank_high": st.column_config.NumberColumn(format="%.0f"),
        },
    )
    st.caption(
        "own_estimate = the group's own data alone; model_estimate = the model's (shrunken) "
        "estimate; kept = the share of its own difference from the average the model keeps "
        "(what the shrinkage chart shows); expected_rank with its 95% interval (rank_low to "
        "rank_high)"
        + ("; reliability = λ of the group's average." if "reliability" in fair.columns else ".")
    )
    widgets.download_csv(fair, f"fair_comparison_{group}.csv", "Download fair comparison (CSV)",
                    key="dl_fair")
