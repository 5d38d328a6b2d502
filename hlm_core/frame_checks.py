"""Plain-language checks and messages about the data a model is asked to use: missing columns,
dates, a text outcome, and column names that need backticks in a typed formula.
"""

from __future__ import annotations

import difflib
import re

import pandas as pd

from hlm_core.errors import ModelError
from hlm_core.spec import ModelSpec


def _check_columns(frame: pd.DataFrame, spec: ModelSpec) -> None:
    for v in spec.variables():
        if v not in frame.columns:
            close = difflib.get_close_matches(v, [str(c) for c in frame.columns], n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ModelError(f"There is no column called '{v}' in the data.{hint}")


def _is_date(series: pd.Series) -> bool:
    dt = series.dtype
    return pd.api.types.is_datetime64_any_dtype(dt) or pd.api.types.is_timedelta64_dtype(dt)


def _date_words(series: pd.Series) -> str:
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        return "times of day or durations"
    return "dates"


def _text_outcome_message(outcome: str, values: pd.Series) -> str:
    """Why a text outcome can't be modelled, quoting a value (in any row) that is not a
    number."""
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    numbers = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    bad = text[numbers.isna()]
    if len(bad) == 0:
        return (
            f"The outcome '{outcome}' is set to be a category, although it holds numbers. "
            f"Treat '{outcome}' as numbers, or choose another outcome."
        )
    example = str(bad.iloc[0])
    if len(bad) <= 0.2 * len(text):
        return (
            f"The outcome '{outcome}' holds text in {len(bad):,} of {len(text):,} rows (for "
            f"example '{example}'), so it was read as text, not numbers. Replace those entries "
            "with empty cells (or recode them as numbers) and upload the file again."
        )
    return (
        f"The outcome '{outcome}' holds text (for example '{example}'), not numbers. "
        "Choose a numeric outcome such as a test score."
    )


def formula_name_hint(text: str, columns) -> str | None:
    """When typed formula text failed to parse, a hint naming a column whose name needs
    backticks (spaces, symbols, emoji) and appears in the text without them: "The column
    'Math score' has spaces or symbols in its name: write it in backticks, as `Math score`."
    """
    found = [
        c
        for c in columns
        if isinstance(c, str) and "`" not in c and re.search(r"[^\w.]", c)
        and c in text and f"`{c}`" not in text
    ]
    # in the order they appear; of names starting at the same place, the longest
    found.sort(key=lambda c: (text.find(c), -len(c)))
    names = []
    for c in found:
        if not any(c in longer for longer in names):
            names.append(c)
    if not names:
        return None
    if len(names) == 1:
        return (
            f"The column '{names[0]}' has spaces or symbols in its name: write it in "
            f"backticks, as `{names[0]}`."
        )
    listed = ", ".join(f"`{c}`" for c in names)
    return f"Column names with spaces or symbols go in backticks: {listed}."
