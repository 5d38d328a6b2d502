"""Checks that refuse a model before its matrices are built (issue 12.3, 12.5): a text
predictor with very many categories, a model whose matrices would pass the memory budget, and
values so large that the arithmetic overflows. The limits come from `hlm_core.limits`. Steps of
`design.model_frame`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hlm_core import limits
from hlm_core.coding import _term_codings
from hlm_core.errors import ModelError
from hlm_core.safe_text import visible
from hlm_core.spec import RandomEffect, quote_name

__all__ = [
    "TOO_LARGE", "check_design_size", "check_levels", "check_magnitude", "random_sizes",
    "random_width",
]

TOO_LARGE = 1e100  # beyond this, sums of squares overflow double precision (~1.8e308)


def check_magnitude(what: str, x: np.ndarray) -> None:
    """Refuse values so large that the arithmetic of a fit overflows (1e308 typed by mistake),
    before numpy's overflow warnings and a silently dropped predictor."""
    size = float(np.max(np.abs(x))) if x.size else 0.0
    if size > TOO_LARGE:
        raise ModelError(
            f"{what} has values too large to compute with (up to {size:.3g}). Check the column "
            "for mistyped entries; if the values are right, divide them by a power of ten "
            "(for example, amounts in millions) and fit again."
        )


def check_levels(name: str, n_levels: int, values: pd.Series) -> None:
    """Refuse a text predictor with very many categories before its dummy columns exist.

    Such a column is almost always a number column spoiled by a stray entry (a NUL byte, a
    typo) or an ID that belongs in the grouping part; as a predictor it needs one column per
    category, which takes gigabytes and minutes. `values` is the whole column (for the row
    number of the first entry that is not a number).
    """
    limit = limits.current().max_factor_levels
    if n_levels <= limit:
        return
    text = values.reset_index(drop=True).dropna().astype(str).str.strip()
    number = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    bad = text[number.isna() & text.ne("")]
    hint = ""
    if len(bad) < 0.5 * len(text):
        row = int(bad.index[0]) + 1 if len(bad) else 0
        entry, it = ("entry is", "it") if len(bad) == 1 else ("entries are", "them")
        hint = (
            f" If it should be a number, {len(bad):,} {entry} not a number: row {row:,} "
            f"'{visible(bad.iloc[0], 12)}'; fix {it} in the file (or make {it} empty) and "
            "upload again."
        )
    raise ModelError(
        f"'{name}' has {n_levels:,} different text values, too many for a predictor (the "
        f"limit is {limit:,}).{hint} If it identifies a group, use it as a grouping variable, "
        f"e.g. (1 | {quote_name(name)})."
    )


def random_width(re_: RandomEffect, kinds: dict[str, str], levels: dict[str, list[str]]) -> int:
    """Columns of one random-effects term's within-group design (intercept + slopes)."""
    slopes = _term_codings(list(re_.slopes), re_.intercept, kinds, levels)
    return int(re_.intercept) + sum(len(t.names) for t in slopes)


def random_sizes(blocks_spec: list, group_codes: dict, variables: dict) -> list[tuple[int, int]]:
    """(groups, columns per group) of each random term of `design.model_frame`, before any
    within-group design is built (`blocks_spec`: (random effect, columns, group name) per
    grouping factor; `group_codes`: group name -> (codes, levels, columns))."""
    kinds = {v: i.kind for v, i in variables.items()}
    levels = {v: i.levels for v, i in variables.items()}
    return [(len(group_codes[g][1]), random_width(r, kinds, levels)) for r, _, g in blocks_spec]


def check_design_size(n: int, p: int, random: list[tuple[int, int]]) -> None:
    """Refuse a model whose matrices would not fit the memory budget, before building them.

    `p` fixed-effect columns, and per random term (groups, columns per group). Counted, in
    8-byte numbers: the dense fixed design (n x p), the within-group designs (n x k each), and
    the random-effects cross-product as the engine's sparse Cholesky holds it: block-diagonal
    for the largest term (groups x k x k: one small block per group, as 20,000 classes with a
    random intercept and slope need), dense for the effects of every other term (q_rest², the
    fill-in a crossed or higher level can cause).
    """
    q_terms = [g * k for g, k in random]
    q = sum(q_terms)
    q_rest = q - max(q_terms, default=0)
    blocks = sum(g * k * k for g, k in random)
    need = 8.0 * (n * p + n * sum(k for _, k in random) + blocks + q_rest * q_rest + p * p)
    budget = limits.current().max_design_bytes
    if need <= budget:
        return
    raise ModelError(
        f"This model would need about {limits.size_text(need)} of memory ({n:,} rows, "
        f"{p:,} fixed-effect column{'s' if p != 1 else ''}, {q:,} random effects), more than "
        f"the {limits.size_text(budget)} allowed. Use fewer categories or interactions, or a "
        "simpler random part (fewer random slopes, especially of categories)."
    )
