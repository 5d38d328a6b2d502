"""Columns of R's model.matrix for each term: which factors get contrasts or all their levels,
the columns themselves (for the fit and for new data), and the rank check that drops columns
carrying no new information.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

import numpy as np
import pandas as pd

from hlm_core.factors import level_labels
from hlm_core.spec import Term, quote_name


@dataclass
class VariableInfo:
    """How one predictor enters the model; kept so new data (prediction grids) is coded alike."""

    name: str
    kind: str  # "numeric" | "factor"
    levels: list[str] = field(default_factory=list)
    mean: float = 0.0  # mean of the values the model used (after centering)
    raw_mean: float = 0.0  # mean before centering
    center: str = "none"  # none | grand | group
    minimum: float = 0.0
    maximum: float = 0.0


@dataclass
class TermCoding:
    """One model term and the columns R's model.matrix gives it."""

    variables: tuple[str, ...]
    codings: tuple[str, ...]  # per variable: "numeric", "contrast" or "indicator"
    names: list[str]

    @property
    def label(self) -> str:
        return ":".join(quote_name(v) for v in self.variables)


def _term_codings(
    terms: list[Term], intercept: bool, kinds: dict[str, str], levels: dict[str, list[str]]
) -> list[TermCoding]:
    """R's rule: a factor in a term gets contrasts when the term without it is in the model
    (the empty term = the intercept); otherwise all its levels (indicator coding)."""
    present = {frozenset(t.variables) for t in terms}
    full_given = False
    out = []
    for t in terms:
        codings = []
        for v in t.variables:
            if kinds[v] == "numeric":
                codings.append("numeric")
                continue
            margin = frozenset(t.variables) - {v}
            if margin:
                has_margin = margin in present
            else:
                has_margin = intercept or full_given
                if not has_margin:
                    full_given = True
            codings.append("contrast" if has_margin else "indicator")
        parts = []
        for v, c in zip(t.variables, codings, strict=True):
            q = quote_name(v)
            if c == "numeric":
                parts.append([q])
            elif c == "contrast":
                parts.append([q + lv for lv in levels[v][1:]])
            else:
                parts.append([q + lv for lv in levels[v]])
        # first variable varies fastest, as in model.matrix
        names = [":".join(reversed(combo)) for combo in product(*reversed(parts))]
        out.append(TermCoding(t.variables, tuple(codings), names))
    return out


def _term_columns(
    t: TermCoding, data: pd.DataFrame, variables: dict[str, VariableInfo]
) -> list[np.ndarray]:
    per_var: list[list[np.ndarray]] = []
    for v, c in zip(t.variables, t.codings, strict=True):
        info = variables[v]
        if c == "numeric":
            per_var.append([data[v].to_numpy(dtype=float)])
            continue
        labels = level_labels(data[v]).to_numpy()
        lv = info.levels[1:] if c == "contrast" else info.levels
        per_var.append([(labels == level).astype(float) for level in lv])
    cols = []
    for combo in product(*reversed(per_var)):  # (every caller stacks the columns: no copy here)
        col = combo[0]
        for c in combo[1:]:
            col = col * c
        cols.append(col)
    return cols
