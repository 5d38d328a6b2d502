"""Reading decisions that change the number of rows or the groups, counted and told in words.

Why: the reader trims spaces around values, reads "", "." and "N/A" as missing and keeps
zero-padded codes ("01") as text. Each is the sensible choice, but each changes N or the groups
(`'S01 '` and `'S01'` become one student; a "." drops a row from every model using that
column), and R's `read.csv` decides differently by default. An analyst comparing with R, or
wondering why N is 412 and not 430, must be told exactly what was done, with counts.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["decision_notes"]


def _listing(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _as_text(values: pd.Series) -> pd.Series:
    """Cells as text (CSV cells already are; workbook cells may be numbers or dates)."""
    return values if isinstance(values.dtype, pd.StringDtype) else values.astype("string")


def _trim_note(name: str, raw: pd.Series, clean: pd.Series) -> str | None:
    """Spaces removed around text values of one column (`clean` is the column as read, after
    trimming), and the labels that merged. Vectorised: a million rows take a blink."""
    text, kept = _as_text(raw), _as_text(clean)
    changed = (kept.notna() & (text != kept)).fillna(False).to_numpy(dtype=bool)
    if not changed.any():
        return None
    n_changed = int(changed.sum())
    merged = text[kept.notna()].nunique() - kept.nunique()
    example = str(text[changed].iloc[0])
    note = (
        f"'{name}': spaces before or after {n_changed:,} value{'s' if n_changed != 1 else ''} "
        f"were removed (e.g. '{example}' is read as '{example.strip()}')"
    )
    if merged > 0:
        one = merged == 1
        note += (
            f", so {merged:,} label{'' if one else 's'} that differed from another only by "
            f"spaces now count{'s' if one else ''} as the same group or category"
        )
    return note + "."


def _missing_note(raws: dict[str, pd.Series], frame: pd.DataFrame, tokens) -> str | None:
    """Cells read as missing: empty cells and the texts that mean 'no value', counted (only
    the cells that came out missing are looked at)."""
    per_token: dict[str, int] = {}
    per_column: dict[str, int] = {}
    for name, raw in raws.items():
        missing = frame[name].isna().to_numpy()
        if not missing.any():
            continue
        cells = _as_text(raw[missing]).fillna("").str.strip()
        hit = cells[cells.isin(tokens)]
        if hit.empty:
            continue
        per_column[name] = len(hit)
        for token, count in hit.value_counts().items():
            per_token[str(token)] = per_token.get(str(token), 0) + int(count)
    if not per_token:
        return None
    parts = [
        f"{n:,} empty cell{'s' if n != 1 else ''}" if token == "" else f"{n:,} '{token}'"
        for token, n in sorted(per_token.items(), key=lambda kv: -kv[1])
    ]
    cols = _listing([f"'{c}' {n:,}" for c, n in per_column.items()])
    return (
        f"Read as missing: {_listing(parts)} (by column: {cols}). Rows with a missing value in "
        "a model's column are left out of that model."
    )


def decision_notes(
    raws: dict[str, pd.Series], frame: pd.DataFrame, tokens: set[str]
) -> list[str]:
    """Notes for the decisions above. `raws` maps each kept column name to its cells as read
    from the file (before typing); `tokens` are the texts read as missing."""
    notes = []
    raws = {c: raws[c] for c in frame.columns if c in raws}
    text_cols = [c for c in raws if not pd.api.types.is_numeric_dtype(frame[c].dtype)]
    trims = [n for c in text_cols if (n := _trim_note(c, raws[c], frame[c])) is not None]
    if trims:
        notes.append(
            "Spaces around values were removed in text columns: " + " ".join(trims)
            + " (R's read.csv keeps such spaces unless told strip.white = TRUE; the generated "
            "R code trims them too.)"
        )
    missing = _missing_note(raws, frame, tokens)
    if missing:
        notes.append(missing)
    return notes
