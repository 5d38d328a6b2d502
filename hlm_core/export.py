"""Tables as files people open in a spreadsheet, made safe against formula injection.

A cell whose text starts with `=`, `+`, `-` or `@` (or a tab / carriage return, which some
spreadsheets strip before reading the rest) would be run as a formula by Excel or LibreOffice.
Such text cells get a leading single quote, which spreadsheets show as plain text. Numbers are
written untouched, so a negative estimate stays a number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> object:
    """Prefix text that a spreadsheet would read as a formula with a single quote."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def _is_text_column(s: pd.Series) -> bool:
    dt = s.dtype
    return (
        pd.api.types.is_object_dtype(dt)
        or pd.api.types.is_string_dtype(dt)
        or isinstance(dt, pd.CategoricalDtype)
    )


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` with every text cell and column name escaped; numeric columns untouched."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if not _is_text_column(s):
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        values = s.to_numpy(dtype=object, na_value=None)
        needs = np.fromiter(
            (isinstance(v, str) and v.startswith(DANGEROUS_PREFIXES) for v in values),
            dtype=bool,
            count=len(values),
        )
        if needs.any():
            values = values.copy()
            values[needs] = ["'" + v for v in values[needs]]
        out[col] = pd.Series(values, index=out.index, dtype=object)
    out.columns = [escape_cell(str(c)) for c in out.columns]
    return out


def safe_csv(df: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8 with a byte-order mark, so Excel shows accents right), no index column,
    with text cells escaped against formula injection."""
    return safe_frame(df).to_csv(index=False).encode("utf-8-sig")
