"""Read an uploaded or local file into a DataFrame, saying in plain words what was inferred.

One entry point, `read_table`, for every format a school analyst is likely to have: CSV/TSV/TXT
exports (any common delimiter and encoding, European decimal commas), Excel workbooks, SPSS, Stata
and Parquet. Uploaded data never touches the disk: every reader works on the bytes in memory.

Everything the reader decides on the user's behalf (delimiter, encoding, renamed columns, dropped
rows, value labels) goes into `Table.notes`, so the app can show it; anything that stops us from
producing a sensible table raises `ReadError` whose text says what to change.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hlm_core.errors import ReadError
from hlm_core.io_common import (
    _BINARY_KINDS,
    _EXCEL_EXT,
    _OTHER_SPREADSHEETS,
    _PARQUET_EXT,
    _SPSS_EXT,
    _STATA_EXT,
    _TEXT_EXT,
    SUPPORTED_FORMATS,
)
from hlm_core.io_excel import _read_excel
from hlm_core.io_stats import _read_parquet, _read_spss, _read_stata
from hlm_core.io_text import _looks_binary, _read_text
from hlm_core.missing_codes import MISSING_CODES, apply_missing_codes, detect_missing_codes

# The readers live in io_text, io_excel and io_stats, the shared clean-up in io_columns and
# io_common, missing-value codes in missing_codes; callers import everything from here.
__all__ = [
    "MISSING_CODES",
    "SUPPORTED_FORMATS",
    "ReadError",
    "Table",
    "apply_missing_codes",
    "detect_missing_codes",
    "read_table",
]

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
