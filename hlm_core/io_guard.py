"""Checks on an upload's size and shape made before the reader expands it (issue 12).

Each check reads only what it needs (a zip's directory, the first bytes of a sheet, line
lengths counted on the raw bytes) and raises `ReadError` naming the limit it hit and how to get
under it; the limits themselves live in `hlm_core.limits`. Pure functions of the bytes, so they
run the same in the app, the CLI and a worker process.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import numpy as np

from hlm_core import limits
from hlm_core.errors import ReadError

__all__ = [
    "check_cell_lengths",
    "check_sheet_area",
    "check_sheet_row",
    "check_table_shape",
    "check_text_shape",
    "check_workbook_zip",
]

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
_SAVE_AS_CSV = "or save the data as CSV"


# ---------------------------------------------------------------------------------- workbooks


def check_workbook_zip(data: bytes, name: str) -> None:
    """A zip that is an Excel workbook of sane unpacked size, or a plain refusal.

    A damaged zip passes (openpyxl then explains); a zip of something else (a zipped CSV, a
    Word document) is named for what it is; a workbook whose parts unpack to more than the limit,
    or hold a cell longer than the limit (a "zip bomb"), is refused before openpyxl unpacks it.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        return
    with archive:
        infos = archive.infolist()
        names = {i.filename.lower() for i in infos}
        if "xl/workbook.xml" not in names:
            raise ReadError(_other_zip(name, names, infos))
        lim = limits.current()
        total = sum(i.file_size for i in infos)
        if total > lim.max_unzipped_bytes:
            raise ReadError(
                f"{name} unpacks to {limits.size_text(total)}, more than the "
                f"{limits.size_text(lim.max_unzipped_bytes)} this app reads. Export fewer rows "
                f"or columns, {_SAVE_AS_CSV}."
            )
        for info in infos:
            part = info.filename.lower()
            if info.file_size > lim.max_cell_chars and (
                part == "xl/sharedstrings.xml" or part.startswith("xl/worksheets/")
            ):
                longest, rows, cells = _scan_part(archive, info, lim.max_cell_chars)
                if longest > lim.max_cell_chars:
                    raise ReadError(_long_cell(name, longest, lim.max_cell_chars))
                if part.startswith("xl/worksheets/"):
                    # cells per row on average: at least as wide as that (openpyxl would read
                    # a whole sheet without a declared size once just to measure it)
                    width = cells // rows if rows else 0
                    _check_area(rows, width, f"A sheet of {name}", declared=False)
                    if cells > lim.max_cells:
                        raise ReadError(
                            f"A sheet of {name} holds {cells:,} cells; this app reads at most "
                            f"{lim.max_cells:,}. Export fewer rows or columns, {_SAVE_AS_CSV}."
                        )


def _other_zip(name: str, names: set[str], infos: list[zipfile.ZipInfo]) -> str:
    if any(n.startswith("word/") for n in names):
        what = "a Word document"
    elif any(n.startswith("ppt/") for n in names):
        what = "a PowerPoint presentation"
    elif "mimetype" in names or "content.xml" in names:
        return (
            f"{name} is an OpenDocument (LibreOffice) file, not an Excel workbook. Open it and "
            "save it as an Excel workbook (.xlsx) or as CSV, then upload that file."
        )
    else:
        files = [i.filename for i in infos if not i.is_dir()]
        shown = ", ".join(f"'{f}'" for f in files[:3]) + (" ..." if len(files) > 3 else "")
        inside = f" (holding {shown})" if files else " (empty)"
        return (
            f"{name} is a zip archive{inside}, not a table. Unzip it first and upload the "
            "data file inside."
        )
    return f"{name} is {what}, not a data table. Export the data as CSV or .xlsx."


def _scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, stop: int) -> tuple[int, int, int]:
    """(longest stretch of XML text without a tag, i.e. an upper bound on a cell's length;
    rows; cells) of one part, counted while unpacking it 1 MB at a time. Stops early once a
    text passes `stop`. Tags split across two pieces are rare enough not to matter."""
    longest = run = rows = cells = 0
    with archive.open(info) as part:
        while chunk := part.read(1 << 20):
            rows += chunk.count(b"<row")
            cells += chunk.count(b"<c ") + chunk.count(b"<c>")
            pieces = chunk.split(b"<")
            if len(pieces) == 1:
                run += len(chunk)
            else:
                inner = max(map(len, pieces[1:-1]), default=0)
                longest = max(longest, run + len(pieces[0]), inner)
                run = len(pieces[-1])
            longest = max(longest, run)
            if longest > stop:
                break
    return longest, rows, cells


def _long_cell(name: str, length: int, limit: int) -> str:
    return (
        f"{name} holds a cell with more than {limit:,} characters (at least {length:,}), more "
        "than a data table needs. Remove the long text (pasted documents, images as text) and "
        "upload again."
    )


def check_sheet_area(ws: Any, sheet: str, name: str) -> None:
    """Refuse a sheet whose declared used area (e.g. A1:XFD1048576, from one stray cell far
    away) would pass the cell or column limit, before a single row is read."""
    rows, cols = declared_size(ws)
    if not rows or not cols:
        return  # no declared size: check_sheet_row watches the rows as they come
    _check_area(rows, cols, f"Sheet '{sheet}' of {name}", declared=True)


def declared_size(ws: Any) -> tuple[int | None, int | None]:
    """(rows, columns) a read-only sheet declares in its XML, remembered on the sheet before
    the reader resets its dimensions (the reader then measures the rows itself)."""
    if not hasattr(ws, "_hlm_declared"):
        ws._hlm_declared = (getattr(ws, "max_row", None), getattr(ws, "max_column", None))
    return ws._hlm_declared


def check_sheet_row(n_rows: int, width: int, sheet: str, name: str) -> None:
    """The same limits while rows stream in (the declared size can be missing or wrong)."""
    lim = limits.current()
    if width > lim.max_columns or n_rows > EXCEL_MAX_ROWS or n_rows * width > lim.max_cells:
        _check_area(n_rows, width, f"Sheet '{sheet}' of {name}", declared=False)


def _check_area(rows: int, cols: int, where: str, declared: bool) -> None:
    lim = limits.current()
    reach = "reaches" if declared else "has reached"
    if rows > EXCEL_MAX_ROWS or cols > EXCEL_MAX_COLUMNS:
        raise ReadError(
            f"{where} {reach} {rows:,} rows and {cols:,} columns, beyond what Excel allows "
            f"(1,048,576 x 16,384): the file is damaged or was not written by Excel. Export "
            f"the data again, {_SAVE_AS_CSV}."
        )
    if cols > lim.max_columns:
        raise ReadError(
            f"{where} {reach} column {cols:,}; this app reads at most {lim.max_columns:,} "
            "columns. Delete stray cells far to the right of the table (select the empty "
            f"columns after it, delete them, save), export fewer columns, {_SAVE_AS_CSV}."
        )
    if rows * cols > lim.max_cells:
        raise ReadError(
            f"{where} {reach} {rows:,} rows x {cols:,} columns = {rows * cols:,} cells; this "
            f"app reads at most {lim.max_cells:,}. Delete stray cells far below or to the right "
            f"of the table, export fewer rows or columns, {_SAVE_AS_CSV}."
        )


def check_table_shape(rows: int | None, cols: int, name: str) -> None:
    """Rows and columns a file declares (Parquet, SPSS, Stata metadata; a ragged CSV's widest
    row), checked before the table is built."""
    lim = limits.current()
    if cols > lim.max_columns:
        raise ReadError(
            f"{name} has {cols:,} columns; this app reads at most {lim.max_columns:,}. Export "
            "only the columns you need (the outcome, predictors and grouping columns)."
        )
    if rows is not None and rows * cols > lim.max_cells:
        raise ReadError(
            f"{name} has {rows:,} rows x {cols:,} columns = {rows * cols:,} cells; this app "
            f"reads at most {lim.max_cells:,}. Export fewer rows or only the columns you need."
        )


# ------------------------------------------------------------------------------ delimited text


def check_text_shape(data: bytes, header: str, delim: str, name: str, width: int = 1) -> int:
    """Refuse delimited text with a line, a column count or a cell count past the limits,
    before the parser allocates for it. `header` is the first line (decoded); `width` the
    bytes per character of the encoding (2 or 4 for UTF-16/32). Returns the longest line's
    length (for `check_cell_lengths`)."""
    lim = limits.current()
    longest = _longest_line(data) // width
    if longest > lim.max_line_bytes:
        raise ReadError(
            f"{name} has a line of {longest:,} characters; this app reads lines of up to "
            f"{lim.max_line_bytes:,}. Check that the file is a table with one row per line; "
            "remove long pasted text, or export fewer columns."
        )
    columns = header.count(delim) + 1
    if columns > lim.max_columns:
        raise ReadError(
            f"{name} has {columns:,} columns; this app reads at most {lim.max_columns:,}. Export "
            "only the columns you need (the outcome, predictors and grouping columns)."
        )
    rows = data.count(b"\n" if width == 1 else "\n".encode(_wide_codec(width)))
    if rows * columns > lim.max_cells:
        raise ReadError(
            f"{name} has about {rows:,} rows x {columns:,} columns = {rows * columns:,} cells; "
            f"this app reads at most {lim.max_cells:,}. Export fewer rows or only the columns "
            "you need."
        )
    return longest


def check_cell_lengths(raw: Any, longest_line: int, name: str) -> None:
    """Refuse a parsed text table with a cell past the cell limit. Only looked at when some
    line is longer than the limit (no cell is longer than its line), so ordinary files pay
    nothing."""
    limit = limits.current().max_cell_chars
    if longest_line <= limit:
        return
    for col in raw.columns:
        values = raw[col]
        if values.dtype == object or str(values.dtype) in ("str", "string"):
            lengths = values.astype("str").str.len()
            top = int(lengths.max()) if len(lengths) else 0
            if top > limit:
                raise ReadError(_long_cell(name, top, limit))


def _wide_codec(width: int) -> str:
    return "utf-16-le" if width == 2 else "utf-32-le"


def _longest_line(data: bytes, chunk: int = 1 << 24) -> int:
    """Bytes in the longest line, counted on the raw bytes 16 MB at a time (no copies of the
    text, no list of lines)."""
    longest, start = 0, 0
    arr = np.frombuffer(data, dtype=np.uint8)
    for lo in range(0, len(arr), chunk):
        breaks = np.flatnonzero(arr[lo : lo + chunk] == 10) + lo
        if breaks.size:
            longest = max(longest, int(breaks[0]) - start)
            if breaks.size > 1:
                longest = max(longest, int(np.diff(breaks).max()) - 1)
            start = int(breaks[-1]) + 1
    return max(longest, len(arr) - start)

