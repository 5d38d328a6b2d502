"""The Class effects page's fair comparisons: shrinkage, reliability and ranks of the groups of
one level, with the table and CSV that join them.

They wait behind a "Show" switch: three more charts (and the rank simulation) made the page's
first visit several times slower than the caterpillar alone, while most visits only need the
caterpillar. Everything is computed once per fit and options (ui.fits.memo).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from hlm_core.errors import HLMError
from hlm_core.fairness import (
    expected_ranks,
    expected_ranks_boot,
    hide_small_groups,
    kept_share,
    rank_uncertainty_text,
    reliability,
    shrinkage,
)
from hlm_core.figures import rank_plot, shrinkage_plot
from hlm_core.result import FitResult
from ui import fits, guidance, intervals, widgets
from ui.state import session
from ui.text import md

MAX_SHRINK = 1000  # above this many groups the shrinkage chart draws an even spread


@dataclass
class View:
    """What the fair comparisons show: one level's groups, the Class effects page's table of
    them (small groups already hidden) and its privacy setting."""

    result: FitResult
    group: str
    table: pd.DataFrame  # ranef_table rows shown on the page
    group_sizes: pd.DataFrame  # level, n of every group (hidden ones too)
    n_hidden: int
    min_size: int

    @property
    def g_md(self) -> str:
        return md(self.group)

    @property
    def gs_md(self) -> str:
        return md(self.result.group_words(self.group))

    @property
    def label(self) -> str:
        return widgets.group_label(self.group)


def show(v: View) -> None:
    """The section: a heading, what it is for, the switch, then the three views and the table
    when switched on."""
    st.header("Fair comparisons")
    st.caption(
        "A league table of raw averages rewards small groups for luck. These views show how "
        "much the model pulls each group toward the average (shrinkage), how much each "
        "group's own data can say (reliability), and how uncertain each group's rank really is."
    )
    n = len(v.group_sizes)
    if not st.toggle(
        f"Show the fair comparisons for all {n:,} {v.gs_md}",
        key="w_fair_show",
        persist_state="session",
        help="Shrinkage, reliability and ranks: three more charts and a table. They take a "
        "moment to draw, so they wait until you ask.",
    ):
        st.caption("Switch them on above when you need them.")
        return
    terms = v.result.random_terms(v.group)
    if v.result.is_glmm:  # own-versus-model on the link scale: intercepts only
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
    keep = set(v.table["level"].astype(str).astype(object))  # iterating Arrow strings is slow
    sh = shrinkage_view(v, term, keep)
    rel = reliability_view(v, term, terms, sh) if "(Intercept)" in terms else None
    er = ranks_view(v, term, keep)
    if sh is not None and er is not None:
        fair_table(v, term, sh, er, rel)


def _what(v: View, term: str) -> str:
    outcome = v.result.spec.outcome
    return f"{outcome} (intercept)" if term == "(Intercept)" else f"effect of {term}"


def shrinkage_view(v: View, term: str, keep: set) -> pd.DataFrame | None:
    """The chart of each group's own estimate → the model's; returns the shrinkage table."""
    st.subheader("Shrinkage: each group's own data → the model's estimate")
    guidance.workshop_note("shrinkage")
    fit_key = session().fit_key
    try:
        sh = fits.memo("fair_shrinkage", (fit_key, v.group, term),
                       lambda: shrinkage(v.result, term, v.group))
    except HLMError as exc:
        widgets.show_error(str(exc))
        return None
    # object, not Arrow strings: Arrow's isin takes ~50 ms for 20,000 names on every rerun
    sh_shown = sh[sh["level"].astype(str).astype(object).isin(keep)].reset_index(drop=True)
    # 20,000 groups take ~3 s to draw in a browser without a graphics card: above MAX_SHRINK
    # draw an even spread, as on Slopes
    sh_drawn = sh_shown
    if len(sh_shown) > MAX_SHRINK and not st.checkbox(
        f"Draw all {len(sh_shown):,} {v.gs_md}",
        key="w_fair_shrink_all",
        persist_state="session",
        help="Slow in browsers without a graphics card.",
    ):
        by = sh_shown["own_estimate"].fillna(sh_shown["model_estimate"]).to_numpy()
        order = np.argsort(by, kind="stable")
        pick = order[np.unique(np.linspace(0, len(order) - 1, MAX_SHRINK).round().astype(int))]
        sh_drawn = sh_shown.iloc[np.sort(pick)].reset_index(drop=True)
        st.caption(
            f"Showing {len(sh_drawn):,} of {len(sh_shown):,} {v.gs_md}, evenly spread from "
            "the lowest own estimate to the highest. The table below has all of them."
        )
    widgets.chart(  # built once per fit and view: a caterpillar option doesn't rebuild it
        fits.memo("fair_shrinkage_fig", (fit_key, v.group, term, v.min_size, len(sh_drawn)),
                  lambda: shrinkage_plot(sh_drawn, value_title=_what(v, term),
                                         group_title=v.label)),
        key=f"shrinkage_{v.group}_{term}",
    )
    moved = (sh_shown["model_estimate"] - sh_shown["own_estimate"]).abs()
    st.caption(
        "Open circle: what the group's own students alone say (given the other predictors). "
        "Filled circle: the model's estimate, its size showing how many students the group "
        f"has. Small {v.gs_md} are pulled furthest toward the dashed average line, because "
        "their own data say least"
        + (f" (largest pull: {moved.max():.3g})." if moved.notna().any() else ".")
    )
    return sh


def reliability_view(v: View, term: str, terms: list[str],
                     sh: pd.DataFrame | None) -> pd.DataFrame | None:
    """HLM's reliability of each group's average, and how it differs from the shrinkage."""
    st.subheader("Reliability of each group's average")
    guidance.workshop_note("reliability")
    try:
        rel = fits.memo("fair_reliability", (session().fit_key, v.group),
                        lambda: reliability(v.result, v.group))
    except HLMError as exc:
        widgets.show_error(str(exc))
        return None
    g_md, gs_md = v.g_md, v.gs_md
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
        f"instead. The average is over all {len(v.group_sizes):,} {gs_md}"
        + (", hidden ones included" if v.n_hidden else "")
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
    return rel


def rank_bootstrap(result: FitResult):
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


def ranks_view(v: View, term: str, keep: set) -> pd.DataFrame | None:
    """Each group's expected rank with its 95% interval (simulated once per fit)."""
    st.subheader("Ranks, with their uncertainty")
    G = len(v.group_sizes)
    fit_key = session().fit_key
    draws = 1000 if G <= 2000 else 200
    boot = rank_bootstrap(v.result)
    try:
        if boot is None:
            er = fits.memo_view("fair_ranks", (fit_key, v.group, term, draws), draws * G,
                                expected_ranks, v.result, term, v.group, n_draws=draws,
                                what="Drawing the ranks")
        else:
            per = max(1, -(-1000 // boot.nsim))  # at least 1,000 rankings in all
            draws = per * len(boot.sigma)
            er = fits.memo_view("fair_ranks", (fit_key, v.group, term, boot.nsim, boot.seed),
                                draws * G, expected_ranks_boot, v.result, boot, term, v.group,
                                per_draw=per, what="Drawing the ranks")
    except HLMError as exc:
        widgets.show_error(str(exc))
        return None
    if er is None:  # drawn in a worker that a click elsewhere cut short
        return None
    er = er.merge(v.group_sizes, on="level", how="left")
    er_shown = er[er["level"].astype(str).astype(object).isin(keep)].reset_index(drop=True)
    widgets.chart(
        fits.memo("fair_ranks_fig", (fit_key, v.group, term, draws, v.min_size),
                  lambda: rank_plot(er_shown, group_title=v.label, n_ranked=G)),
        key=f"ranks_{v.group}_{term}",
    )
    source = (
        f"{draws:,} draws of all {G:,} {v.gs_md}' effects from their uncertainty"
        + ("" if boot is None else
           f", {draws // len(boot.sigma):,} from each of {len(boot.sigma):,} bootstrap refits "
           f"(seed {boot.seed}), so the intervals also carry the uncertainty in how much "
           f"{v.gs_md} differ")
    )
    st.caption(
        f"Each {v.g_md}'s expected rank by its {md(_what(v, term), None)} (1 = highest) with "
        f"a 95% interval, from {source}. "
        + (f"Ranks are among all {G:,}, hidden ones included. " if v.n_hidden else "")
        + rank_uncertainty_text(er_shown, v.g_md, v.gs_md)
        + " Coloured: the whole interval lies in the top (blue) or bottom (orange) half of the "
        "ranking."
    )
    return er


def fair_table(v: View, term: str, sh: pd.DataFrame, er: pd.DataFrame,
               rel: pd.DataFrame | None) -> None:
    """Shrinkage, kept share, ranks and reliability in one table, with its CSV."""
    fair = sh.assign(kept=kept_share(sh)).merge(
        er[["level", "expected_rank", "rank_low", "rank_high"]], on="level")
    if rel is not None and term == "(Intercept)":
        fair = fair.merge(rel[["level", "reliability"]], on="level")
    fair = hide_small_groups(fair, v.min_size)
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
    widgets.download_csv(fair, f"fair_comparison_{v.group}.csv",
                         "Download fair comparison (CSV)", key="dl_fair")
