"""The session's data: loading an upload or an example, the working frame (the user's column
types and missing-value codes applied), the column summary, the structure check, and what the
reproducible code and the report need to know about the data file.

All of it lives in this session only (ui.state), never in a cache shared between sessions, and
never on disk.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from hlm_core.columns import apply_choices, stray_entries, to_numeric
from hlm_core.design import is_factor, level_labels
from hlm_core.errors import HLMError
from hlm_core.examples import classroom, example_bytes, example_info, example_table
from hlm_core.export import safe_csv
from hlm_core.io import Table, detect_missing_codes, read_table
from hlm_core.result import FitResult
from hlm_core.structure import Structure
from ui import builder, jobs
from ui.state import log, session

# What the uploader accepts: every format hlm_core reads, and the ones it refuses with advice
# (an old .xls, .ods or .numbers: "save it as .xlsx"; a JSON export). The browser rejects other
# extensions with its own terse message before the file reaches the app.
UPLOAD_TYPES = [
    "csv", "tsv", "tab", "txt", "dat", "xlsx", "xlsm", "sav", "zsav", "dta", "parquet", "pq",
    "xls", "xlsb", "ods", "numbers", "json",
]
EXAMPLE_SEED = 2024
W_UPLOAD = "w_upload"
W_EXAMPLE = "w_example"


# ---------------------------------------------------------------------------- loading


def set_table(table: Table, raw: tuple[str, bytes] | None = None) -> None:
    """Make `table` the session's data; everything derived from older data is forgotten."""
    session().new_data(table, raw)


READ_ADVICE = (
    "Save a smaller file (fewer rows or columns, e.g. one year or one school) as CSV and try "
    "again."
)


def load_upload(name: str, data: bytes, sheet: str | None = None) -> bool:
    """What the Data page does with an uploaded file: read it in a worker process (memory and
    time limits, progress, Stop). True when the new data are the session's now; False when it
    can't be read (message stored, earlier data kept) or the read goes on after a click
    elsewhere (its data land then, ui.jobs)."""
    s = session()
    s.read_error = None
    jobs.run(read_table, data, name=name, sheet=sheet, what=f"Reading {name}",
             advice=READ_ADVICE, key="read",
             done=lambda table: _uploaded(table, name, data), failed=read_failed)
    return s.read_error is None


def _uploaded(table: Table, name: str, data: bytes) -> None:
    set_table(table, (name, data))  # kept: another sheet, or "Save analysis" with the data
    session().file_sha = hashlib.sha256(data).hexdigest()


def read_failed(message: str) -> None:
    """A read (or an analysis being opened, ui.analysis) failed: say why; the data stay."""
    session().read_error = message


def on_upload() -> None:
    """Callback of the "Upload data" widget: note the new file; the Data page reads it
    (`read_pending`), where a progress bar and a Stop button can be shown."""
    upload = st.session_state.get(W_UPLOAD)
    s = session()
    if upload is None or s.upload_id == upload.file_id:
        return
    s.upload_id = upload.file_id
    s.pending_read = (upload.name, upload.getvalue(), None)


def read_pending() -> bool:
    """Read the file or sheet noted by `on_upload` / `choose_sheet`, or load the example noted
    by `ask_example`, if any. True when new data were loaded (the page then redraws with
    them)."""
    s = session()
    example, s.pending_example = s.pending_example, None
    if example is not None:
        jobs.run(example_table, example, EXAMPLE_SEED, what="Loading the example data",
                 key="read", done=lambda table: _example_loaded(example, table),
                 failed=read_failed)
        return s.example == example and s.read_error is None
    pending, s.pending_read = s.pending_read, None
    return pending is not None and load_upload(*pending)


def ask_example() -> None:
    """Callback of "Use example data": note the chosen example; the Data page loads it
    (`read_pending`) in a worker process, like an upload, so that reading a bundled file never
    holds up the server for other sessions."""
    session().pending_example = st.session_state.get(W_EXAMPLE) or "classroom"


def _example_loaded(name: str, table: Table) -> None:
    set_table(table)
    s = session()
    s.example = name
    s.file_sha = hashlib.sha256(example_file(name)).hexdigest()
    s.levels = list(example_info(name).levels)


def choose_sheet(sheet: str) -> None:
    """Note another sheet of the workbook already uploaded, for `read_pending` to read."""
    s = session()
    if s.raw is not None:
        s.pending_read = (s.raw[0], s.raw[1], sheet)


# ---------------------------------------------------------------------------- working frame


def working_frame() -> pd.DataFrame:
    """The data the model sees: as read, with the user's type switches and missing codes.
    Built once per change (cached in this session only)."""
    s = session()
    key = s.data_key()
    if s.frame is not None and s.frame[0] == key:
        return s.frame[1]
    frame, problems = apply_choices(s.table.frame, s.types, s.missing, s.stray)
    if problems:
        s.type_error = problems[-1]
    s.frame = (key, frame)
    return frame


def set_categorical(columns: list[str]) -> None:
    """Treat exactly `columns` as categories and the rest as numbers (where they are numbers)."""
    s = session()
    base = s.table.frame
    types: dict[str, str] = {}
    s.type_error = None
    for col in base.columns:
        was_cat = is_factor(base[col])
        want_cat = col in columns
        if was_cat and not want_cat:
            try:
                to_numeric(base[col], col)
            except HLMError as exc:
                s.type_error = str(exc)
                continue
            types[col] = "numeric"
        elif want_cat and not was_cat:
            types[col] = "categorical"
    s.types = types


def suspected_missing_codes() -> dict[str, list[float]]:
    """Numeric columns that seem to use 99/-999-style codes for missing answers (cached)."""
    s = session()
    table = s.table
    if s.codes is None or s.codes[0] != table.fingerprint:
        try:
            found = detect_missing_codes(table.frame)
        except Exception:
            log.exception("detect_missing_codes failed")
            found = {}
        s.codes = (table.fingerprint, found)
    return s.codes[1]


def stray_text() -> dict[str, pd.Series]:
    """Mostly numeric columns of the data as read that hold a few text entries ("absent"),
    each with its entries and counts (hlm_core.columns.stray_entries; cached per file)."""
    s = session()
    key = s.table.fingerprint
    cached = s.memo.get("stray_text")
    if cached is None or cached[0] != key:
        frame = s.table.frame
        found = {c: stray_entries(frame[c]) for c in frame.columns}
        cached = (key, {c: v for c, v in found.items() if v is not None})
        s.memo["stray_text"] = cached
    return cached[1]


def set_stray(column: str, on: bool) -> None:
    """Treat the text entries of a mostly numeric column as missing (on), or keep it as text."""
    s = session()
    stray = dict(s.stray)
    if on:
        stray[column] = [str(v) for v in stray_text()[column].index]
    else:
        stray.pop(column, None)
    s.stray = stray
    s.type_error = None


def set_missing_codes(on: bool) -> None:
    """Treat the suspected missing-value codes as missing (on) or as values (off)."""
    session().missing = dict(suspected_missing_codes()) if on else {}


def structure(frame: pd.DataFrame, levels: list[str]) -> Structure | str:
    """hlm_core's structure check for `levels` (inner first), or the plain message why not
    (the last one is kept for the current data)."""
    s = session()
    key = (s.data_key(), tuple(levels))
    if s.structure is not None and s.structure[0] == key:
        return s.structure[1]
    out = builder.check_structure(frame, levels)
    s.structure = (key, out)
    return out


def column_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per column: type, missing values, distinct values, an example (cached)."""
    s = session()
    key = s.data_key()
    if s.summary is not None and s.summary[0] == key:
        return s.summary[1]
    rows = []
    n = len(frame)
    for col in frame.columns:
        values = frame[col]
        present = values.notna().to_numpy()
        missing = int(len(present) - present.sum())
        first = int(present.argmax()) if missing < len(present) else None  # no copy of the column
        rows.append(
            {
                "Column": str(col),
                "Type": builder.column_type(values),
                "Missing": missing,
                "Missing %": 100.0 * missing / n if n else 0.0,
                "Distinct values": int(values.nunique(dropna=True)),
                "Example": "" if first is None else str(values.iloc[first]),
            }
        )
    out = pd.DataFrame(rows)
    s.summary = (key, out)
    return out


def fit_rows(result: FitResult) -> pd.DataFrame:
    """The rows of the working data the fit used (after dropping missing values)."""
    frame = working_frame()
    mf = result.model_frame
    if mf is None or len(mf.rows) == len(frame):
        return frame
    return frame.iloc[mf.rows]


def combined_labels(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """Group labels of a combined level such as class:school, built as hlm_core's design does."""
    out = level_labels(frame[columns[0]]).astype(str)
    for c in columns[1:]:
        out = out + ":" + level_labels(frame[c]).astype(str)
    return out


# ---------------------------------------------------------------------------- the data file


def example_file(name: str) -> bytes:
    """The example's data as the CSV file the reproducible code reads (bundled file, or the
    generated classroom data written as CSV)."""
    data = example_bytes(name)
    if data is not None:
        return data
    return safe_csv(classroom(seed=EXAMPLE_SEED))


def data_file_name() -> str:
    """The file name the reproducible code reads: the upload's name, or the example's file."""
    s = session()
    if s.example:
        return example_info(s.example).file_name
    return s.table.name if s.table is not None else "data.csv"


def data_fingerprint() -> str:
    """sha256 of the data file (the upload's bytes, or the example file)."""
    s = session()
    if s.file_sha:
        return s.file_sha
    return s.table.fingerprint if s.table is not None else ""


def codegen_args() -> dict[str, Any]:
    """What the reproducible code needs to redo the Data page's work: the file name, the sheet,
    and the column-type switches and missing-value codes the user applied (as the fit used)."""
    s = session()
    return {
        "file_name": data_file_name(),
        "column_types": dict(s.types) or None,
        "sheet": s.table.sheet if s.table is not None else None,
        "missing_codes": {c: list(v) for c, v in s.missing.items()} or None,
    }
