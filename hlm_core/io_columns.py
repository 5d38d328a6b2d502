"""The clean-up every format shares: column names, empty rows and columns, and column
types (numbers, decimal commas, zero-padded codes, text among numbers). Part of `hlm_core.io`.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hlm_core.errors import ReadError
from hlm_core.io_common import (
    _DECIMAL_COMMA,
    _LEADING_ZERO,
    _NA_TOKENS,
    _listing,
    _looks_numeric,
)
from hlm_core.io_dates import date_notes, parse_dates
from hlm_core.io_names import _clean_names, _duplicate_notes
from hlm_core.reading_notes import decision_notes
from hlm_core.safe_text import visible


def _finish(
    header: list[str], body: pd.DataFrame, where: str, notes: list[str], decimal_comma: bool
) -> pd.DataFrame:
    """Name the columns, drop empty rows/columns, and give each column a sensible type."""
    names, spaced, invisible, dups = _clean_names(header)
    body, n_empty = _drop_empty_rows(body)
    frame, typed = _type_columns(header, names, body, decimal_comma)
    _name_notes(header, names, (spaced, invisible), dups, typed, notes)

    no_rows = ReadError(
        f"{where} has a header row but no data rows. Add the data below the header, or pick "
        "another file or sheet."
    )
    if frame.shape[1] == 0 or len(frame) == 0:
        raise no_rows
    if n_empty:
        notes.append(f"Dropped {n_empty:,} row(s) in which every value was empty.")
    _content_notes(header, frame, typed, notes)
    raws = {n: body[pos] for pos, n in enumerate(names) if n in frame.columns}
    notes.extend(decision_notes(raws, frame, _NA_TOKENS))  # trimmed IDs, missing cells, counted
    return frame


def _drop_empty_rows(body: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The body without rows in which every cell is empty, and how many were dropped."""
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
    return body, n_empty


@dataclass
class _Typed:
    """What typing the columns found, for the notes."""

    unnamed_empty: int = 0
    blanks: list[str] = field(default_factory=list)
    kinds: dict[str, list[str]] = field(
        default_factory=lambda: {"text": [], "decimal": [], "zeros": []}
    )
    second_header: list[str] = field(default_factory=list)
    mostly_numbers: dict[str, tuple[int, str]] = field(default_factory=dict)


def _type_columns(
    header: list[str], names: list[str], body: pd.DataFrame, decimal_comma: bool
) -> tuple[pd.DataFrame, _Typed]:
    """Each column as numbers or text (see _coerce); unnamed empty columns are dropped."""
    columns: dict[str, pd.Series] = {}
    typed = _Typed()
    for pos, col_name in enumerate(names):
        series, kind, _ = _coerce(body[pos], decimal_comma)
        if kind == "text" and _numbers_below_first(series):
            typed.second_header.append(col_name)
        elif kind == "text":
            stray = _text_among_numbers(series)
            if stray is not None:
                typed.mostly_numbers[col_name] = stray
        if not header[pos].strip():
            # no name and no values (trailing separators, blank Excel columns): drop, say so
            if series.isna().all():
                typed.unnamed_empty += 1
                continue
            typed.blanks.append(col_name)
        columns[col_name] = series
        typed.kinds.setdefault(kind, []).append(col_name)
    frame = pd.DataFrame(columns, index=body.index, copy=False)  # (no 2-D block copied)
    return frame, typed


def _name_notes(
    header: list[str],
    names: list[str],
    changed: tuple[list[int], list[int]],
    dups: dict[str, list[str]],
    typed: _Typed,
    notes: list[str],
) -> None:
    """Say how column names were changed: backticks, invisible characters, spaces, blanks,
    repeats, empty columns. `changed` = positions of names with extra spaces, with invisible
    characters."""
    spaced, invisible = changed
    ticked = [n for h, n in zip(header, names, strict=True) if "`" in str(h)]
    if ticked:
        notes.append(
            "Backticks (`) in column names were replaced by ' (formulas use backticks around "
            f"names): {_listing(ticked)}."
        )
    if invisible:
        notes.append(
            "Removed invisible characters (such as zero-width spaces) from column names, now "
            f"{_listing(names[i] for i in invisible)}."
        )
    if spaced:
        breaks = any("\n" in str(header[i]) or "\r" in str(header[i]) for i in spaced)
        what = "line breaks and extra spaces" if breaks else "extra spaces"
        notes.append(f"Removed {what} from column names, now {_listing(names[i] for i in spaced)}.")
    if typed.blanks:
        notes.append(
            f"Blank column names were replaced by their position: {_listing(typed.blanks)}."
        )
    notes.extend(_duplicate_notes(dups))
    if typed.unnamed_empty:
        notes.append(f"Dropped {typed.unnamed_empty} empty column(s) that had no name.")


def _content_notes(
    header: list[str], frame: pd.DataFrame, typed: _Typed, notes: list[str]
) -> None:
    """Say what was read from the values: a second header row, a numeric header, text among
    numbers, decimal commas, zero-padded codes, text columns."""
    second_header, mostly_numbers, kinds = typed.second_header, typed.mostly_numbers, typed.kinds
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
            f"such as '{visible(example, 40)}', so it was read as text. To use it as numbers, "
            "replace those entries with empty cells and upload again, or choose 'Treat these "
            "values as missing' on the Data page."
        )
    if kinds["decimal"]:
        notes.append(f"Read decimal commas as numbers (3,5 = 3.5) in {_listing(kinds['decimal'])}.")
    if kinds["zeros"]:
        notes.append(
            f"Kept {_listing(kinds['zeros'])} as text because the values have leading "
            "zeros (e.g. 007), which look like codes rather than numbers: each code is a "
            "category ('01' and '1' are different groups). If they are amounts, treat them as "
            "numbers: remove the column from 'Categorical columns' on the Data page."
        )
    notes.extend(date_notes(kinds))
    text_cols = kinds["text"] + kinds["zeros"]
    if text_cols:
        notes.append(f"Text columns, treated as categories: {_listing(text_cols)}.")


def _text_among_numbers(series: pd.Series) -> tuple[int, str] | None:
    """(entries that are not numbers, the first of them) for a text column that is at least
    80% numbers, such as scores with "absent" typed into a few cells; else None."""
    from hlm_core.columns import stray_entries

    stray = stray_entries(series)
    return None if stray is None else (int(stray.sum()), str(stray.index[0]))


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


_PLAIN_NUMBER = r"^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_CODE_OR_HUGE = r"^-?(0\d|\d{19,}$)"  # codes such as 007 stay text; 19+ digits may not fit int64


def _arrow_numbers(values: pd.Series) -> pd.Series | None:
    """A column in which every cell is a plain number (_PLAIN_NUMBER), parsed by Arrow as
    `pd.to_numeric` would (int64 when all are whole, else float64), ~10x faster; None for
    anything else (missing values, tokens such as NA, codes with leading zeros, text), which the
    general path reads.

    A text column shows itself in its first cells, so only those are matched against the
    pattern. For the rest, Arrow's cast itself refuses what is not a number, and the few forms
    it takes that the pattern does not ("+5", "inf", "nan") and the codes are found by cheap
    tests, the pattern then only running on the cells they flag: at 10,000,000 rows, matching
    every cell twice cost 1.5 s per column and a failed int64 cast of decimals 2.3 s."""
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    raw = values.array.__arrow_array__()
    if raw.null_count or not len(raw):
        return None
    head = pc.utf8_trim_whitespace(raw.slice(0, 1000))
    if not pc.all(pc.match_substring_regex(head, _PLAIN_NUMBER)).as_py():
        return None
    cells = pc.utf8_trim_whitespace(raw)
    whole = not any(pc.any(pc.match_substring(part, c)).as_py()  # (the first cells decide
                    for part in (head, cells) for c in ".eE")  # most decimal columns at once)
    try:
        number = pc.cast(cells, pa.int64() if whole else pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not whole and not pc.all(pc.is_finite(number)).as_py():  # "inf", "nan"
        return None
    if pc.any(pc.starts_with(cells, "+")).as_py():
        return None
    # a leading 0 followed by more (but not "0." or "-0.") or 19+ characters: match those
    zero = pc.or_(pc.starts_with(cells, "0"), pc.starts_with(cells, "-0"))
    flagged = pc.or_(
        pc.and_not(zero, pc.or_(pc.starts_with(cells, "0."), pc.starts_with(cells, "-0."))),
        pc.greater_equal(pc.binary_length(cells), 19),
    )
    suspects = cells.filter(flagged)
    if len(suspects) and pc.any(pc.match_substring_regex(suspects, _CODE_OR_HUGE)).as_py():
        return None
    return pd.Series(number.to_numpy(), index=values.index, copy=False)


def _coerce_strings(values: pd.Series, decimal_comma: bool) -> tuple[pd.Series, str, set[str]]:
    """Vectorised path for text read from CSV (all cells are str or missing)."""
    fast = _arrow_numbers(values)
    if fast is not None:
        return fast, "number", set()
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
    dated = parse_dates(present, clean)
    if dated is not None:
        return dated[0], dated[1], tokens
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
    if all(isinstance(v, (dt.time, dt.timedelta)) for v in present):  # Excel times, durations
        return _as_durations(cells, index), "time", tokens
    if all(isinstance(v, str) for v in present):
        return _coerce_strings(pd.Series(cells, index=index, dtype="str"), decimal_comma)
    if all(
        isinstance(v, (int, float, np.number, decimal.Decimal, str)) and not isinstance(v, bool)
        for v in present
    ):
        number = pd.to_numeric(pd.Series(cells, index=index, dtype=object), errors="coerce")
        if number.notna().sum() == len(present):
            texts = [v for v in present if isinstance(v, str)]
            if not any(_LEADING_ZERO.match(t) for t in texts):
                return number, "number", tokens
            # IDs typed partly as numbers, partly as text with leading zeros ("0020"): codes,
            # kept exactly as typed
            return _as_text(cells, index), "zeros", tokens
    return _as_text(cells, index), "text", tokens


def _as_durations(cells: list[Any], index: pd.Index) -> pd.Series:
    """Times of day (as time since midnight) and durations as timedeltas."""

    def seconds(v: Any) -> float:
        if isinstance(v, dt.timedelta):
            return v.total_seconds()
        if isinstance(v, dt.time):
            return v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6
        return float("nan")

    return pd.to_timedelta(pd.Series([seconds(v) for v in cells], index=index), unit="s")


def _na_tokens_arrow(pa):
    """The missing-value tokens as an Arrow array, for pc.is_in."""
    return pa.array(sorted(_NA_TOKENS), type=pa.large_string())


def _empty_cells(values: pd.Series) -> pd.Series:
    """True where a raw cell holds nothing (missing, blank, or a missing-value token)."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        import pyarrow as pa  # (Arrow's own trim and lookup: pandas' took 1 s at 10,000,000)
        import pyarrow.compute as pc

        text = pc.utf8_trim_whitespace(values.array.__arrow_array__())
        empty = pc.or_kleene(pc.is_null(text), pc.is_in(text, value_set=_na_tokens_arrow(pa)))
        return pd.Series(empty.to_numpy(), index=values.index)
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
