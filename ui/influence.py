"""The Diagnostics page's influential-groups check, shared by score, yes/no and count models:
refit without each of the groups most likely to matter (on request, in a worker process) and
show how far each fixed effect moves, in standard errors (on the logit or log scale for
generalized models, where the estimates live)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hlm_core.diagnostics import influential_groups
from hlm_core.result import FitResult
from ui import fits, widgets
from ui.text import md

TOP = 5


def influence_section(result: FitResult, frame: pd.DataFrame) -> None:
    first = result.model_frame.blocks[0].group
    first_md = md(widgets.group_label(first))
    scale = {"binomial": " (on the logit scale)", "poisson": " (on the log scale)"}.get(
        result.family, "")
    st.subheader("Influential groups")
    st.caption(
        f"Refits the model without each of the {TOP} {md(result.group_words(first))} most "
        "likely to matter (large, clearly estimated effects in big groups) and shows how far "
        f"each fixed effect moves, in standard errors{scale}. A move of more than 1 SE means "
        "that group alone changes the conclusion."
    )
    if st.button(f"Refit without each of the top {TOP} groups", icon=":material/science:"):
        fits.diag_run("influence", influential_groups, result, frame, top=TOP,
                      label=f"Refitting without each of the top {TOP} groups")
    influence = fits.diag_get("influence")
    if isinstance(influence, str):  # the plain message why the refits could not be done
        widgets.show_error(influence)
        return
    if influence is None:
        return
    table = influence.table
    if table.empty:
        st.info("None of the refits succeeded, so influence can't be shown for this model.")
        return
    terms = [c for c in table.columns if c not in ("group", "n")]
    shown = table.copy()
    shown["largest change (SE)"] = shown[terms].abs().max(axis=1)
    shown = shown.rename(columns={"group": widgets.group_label(first)})
    st.dataframe(
        shown,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%+.2f") for c in terms
        } | {"largest change (SE)": st.column_config.NumberColumn(format="%.2f")},
    )
    worst = shown.sort_values("largest change (SE)", ascending=False).iloc[0]
    name = worst[widgets.group_label(first)]
    if worst["largest change (SE)"] > 1:
        st.warning(
            f"Leaving out {first_md} {md(name)} moves an estimate by "
            f"{worst['largest change (SE)']:.2f} standard errors: check its data.",
            icon=":material/warning:",
        )
    else:
        st.caption(
            f":material/check_circle: No single {first_md} moves any estimate by more than "
            f"1 SE (largest: {worst['largest change (SE)']:.2f}, {md(name)})."
        )
    widgets.download_csv(table, "influential_groups.csv", "Download influence table (CSV)",
                         key="dl_influence")
