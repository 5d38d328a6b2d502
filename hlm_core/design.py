"""From a data frame and a ModelSpec to arrays, with lme4's names and R's coding rules.

This is our `lFormula`: the engines only ever see the arrays built here (never a formula pasted
from user text), and every name a user reads (`sexM`, `meanses:cses`, `class:school`) is made here
exactly as R's `model.matrix` and lme4 make it, so tables can be checked against R line by line.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from itertools import pairwise, product

import numpy as np
import pandas as pd

from hlm_core.errors import ModelError
from hlm_core.spec import ModelSpec, RandomEffect, Term, group_name, quote_name

INTERCEPT = "(Intercept)"


# --------------------------------------------------------------------------- variables


def is_factor(series: pd.Series) -> bool:
    """Text, categorical and logical columns are factors; numbers are covariates (as in R)."""
    dt = series.dtype
    return (
        isinstance(dt, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dt)
        or pd.api.types.is_object_dtype(dt)
        or pd.api.types.is_string_dtype(dt)
    )


def level_labels(series: pd.Series) -> pd.Series:
    """Labels as R prints factor levels: whole numbers without '.0', text as is."""
    s = series
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.map({True: "TRUE", False: "FALSE"})
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        vals = s.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(vals) & (vals == np.round(vals))
        if whole[~np.isnan(vals)].all():
            out = pd.Series(np.where(np.isnan(vals), None, None), index=s.index, dtype=object)
            ok = ~np.isnan(vals)
            out[ok] = vals[ok].astype(np.int64).astype(str)
            return out
        return s.map(lambda v: None if pd.isna(v) else format(v, "g"))
    return s.map(lambda v: None if pd.isna(v) else str(v))


def sorted_levels(series: pd.Series, labels: pd.Series) -> list[str]:
    """Level order R gives `factor()`: numeric order for numbers, the categories' own order for
    an ordered categorical, otherwise alphabetical (case-insensitive first, like R's locale)."""
    present = pd.unique(labels.dropna())
    if isinstance(series.dtype, pd.CategoricalDtype) and series.dtype.ordered:
        cats = [str(c) for c in series.dtype.categories]
        return [c for c in cats if c in set(present)]
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return sorted(present, key=float)
    return sorted(present, key=lambda s: (s.casefold(), s))


def factorize(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 = missing) and sorted level labels; works on the unique values only,
    so it stays fast on a million rows."""
    uniq_codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if len(uniques) == 0:
        return np.full(len(series), -1, dtype=np.int64), []
    if isinstance(series.dtype, pd.CategoricalDtype):
        u = pd.Series(pd.Categorical(np.asarray(uniques), dtype=series.dtype))
    else:
        u = pd.Series(uniques, dtype=series.dtype)
    labels = level_labels(u)
    levels = sorted_levels(u, labels)
    lookup = {lv: i for i, lv in enumerate(levels)}
    remap = np.array([lookup[lab] for lab in labels], dtype=np.int64)
    codes = np.where(uniq_codes >= 0, remap[np.maximum(uniq_codes, 0)], -1)
    return codes.astype(np.int64), levels


def combine_factors(parts: list[tuple[np.ndarray, list[str]]]) -> tuple[np.ndarray, list[str]]:
    """Codes and labels for an interaction of factors (`class:school`), labels joined by ':'
    and ordered as R's interaction(): the later factor varies fastest."""
    codes = np.zeros(len(parts[0][0]), dtype=np.int64)
    for c, lv in parts:
        codes = codes * len(lv) + c
    used, inv = np.unique(codes, return_inverse=True)
    labels = []
    for k in used:
        pieces = []
        for _c, lv in reversed(parts):
            pieces.append(lv[k % len(lv)])
            k //= len(lv)
        labels.append(":".join(reversed(pieces)))
    return inv.astype(np.int64), labels


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


# --------------------------------------------------------------------------- coding


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
    for combo in product(*reversed(per_var)):
        col = np.ones(len(data))
        for c in combo:
            col = col * c
        cols.append(col)
    return cols


def _pivot_rank(X: np.ndarray, tol: float = 1e-7) -> list[int]:
    """Columns to keep: each is kept when it is not (numerically) a combination of those before
    it — the same columns lme4's rank check keeps for an ordinary design."""
    if X.shape[1] == 0:
        return []
    scale = np.sqrt((X**2).sum(axis=0))
    scale[scale == 0] = 1.0
    Xs = X / scale
    G = Xs.T @ Xs
    keep: list[int] = []
    for j in range(X.shape[1]):
        if G[j, j] < tol:
            continue
        idx = [*keep, j]
        sub = G[np.ix_(idx, idx)]
        ev = np.linalg.eigvalsh(sub)
        if ev.min() > tol * max(1.0, ev.max()):
            keep.append(j)
    return keep


# --------------------------------------------------------------------------- main


def _check_columns(frame: pd.DataFrame, spec: ModelSpec) -> None:
    for v in spec.variables():
        if v not in frame.columns:
            close = difflib.get_close_matches(v, [str(c) for c in frame.columns], n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ModelError(f"There is no column called '{v}' in the data.{hint}")


def _is_date(series: pd.Series) -> bool:
    dt = series.dtype
    return pd.api.types.is_datetime64_any_dtype(dt) or pd.api.types.is_timedelta64_dtype(dt)


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
