"""Parquet/Arrow columns of every type turned into columns a model can use, or left out in words.

Parquet files from data platforms carry types a school spreadsheet never has: exact decimals,
time-zone-aware timestamps, durations, times of day, dictionary-encoded text, raw bytes, and
nested lists, structs and maps. pandas' own conversion either keeps these as Python objects
(which the reader's typing then mistakes for text) or fails outright. Each column is converted
here, one Arrow type at a time, before pandas sees it; what cannot become a table column is
dropped with a note naming it, so nothing ends in an internal error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["arrow_to_frame"]

_NESTED_WORDS = {
    "list": "lists of values",
    "struct": "groups of fields (structs)",
    "map": "key-value maps",
    "union": "mixed-type values (unions)",
}


def arrow_to_frame(table: Any, notes: list[str]) -> pd.DataFrame:
    """A pyarrow Table as a DataFrame of plain numbers, text, dates and categories.

    Adds a note for each kind of conversion made on the user's behalf. Returns an empty frame
    (no columns) when no column can be used; the caller says so.
    """
    import pyarrow as pa

    columns: dict[str, pd.Series] = {}
    dropped: dict[str, list[str]] = {}
    done: dict[str, list[str]] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        label = str(name)
        converted, what = _convert(pa, column)
        if converted is None:
            dropped.setdefault(what, []).append(label)
            continue
        if what:
            done.setdefault(what, []).append(label)
        columns[label] = converted
    for what, names in done.items():
        notes.append(f"{what}: {_names(names)}.")
    for what, names in dropped.items():
        notes.append(
            f"Left out {_names(names)}: {'it holds' if len(names) == 1 else 'they hold'} "
            f"{what}, which a table cell can't show. Export {'it' if len(names) == 1 else 'them'}"
            " as plain numbers or text if you need them."
        )
    return pd.DataFrame(columns) if columns else pd.DataFrame(index=range(table.num_rows))


def _convert(pa: Any, column: Any) -> tuple[pd.Series | None, str]:
    """(series, note) for one column; (None, what it holds) when it can't be a table column."""
    t = column.type
    types = pa.types
    if types.is_dictionary(t):
        column = column.cast(t.value_type)  # codes + dictionary: the values themselves
        return _convert(pa, column)
    if types.is_decimal(t):
        values = column.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
        return pd.Series(values, dtype=float), "Read exact decimals as ordinary numbers"
    if types.is_timestamp(t):
        return _timestamps(pa, column)
    if types.is_duration(t):
        seconds = column.cast(pa.int64()).to_numpy(zero_copy_only=False).astype(float)
        scale = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[t.unit]
        minutes = pd.Series(seconds / scale / 60.0)
        return minutes, "Read durations as numbers of minutes"
    if types.is_time(t):
        return _times_of_day(pa, column)
    if types.is_date(t):
        return _dates(pa, column)
    if types.is_binary(t) or types.is_large_binary(t) or types.is_fixed_size_binary(t):
        return _bytes_as_text(column)
    if types.is_null(t):
        return pd.Series(np.nan, index=range(len(column)), dtype=float), ""
    if types.is_boolean(t) or types.is_integer(t) or types.is_floating(t):
        values = column.to_pandas()
        if types.is_floating(t) and t.bit_width == 16:
            values = values.astype(float)
        return values.reset_index(drop=True), ""
    if types.is_string(t) or types.is_large_string(t) or str(t) == "string_view":
        values = column.cast(pa.large_string()).to_pylist()
        return pd.Series(values, dtype=object), ""
    for kind, words in _NESTED_WORDS.items():
        check = getattr(types, f"is_{kind}", None)
        if check is not None and check(t):
            return None, words
    if types.is_large_list(t) or types.is_fixed_size_list(t) or str(t).startswith("list_view"):
        return None, _NESTED_WORDS["list"]
    return None, f"values of a type this app doesn't know ({t})"


def _timestamps(pa: Any, column: Any) -> tuple[pd.Series, str]:
    """Timestamps as plain date-times; time-zone-aware ones as the clock time in their zone."""
    import pyarrow.compute as pc

    tz = column.type.tz
    if tz:
        column = pc.local_timestamp(column)
    note = f"Read date-times as the clock time in their time zone ({tz})" if tz else ""
    return column.to_pandas().reset_index(drop=True), note


def _dates(pa: Any, column: Any) -> tuple[pd.Series, str]:
    return column.to_pandas(date_as_object=False).reset_index(drop=True), ""


def _times_of_day(pa: Any, column: Any) -> tuple[pd.Series, str]:
    """Times of day as durations since midnight (kept out of numeric choices, like dates)."""
    values = column.to_pylist()
    seconds = [
        v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6 if v is not None else None
        for v in values
    ]
    series = pd.to_timedelta(pd.Series(seconds, dtype=float), unit="s")
    return series, "Read times of day"


def _bytes_as_text(column: Any) -> tuple[pd.Series | None, str]:
    """Raw bytes: text when every value is valid UTF-8, else left out."""
    out = []
    for v in column.to_pylist():
        if v is None:
            out.append(None)
            continue
        try:
            out.append(v.decode("utf-8"))
        except UnicodeDecodeError:
            return None, "raw bytes (binary data)"
    return pd.Series(out, dtype=object), "Read bytes as text"


def _names(names: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:8])
    return shown + (f" and {len(names) - 8} more" if len(names) > 8 else "")
