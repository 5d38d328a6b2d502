"""From a data frame and a ModelSpec to arrays, with lme4's names and R's coding rules.

This is our `lFormula`: the engines only ever see the arrays built here (never a formula pasted
from user text), and every name a user reads (`sexM`, `meanses:cses`, `class:school`) is made here
exactly as R's `model.matrix` and lme4 make it, so tables can be checked against R line by line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import pandas as pd

from hlm_core.checks import (
    double_bar_notes,
    dropped_column_notes,
    duplicated_random_term,
    qr_keep,
)
from hlm_core.coding import TermCoding, VariableInfo, _term_codings, _term_columns
from hlm_core.design_limits import check_design_size, check_magnitude, random_sizes
from hlm_core.errors import ModelError
from hlm_core.factors import combine_factors, factorize, is_factor, level_labels, sorted_levels
from hlm_core.frame_checks import (
    _check_columns,
    _date_words,
    _is_date,
    _text_outcome_message,
    formula_name_hint,
)
from hlm_core.predictors import (
    _BlockSpec,
    _GroupCodes,
    centre_within_groups,
    code_predictors,
    factor_variable,
    group_mean_name,
    numeric_variable,
)
from hlm_core.spec import ModelSpec, RandomEffect, Term, group_name
from hlm_core.transforms import add_derived_columns

INTERCEPT = "(Intercept)"

# re-exported: callers import these from `design`
__all__ = [
    "INTERCEPT", "ModelFrame", "RandomBlock", "TermCoding", "VariableInfo", "centre_within_groups",
    "code_predictors", "combine_factors", "factor_variable", "factorize", "formula_name_hint",
    "group_mean_name", "is_factor", "level_labels", "model_frame", "numeric_variable",
    "sorted_levels",
]


@dataclass
class RandomBlock:
    """One random-effects block: a grouping factor and the terms varying over it."""

    group: str  # lme4 group name, e.g. "class:school"
    vc_group: str  # name in as.data.frame(VarCorr()): "g", or "g.1" for split `||` terms
    terms: list[TermCoding]
    intercept: bool
    correlated: bool
    codes: np.ndarray  # level index of each row
    levels: list[str]
    Z: np.ndarray  # n x q within-group design (columns for this block's terms)
    columns: tuple[str, ...] = ()  # data columns that define the grouping (inner first)

    @property
    def term_names(self) -> list[str]:
        names = [INTERCEPT] if self.intercept else []
        for t in self.terms:
            names.extend(t.names)
        return names

    @property
    def n_levels(self) -> int:
        return len(self.levels)


@dataclass
class ModelFrame:
    """Everything a fit needs, as arrays, plus what was done to the data along the way."""

    spec: ModelSpec
    y: np.ndarray
    X: np.ndarray
    fixed_names: list[str]
    fixed_terms: list[TermCoding]
    blocks: list[RandomBlock]
    variables: dict[str, VariableInfo]
    rows: np.ndarray  # positions (0-based) of the rows used in the original frame
    rows_total: int
    dropped_by_column: dict[str, int]
    dropped_fixed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    group_sizes: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def nobs(self) -> int:
        return int(self.y.shape[0])

    @property
    def rows_dropped(self) -> int:
        return self.rows_total - self.nobs

    @property
    def groups(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for b in self.blocks:
            out.setdefault(b.group, b.n_levels)
        return out

    def fixed_matrix(self, data: pd.DataFrame) -> np.ndarray:
        """The fixed-effects design for new data (e.g. a prediction grid), coded as in the fit."""
        cols = [np.ones(len(data))] if self.spec.intercept else []
        for t in self.fixed_terms:
            cols.extend(_term_columns(t, data, self.variables))
        X = np.column_stack(cols) if cols else np.empty((len(data), 0))
        keep = [i for i, n in enumerate(self._all_fixed_names()) if n not in self.dropped_fixed]
        return X[:, keep]

    def random_matrix(self, block: RandomBlock, data: pd.DataFrame) -> np.ndarray:
        cols = [np.ones(len(data))] if block.intercept else []
        for t in block.terms:
            cols.extend(_term_columns(t, data, self.variables))
        return np.column_stack(cols)

    def _all_fixed_names(self) -> list[str]:
        names = [INTERCEPT] if self.spec.intercept else []
        for t in self.fixed_terms:
            names.extend(t.names)
        return names


# --------------------------------------------------------------------------- main


def _order_terms(terms: tuple[Term, ...], order_vars: list[str]) -> list[Term]:
    rank = {v: i for i, v in enumerate(order_vars)}
    seen: dict[tuple[str, ...], None] = {}
    for t in terms:
        vs = tuple(sorted(dict.fromkeys(t.variables), key=lambda v: rank.get(v, len(rank))))
        seen.setdefault(vs, None)
    return sorted((Term(v) for v in seen), key=lambda t: t.order)


def model_frame(frame: pd.DataFrame, spec: ModelSpec) -> ModelFrame:
    """Build the arrays for `spec` from `frame`, or say in plain words why the data can't.

    The steps, in order: rows kept and dropped → outcome → grouping factors → predictors
    (factor coding, centring) → fixed-effect columns and rank → random blocks → group checks.
    """
    if not spec.random:
        raise ModelError(
            "The model has no grouping variable. Choose the column that says which class "
            "(or school) each student belongs to."
        )
    frame, computed = add_derived_columns(frame, spec.variables())  # log(x), poly(x, 2) ...
    _check_columns(frame, spec)
    n_total = len(frame)
    data, keep_rows, dropped_by_column, notes = rows_used(frame, spec)
    notes[:0] = computed + double_bar_notes(spec, frame)
    y = outcome_values(data, frame, spec)
    for o in spec.offset:  # offset(x): a part of the outcome whose coefficient is fixed at 1
        y = y - data[o].to_numpy(dtype=float)
    blocks_spec, group_codes = grouping_codes(data, spec)
    variables, fixed_spec = code_predictors(data, frame, spec, group_codes, blocks_spec, notes)
    fixed_terms, X, fixed_names, dropped_fixed = fixed_part(
        data, spec, fixed_spec, variables, notes, random_sizes(blocks_spec, group_codes, variables)
    )
    blocks = random_blocks(data, blocks_spec, group_codes, variables)
    sizes = check_groups(group_codes, blocks, len(data))
    return ModelFrame(
        spec=spec,
        y=y,
        X=X,
        fixed_names=fixed_names,
        fixed_terms=fixed_terms,
        blocks=_lme4_block_order(blocks),
        variables=variables,
        rows=keep_rows,
        rows_total=n_total,
        dropped_by_column=dropped_by_column,
        dropped_fixed=dropped_fixed,
        notes=notes,
        group_sizes=sizes,
    )


def rows_used(
    frame: pd.DataFrame, spec: ModelSpec
) -> tuple[pd.DataFrame, np.ndarray, dict[str, int], list[str]]:
    """The model's columns for the complete rows, their positions in `frame`, the missing
    values counted per column (blank text counts as missing), and a note saying what was left
    out; an error when no row is complete."""
    n_total = len(frame)
    used = spec.variables()
    sub = frame[used]

    # ---- missing values (counted per column, then dropped together)
    miss = sub.isna()
    for c in used:
        if is_factor(sub[c]) and not isinstance(sub[c].dtype, pd.CategoricalDtype):
            blank = sub[c].astype(str).str.strip().eq("") & ~miss[c]
            miss[c] = miss[c] | blank
    row_missing = miss.any(axis=1).to_numpy()
    dropped_by_column = {c: int(miss[c].sum()) for c in used if int(miss[c].sum()) > 0}
    keep_rows = np.flatnonzero(~row_missing) if dropped_by_column else np.arange(n_total)
    if keep_rows.size == 0:
        empty = [c for c in used if bool(miss[c].all())]
        if empty:
            raise ModelError(
                f"Every row has a missing value in '{empty[0]}': the column is empty. Choose "
                "another column, or check the file (a column of formulas whose results were "
                "never saved arrives empty too)."
            )
        cols = ", ".join(f"'{c}'" for c in dropped_by_column)
        raise ModelError(
            f"Every row has a missing value in at least one of the model's columns ({cols}). "
            "Fill in the missing values or choose other columns."
        )
    data = sub.iloc[keep_rows].reset_index(drop=True)
    notes: list[str] = []
    if len(keep_rows) < n_total:
        detail = ", ".join(f"{c}: {k:,}" for c, k in dropped_by_column.items())
        notes.append(
            f"{n_total - len(keep_rows):,} of {n_total:,} rows were left out because of missing "
            f"values ({detail})."
        )
    return data, keep_rows, dropped_by_column, notes


def outcome_values(data: pd.DataFrame, frame: pd.DataFrame, spec: ModelSpec) -> np.ndarray:
    """The outcome as numbers, or a plain-language error (dates, text, infinite, constant)."""
    # ---- outcome
    y_raw = data[spec.outcome]
    if _is_date(y_raw):
        raise ModelError(
            f"The outcome '{spec.outcome}' holds {_date_words(y_raw)}, not numbers. Choose a "
            "numeric outcome such as a test score."
        )
    if spec.family != "gaussian":  # yes/no or counts, coded by R's rules
        from hlm_core.families import code_outcome

        return code_outcome(y_raw, spec.outcome, spec.family, spec.success, spec.threshold).y
    if is_factor(y_raw) or not pd.api.types.is_numeric_dtype(y_raw.dtype):
        raise ModelError(_text_outcome_message(spec.outcome, frame[spec.outcome]))
    y = y_raw.to_numpy(dtype=float)
    if not np.all(np.isfinite(y)):
        raise ModelError(f"The outcome '{spec.outcome}' has infinite values; remove them first.")
    check_magnitude(f"The outcome '{spec.outcome}'", y)
    if np.ptp(y) == 0:
        raise ModelError(
            f"The outcome '{spec.outcome}' has the same value ({y[0]:g}) in every row, "
            "so there is nothing to explain. Choose another outcome."
        )
    return y


def grouping_codes(data: pd.DataFrame, spec: ModelSpec) -> tuple[list[_BlockSpec], _GroupCodes]:
    """One (random effect, columns, lme4 group name) per grouping factor of each bar, and each
    group name's level codes, labels and columns. Built first: group-mean centring needs them."""
    # ---- grouping factors first: group-mean centering needs them
    blocks_spec: list[tuple[RandomEffect, tuple[str, ...], str]] = []
    for re_ in spec.random:
        for cols in re_.group_factors():
            blocks_spec.append((re_, cols, group_name(cols, nested=re_.kind == "nested")))
    group_codes: dict[str, tuple[np.ndarray, list[str], tuple[str, ...]]] = {}
    for _re, cols, gname in blocks_spec:
        if gname in group_codes:
            continue
        if len(cols) == 1:
            codes, levels = factorize(data[cols[0]])
        else:
            codes, levels = combine_factors([factorize(data[c]) for c in cols])
        group_codes[gname] = (codes, levels, cols)
    return blocks_spec, group_codes


def fixed_part(
    data: pd.DataFrame,
    spec: ModelSpec,
    fixed_spec: list[Term],
    variables: dict[str, VariableInfo],
    notes: list[str],
    random_part: list[tuple[int, int]] = (),
) -> tuple[list[TermCoding], np.ndarray, list[str], list[str]]:
    """The fixed-effect terms, the columns lme4 would keep (a column that is constant or an
    exact combination of earlier ones is dropped, with a note), their names, and the dropped
    names. `random_part` (groups, columns per group of each random term) joins the memory
    check."""
    kinds = {v: i.kind for v, i in variables.items()}
    levels = {v: i.levels for v, i in variables.items()}

    # ---- fixed part
    fixed_order = [spec.outcome] + [v for t in fixed_spec for v in t.variables]
    fixed_terms = _term_codings(
        _order_terms(tuple(fixed_spec), list(dict.fromkeys(fixed_order))),
        spec.intercept, kinds, levels,
    )
    # refused before any column exists when the matrices would pass the memory budget
    check_design_size(
        len(data), int(spec.intercept) + sum(len(t.names) for t in fixed_terms), random_part
    )
    cols = [np.ones(len(data))] if spec.intercept else []
    names = [INTERCEPT] if spec.intercept else []
    for t in fixed_terms:
        cols.extend(_term_columns(t, data, variables))
        names.extend(t.names)
    X_all = np.column_stack(cols) if cols else np.empty((len(data), 0))
    keep = qr_keep(X_all)  # lme4's chkRank.drop.cols: R's qr() on the columns as they are
    dropped_fixed = [names[i] for i in range(len(names)) if i not in keep]
    notes.extend(dropped_column_notes(X_all, names, keep))
    X = X_all if keep == list(range(X_all.shape[1])) else X_all[:, keep]  # no copy when all kept
    fixed_names = [names[i] for i in keep]
    return fixed_terms, X, fixed_names, dropped_fixed


def random_blocks(
    data: pd.DataFrame,
    blocks_spec: list[_BlockSpec],
    group_codes: _GroupCodes,
    variables: dict[str, VariableInfo],
) -> list[RandomBlock]:
    """One RandomBlock per bar and grouping factor; an uncorrelated bar (`||`) becomes one block
    per term, as lme4's expandDoubleVerts does. In the formula's order (see _lme4_block_order)."""
    kinds = {v: i.kind for v, i in variables.items()}
    levels = {v: i.levels for v, i in variables.items()}

    # ---- random part
    blocks: list[RandomBlock] = []
    for re_, gcols, gname in blocks_spec:
        codes, glevels, _ = group_codes[gname]
        bar_order = [v for t in re_.slopes for v in t.variables]
        slope_terms = _term_codings(
            _order_terms(re_.slopes, list(dict.fromkeys(bar_order))), re_.intercept, kinds, levels
        )
        pieces: list[tuple[bool, list[TermCoding]]]
        if re_.correlated:
            pieces = [(re_.intercept, slope_terms)]
        else:  # lme4's expandDoubleVerts: one block per term, sharing the grouping factor
            pieces = ([(True, [])] if re_.intercept else []) + [
                (False, [_term_codings([Term(t.variables)], False, kinds, levels)[0]])
                for t in slope_terms
            ]
        for has_int, terms in pieces:
            zc = [np.ones(len(data))] if has_int else []
            for t in terms:
                zc.extend(_term_columns(t, data, variables))
            blocks.append(
                RandomBlock(
                    group=gname,
                    vc_group=gname,
                    terms=terms,
                    intercept=has_int,
                    correlated=True,  # each `||` piece is a full lme4 term (a factor's
                    # levels keep their correlations, as lme4's expandDoubleVerts does)
                    codes=codes,
                    levels=glevels,
                    Z=np.column_stack(zc),
                    columns=gcols,
                )
            )
    return blocks


def check_groups(
    group_codes: _GroupCodes, blocks: list[RandomBlock], n: int
) -> dict[str, np.ndarray]:
    """Each grouping factor's group sizes, after checking that there are at least 2 groups,
    fewer groups than rows, no random term twice, and fewer random effects than rows in each
    random term (lme4's checkNlevels and checkZdims)."""
    sizes: dict[str, np.ndarray] = {}
    for gname, (codes, glevels, _) in group_codes.items():
        counts = np.bincount(codes, minlength=len(glevels))
        sizes[gname] = counts
        if len(glevels) < 2:
            raise ModelError(
                f"All rows used belong to one {gname} ('{glevels[0]}'). A multilevel model needs "
                f"at least 2 groups in '{gname}' (10 or more for trustworthy estimates): choose "
                "a grouping column with more groups, such as the class."
            )
        if len(glevels) >= n:
            raise ModelError(
                f"Every row is its own group in '{gname}' ({n:,} groups for {n:,} rows), so "
                "differences between groups can't be told apart from differences between "
                "students. Choose the column that groups students (e.g. class or school)."
            )
    twice = duplicated_random_term(blocks)
    if twice:
        raise ModelError(twice)
    for b in blocks:  # lme4's check.nobs.vs.nRE: per random term, not summed over terms
        n_re = b.n_levels * b.Z.shape[1]
        if n_re >= n:
            raise ModelError(
                f"The random part for '{b.group}' has {n_re:,} random effects but only {n:,} "
                f"rows ({b.n_levels:,} groups x {b.Z.shape[1]}: {_first_names(b.term_names)}), so "
                "it can't be estimated (lme4 refuses it too). Remove a random slope or use a "
                "grouping with fewer, larger groups."
            )
    return sizes


def _first_names(names: list[str], shown: int = 5) -> str:
    """The first few names of a long list, and how many more (a message stays short)."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more:,} more" if more > 0 else "")


def _lme4_block_order(blocks: list[RandomBlock]) -> list[RandomBlock]:
    """lme4's mkReTrms order: when the numbers of levels are not already non-increasing, the
    terms are put in `rev(order(nlevels))`; VarCorr names repeats of a factor `g`, `g.1`, ..."""
    nl = [b.n_levels for b in blocks]
    if any(b > a for a, b in pairwise(nl)):
        order = sorted(range(len(blocks)), key=lambda i: nl[i])  # stable, ascending
        blocks = [blocks[i] for i in reversed(order)]
    seen: dict[str, int] = {}
    for b in blocks:
        k = seen.get(b.group, 0)
        seen[b.group] = k + 1
        b.vc_group = b.group if k == 0 else f"{b.group}.{k}"
    return blocks
