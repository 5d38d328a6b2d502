"""Read an uploaded or local file into a DataFrame, saying in plain words what was inferred.

One entry point, `read_table`, for every format a school analyst is likely to have: CSV/TSV/TXT
exports (any common delimiter and encoding, European decimal commas), Excel workbooks, SPSS, Stata
and Parquet. Uploaded data never touches the disk: every reader works on the bytes in memory.

Everything the reader decides on the user's behalf (delimiter, encoding, renamed columns, dropped
rows, value labels) goes into `Table.notes`, so the app can show it; anything that stops us from
producing a sensible table raises `ReadError` whose text says what to change.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hlm_core.errors import ModelError, ReadError

__all__ = [
    "SUPPORTED_FORMATS",
    "ReadError",
    "Table",
    "apply_missing_codes",
    "detect_missing_codes",
    "read_table",
]

SUPPORTED_FORMATS = (
    "CSV or delimited text (.csv, .tsv, .txt), Excel workbooks (.xlsx, .xlsm), "
    "SPSS (.sav), Stata (.dta) or Parquet (.parquet)"
)

_TEXT_EXT = {".csv", ".tsv", ".tab", ".txt", ".dat"}
_EXCEL_EXT = {".xlsx", ".xlsm"}
_SPSS_EXT = {".sav", ".zsav"}
_STATA_EXT = {".dta"}
_PARQUET_EXT = {".parquet", ".pq"}
_OTHER_SPREADSHEETS = {".xls", ".xlsb", ".ods", ".numbers"}
_BINARY_KINDS = {"excel", "spss", "stata", "parquet"}  # formats that are never plain text

# Cell texts that mean "no value": common export spellings plus Excel's error values.
_EXCEL_ERRORS = {"#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#NULL!", "#SPILL!"}
_NA_TOKENS = {
    "",
    ".",
    "NA",
    "N/A",
    "n/a",
    "na",
    "NaN",
    "nan",
    "NAN",
    "NULL",
    "null",
    "Null",
    "None",
    "none",
    "<NA>",
    "#N/A N/A",
    "#NA",
    "-nan",
    "-NaN",
} | _EXCEL_ERRORS

_DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars (|)"}

_DECIMAL_COMMA = re.compile(r"[+-]?(\d+,\d+|,\d+|\d+)([eE][+-]?\d+)?")
_LEADING_ZERO = re.compile(r"[+-]?0\d")

_MAX_LISTED = 8  # names listed in one note before "and N more"


@dataclass
class Table:
    """A file read into a frame, with the notes to show the user and a cache key.

    `fingerprint` is the sha256 of the raw bytes plus the sheet read, so the app can cache
    anything derived from the table (fits, summaries) without hashing the frame.
    """

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    sheet: str | None = None
    name: str = "data"
    fingerprint: str = ""


# ---------------------------------------------------------------------------------------------
# entry point


def read_table(source: Any, name: str | None = None, sheet: str | None = None) -> Table:
    """Read `source` (a path, raw bytes, or a binary file-like such as Streamlit's UploadedFile).

    `name` is the file name when `source` is bytes (its extension picks the reader); `sheet`
    picks a workbook sheet other than the first one holding a table. Raises `ReadError` with a
    plain-language message when the file cannot be read as a table.
    """
    data, name = _load_bytes(source, name)
    if not data:
        raise ReadError(
            f"{name} is empty (0 bytes). Check that the file was saved with its data and "
            "upload it again."
        )
    notes: list[str] = []
    kind = _kind_from_extension(name)
    kind = _check_content(data, name, kind, notes)

    sheets: list[str] = []
    sheet_read: str | None = None
    renamed = None
    if kind in _BINARY_KINDS and _kind_from_magic(data) is None and not _looks_binary(data):
        renamed = _read_renamed_text(data, name, notes)
    if renamed is not None:  # a CSV renamed to .xlsx (or saved as "scores.sav" by hand)
        frame = renamed
        if sheet is not None:
            notes.append(f"{name} is not a workbook, so the sheet choice '{sheet}' was ignored.")
    elif kind == "excel":
        frame, sheets, sheet_read = _read_excel(data, name, sheet, notes)
    else:
        if sheet is not None:
            notes.append(f"{name} is not a workbook, so the sheet choice '{sheet}' was ignored.")
        if kind == "spss":
            frame = _read_spss(data, name, notes)
        elif kind == "stata":
            frame = _read_stata(data, name, notes)
        elif kind == "parquet":
            frame = _read_parquet(data, name, notes)
        else:
            frame = _read_text(data, name, notes, unknown_extension=kind is None)

    digest = hashlib.sha256(data)
    digest.update(b"\x00sheet:" + (sheet_read or "").encode("utf-8"))
    return Table(
        frame=frame,
        notes=notes,
        sheets=sheets,
        sheet=sheet_read,
        name=name,
        fingerprint=digest.hexdigest(),
    )


def _read_renamed_text(data: bytes, name: str, notes: list[str]) -> pd.DataFrame | None:
    """Text saved under a binary format's name: the table in it, or None when it holds no
    table of two or more columns (then the format's own reader explains the problem)."""
    own: list[str] = []
    try:
        frame = _read_text(data, name, own, unknown_extension=False)
    except ReadError:
        return None
    if frame.shape[1] < 2:
        return None
    ext = Path(name).suffix.lower()
    notes.append(f"{name} holds plain text despite its {ext} name; it was read as text.")
    notes.extend(own)
    return frame


def _load_bytes(source: Any, name: str | None) -> tuple[bytes, str]:
    """The raw bytes and a display name, whatever kind of source we were given."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or "data"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            return path.read_bytes(), name or path.name
        except FileNotFoundError:
            raise ReadError(f"There is no file at {path}. Check the path and try again.") from None
        except IsADirectoryError:
            raise ReadError(f"{path} is a folder, not a file. Pick a data file.") from None
        except OSError as exc:
            raise ReadError(f"{path} could not be opened ({exc.strerror}).") from None
    if hasattr(source, "getvalue"):  # Streamlit UploadedFile, io.BytesIO
        data = source.getvalue()
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except (OSError, ValueError):
                pass
        data = source.read()
    else:
        raise TypeError(f"read_table cannot read a {type(source).__name__}")
    if isinstance(data, str):
        raise TypeError("read_table needs a binary file (bytes), not text")
    if name is None:
        raw_name = getattr(source, "name", None)
        name = os.path.basename(raw_name) if isinstance(raw_name, str) and raw_name else "data"
    return bytes(data), name


def _kind_from_extension(name: str) -> str | None:
    ext = Path(name).suffix.lower()
    if ext in _TEXT_EXT:
        return "text"
    if ext in _EXCEL_EXT:
        return "excel"
    if ext in _SPSS_EXT:
        return "spss"
    if ext in _STATA_EXT:
        return "stata"
    if ext in _PARQUET_EXT:
        return "parquet"
    if ext in _OTHER_SPREADSHEETS:
        return "other-spreadsheet"
    return None


def _kind_from_magic(data: bytes) -> str | None:
    """The format the first bytes announce, when they announce one."""
    head = data[:16]
    if head.startswith(b"PK\x03\x04"):
        return "excel"  # a zip container; openpyxl tells us if it is not a workbook
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"  # old .xls, or a password-protected .xlsx
    if head.startswith((b"$FL2", b"$FL3")):
        return "spss"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"<stata_dta>"):
        return "stata"
    if head.startswith(b"%PDF"):
        return "pdf"
    return None


def _check_content(data: bytes, name: str, kind: str | None, notes: list[str]) -> str | None:
    """Trust the bytes over the name: a workbook renamed to .csv is still read as a workbook."""
    magic = _kind_from_magic(data)
    if magic == "ole":
        raise ReadError(
            f"{name} is an old-style Excel .xls file or a password-protected workbook. Save it "
            "as .xlsx (without a password) or as CSV, then upload it again."
        )
    if magic == "pdf":
        raise ReadError(
            f"{name} is a PDF document, not a data table. Export the data as {SUPPORTED_FORMATS}."
        )
    if kind == "other-spreadsheet":
        # Some school systems export text under an .xls name; read those, refuse real ones.
        ext = Path(name).suffix.lower()
        if magic is None and not _looks_binary(data):
            notes.append(f"{name} holds plain text despite its {ext} name; it was read as text.")
            return "text"
        raise ReadError(
            f"{name} is a {ext} spreadsheet, which this app cannot read. Open it and save it as "
            "an Excel workbook (.xlsx) or as CSV, then upload that file."
        )
    if magic is not None and magic != kind:
        labels = {
            "excel": "an Excel workbook",
            "spss": "an SPSS file",
            "parquet": "a Parquet file",
            "stata": "a Stata file",
        }
        if kind is not None:
            notes.append(f"{name} holds {labels[magic]} despite its name; it was read as one.")
        return magic
    return kind


# ---------------------------------------------------------------------------------------------
# delimited text


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode text bytes; returns (text, plain-English note). Binary data raises ReadError."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), (
            "Text encoding: UTF-8 with a byte-order mark (as Excel's 'CSV UTF-8' saves)."
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode_utf16(data, "utf-16", name), (
            "Text encoding: UTF-16 (as Excel's 'Unicode text' export saves)."
        )
    sample = data[:4000]
    if len(sample) >= 4:  # UTF-16 without a byte-order mark: every other byte is zero
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
            return _decode_utf16(data, "utf-16-le", name), "Text encoding: UTF-16."
        if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
            return _decode_utf16(data, "utf-16-be", name), "Text encoding: UTF-16."
    if _looks_binary(data):
        raise _not_text(name)
    try:
        return data.decode("utf-8"), "Text encoding: UTF-8."
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), (
            "Text encoding: Windows-1252 (Western European), because the file is not UTF-8. "
            "Check that accented letters look right."
        )
    except UnicodeDecodeError:
        return data.decode("latin-1"), (
            "Text encoding: Latin-1, because the file is not UTF-8. "
            "Check that accented letters look right."
        )


def _decode_utf16(data: bytes, encoding: str, name: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise _not_text(name) from None
    return text.removeprefix("\ufeff")


def _looks_binary(data: bytes) -> bool:
    """NUL bytes or many control bytes: an image, archive or other non-text file."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text has NULs too
        return False
    sample = data[:65536]
    return b"\x00" in sample or _control_share(sample) > 0.01


def _control_share(sample: bytes) -> float:
    """Share of control bytes other than tab, CR, LF and form feed: high in binary files."""
    if not sample:
        return 0.0
    bad = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return bad / len(sample)


def _not_text(name: str) -> ReadError:
    return ReadError(
        f"{name} does not look like a data table: it holds binary data (perhaps an image or "
        f"another kind of file). Upload {SUPPORTED_FORMATS}."
    )


def _sniff_delimiter(text: str, prefer_tab: bool) -> str | None:
    """The delimiter that splits the first lines into the most consistent, most numeric fields.

    csv.Sniffer is easily fooled by decimal commas and quoted text, so we score the four usual
    candidates ourselves. None means no candidate gives more than one column.
    """
    sample = text[:65536]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rfind("\n")]
    order = ["\t", ",", ";", "|"] if prefer_tab else [",", ";", "\t", "|"]
    best: tuple | None = None
    best_delim: str | None = None
    for rank, delim in enumerate(order):
        try:
            _allow_fields(len(sample))
            rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delim) if any(r)]
        except csv.Error:
            continue
        rows = rows[:200]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:]
        consistent = sum(len(r) == width for r in body) / len(body) if body else 1.0
        cells = [c.strip() for r in body for c in r]
        numeric = sum(_looks_numeric(c) for c in cells) / len(cells) if cells else 0.0
        key = (round(consistent, 1), round(numeric, 2), width, -rank)
        if best is None or key > best:
            best, best_delim = key, delim
    return best_delim


def _allow_fields(size: int) -> None:
    """Let the csv module read cells as long as the text (its default limit is 128 KB)."""
    if size >= csv.field_size_limit():
        csv.field_size_limit(min(size + 1, 2**31 - 1))


def _looks_numeric(cell: str) -> bool:
    if cell in _NA_TOKENS:
        return True
    try:
        float(cell)
        return True
    except ValueError:
        return bool(_DECIMAL_COMMA.fullmatch(cell))


def _read_text(data: bytes, name: str, notes: list[str], unknown_extension: bool) -> pd.DataFrame:
    try:
        text, enc_note = _decode(data, name)
    except ReadError:
        if unknown_extension:
            raise ReadError(
                f"{name} is not a format this app can read. Upload {SUPPORTED_FORMATS}."
            ) from None
        raise
    if unknown_extension:
        notes.append(f"{name} has no known file extension, so it was read as delimited text.")
    if not text.strip():
        raise ReadError(f"{name} holds only blank lines. Check that the file has data in it.")
    if re.match(r"\s*<(!doctype|html|table|\?xml)", text[:1000], flags=re.IGNORECASE):
        raise ReadError(
            f"{name} is a web page or XML document, not a data table. Open it in Excel and save "
            "it as .xlsx or CSV, then upload that file."
        )
    if re.match(r"\s*(\[\s*)?\{\s*\"", text[:1000]):
        raise ReadError(
            f"{name} is a JSON document, not a data table. Export the data as "
            f"{SUPPORTED_FORMATS}."
        )
    ext = Path(name).suffix.lower()
    delim = _sniff_delimiter(text, prefer_tab=ext in {".tsv", ".tab"})
    notes.append(enc_note)
    if delim is None:
        delim = "\t" if ext in {".tsv", ".tab"} else ","
    else:
        notes.append(f"Columns are separated by {_DELIMITERS[delim]}.")

    try:
        raw = pd.read_csv(
            io.StringIO(text),
            sep=delim,
            header=None,
            dtype=str,
            na_filter=False,
            skip_blank_lines=True,
            quotechar='"',
            engine="c",
        )
    except pd.errors.ParserError:
        raw = _read_text_ragged(text, delim, notes)
    except pd.errors.EmptyDataError:
        raise ReadError(f"{name} holds no rows. Check that the file has data in it.") from None

    if raw.empty:
        raise ReadError(f"{name} holds no rows. Check that the file has data in it.")
    header = [str(v) if isinstance(v, str) else "" for v in raw.iloc[0].tolist()]
    _note_multiline_cells(text, raw, header, notes)
    body = raw.iloc[1:].reset_index(drop=True)
    frame = _finish(header, body, name, notes, decimal_comma=delim != ",")
    if frame.shape[1] == 1:
        notes.append(
            "Only one column was found — was the file separated by another character? "
            "We looked for commas, semicolons, tabs and vertical bars."
        )
    return frame


def _note_multiline_cells(text: str, raw: pd.DataFrame, header: list[str], notes: list[str]):
    """Say so when values run over several lines: usually a quote mark that is never closed,
    which silently joins all the lines after it into one value."""
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines <= len(raw):  # fast path: one row per line (blank lines only make it shorter)
        return
    joined, first_row, where = 0, None, []
    for pos, col in enumerate(raw.columns):
        values = raw[col].iloc[1:]
        if values.dtype != object and not isinstance(values.dtype, pd.StringDtype):
            continue
        values = values.astype("str")
        multi = values.str.contains("\n", regex=False, na=False)
        if multi.any():
            joined += int(values[multi].str.count("\n").sum())
            row = int(np.flatnonzero(multi.to_numpy())[0]) + 1
            first_row = row if first_row is None else min(first_row, row)
            where.append(header[pos].strip() or f"column_{pos + 1}")
    if joined:
        notes.append(
            f"Some values in {_listing(where)} run over several lines ({joined:,} line "
            f"break(s), first in data row {first_row}). That happens when a quote mark (\") is "
            "never closed: the lines after it are joined into one value and their rows are "
            "lost. If rows are missing, remove the stray quote mark and upload again."
        )


def _read_text_ragged(text: str, delim: str, notes: list[str]) -> pd.DataFrame:
    """Slow path for rows with more values than the header (pandas' fast parser refuses them)."""
    _allow_fields(len(text))
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delim) if r]
    width = max(len(r) for r in rows)
    longer = sum(len(r) > len(rows[0]) for r in rows[1:])
    extra_filled = any(any(c.strip() for c in r[len(rows[0]) :]) for r in rows[1:])
    if longer and extra_filled:
        notes.append(
            f"{longer:,} row(s) have more values than the header row; the extra values are in "
            "the unnamed columns at the end. Check the file's separator and quotes."
        )
    padded = [r + [""] * (width - len(r)) for r in rows]
    return pd.DataFrame(padded, dtype=object)


# ---------------------------------------------------------------------------------------------
# Excel


def _read_excel(
    data: bytes, name: str, sheet: str | None, notes: list[str]
) -> tuple[pd.DataFrame, list[str], str]:
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
            rows = _sheet_rows(wb[sheet])
            if not rows:
                raise ReadError(f"Sheet '{sheet}' of {name} is empty. Pick another sheet.")
            chosen = sheet
        else:
            chosen, rows = _first_table_sheet(wb, sheets)
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

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)


def _sheet_rows(ws: Any, limit: int | None = None) -> list[tuple]:
    """Values of a sheet's rows with trailing blank cells and trailing blank rows removed."""
    if not hasattr(ws, "iter_rows"):  # a chartsheet
        return []
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()  # read-only mode trusts the stored size, which can be wrong
    out: list[tuple] = []
    last_filled = -1
    for row in ws.iter_rows(values_only=True):
        row = tuple(row)
        end = len(row)
        while end and _blank(row[end - 1]):
            end -= 1
        out.append(row[:end])
        if end:
            last_filled = len(out) - 1
        if limit is not None and last_filled >= 0 and len(out) >= limit:
            break
    return out[: last_filled + 1]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_table(rows: list[tuple]) -> bool:
    """A header row with at least two filled cells followed by at least one filled row."""
    for i, row in enumerate(rows):
        if sum(not _blank(v) for v in row) >= 2:
            return any(any(not _blank(v) for v in r) for r in rows[i + 1 :])
    return False


def _first_table_sheet(wb: Any, sheets: list[str]) -> tuple[str | None, list[tuple]]:
    """The first sheet that holds a table; failing that, the first sheet with anything in it."""
    fallback: str | None = None
    for s in sheets:
        head = _sheet_rows(wb[s], limit=50)
        if not head:
            continue
        if _is_table(head):
            return s, _sheet_rows(wb[s])
        fallback = fallback or s
    if fallback is None:
        return None, []
    return fallback, _sheet_rows(wb[fallback])


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


# ---------------------------------------------------------------------------------------------
# SPSS, Stata, Parquet


def _read_spss(data: bytes, name: str, notes: list[str]) -> pd.DataFrame:
    # pyreadstat (>= 1.3) reads any object with read() and seek(), so the upload stays in memory.
    import pyreadstat

    try:
        frame, meta = pyreadstat.read_sav(io.BytesIO(data), dates_as_pandas_datetime=True)
    except Exception as exc:  # any parser failure: not a readable .sav
        raise ReadError(
            f"{name} could not be read as an SPSS .sav file ({_short(exc)}). Save it again from "
            "SPSS, or export the data as CSV."
        ) from None
    frame = _apply_value_labels(frame, meta.variable_value_labels, notes)
    _note_user_missing(data, notes)
    return _finish(list(map(str, frame.columns)), _positional(frame), name, notes, False)


def _note_user_missing(data: bytes, notes: list[str]) -> None:
    """Name the columns whose SPSS user-missing codes (e.g. 999) were read as missing. The
    codes are only listed when reading with user_missing=True, so read the header again."""
    import pyreadstat

    try:
        _, meta = pyreadstat.read_sav(io.BytesIO(data), metadataonly=True, user_missing=True)
    except Exception:  # the data were read already; this is only for the note
        return
    codes: dict[str, list[str]] = {}
    for col, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        for r in ranges:
            lo, hi = r.get("lo"), r.get("hi")
            codes.setdefault(str(col), []).append(
                _code_text(lo) if lo == hi else f"{_code_text(lo)} to {_code_text(hi)}"
            )
    if codes:
        shown = "; ".join(f"'{c}': {', '.join(v)}" for c, v in list(codes.items())[:_MAX_LISTED])
        notes.append(f"Values that SPSS marks as user-missing were read as missing ({shown}).")


def _read_stata(data: bytes, name: str, notes: list[str]) -> pd.DataFrame:
    # pyreadstat first (in memory, same label handling as SPSS); pandas' own reader as a fallback
    # for Stata versions pyreadstat cannot read. Both work from a BytesIO.
    import pyreadstat

    try:
        frame, meta = pyreadstat.read_dta(io.BytesIO(data), dates_as_pandas_datetime=True)
        frame = _apply_value_labels(frame, meta.variable_value_labels, notes)
    except Exception as exc:  # try pandas' reader before giving up
        try:
            frame = pd.read_stata(io.BytesIO(data), convert_categoricals=True)
        except Exception:  # neither reader understands the file
            raise ReadError(
                f"{name} could not be read as a Stata .dta file ({_short(exc)}). Save it again "
                "from Stata, or export the data as CSV."
            ) from None
        labelled = [
            str(c) for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)
        ]
        if labelled:
            notes.append(f"Used the value labels of {_listing(labelled)}.")
    return _finish(list(map(str, frame.columns)), _positional(frame), name, notes, False)


def _read_parquet(data: bytes, name: str, notes: list[str]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(io.BytesIO(data)).to_pandas()
    except Exception as exc:  # any parser failure: not a readable Parquet file
        raise ReadError(
            f"{name} could not be read as a Parquet file ({_short(exc)}). Export it again, or "
            "export the data as CSV."
        ) from None
    frame = frame.reset_index(drop=not _has_named_index(frame))
    return _finish(list(map(str, frame.columns)), _positional(frame), name, notes, False)


def _has_named_index(frame: pd.DataFrame) -> bool:
    return any(n is not None for n in frame.index.names)


def _positional(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.columns = range(frame.shape[1])
    return out


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


def _apply_value_labels(
    frame: pd.DataFrame, labels: dict[str, dict[Any, str]], notes: list[str]
) -> pd.DataFrame:
    """Turn labelled codes into categories of their labels (1 -> "Male").

    Only when every value present has a label: a 0-10 scale labelled at its ends ("0 = not at
    all") stays numeric, since turning it into categories would throw its order away.
    """
    used: list[str] = []
    partial: list[str] = []
    for col, mapping in (labels or {}).items():
        if col not in frame.columns or not mapping:
            continue
        values = frame[col]
        present = pd.unique(values.dropna())
        if not len(present):
            continue
        if not all(_label_lookup(mapping, v) is not None for v in present):
            partial.append(col)
            continue
        codes = sorted(mapping, key=_sort_key)
        order = list(dict.fromkeys(str(mapping[c]) for c in codes))
        mapped = values.map(lambda v, m=mapping: _label_lookup(m, v) if pd.notna(v) else None)
        frame[col] = pd.Categorical(mapped, categories=order)
        shown = ", ".join(f"{_code_text(c)} = {mapping[c]}" for c in codes[:3])
        used.append(f"{col} ({shown}{', ...' if len(codes) > 3 else ''})")
    if used:
        notes.append("Used value labels as categories: " + "; ".join(used) + ".")
    if partial:
        notes.append(f"Kept the numbers in {_listing(partial)}: only some values have labels.")
    return frame


def _label_lookup(mapping: dict[Any, str], value: Any) -> str | None:
    if value in mapping:
        return str(mapping[value])
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        key = int(value)
        if key in mapping:
            return str(mapping[key])
    return None


def _sort_key(code: Any) -> tuple:
    if isinstance(code, (int, float, np.number)):
        return (0, float(code), "")
    return (1, 0.0, str(code))


def _code_text(code: Any) -> str:
    if isinstance(code, (float, np.floating)) and float(code).is_integer():
        return str(int(code))
    return str(code)


# ---------------------------------------------------------------------------------------------
# shared clean-up: names, empty rows and columns, column types


def _finish(
    header: list[str], body: pd.DataFrame, where: str, notes: list[str], decimal_comma: bool
) -> pd.DataFrame:
    """Name the columns, drop empty rows/columns, and give each column a sensible type."""
    names, spaced, dups = _clean_names(header)
    body = body.copy()
    body.columns = range(body.shape[1])
    # Drop all-empty rows before typing the columns, so they cannot turn whole numbers into floats.
    # (column by column, stopping once no row can be empty: usually after the first column,
    # which saves ~0.25 s on 1,000,000 rows)
    empty_rows = pd.Series(True, index=body.index)
    for c in body.columns:
        empty_rows &= _empty_cells(body[c]).to_numpy(dtype=bool)
        if not empty_rows.any():
            break
    n_empty = int(empty_rows.sum()) if body.shape[1] else 0
    if n_empty:
        body = body.loc[~empty_rows].reset_index(drop=True)

    columns: dict[str, pd.Series] = {}
    unnamed_empty = 0
    blanks: list[str] = []
    na_seen: set[str] = set()
    kinds: dict[str, list[str]] = {"text": [], "decimal": [], "zeros": []}
    second_header: list[str] = []
    mostly_numbers: dict[str, tuple[int, str]] = {}
    for pos, col_name in enumerate(names):
        series, kind, na_found = _coerce(body[pos], decimal_comma)
        na_seen |= na_found
        if kind == "text" and _numbers_below_first(series):
            second_header.append(col_name)
        elif kind == "text":
            stray = _text_among_numbers(series)
            if stray is not None:
                mostly_numbers[col_name] = stray
        if not header[pos].strip():
            # no name and no values (trailing separators, blank Excel columns): drop, say so
            if series.isna().all():
                unnamed_empty += 1
                continue
            blanks.append(col_name)
        columns[col_name] = series
        if kind in kinds:
            kinds[kind].append(col_name)
    frame = pd.DataFrame(columns, index=body.index)

    ticked = [n for h, n in zip(header, names, strict=True) if "`" in str(h)]
    if ticked:
        notes.append(
            "Backticks (`) in column names were replaced by ' (formulas use backticks around "
            f"names): {_listing(ticked)}."
        )
    if spaced:
        breaks = any("\n" in h or "\r" in h for h in spaced)
        what = "line breaks and extra spaces" if breaks else "extra spaces"
        renamed = [n for h, n in zip(header, names, strict=True) if h in spaced]
        notes.append(f"Removed {what} from column names, now {_listing(renamed)}.")
    if blanks:
        notes.append(f"Blank column names were replaced by their position: {_listing(blanks)}.")
    for orig, new in dups.items():
        notes.append(
            f"The column name '{orig}' appears more than once; the repeats were renamed "
            + ", ".join(f"'{n}'" for n in new)
            + "."
        )
    if unnamed_empty:
        notes.append(f"Dropped {unnamed_empty} empty column(s) that had no name.")

    no_rows = ReadError(
        f"{where} has a header row but no data rows. Add the data below the header, or pick "
        "another file or sheet."
    )
    if frame.shape[1] == 0 or len(frame) == 0:
        raise no_rows
    if n_empty:
        notes.append(f"Dropped {n_empty:,} row(s) in which every value was empty.")
    if len(second_header) >= 2:
        notes.append(
            f"The first row under the header looks like a second header row (text above "
            f"numbers in {_listing(second_header)}), so those columns were read as text. Put "
            "each column's full name in the one header row, delete the extra row, and upload "
            "again."
        )
    if all(h.strip() and _looks_numeric(h.strip()) for h in header):
        notes.append(
            "The first row is all numbers but was used as column names. If the file "
            "has no header row, add one."
        )
    if len(second_header) < 2:  # one column alone is more likely a stray word than a header
        for col in second_header:
            stray = _text_among_numbers(frame[col])
            if stray is not None:
                mostly_numbers[col] = stray
    for col, (n_text, example) in mostly_numbers.items():
        notes.append(
            f"'{col}' holds numbers except for {n_text:,} entr{'y' if n_text == 1 else 'ies'} "
            f"such as '{example}', so it was read as text. To use it as numbers, replace those "
            "entries with empty cells and upload again."
        )
    shown = sorted(na_seen - {""})
    if shown:
        notes.append("Treated " + ", ".join(f"'{t}'" for t in shown) + " as missing values.")
    if kinds["decimal"]:
        notes.append(f"Read decimal commas as numbers (3,5 = 3.5) in {_listing(kinds['decimal'])}.")
    if kinds["zeros"]:
        notes.append(
            f"Kept {_listing(kinds['zeros'])} as text because the values have leading "
            "zeros (e.g. 007), which look like codes rather than numbers."
        )
    text_cols = kinds["text"] + kinds["zeros"]
    if text_cols:
        notes.append(f"Text columns, treated as categories: {_listing(text_cols)}.")
    return frame


def _text_among_numbers(series: pd.Series) -> tuple[int, str] | None:
    """(entries that are not numbers, the first of them) for a text column that is at least
    80% numbers, such as scores with "absent" typed into a few cells; else None."""

    def numbers(values: pd.Series) -> pd.Series:
        return pd.to_numeric(values.str.replace(",", ".", regex=False), errors="coerce").notna()

    # the first values rule out ordinary text columns without touching the whole column
    head = series.iloc[:1000].dropna().astype(str).str.strip().iloc[:100]
    if len(head) < 5 or numbers(head).mean() < 0.8:
        return None
    present = series.dropna().astype(str).str.strip()
    ok = numbers(present)
    if ok.mean() < 0.8:
        return None
    bad = present[~ok]
    return len(bad), str(bad.iloc[0])


def _numbers_below_first(series: pd.Series) -> bool:
    """A text column whose first value is text and all the others numbers (a sub-header)."""
    if len(series) < 3 or pd.isna(series.iloc[0]):
        return False
    if _looks_numeric(str(series.iloc[0]).strip()):
        return False

    def numbers(values: pd.Series) -> bool:
        text = values.dropna().astype(str).str.strip().str.replace(",", ".", regex=False)
        return bool(pd.to_numeric(text, errors="coerce").notna().all())

    # the next values decide for ordinary text columns without touching the whole column
    head = series.iloc[1:1000].dropna()
    return len(head) >= 2 and numbers(head.iloc[:100]) and numbers(series.iloc[1:])


def _clean_names(header: list[str]) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """Strip names, name blanks by position (column_3) and number duplicates (score.2).

    Returns (names, original names that had extra spaces, {duplicated name: new names}).
    """
    stripped = [re.sub(r"\s+", " ", str(h)).strip() for h in header]
    spaced = [h for h, s in zip(header, stripped, strict=True) if s and h != s]
    # a formula can hold any column name in backticks, except one containing a backtick
    stripped = [s.replace("`", "'") for s in stripped]
    taken = {s for s in stripped if s}
    names: list[str] = []
    dups: dict[str, list[str]] = {}
    for pos, s in enumerate(stripped, start=1):
        base = s or f"column_{pos}"
        new, k = base, 2
        while new in names or (not s and new in taken):
            new = f"{base}.{k}"
            k += 1
        if s and new != s:
            dups.setdefault(s, []).append(new)
        names.append(new)
        taken.add(new)
    return names, spaced, dups


def _coerce(values: pd.Series, decimal_comma: bool) -> tuple[pd.Series, str, set[str]]:
    """One column to its natural type. Returns (series, kind, missing-value tokens seen).

    kind is "number", "date", "category" (already categorical), "decimal" (numbers written with a
    decimal comma), "zeros" (number-like codes with leading zeros, kept as text) or "text".
    """
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return values, "category", set()
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return values, "number", set()
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return values, "date", set()
    if isinstance(dtype, pd.StringDtype):
        return _coerce_strings(values, decimal_comma)
    return _coerce_objects(values, decimal_comma)


def _coerce_strings(values: pd.Series, decimal_comma: bool) -> tuple[pd.Series, str, set[str]]:
    """Vectorised path for text read from CSV (all cells are str or missing)."""
    text = values.str.strip()
    na = text.isna() | text.isin(_NA_TOKENS)
    tokens = set(text[na & text.notna()].unique())
    clean = text.mask(na)
    present = clean[~na]
    if present.empty:
        return pd.Series(np.nan, index=values.index, dtype=float), "number", tokens
    # A text column shows itself in its first values: don't parse a million labels as numbers
    # (~0.6 s per 1,000,000-row column) when the first 1,000 already include a non-number.
    number = None
    if pd.to_numeric(present.iloc[:1000], errors="coerce").notna().all():
        number = pd.to_numeric(clean, errors="coerce")
    if number is not None and number[~na].notna().all():
        if present.str.match(_LEADING_ZERO.pattern).any():
            return clean.astype("str"), "zeros", tokens
        return number, "number", tokens
    if decimal_comma and present.str.fullmatch(_DECIMAL_COMMA.pattern).all():
        number = pd.to_numeric(clean.str.replace(",", ".", regex=False), errors="coerce")
        if number[~na].notna().all():
            return number, "decimal", tokens
    return clean.astype("str"), "text", tokens


def _coerce_objects(values: pd.Series, decimal_comma: bool) -> tuple[pd.Series, str, set[str]]:
    """Cell-by-cell path for mixed Python values (Excel cells, ragged CSV rows)."""
    cells = [v.strip() if isinstance(v, str) else v for v in values.tolist()]
    tokens = {v for v in cells if isinstance(v, str) and v in _NA_TOKENS}
    cells = [None if _missing_cell(v) else v for v in cells]
    present = [v for v in cells if v is not None]
    index = values.index
    if not present:
        return pd.Series(np.nan, index=index, dtype=float), "number", tokens
    if all(isinstance(v, (dt.datetime, dt.date)) for v in present):
        return pd.Series(pd.to_datetime(cells), index=index), "date", tokens
    if all(isinstance(v, str) for v in present):
        return _coerce_strings(pd.Series(cells, index=index, dtype="str"), decimal_comma)
    if all(
        isinstance(v, (int, float, np.number, str)) and not isinstance(v, bool) for v in present
    ):
        number = pd.to_numeric(pd.Series(cells, index=index, dtype=object), errors="coerce")
        texts = [v for v in present if isinstance(v, str)]
        if number.notna().sum() == len(present) and not any(_LEADING_ZERO.match(t) for t in texts):
            return number, "number", tokens
    return _as_text(cells, index), "text", tokens


def _empty_cells(values: pd.Series) -> pd.Series:
    """True where a raw cell holds nothing (missing, blank, or a missing-value token)."""
    if isinstance(values.dtype, pd.StringDtype):
        text = values.str.strip()
        return text.isna() | text.isin(_NA_TOKENS)
    if values.dtype != object:
        return values.isna()
    return values.map(lambda v: _missing_cell(v.strip() if isinstance(v, str) else v)).astype(bool)


def _missing_cell(v: Any) -> bool:
    if v is None or v is pd.NaT:
        return True
    if isinstance(v, (float, np.floating)) and np.isnan(v):
        return True
    return isinstance(v, str) and v in _NA_TOKENS


def _as_text(cells: list[Any], index: pd.Index) -> pd.Series:
    """Text labels for a mixed column: whole-number floats as "3", dates as ISO text."""

    def label(v: Any) -> Any:
        if v is None:
            return None
        if isinstance(v, (float, np.floating)):
            return str(int(v)) if float(v).is_integer() else str(v)
        if isinstance(v, dt.datetime) and v.time() == dt.time(0):
            return v.date().isoformat()
        if isinstance(v, (dt.date, dt.time)):
            return v.isoformat()
        return str(v)

    return pd.Series([label(v) for v in cells], index=index, dtype="str")


def _listing(names: Iterable[str]) -> str:
    names = [f"'{n}'" for n in names]
    if len(names) > _MAX_LISTED:
        return ", ".join(names[:_MAX_LISTED]) + f" and {len(names) - _MAX_LISTED} more"
    return ", ".join(names)


# ---------------------------------------------------------------------------------------------
# missing-value codes

MISSING_CODES: tuple[float, ...] = (99.0, 999.0, -99.0, -999.0, -9.0)


def detect_missing_codes(frame: pd.DataFrame) -> dict[str, list[float]]:
    """Numeric columns that seem to use 99, 999, -99, -999 or -9 as "missing" markers.

    Survey and SPSS exports often write missing answers as such codes; left in, they wreck means
    and variances. A code is flagged when it appears at least twice and lies far outside the rest
    of the column: at least one full range (max - min of the other values) beyond its nearer
    end. E.g. 999 in test scores 0-100 is flagged; 99 in the same column is not. Only a
    suggestion: the app asks before `apply_missing_codes` changes anything.
    """
    found: dict[str, list[float]] = {}
    for col in frame.columns:
        series = frame[col]
        if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series):
            continue
        values = series.dropna().to_numpy(dtype=float)
        if values.size < 3:
            continue
        is_code = np.isin(values, MISSING_CODES)
        rest = values[~is_code]
        if rest.size < 2:
            continue
        lo, hi = float(rest.min()), float(rest.max())
        span = max(hi - lo, 1e-12)
        codes = []
        for code in MISSING_CODES:
            count = int(np.sum(values == code))
            if count < 2:
                continue
            if (code > hi and code - hi >= span) or (code < lo and lo - code >= span):
                codes.append(code)
        if codes:
            found[str(col)] = sorted(codes)
    return found


def apply_missing_codes(frame: pd.DataFrame, codes: dict[str, list[float]]) -> pd.DataFrame:
    """A copy of `frame` with the given codes set to missing (NaN) in their columns."""
    unknown = [c for c in codes if c not in frame.columns]
    if unknown:
        raise ModelError(f"There is no column called {_listing(unknown)} in the data.")
    out = frame.copy()
    for col, values in codes.items():
        if values:
            out[col] = out[col].mask(out[col].isin(list(values)))
    return out
