"""Excel workbooks: the first sheet holding a table, its header row, title rows above it,
and columns of formulas whose results were never saved. Part of `hlm_core.io`.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from typing import Any

import pandas as pd

from hlm_core import io_guard
from hlm_core.errors import ReadError
from hlm_core.io_columns import _finish
from hlm_core.io_common import _listing


def _read_excel(
    data: bytes, name: str, sheet: str | None, notes: list[str]
) -> tuple[pd.DataFrame, list[str], str]:
    io_guard.check_workbook_zip(data, name)  # zipped CSVs, zip bombs: before openpyxl unpacks
    try:
        wb = _open_workbook(data, data_only=True)
    # A damaged or mislabelled file can fail anywhere inside the parser (BadZipFile, KeyError,
    # InvalidFileException, XML errors ...); every failure means the same thing to the user.
    except Exception as exc:
        raise ReadError(
            f"{name} could not be opened as an Excel workbook ({type(exc).__name__}). Open it in "
            "Excel, save it as .xlsx, and upload it again — or export the data as CSV."
        ) from None
    try:
        sheets = list(wb.sheetnames)
        if sheet is not None:
            if sheet not in sheets:
                listed = ", ".join(f"'{s}'" for s in sheets)
                raise ReadError(
                    f"There is no sheet called '{sheet}' in {name}. Its sheets are: {listed}."
                )
            rows = _sheet_rows(wb[sheet], name=name)
            if not rows:
                raise ReadError(f"Sheet '{sheet}' of {name} is empty. Pick another sheet.")
            chosen = sheet
        else:
            chosen, rows = _first_table_sheet(wb, sheets, name)
            if chosen is None:
                raise ReadError(
                    f"Every sheet in {name} is empty. Open the workbook, check that the data is "
                    "there, save it, and upload it again."
                )
    finally:
        wb.close()

    if len(sheets) > 1:
        others = ", ".join(f"'{s}'" for s in sheets if s != chosen)
        notes.append(
            f"Read sheet '{chosen}'. The workbook also has {others}; pick another "
            "sheet if the data is there."
        )
    header_at = _header_row_index(rows)
    if header_at:
        notes.append(f"Skipped {header_at} row(s) above the header row (titles or notes).")
        rows = rows[header_at:]
    width = max(len(r) for r in rows)
    padded = [list(r) + [None] * (width - len(r)) for r in rows]
    header = [_header_text(v) for v in padded[0]]
    body = pd.DataFrame(padded[1:], columns=range(width), dtype=object)
    frame = _finish(header, body, f"Sheet '{chosen}' of {name}", notes, decimal_comma=False)
    _note_formula_columns(data, chosen, frame, notes)
    if frame.shape[1] == 1:
        notes.append(f"Only one column was found in sheet '{chosen}'.")
    return frame, sheets, chosen


def _open_workbook(data: bytes, data_only: bool) -> Any:
    """Open a workbook from memory, read-only (streams rows instead of building every cell).

    openpyxl warns about workbook features it ignores (data validation, default styles, ...);
    those say nothing about the data, so they are silenced.
    """
    import openpyxl  # imported here: only Excel uploads pay for it

    from hlm_core.xlsx_rows import open_values

    book = open_values(data) if data_only else None  # the same values, ~10x faster
    if book is not None:
        return book
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)


def _sheet_rows(ws: Any, limit: int | None = None, name: str = "the workbook") -> list[tuple]:
    """Values of a sheet's rows with trailing blank cells and trailing blank rows removed.

    A full read (no `limit`) first checks the sheet's declared size; every read watches rows x
    columns as the rows stream in, so a stray cell at XFD1048576 is refused, not expanded.
    """
    if not hasattr(ws, "iter_rows"):  # a chartsheet
        return []
    io_guard.declared_size(ws)  # remembered before the reset below
    if limit is None:
        io_guard.check_sheet_area(ws, ws.title, name)
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()  # read-only mode trusts the stored size, which can be wrong
    out: list[tuple] = []
    last_filled = -1
    width = 0
    for row in ws.iter_rows(values_only=True):
        row = tuple(row)
        end = len(row)
        while end and _blank(row[end - 1]):
            end -= 1
        out.append(row[:end])
        if end:
            last_filled = len(out) - 1
            if end > width or not len(out) % 4096:
                width = max(width, end)
                io_guard.check_sheet_row(len(out), width, ws.title, name)
        if limit is not None and last_filled >= 0 and len(out) >= limit:
            break
    if limit is None:
        io_guard.check_sheet_row(last_filled + 1, width, ws.title, name)
    return out[: last_filled + 1]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_table(rows: list[tuple]) -> bool:
    """A header row with at least two filled cells followed by at least one filled row."""
    for i, row in enumerate(rows):
        if sum(not _blank(v) for v in row) >= 2:
            return any(any(not _blank(v) for v in r) for r in rows[i + 1 :])
    return False


def _first_table_sheet(
    wb: Any, sheets: list[str], name: str
) -> tuple[str | None, list[tuple]]:
    """The first sheet that holds a table; failing that, the first sheet with anything in it."""
    fallback: str | None = None
    for s in sheets:
        head = _sheet_rows(wb[s], limit=50, name=name)
        if not head:
            continue
        if _is_table(head):
            return s, _sheet_rows(wb[s], name=name)
        fallback = fallback or s
    if fallback is None:
        return None, []
    return fallback, _sheet_rows(wb[fallback], name=name)


def _header_row_index(rows: list[tuple]) -> int:
    """Skip title lines above a table: the header is the first row with two or more cells."""
    for i, row in enumerate(rows[:50]):
        filled = sum(not _blank(v) for v in row)
        if filled >= 2:
            return i
    for i, row in enumerate(rows):  # a one-column sheet: the first non-empty row
        if any(not _blank(v) for v in row):
            return i
    return 0


def _header_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    return str(value)


def _note_formula_columns(data: bytes, sheet: str, frame: pd.DataFrame, notes: list[str]) -> None:
    """Explain empty columns made of formulas whose results were never saved in the file.

    Programs other than Excel (scripts, some web exports) can write formulas without their cached
    results; openpyxl can only give cached results, so such columns arrive empty.
    """
    empty = [c for c in frame.columns if frame[c].isna().all()]
    if not empty:
        return
    wb = _open_workbook(data, data_only=False)
    try:
        rows = _sheet_rows(wb[sheet], limit=60)
    finally:
        wb.close()
    formulas = any(isinstance(v, str) and v.startswith("=") for r in rows[1:] for v in r)
    if formulas:
        notes.append(
            f"{_listing(empty)} came out empty: the sheet has formulas whose results were "
            "never saved. Open the file in Excel, save it, and upload it again."
        )
