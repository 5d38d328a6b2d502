"""Page furniture every page shares: the header and sidebar status, error display, CSV
downloads, charts (with the presenter view's fonts), labels for group names, the centring line
under results tables, and the "Save this model" controls."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from hlm_core.export import safe_csv
from hlm_core.formula import format_formula
from hlm_core.result import FitResult
from hlm_core.spec import ModelSpec
from ui import guidance
from ui.data import working_frame
from ui.fits import save_model, saved_models
from ui.model import centering_text
from ui.state import session
from ui.text import md_code as md_code  # re-exported: pages call widgets.md_code
from ui.text import md_text

if TYPE_CHECKING:  # plotly loads when a chart is first drawn
    import plotly.graph_objects as go




def page_header(title: str, intro: str | None = None) -> None:
    """Title, a one-line intro and the sidebar status every page shows; in the sidebar also
    the workshop-mode and presenter-view toggles (the guided tour step shows under the intro)."""
    if guidance.large_font_on():
        guidance.inject_presenter_css()
    st.title(title)
    if intro:
        st.caption(intro)
    guidance.tour_step(title)
    guidance.view_options()
    s = session()
    if s.job_note:  # a read or fit stopped in the last run (ui.jobs): said once
        st.info(md_text(s.job_note), icon=":material/stop_circle:")
        s.job_note = None
    with st.sidebar:
        sidebar_status()


def sidebar_status() -> None:
    """The data, the fitted model's formula and, when the Model page now holds another model,
    that one marked "not fitted yet": the sidebar never pairs a new formula with "Fitted".
    Formulas are code blocks (12 px or more, backticks as typed)."""
    s = session()
    if s.table is None:
        st.caption("No data loaded yet.")
        return
    st.caption(f"**Data:** {md_text(s.table.name)}  \n{rows_cols(working_frame())}")
    fitted = s.current_fit()
    if fitted is not None:
        st.markdown(f"**Fitted model** ({fitted.method})")
        st.code(format_formula(fitted.spec), language=None, wrap_lines=True)
        centred = centering_text(fitted.spec, fitted)
        if centred:
            st.caption(f"**Centring:** {md_text(centred)}")
        st.caption(":material/check_circle: Fitted — see Results.")
    if s.spec is not None and (fitted is None or fitted.spec != s.spec):
        st.markdown("**Model on the Model page** — :orange-badge[not fitted yet]")
        st.code(format_formula(s.spec), language=None, wrap_lines=True)
        st.caption("Press **Fit model** on the Model page to fit it.")
    elif s.spec is None and fitted is None:
        st.caption("No model chosen yet.")


def rows_cols(frame: pd.DataFrame) -> str:
    """"4,059 rows, 10 columns"."""
    r, c = frame.shape
    return f"{r:,} row{'s' * (r != 1)}, {c:,} column{'s' * (c != 1)}"


_MARKDOWN = set("\\`*_[]<>~$:")  # inline Markdown (a note is never at a line's start)


def plain(text: str) -> str:
    """`text` with every Markdown character escaped, so names and values from a file show as
    typed (a column called `**x**` stays `**x**`) in captions and other Markdown elements."""
    return "".join("\\" + ch if ch in _MARKDOWN else ch for ch in str(text))


def note(text: str) -> None:
    """One note the app or hlm_core made (a reading decision, what a formula did), as plain
    text under an info icon."""
    st.caption(":material/info: " + plain(text))


def show_error(message: str) -> None:
    """A problem the user can fix, in plain words (never a traceback), shown exactly as
    written: backticks and names with symbols appear as typed, never as Markdown."""
    st.error(md_text(message), icon=":material/error:")


def download_csv(df: pd.DataFrame, file_name: str, label: str, key: str) -> None:
    """A CSV download of `df`, escaped against spreadsheet formula injection. The file is made
    only when the button is pressed (a 40,000-row table takes ~0.3 s to write), so reruns for
    plot options stay fast."""
    st.download_button(
        label,
        data=lambda: safe_csv(df),
        file_name=file_name,
        mime="text/csv",
        key=key,
        icon=":material/download:",
        on_click="ignore",
    )


def group_label(group: str) -> str:
    """'class:school' -> 'class (within school)' for pickers; plain names unchanged."""
    if ":" not in group:
        return group
    parts = [p.strip("()") for p in group.split(":")]
    return f"{parts[0]} (within {' within '.join(parts[1:])})"


def show_centering(result: FitResult) -> None:
    """The centring line every results table carries, so no one reads a centred slope as raw."""
    text = centering_text(result.spec, result)
    if text:
        st.caption(f":material/align_horizontal_center: **Centring:** {text}.")


def figure_style(fig: go.Figure) -> go.Figure:
    """The figure as this session shows it: larger fonts in the presenter view."""
    if not guidance.large_font_on():
        return fig
    import plotly.graph_objects as go

    from hlm_core.figures import scale_fonts

    # a copy: a figure kept between runs (ui.fits.memo) must not grow on every rerun
    return scale_fonts(go.Figure(fig), guidance.PRESENTER_SCALE)


def chart(fig: go.Figure, *, key: str, **kwargs) -> None:
    """st.plotly_chart with the session's view options (presenter fonts) and no plotly logo."""
    kwargs.setdefault("config", {"displaylogo": False})
    st.plotly_chart(figure_style(fig), key=key, **kwargs)


def save_model_controls(spec: ModelSpec, key: str) -> None:
    """A name box and a "Save this model" button (for the Compare page's ladder)."""
    notes = session().save_notes
    done = [n for n, s in saved_models() if s == spec]
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    with c1:
        name = st.text_input(
            "Name for this model",
            value=done[0] if done else f"Model {len(saved_models()) + 1}",
            key=f"{key}_name",
            help="Saved models can be compared with the model ladder on the Compare page.",
        )
    with c2:
        if st.button("Save this model", key=f"{key}_save", icon=":material/bookmark_add:"):
            notes[key] = (spec, save_model(name, spec))
    done = [n for n, s in saved_models() if s == spec]
    said = notes.get(key)
    if said and said[0] == spec and done:
        st.caption(f":material/bookmark: {said[1]}")
    elif done:
        st.caption(f":material/bookmark: Saved as '{done[0]}'.")
