"""What a data set's columns hold, for fixing data in place on the Data page.

Why: one "absent" typed among 500 scores makes the whole score column text, and the only
remedy used to be editing the file and uploading it again. `stray_entries` lists the entries
that are not numbers in a mostly numeric column (with counts) and `treat_as_missing` converts
the column with those entries left empty, in memory. `guess_outcome` picks the outcome the
model builder starts with, and never a predictor-like column just because the score column
happens to be text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from hlm_core.design import level_labels
from hlm_core.errors import HLMError, ModelError

__all__ = ["apply_choices", "guess_outcome", "stray_entries", "to_categorical", "to_numeric",
           "treat_as_missing"]

MOSTLY = 0.8  # at least this share of the entries are numbers
OUTCOME_HINTS = ("score", "mark", "grade", "result", "achiev", "attain", "outcome", "exam",
                 "test", "post", "read", "math", "writing", "gpa")
ID_HINTS = ("id", "student", "pupil", "row", "index")


def _as_numbers(text: pd.Series) -> pd.Series:
    """Numbers written with a decimal point or comma ("3,5" = 3.5); NaN for anything else."""
    return pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")


def _is_text(series: pd.Series) -> bool:
    return (pd.api.types.is_object_dtype(series.dtype)
            or pd.api.types.is_string_dtype(series.dtype)) and not isinstance(
        series.dtype, pd.CategoricalDtype)


def stray_entries(series: pd.Series) -> pd.Series | None:
    """For a text column that is at least 80% numbers, the entries that are not numbers with
    how often each occurs (in order of first appearance: "absent" 1, "n/a?" 2); None for
    number columns and ordinary text columns."""
    if not _is_text(series):
        return None
    # the first values rule out ordinary text columns without touching the whole column
    head = series.iloc[:1000].dropna().astype(str).str.strip().iloc[:100]
    if len(head) < 5 or _as_numbers(head).notna().mean() < MOSTLY:
        return None
    present = series.dropna().astype(str).str.strip()
    present = present[present != ""]
    ok = _as_numbers(present).notna()
    if ok.mean() < MOSTLY or ok.all():
        return None
    return present[~ok].value_counts(sort=False)


def treat_as_missing(frame: pd.DataFrame, column: str,
                     values: Iterable[str] | None = None) -> tuple[pd.DataFrame, int]:
    """A copy of `frame` with `column` as numbers, the listed non-number entries (default: all
    of `stray_entries`) left empty; and how many cells were emptied. Refuses (plain words)
    when other text would remain."""
    if column not in frame.columns:
        raise ModelError(f"There is no column called '{column}' in the data.")
    stray = stray_entries(frame[column])
    if stray is None:
        raise ModelError(f"'{column}' is not a number column with a few text entries.")
    chosen = set(stray.index if values is None else (str(v).strip() for v in values))
    left = [v for v in stray.index if v not in chosen]
    if left:
        raise ModelError(
            f"'{column}' would still hold text ({', '.join(repr(v) for v in left[:5])}); "
            "treat those as missing too, or correct them in the file."
        )
    text = frame[column].astype("string").str.strip()
    out = frame.copy()
    out[column] = _as_numbers(text).astype(float)
    return out, int(text.isin(chosen).sum())


def guess_outcome(frame: pd.DataFrame, exclude: Iterable[str] = ()) -> str | None:
    """The outcome the builder starts with: the first number column whose name says it is a
    score (score, mark, grade, exam ...); when such a column exists but holds a few text
    entries, none (the Data page offers to fix it) rather than a predictor such as hours;
    otherwise the first number column that is not an ID."""
    skip = set(exclude)
    cols = [c for c in frame.columns if c not in skip]

    def scorelike(c) -> bool:
        name = str(c).lower()
        return any(h in name for h in OUTCOME_HINTS)

    def numeric(c) -> bool:
        s = frame[c]
        return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)

    named = [c for c in cols if scorelike(c)]
    for c in named:
        if numeric(c):
            return c
    if any(stray_entries(frame[c]) is not None for c in named):
        return None
    return next((c for c in cols if numeric(c) and not any(
        re.fullmatch(rf"{h}s?(_?id)?|id", str(c).lower()) for h in ID_HINTS)), None)


def to_categorical(s: pd.Series) -> pd.Series:
    """A column as categories, labelled as hlm_core's design labels levels."""
    return level_labels(s).astype("category")


def to_numeric(s: pd.Series, name: str) -> pd.Series:
    """Numbers from a text column, or HLMError naming a value that is not a number."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    text = s.astype("string").str.strip()
    out = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    bad = out.isna() & s.notna() & text.ne("")
    if bad.any():
        example = text[bad].iloc[0]
        raise HLMError(
            f"'{name}' holds text such as '{example}', so it can't be treated as numbers. "
            "It stays a category."
        )
    return out.astype(float)


def apply_choices(frame: pd.DataFrame, types: dict[str, str], missing: dict[str, list],
                  stray: dict[str, list[str]]) -> tuple[pd.DataFrame, list[str]]:
    """The data the model sees: `frame` with text entries treated as missing (`stray`),
    missing-value codes blanked (`missing`) and column types switched (`types`), as the Data
    page and a saved analysis set them; plus plain messages for choices that could not apply
    (the column is then left as it was)."""
    problems: list[str] = []
    if missing or types or stray:
        frame = frame.copy()
    for col, values in stray.items():
        try:
            frame = treat_as_missing(frame, col, values)[0]
        except HLMError as exc:
            problems.append(str(exc))
    for col, values in missing.items():
        if col in frame.columns:
            frame[col] = frame[col].mask(frame[col].isin(list(values)))
    for col, kind in types.items():
        if col not in frame.columns:
            problems.append(f"There is no column called '{col}' in the data.")
        elif kind == "categorical":
            frame[col] = to_categorical(frame[col])
        else:
            try:
                frame[col] = to_numeric(frame[col], col)
            except HLMError as exc:
                problems.append(str(exc))
    return frame, problems
