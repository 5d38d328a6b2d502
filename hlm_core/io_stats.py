"""SPSS, Stata and Parquet files: value labels, user-missing codes and named indexes.
Part of `hlm_core.io`.
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pandas as pd

from hlm_core import io_guard
from hlm_core.errors import ReadError
from hlm_core.io_columns import _finish
from hlm_core.io_common import _MAX_LISTED, _listing


def _read_spss(data: bytes, name: str, notes: list[str]) -> pd.DataFrame:
    # pyreadstat (>= 1.3) reads any object with read() and seek(), so the upload stays in memory.
    import pyreadstat

    _check_readstat_shape(pyreadstat.read_sav, data, name)
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


def _check_readstat_shape(reader: Any, data: bytes, name: str) -> None:
    """The row and column counts in an SPSS/Stata header, checked before the data are read
    (an unreadable header is left to the reader's own message)."""
    try:
        _, meta = reader(io.BytesIO(data), metadataonly=True)
    except Exception:  # the full read below says what is wrong with the file
        return
    rows = getattr(meta, "number_rows", None)
    io_guard.check_table_shape(rows if rows and rows > 0 else None, meta.number_columns, name)


def _read_stata(data: bytes, name: str, notes: list[str]) -> pd.DataFrame:
    # pyreadstat first (in memory, same label handling as SPSS); pandas' own reader as a fallback
    # for Stata versions pyreadstat cannot read. Both work from a BytesIO.
    import pyreadstat

    _check_readstat_shape(pyreadstat.read_dta, data, name)
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

    from hlm_core.arrow_types import arrow_to_frame

    try:
        meta = pq.ParquetFile(io.BytesIO(data)).metadata
        io_guard.check_table_shape(meta.num_rows, meta.num_columns, name)
        table = pq.read_table(io.BytesIO(data))
    except ReadError:
        raise
    except Exception as exc:  # any parser failure: not a readable Parquet file
        raise ReadError(
            f"{name} could not be read as a Parquet file ({_short(exc)}). Export it again, or "
            "export the data as CSV."
        ) from None
    # pandas stores an unnamed index as "__index_level_0__": not the user's data
    keep = [c for c in table.column_names if not re.fullmatch(r"__index_level_\d+__", str(c))]
    frame = arrow_to_frame(table.select(keep), notes)
    if frame.shape[1] == 0:
        raise ReadError(
            f"{name} has no column of numbers, text or dates that this app can use. Export the "
            "data with plain columns, or as CSV."
        )
    return _finish(list(map(str, frame.columns)), _positional(frame), name, notes, False)


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
