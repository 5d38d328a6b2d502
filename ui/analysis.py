"""Save the session as an analysis file and open one again (hlm_core.analysis_file).

Why: the session lives only in the server's memory; the file keeps the user's choices (never
fits, never Python objects) so a colleague, or tomorrow's workshop, gets the same numbers by
refitting. Opening checks everything before it touches the session: a bad file, data that
can't be read, or choices that don't fit the data leave the session as it was.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from hlm_core.analysis_file import Analysis, data_mismatch, file_name, write_analysis
from hlm_core.analysis_open import Opened, analysis_table, open_analysis
from hlm_core.io import Table
from ui import data as ui_data
from ui import fits, jobs, model, page_options
from ui.state import session
from ui.text import md

W_INCLUDE = "w_include_data"
W_OPEN = "w_open_analysis"
W_DATA_FOR = "w_analysis_data"
OPEN_TYPES = ["zip"]


def current_analysis() -> Analysis:
    """The session's choices as an Analysis (data bytes when the upload's are kept)."""
    s = session()
    raw = s.raw
    return Analysis(
        data_name=raw[0] if raw else s.table.name, data_sha256=s.file_sha, example=s.example,
        sheet=s.table.sheet, types=dict(s.types),
        missing={c: [v if isinstance(v, str) else float(v) for v in vals]
                 for c, vals in s.missing.items()},
        stray=dict(s.stray), levels=list(s.levels), current=s.spec, saved=list(s.saved),
        options=page_options.current_options(),
        data=raw[1] if raw else None,
    )


def save_button() -> None:
    """Sidebar: "Save analysis" (download) with the "include the data" box, once data are in."""
    s = session()
    if s.table is None:
        return
    st.markdown("**Save analysis**")
    include = st.checkbox("Include the data in the file", value=True, key=W_INCLUDE,
                          help="Without the data, opening the analysis asks for the data file.")
    a = current_analysis()  # the choices as they are now; the zip is made on click
    st.download_button("Save analysis", lambda: write_analysis(a, include_data=include),
                       file_name=file_name(a.data_name), mime="application/zip",
                       icon=":material/save:", key="w_save_analysis", on_click="ignore")


def on_open() -> None:
    """Callback of the "Open analysis" uploader: note the file; the Data page opens it
    (`open_pending`), where a progress bar and a Stop button can be shown."""
    upload = st.session_state.get(W_OPEN)
    if upload is not None:
        session().pending_open = ("analysis", upload.name, upload.getvalue())


def on_data_for() -> None:
    """Callback of the uploader asking for the data of an analysis saved without them: noted
    for `open_pending` too."""
    upload = st.session_state.get(W_DATA_FOR)
    s = session()
    if upload is not None and s.pending is not None:
        s.pending_open = ("data", upload.name, upload.getvalue())


OPEN_ADVICE = (
    "Save the analysis without its data and open it with a smaller data file (fewer rows or "
    "columns, saved as CSV), or ask the administrator to raise the limit."
)


def open_pending() -> bool:
    """Open the analysis file (or read the data file it asked for) noted by the callbacks, in a
    worker process like an upload (memory and time limits, progress, Stop). True when the
    session changed in this run (the page then redraws); a file that is refused or can't be
    read leaves the session as it was, with the plain message in `read_error`."""
    s = session()
    pending, s.pending_open = s.pending_open, None
    if pending is None:
        return False
    kind, name, blob = pending
    s.read_error = s.data_note = None
    changed: list[bool] = []
    if kind == "analysis":
        jobs.run(open_analysis, blob, ui_data.EXAMPLE_SEED, what=f"Opening {name}",
                 advice=OPEN_ADVICE, key="read", failed=ui_data.read_failed,
                 done=lambda opened: changed.append(_opened(opened, name)))
    elif s.pending is not None:
        a = s.pending
        jobs.run(analysis_table, a, name, blob, ui_data.EXAMPLE_SEED, what=f"Reading {name}",
                 advice=ui_data.READ_ADVICE, key="read", failed=ui_data.read_failed,
                 done=lambda table: changed.append(_data_given(a, name, blob, table)))
    return any(changed)


def _opened(opened: Opened, name: str) -> bool:
    a = opened.analysis
    a.source_name = name
    if opened.table is None:  # saved without its data: the Data page asks for them
        session().pending = a
        return True
    restore(a, opened.table, a.data_name, a.data)
    return True


def _data_given(a: Analysis, name: str, data: bytes, table: Table) -> bool:
    restore(a, table, name, data)
    session().pending = None
    return True


def restore(a: Analysis, table: Table, name: str, data: bytes | None) -> None:
    """Make analysis `a` the session's, with its data `table` (read and checked against the
    saved choices in the job, hlm_core.analysis_open) from the file `name` with bytes `data`
    (None: its example), then refit the current model (fits are recomputed, never read from
    the file)."""
    s = session()
    ui_data.set_table(table, (name, data) if data is not None else None)
    s.example = a.example if data is None else None
    s.file_sha = hashlib.sha256(data).hexdigest() if data is not None else a.data_sha256
    s.types, s.missing, s.stray = dict(a.types), dict(a.missing), dict(a.stray)
    s.levels = list(a.levels)
    s.saved = list(a.saved)
    s.analysis = (a.source_name or "analysis", a.sha256 or "")
    s.read_error = None
    s.data_note = data_mismatch(a, data) if data is not None else None
    model.set_levels(s.levels)
    page_options.restore_options(a.options)  # each page shows the choices it was saved with
    if a.current is not None:
        model.set_spec(a.current)
        fits.fit_model(a.current)  # a fit job of its own (ui.fits), as after any new data


def open_section() -> None:
    """Data page: the "Open analysis" uploader, and the data file an analysis saved without
    its data asks for (its name and what happens when it differs)."""
    st.file_uploader("Open analysis (.hlm.zip)", type=OPEN_TYPES, key=W_OPEN, on_change=on_open,
                     help="An analysis saved with 'Save analysis' in the sidebar: the data, "
                     "column choices, grouping levels and models come back and the current "
                     "model is fitted again.")
    if open_pending():
        st.rerun()  # the header and sidebar, drawn before, show the opened analysis
    s = session()
    if s.data_note:  # the user may mean it (new data): a warning saying what to do, no error
        st.warning(md(s.data_note, None), icon=":material/warning:")
    a = s.pending
    if a is None:
        return
    st.warning(
        f"This analysis was saved without its data. Upload the data file it was saved with "
        f"({md(a.data_name)}); the app checks that it is the same file (its sha256 fingerprint).",
        icon=":material/upload_file:",
    )
    st.file_uploader("Data file for the analysis", type=ui_data.UPLOAD_TYPES, key=W_DATA_FOR,
                     on_change=on_data_for)
