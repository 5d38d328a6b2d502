"""Column names as the reader gives them: stripped of extra spaces and invisible characters,
blanks named by position, repeats numbered without ever taking a name the file already has.
Part of `hlm_core.io` (used by `io_columns._finish`)."""

from __future__ import annotations

import re

from hlm_core.io_common import _MAX_LISTED
from hlm_core.safe_text import strip_invisible


def _clean_names(header: list[str]) -> tuple[list[str], list[int], list[int], dict[str, list[str]]]:
    """Strip names, name blanks by position (column_3) and number duplicates (score.2).

    Invisible characters (zero-width spaces, direction marks, controls) are removed, so
    `score\\u200b` can't pose as `score`. A new name never takes a name the file already has
    (`score, score, score.2` gives `score.3` to the second `score`), and the work stays linear
    in the number of columns. Returns (names, positions of names that had extra spaces,
    positions of names that had invisible characters, {duplicated name: new names}).
    """
    spaced_out = [re.sub(r"\s+", " ", str(h)).strip() for h in header]
    spaced = [i for i, (h, s) in enumerate(zip(header, spaced_out, strict=True)) if s and h != s]
    stripped = [strip_invisible(s).strip() for s in spaced_out]
    invisible = [i for i, (a, b) in enumerate(zip(spaced_out, stripped, strict=True)) if a != b]
    # a formula can hold any column name in backticks, except one containing a backtick
    stripped = [s.replace("`", "'") for s in stripped]
    taken = {s for s in stripped if s}  # every name in the file, and every name given
    given: set[str] = set()
    next_k: dict[str, int] = {}
    names: list[str] = []
    dups: dict[str, list[str]] = {}
    for pos, s in enumerate(stripped, start=1):
        if s and s not in given:
            new = s
        else:
            base = s or f"column_{pos}"
            k = next_k.get(base, 2)
            new = base if not s and base not in taken else f"{base}.{k}"
            while new in taken and (s or new != base):
                new = f"{base}.{k}"
                k += 1
            next_k[base] = k
            if s:
                dups.setdefault(s, []).append(new)
        names.append(new)
        given.add(new)
        taken.add(new)
    return names, spaced, invisible, dups


def _duplicate_notes(dups: dict[str, list[str]]) -> list[str]:
    """One note per repeated name when there are a few; a count and the first few otherwise."""
    if len(dups) <= 3:
        return [
            f"The column name '{orig}' appears more than once; the repeats were renamed "
            + ", ".join(f"'{n}'" for n in new[:_MAX_LISTED])
            + (f" and {len(new) - _MAX_LISTED:,} more" if len(new) > _MAX_LISTED else "")
            + "."
            for orig, new in dups.items()
        ]
    renames = [(orig, n) for orig, new in dups.items() for n in new]
    shown = ", ".join(f"'{o}' to '{n}'" for o, n in renames[:3])
    return [
        f"{len(dups):,} column names appear more than once; {len(renames):,} repeats were "
        f"renamed ({shown} and {len(renames) - 3:,} more)."
    ]
