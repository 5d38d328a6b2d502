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

from hlm_core.coding import TermCoding, VariableInfo, _pivot_rank, _term_codings, _term_columns
from hlm_core.errors import ModelError
from hlm_core.factors import combine_factors, factorize, is_factor, level_labels, sorted_levels
from hlm_core.frame_checks import (
    _check_columns,
    _is_date,
    _text_outcome_message,
    formula_name_hint,
)
from hlm_core.spec import ModelSpec, RandomEffect, Term, group_name

INTERCEPT = "(Intercept)"

# re-exported: callers import these from `design`
__all__ = [
    "INTERCEPT", "ModelFrame", "RandomBlock", "TermCoding", "VariableInfo", "combine_factors",
    "factorize", "formula_name_hint", "group_mean_name", "is_factor", "level_labels",
    "model_frame", "sorted_levels",
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


def group_mean_name(variable: str) -> str:
    """The name of the group-mean predictor that group-mean centring adds (`ses` -> `ses.mean`)."""
    return f"{variable}.mean"


def _order_terms(terms: tuple[Term, ...], order_vars: list[str]) -> list[Term]:
    rank = {v: i for i, v in enumerate(order_vars)}
    seen: dict[tuple[str, ...], None] = {}
    for t in terms:
        vs = tuple(sorted(dict.fromkeys(t.variables), key=lambda v: rank.get(v, len(rank))))
        seen.setdefault(vs, None)
    return sorted((Term(v) for v in seen), key=lambda t: t.order)


def model_frame(frame: pd.DataFrame, spec: ModelSpec) -> ModelFrame:
    """Build the arrays for `spec` from `frame`, or say in plain words why the data can't."""
    if not spec.random:
        raise ModelError(
            "The model has no grouping variable. Choose the column that says which class "
            "(or school) each student belongs to."
        )
    _check_columns(frame, spec)
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
    keep_rows = np.flatnonzero(~row_missing)
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

    # ---- outcome
    y_raw = data[spec.outcome]
    if _is_date(y_raw):
        raise ModelError(
            f"The outcome '{spec.outcome}' holds dates, not numbers. Choose a numeric outcome "
            "such as a test score."
        )
    if is_factor(y_raw) or not pd.api.types.is_numeric_dtype(y_raw.dtype):
        raise ModelError(_text_outcome_message(spec.outcome, frame[spec.outcome]))
    y = y_raw.to_numpy(dtype=float)
    if not np.all(np.isfinite(y)):
        raise ModelError(f"The outcome '{spec.outcome}' has infinite values; remove them first.")
    if np.ptp(y) == 0:
        raise ModelError(
            f"The outcome '{spec.outcome}' has the same value ({y[0]:g}) in every row, "
            "so there is nothing to explain. Choose another outcome."
        )

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

    # ---- predictors: kinds, levels, centering
    variables: dict[str, VariableInfo] = {}
    predictors = [v for v in used if v != spec.outcome]
    grouping_cols = {g for re_ in spec.random for g in re_.grouping}
    centering = spec.centering_map
    first_group = blocks_spec[0][2]
    fixed_spec = list(spec.fixed)
    for v in predictors:
        if v in grouping_cols and not any(
            v in t.variables for t in spec.fixed + tuple(s for r in spec.random for s in r.slopes)
        ):
            continue
        s = data[v]
        if is_factor(s):
            codes, levels = factorize(s)
            if len(levels) < 2:
                raise ModelError(
                    f"'{v}' has only one category ('{levels[0]}') in the rows used, so it can't "
                    "explain differences. Remove it from the predictors."
                )
            variables[v] = VariableInfo(v, "factor", levels=levels)
            if centering.get(v, "none") != "none":
                notes.append(f"'{v}' is a category, so it was not centred.")
        else:
            if _is_date(s):
                raise ModelError(
                    f"'{v}' holds dates, which can't be used as a number directly. Make a "
                    "numeric column from it (for example age in months, or the year) and use "
                    "that, or remove it from the predictors."
                )
            x = s.to_numpy(dtype=float)
            if not np.all(np.isfinite(x)):
                raise ModelError(f"'{v}' has infinite values; remove them first.")
            info = VariableInfo(v, "numeric", raw_mean=float(x.mean()))
            how = centering.get(v, "none")
            if how == "grand":
                x = x - x.mean()
                notes.append(f"'{v}' is centred at its overall mean ({info.raw_mean:.4g}).")
            elif how == "group":
                # Within-group centring, plus the group mean as a level-2 predictor so the
                # between-group (contextual) effect is not lost (Enders & Tofighi 2007).
                codes = group_codes[first_group][0]
                gm = (np.bincount(codes, weights=x) / np.bincount(codes))[codes]
                x = x - gm
                mean_name = group_mean_name(v)
                if mean_name in frame.columns or mean_name in variables:
                    raise ModelError(
                        f"Centring '{v}' within groups adds a column '{mean_name}', but the data "
                        "already has one. Rename that column first."
                    )
                data[mean_name] = gm
                variables[mean_name] = VariableInfo(
                    mean_name, "numeric", mean=float(gm.mean()), raw_mean=float(gm.mean()),
                    minimum=float(gm.min()), maximum=float(gm.max()),
                )
                pos = next((i for i, t in enumerate(fixed_spec) if t.variables == (v,)), None)
                if pos is not None:
                    fixed_spec.insert(pos + 1, Term((mean_name,)))
                notes.append(
                    f"'{v}' is centred within each {first_group} (each student's difference "
                    f"from their {first_group}'s mean); the {first_group} mean is added as "
                    f"'{mean_name}' (the contextual effect)."
                )
            info.center = how
            info.mean = float(x.mean())
            info.minimum, info.maximum = float(x.min()), float(x.max())
            data[v] = x
            variables[v] = info

    kinds = {v: i.kind for v, i in variables.items()}
    levels = {v: i.levels for v, i in variables.items()}

    # ---- fixed part
    fixed_order = [spec.outcome] + [v for t in fixed_spec for v in t.variables]
    fixed_terms = _term_codings(
        _order_terms(tuple(fixed_spec), list(dict.fromkeys(fixed_order))),
        spec.intercept, kinds, levels,
    )
    cols = [np.ones(len(data))] if spec.intercept else []
    names = [INTERCEPT] if spec.intercept else []
    for t in fixed_terms:
        cols.extend(_term_columns(t, data, variables))
        names.extend(t.names)
    X_all = np.column_stack(cols) if cols else np.empty((len(data), 0))
    keep = _pivot_rank(X_all)
    dropped_fixed = [names[i] for i in range(len(names)) if i not in keep]
    for name in dropped_fixed:
        j = names.index(name)
        col = X_all[:, j]
        if np.ptp(col) == 0:
            notes.append(
                f"'{name}' has the same value in every row used, so it can't be estimated "
                "and was left out of the model."
            )
        else:
            notes.append(
                f"'{name}' is an exact combination of other predictors (it carries no new "
                "information), so it was left out of the model."
            )
    X = X_all[:, keep]
    fixed_names = [names[i] for i in keep]

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
                    correlated=re_.correlated,
                    codes=codes,
                    levels=glevels,
                    Z=np.column_stack(zc),
                    columns=gcols,
                )
            )

    n = len(data)
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
    n_random = sum(b.n_levels * b.Z.shape[1] for b in blocks)
    if n_random >= n:
        raise ModelError(
            f"The model has {n_random:,} random effects but only {n:,} rows, so it can't be "
            "estimated. Remove a random slope or use a grouping with fewer, larger groups."
        )

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
