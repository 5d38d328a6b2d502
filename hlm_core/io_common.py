"""What every reader shares: the file kinds, the cell texts that mean "no value", and how
many names one note lists. Part of `hlm_core.io`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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
MISSING_TEXTS = frozenset(_NA_TOKENS)  # public: the generated R code is given the same list

_DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars (|)"}

_DECIMAL_COMMA = re.compile(r"[+-]?(\d+,\d+|,\d+|\d+)([eE][+-]?\d+)?")
_LEADING_ZERO = re.compile(r"[+-]?0\d")

_MAX_LISTED = 8  # names listed in one note before "and N more"


def _looks_numeric(cell: str) -> bool:
    if cell in _NA_TOKENS:
        return True
    try:
        float(cell)
        return True
    except ValueError:
        return bool(_DECIMAL_COMMA.fullmatch(cell))


def _listing(names: Iterable[str]) -> str:
    names = [f"'{n}'" for n in names]
    if len(names) > _MAX_LISTED:
        return ", ".join(names[:_MAX_LISTED]) + f" and {len(names) - _MAX_LISTED} more"
    return ", ".join(names)
