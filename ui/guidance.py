"""Help for people new to multilevel models: workshop mode (plain-language notes on every
page), the guided tour of the example data, hover help for statistical terms, and the
presenter view (large fonts for a projector).

Workshop mode and the presenter view are per-session switches in the sidebar of every page
(ui.widgets.page_header draws them). Their values live in the session object and are mirrored
into the toggles on every run, so they survive page changes.
"""

from __future__ import annotations

import streamlit as st

from hlm_core.examples import example_info
from hlm_core.glossary import term_help, topic_text
from ui.state import log, session

W_WORKSHOP = "w_workshop"
W_LARGE = "w_large_font"
PRESENTER_SCALE = 1.4  # chart fonts in the presenter view

PRESENTER_CSS = """<style id="hlm-presenter-view">
html { font-size: 21px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stCaptionContainer"], [data-testid="stAlertContentInfo"] { font-size: 1.1rem; }
[data-testid="stMetricValue"] { font-size: 2.6rem; }
[data-testid="stDataFrame"], [data-testid="stTable"] { font-size: 1.05rem; }
[data-testid="stCode"] code { font-size: 1rem; }
.katex { font-size: 1.15em !important; }
</style>"""


def workshop_on() -> bool:
    """Workshop mode is on in this session."""
    return session().workshop


def large_font_on() -> bool:
    """The presenter view (large fonts) is on in this session."""
    return session().large_font


def _mirror(widget_key: str, field: str) -> None:
    setattr(session(), field, bool(st.session_state.get(widget_key)))


def view_options() -> None:
    """The sidebar toggles: workshop mode and the presenter (large-font) view."""
    with st.sidebar:
        st.session_state[W_WORKSHOP] = workshop_on()
        st.session_state[W_LARGE] = large_font_on()
        st.toggle(
            "Workshop mode",
            key=W_WORKSHOP,
            on_change=_mirror,
            args=(W_WORKSHOP, "workshop"),
            help="Short plain-language explanations on every page, and the guided tour of the "
            "example data.",
        )
        st.toggle(
            "Large font (presenter view)",
            key=W_LARGE,
            on_change=_mirror,
            args=(W_LARGE, "large_font"),
            help="Bigger text on the page and in the charts, for a projector.",
        )


def inject_presenter_css() -> None:
    """Larger fonts for the whole page (Streamlit sizes text in rem, so the root size scales
    it). A <style>-only st.html takes no space on the page."""
    st.html(PRESENTER_CSS)


def workshop_note(topic: str) -> None:
    """A short plain-language explanation of `topic` (hlm_core.glossary.TOPICS), shown only in
    workshop mode."""
    if not workshop_on():
        return
    try:
        text = topic_text(topic)
    except KeyError:
        log.warning("no workshop note for %r", topic)
        return
    st.info(text, icon=":material/school:")


def help_text(term: str) -> str | None:
    """Hover help for a statistical term (hlm_core.glossary.TERMS), for a widget's `help=`."""
    try:
        return term_help(term)
    except KeyError:
        log.warning("no glossary entry for %r", term)
        return None


def tour_step(page_title: str) -> None:
    """In workshop mode with an example loaded: this page's step of the example's guided tour."""
    s = session()
    name = s.example
    if not workshop_on() or not name or s.table is None:
        return
    step = example_info(name).tour.get(page_title)
    if step:
        st.success(f"**Guided tour ({example_info(name).title}):** {step}",
                   icon=":material/tour:")
