"""Save the session as an analysis file and open one again (hlm_core.analysis_file).

Why: the session lives only in the server's memory; the file keeps the user's choices (never
fits, never Python objects) so a colleague, or tomorrow's workshop, gets the same numbers by
refitting. Opening checks everything before it touches the session: a bad file, data that
can't be read, or choices that don't fit the data leave the session as it was.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from hlm_core.analysis_file import (
    Analysis,
    AnalysisFileError,
    data_mismatch,
    file_name,
    read_analysis,
    write_analysis,
)
from hlm_core.columns import apply_choices
from hlm_core.errors import HLMError
from hlm_core.examples import example_bytes
from hlm_core.io import Table, read_table
from hlm_core.transforms import source_columns
from ui import data as ui_data
from ui import fits, model, page_options
from ui.state import log, session
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
    """Callback of the "Open analysis" uploader."""
    upload = st.session_state.get(W_OPEN)
    if upload is not None:
        open_analysis(upload.name, upload.getvalue())


def on_data_for() -> None:
    """Callback of the uploader asking for the data of an analysis saved without them."""
    upload = st.session_state.get(W_DATA_FOR)
    s = session()
    if upload is not None and s.pending is not None:
        data = upload.getvalue()
        if restore(s.pending, upload.name, data):
            s.pending = None


def open_analysis(name: str, blob: bytes) -> bool:
    """Read an analysis file and restore it (or ask for its data). False, message stored, if
    the file is refused; the session is then unchanged."""
    s = session()
    s.read_error = s.data_note = None
    try:
        a = read_analysis(blob)
    except AnalysisFileError as exc:
        s.read_error = str(exc)
        return False
    a.source_name = name
    if a.data is not None:
        return restore(a, a.data_name, a.data)
    if a.example is not None:
        return restore(a, a.data_name, None)
    s.pending = a
    return False


def _table(a: Analysis, name: str, data: bytes | None) -> Table:
    if data is not None:
        return read_table(data, name=name, sheet=a.sheet)
    ex = example_bytes(a.example)
    if ex is None:  # the generated classroom example: load it as the Data page does
        ui_data.load_example(a.example)
        return session().table
    return read_table(ex, name=a.data_name)


def restore(a: Analysis, name: str, data: bytes | None) -> bool:
    """Check that the saved choices fit the data, then make them the session's and refit the
    current model (fits are recomputed, never read from the file)."""
    s = session()
    try:
        table = _table(a, name, data)
        frame, problems = apply_choices(table.frame, a.types, a.missing, a.stray)
        if problems:
            raise HLMError(f"The saved choices don't fit this data file: {problems[0]}")
        specs = [sp for sp in [a.current, *(sp for _, sp in a.saved)] if sp is not None]
        need = set(a.levels) | {c for sp in specs for c in source_columns(sp.variables())}
        absent = sorted(str(c) for c in need if c not in frame.columns)
        if absent:
            raise HLMError("The saved analysis uses columns this data file does not have: "
                           f"{', '.join(absent[:5])}. Open it with the data it was saved with.")
    except HLMError as exc:
        s.read_error = str(exc)
        return False
    except Exception:
        log.exception("opening an analysis failed")
        s.read_error = "The data for this analysis could not be read."
        return False
    example = a.example if data is None else None
    if example is None or example_bytes(example) is not None:
        ui_data.set_table(table, (name, data) if data is not None else None)
    s.example = example
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
        fits.fit_model(a.current)
    return True


def open_section() -> None:
    """Data page: the "Open analysis" uploader, and the data file an analysis saved without
    its data asks for (its name and what happens when it differs)."""
    st.file_uploader("Open analysis (.hlm.zip)", type=OPEN_TYPES, key=W_OPEN, on_change=on_open,
                     help="An analysis saved with 'Save analysis' in the sidebar: the data, "
                     "column choices, grouping levels and models come back and the current "
                     "model is fitted again.")
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
