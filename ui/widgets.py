"""Page furniture every page shares: the header and sidebar status, error display, CSV
downloads, charts (with the presenter view's fonts), labels for group names, the centring line
under results tables, and the "Save this model" controls."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from hlm_core.export import safe_csv
from hlm_core.formula import format_formula
from hlm_core.result import FitResult
from hlm_core.spec import ModelSpec
from ui import guidance, jobs
from ui.data import working_frame
from ui.fits import save_model, saved_models
from ui.model import centering_text
from ui.state import session
from ui.text import md, md_code  # noqa: F401 (md_code: pages call widgets.md_code)

if TYPE_CHECKING:  # plotly loads when a chart is first drawn
    import plotly.graph_objects as go


def md_text(text: object) -> str:
    """`text` for st.markdown/st.caption/st.error exactly as written (names and values from a
    file are text, never Markdown): ui.text.md, the one escaping helper, keeping line breaks."""
    return md(text, None, breaks=True)


def page_header(title: str, intro: str | None = None) -> None:
    """Title, a one-line intro and the sidebar status every page shows; in the sidebar also
    the workshop-mode and presenter-view toggles (the guided tour step shows under the intro).
    First of all, the jobs of this session that ended since the last run land (ui.jobs), so
    the page shows their answers."""
    jobs.collect()
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
        jobs.status()  # jobs still running (started on this page or another): progress, Stop
        sidebar_status()
        from ui.analysis import save_button  # ui.analysis needs ui.fits, which needs this module

        save_button()
    warn_before_leaving(session().current_fit() is not None)
    preload_components()  # from the first page on: in idle time while a file is chosen


_LEAVE_JS = """<script>
(() => {
  const w = window;
  w.__hlmFitted = %s;
  if (!w.__hlmLeaveWarning) {
    w.__hlmLeaveWarning = true;
    w.addEventListener("beforeunload", (event) => {
      if (w.__hlmFitted) { event.preventDefault(); event.returnValue = ""; }
    });
  }
})();
</script>"""


def warn_before_leaving(fitted: bool) -> None:
    """Ask the browser to warn before a reload or closing the tab once a model is fitted:
    the session's data and fits live only in the server's memory and are lost with the tab
    (until saving an analysis exists). Moving between the app's pages is no page load, so it
    never warns. A fixed script (no user text), in the sidebar so the page layout stays."""
    with st.sidebar:
        st.html(_LEAVE_JS % ("true" if fitted else "false"), unsafe_allow_javascript=True)


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


# Streamlit's browser parts that results pages need and the Data page doesn't: charts
# (plotly.js, ~4.7 MB of script), code blocks (the syntax highlighter) and equations (KaTeX,
# the Report page)
PRELOADED = ("PlotlyChart", "StreamlitSyntaxHighlighter", "rehype-katex")


@functools.cache
def _component_scripts() -> tuple[str, ...]:
    """The file names of those components' scripts in this Streamlit version."""
    import streamlit

    folder = Path(streamlit.__file__).parent / "static" / "static" / "js"
    return tuple(p.name for stem in PRELOADED for p in sorted(folder.glob(f"{stem}.*.js"))[:1])


def preload_components() -> None:
    """Have the browser load the chart library and the code highlighter in its idle time on
    this page, so the first page that shows a chart or code doesn't pay for loading them (1-2 s
    of the browser's time, measured on Class effects). From the first page view on, before any
    data: while the user picks a file, not after the upload, where it took ~1.6 s of the
    browser's time at 1,000,000 rows just as the Data page drew. Our own fixed script, no user
    text in it; it imports the very modules Streamlit loads for its first chart (same
    addresses), so those are then ready (an import already done costs nothing)."""
    names = _component_scripts()
    if not names:
        return
    imports = "".join(
        f"import(new URL('./{n}', s.src).href).catch(() => {{}});" for n in names
    )
    script = (
        "<script>(window.requestIdleCallback || setTimeout)(() => {"
        "const s = document.querySelector('script[src*=\"static/js/index\"]');"
        f"if (s) {{ {imports} }}"
        "});</script>"
    )
    with st.sidebar:
        st.html(script, unsafe_allow_javascript=True)


# Streamlit's syntax colours in st.code fall below WCAG AA's 4.5:1 on the code background
# (#fafbfd): comments and punctuation 3.6:1, strings 2.9, operators 3.0, names 2.8, keywords
# 3.8. The same hues darkened to 5-6:1 (italics and weights stay Streamlit's).
_CODE_COLOURS_CSS = """<style>
[data-testid="stCode"] pre .token.comment, [data-testid="stCode"] pre .token.prolog,
[data-testid="stCode"] pre .token.doctype, [data-testid="stCode"] pre .token.cdata,
[data-testid="stCode"] pre .token.punctuation,
[data-testid="stCode"] pre .token.unchanged.line { color: #5f6374; }
[data-testid="stCode"] pre .token.attr-name, [data-testid="stCode"] pre .token.property,
[data-testid="stCode"] pre .token.variable { color: #00708f; }
[data-testid="stCode"] pre .token.boolean, [data-testid="stCode"] pre .token.constant,
[data-testid="stCode"] pre .token.symbol, [data-testid="stCode"] pre .token.string,
[data-testid="stCode"] pre .token.char, [data-testid="stCode"] pre .token.attr-value,
[data-testid="stCode"] pre .token.inserted { color: #137a34; }
[data-testid="stCode"] pre .token.number,
[data-testid="stCode"] pre .token.regex { color: #00796b; }
[data-testid="stCode"] pre .token.operator, [data-testid="stCode"] pre .token.entity,
[data-testid="stCode"] pre .token.decorator,
[data-testid="stCode"] pre .token.atrule { color: #b04a00; }
[data-testid="stCode"] pre .token.keyword, [data-testid="stCode"] pre .token.tag,
[data-testid="stCode"] pre .token.function, [data-testid="stCode"] pre .token.class-name,
[data-testid="stCode"] pre .token.selector { color: #1565c0; }
[data-testid="stCode"] pre .token.important,
[data-testid="stCode"] pre .token.deleted { color: #c62828; }
</style>"""


def readable_code_colours() -> None:
    """Syntax colours with 4.5:1 contrast for the page's highlighted code (R and Python
    scripts). A <style>-only st.html takes no space on the page."""
    st.html(_CODE_COLOURS_CSS)


# off screen and hidden (from screen readers too), but laid out, so plotly draws it in full
_WARM_UP_CSS = ("<style>.st-key-chart_warm_up{position:absolute;left:-10000px;top:0;"
                "width:640px;visibility:hidden;pointer-events:none}</style>")


def warm_up_charts() -> None:
    """Once per session, a small chart drawn off screen on the Data page, while the user picks a
    file or reads the data: a browser tab's first plotly chart costs ~0.3 s of CPU whatever
    its size (plotly sets itself up, V8 compiles its drawing code), which otherwise lands on
    the first results page opened (Class effects, Slopes, Diagnostics). Fixed content, no
    user data."""
    store = session().memo
    if "chart_warm_up" in store:
        return
    store["chart_warm_up"] = (None, True)
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines+markers", name="warm-up",
                               error_y={"type": "data", "array": [0.1, 0.1]}))
    fig.update_layout(title="warm-up", height=200, xaxis_title="x", yaxis_title="y")
    with st.container(key="chart_warm_up"):
        st.html(_WARM_UP_CSS)
        chart(fig, key="chart_warm_up_figure")


def rows_cols(frame: pd.DataFrame) -> str:
    """"4,059 rows, 10 columns"."""
    r, c = frame.shape
    return f"{r:,} row{'s' * (r != 1)}, {c:,} column{'s' * (c != 1)}"


def plain(text: str) -> str:
    """`text` escaped for a Markdown element in running text (ui.text.md)."""
    return md(text, None)


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
        file_name=safe_file_name(file_name),
        mime="text/csv",
        key=key,
        icon=":material/download:",
        on_click="ignore",
    )


def safe_file_name(name: str) -> str:
    """A download's file name made from user text (a column name): letters, digits, . - _ only,
    at most 120 characters, so no path, control character or markup reaches the browser."""
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    clean = re.sub(r"[^\w.-]+", "_", stem, flags=re.ASCII).strip("._")[:120] or "download"
    return f"{clean}{dot}{re.sub(r'[^A-Za-z0-9]', '', ext)}"


def group_label(group: str) -> str:
    """'class:school' -> 'class (within school)' for pickers; plain names unchanged, and so is
    a grouping column whose own name holds ':' (it is a column, not lme4's nesting)."""
    if ":" not in group:
        return group
    fitted = session().current_fit()
    if fitted is not None and group in fitted.spec.variables():
        return group
    parts = [p.strip("()") for p in group.split(":")]
    return f"{parts[0]} (within {' within '.join(parts[1:])})"


def show_centering(result: FitResult) -> None:
    """The centring line every results table carries, so no one reads a centred slope as raw."""
    text = centering_text(result.spec, result)
    if text:
        st.caption(f":material/align_horizontal_center: **Centring:** {md(text, None)}.")


def figure_style(fig: go.Figure) -> go.Figure:
    """The figure as this session shows it: larger fonts in the presenter view."""
    if not guidance.large_font_on():
        return fig
    import plotly.graph_objects as go

    from hlm_core.figures import scale_fonts

    # a copy: a figure kept between runs (ui.fits.memo) must not grow on every rerun
    return scale_fonts(go.Figure(fig), guidance.PRESENTER_SCALE)


SINGLE_PRECISION_FROM = 1000  # numbers in one array; smaller figures are sent as they are


def single_precision(fig: go.Figure) -> go.Figure:
    """The figure's long number arrays (1,000 values or more) as 4-byte floats (7 significant
    digits: finer than any screen or hover label shows) instead of 8: half the bytes the
    browser receives and decodes for a 20,000-group caterpillar. In place, and a no-op the
    second time (figures kept between runs stay as they are; a figure done once is marked, as
    plotly's nested property look-ups cost ~0.1 s for a figure of a hundred lines)."""
    import numpy as np

    if getattr(fig, "_hlm_single_precision", False):
        return fig

    def long_trace(trace) -> bool:  # x and y are as long as every other array of a trace
        try:
            return any(trace[p] is not None and np.size(trace[p]) >= SINGLE_PRECISION_FROM
                       for p in ("x", "y"))
        except (KeyError, ValueError, AttributeError):
            return True

    def small(v):
        if (isinstance(v, np.ndarray) and v.dtype == np.float64
                and v.size >= SINGLE_PRECISION_FROM):
            return v.astype(np.float32)
        return None

    paths = ("x", "y", "customdata", "error_x.array", "error_x.arrayminus", "error_y.array",
             "error_y.arrayminus", "marker.size")
    for trace in fig.data:
        if not long_trace(trace):
            continue
        for path in paths:
            try:
                new = small(trace[path])
            except (KeyError, ValueError, AttributeError):  # not a property of this trace type
                continue
            if new is not None:
                trace[path] = new
    fig._hlm_single_precision = True
    return fig


def chart(fig: go.Figure, *, key: str, **kwargs) -> None:
    """st.plotly_chart with the session's view options (presenter fonts), numbers in single
    precision, margins sized for the labels (hlm_core.figure_margins) and no plotly logo."""
    from hlm_core.figure_margins import reserve_margins

    kwargs.setdefault("config", {"displaylogo": False})
    # margins that hold the labels: plotly draws the figure once, not twice
    st.plotly_chart(reserve_margins(figure_style(single_precision(fig))), key=key, **kwargs)


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
        st.caption(f":material/bookmark: {md(said[1], None)}")
    elif done:
        st.caption(f":material/bookmark: Saved as '{md(done[0])}'.")
