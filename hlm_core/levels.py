"""Which level of the data each grouping factor and predictor belongs to, read from the data the
model used (a school mean is constant within each school), for the level equations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

import numpy as np
import pandas as pd

from hlm_core.design import ModelFrame, TermCoding, VariableInfo
from hlm_core.spec import quote_name

MAX_LEVELS = 3  # HLM notation (pi, beta, gamma) goes up to three levels


@dataclass
class _Group:
    """One grouping factor as the equations need it."""

    name: str  # lme4 group name ("class:school")
    label: str  # the inner column, for sentences ("class")
    codes: np.ndarray
    n_levels: int


@dataclass
class _Structure:
    """Levels (nesting chain, innermost group first), extra crossed factors, variable levels."""

    chain: list[_Group]
    extra: list[_Group]
    var_level: dict[str, int]
    notes: list[str] = field(default_factory=list)

    @property
    def n_levels(self) -> int:
        return len(self.chain) + 1


def _unique_groups(mf: ModelFrame) -> list[_Group]:
    seen: dict[str, _Group] = {}
    for b in mf.blocks:
        if b.group not in seen:
            label = b.columns[0] if b.columns else b.group
            seen[b.group] = _Group(b.group, label, b.codes, b.n_levels)
    return list(seen.values())


def _nested_in(inner: np.ndarray, outer: np.ndarray) -> bool:
    """True when every level of `inner` lies within a single level of `outer`."""
    inner, outer = np.asarray(inner), np.asarray(outer)
    if inner.dtype.kind in "iu" and inner.size and inner.min() >= 0:
        # one pass: each inner level takes the outer level of one of its rows; nested when
        # every row agrees (np.unique over row pairs sorted them: ~20 ms at 6,000 rows)
        seen = np.empty(int(inner.max()) + 1, dtype=outer.dtype)
        seen[inner] = outer
        return bool(np.array_equal(seen[inner], outer))
    pairs = np.unique(np.column_stack([inner, outer]), axis=0)
    return len(pairs) == len(np.unique(inner))


def _constant_within(values: np.ndarray, codes: np.ndarray) -> bool:
    """True when each column of `values` takes one value inside every group."""
    if values.ndim == 1:
        values = values[:, None]
    n_groups = int(codes.max()) + 1 if codes.size else 0
    for j in range(values.shape[1]):
        x = values[:, j].astype(float)
        ok = np.isfinite(x)
        if not ok.any():
            continue
        lo = np.full(n_groups, np.inf)
        hi = np.full(n_groups, -np.inf)
        np.minimum.at(lo, codes[ok], x[ok])
        np.maximum.at(hi, codes[ok], x[ok])
        spread = np.where(np.isfinite(lo), hi - lo, 0.0)
        scale = max(1.0, float(np.nanmax(np.abs(x[ok]))))
        if float(spread.max()) > 1e-9 * scale:
            return False
    return True


def _design_values(mf: ModelFrame, variable: str, frame: pd.DataFrame | None) -> np.ndarray | None:
    """The values of one predictor on the rows the model used, as the fit saw them.

    Preferred source: the variable's own main-effect columns in X (after centring); then its
    random-slope columns in Z; then the original frame (for variables that only appear inside
    interactions). None when nothing says.
    """
    for t in mf.fixed_terms:
        if t.variables == (variable,):
            idx = [mf.fixed_names.index(n) for n in t.names if n in mf.fixed_names]
            if idx:
                return mf.X[:, idx]
    for b in mf.blocks:
        offset = 1 if b.intercept else 0
        for t in b.terms:
            if t.variables == (variable,):
                return b.Z[:, offset : offset + len(t.names)]
            offset += len(t.names)
    if frame is not None and variable in frame.columns and len(frame) == mf.rows_total:
        s = frame[variable].iloc[mf.rows]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            return s.to_numpy(dtype=float)
        codes, _ = pd.factorize(s, use_na_sentinel=True)
        return codes.astype(float)
    return None


def _structure(mf: ModelFrame, frame: pd.DataFrame | None) -> _Structure:
    groups = _unique_groups(mf)
    notes: list[str] = []
    # the innermost grouping factor: the one with most levels (lme4 puts it first)
    inner = max(groups, key=lambda g: g.n_levels)
    chain = [inner]
    extra: list[_Group] = []
    for g in sorted((g for g in groups if g is not inner), key=lambda g: -g.n_levels):
        if len(chain) < MAX_LEVELS - 1 and _nested_in(chain[-1].codes, g.codes):
            chain.append(g)
        else:
            extra.append(g)
    if extra:
        names = ", ".join(f"'{g.name}'" for g in extra)
        notes.append(
            f"The random effects of {names} are not nested in "
            f"'{chain[-1].name}'; they are shown as extra terms (v) in the level-2 equations."
        )
    var_level: dict[str, int] = {}
    for v in mf.variables:
        vals = _design_values(mf, v, frame)
        level = 1
        if vals is not None:
            for g in chain:
                if _constant_within(vals, g.codes):
                    level += 1
                else:
                    break
        var_level[v] = level
    return _Structure(chain, extra, var_level, notes)


def _components(t: TermCoding, variables: dict[str, VariableInfo]) -> list[tuple[str, tuple]]:
    """Each column of a term: its lme4 name and its per-variable parts for display,
    `sectorPublic:cses` -> (("sector", "sectorPublic"), ("cses", "cses")). Built in
    model.matrix's order, as design.py names them. A numeric variable is shown by its plain
    name (the parentheses of the equations delimit it); a factor level as in the tables."""
    parts = []
    for v, c in zip(t.variables, t.codings, strict=True):
        q = quote_name(v)
        if c == "numeric":
            parts.append([(v, q, v)])
        else:
            lv = variables[v].levels
            lv = lv[1:] if c == "contrast" else lv
            parts.append([(v, q + level, q + level) for level in lv])
    out = []
    for combo in product(*reversed(parts)):
        combo = tuple(reversed(combo))
        name = ":".join(lme4 for _, lme4, _ in combo)
        out.append((name, tuple((v, shown) for v, _, shown in combo)))
    return out


def _split(combo: tuple, var_level: dict[str, int], n_levels: int) -> tuple[tuple, ...]:
    """The parts of one column grouped by level: (level-1 parts, level-2 parts, ...)."""
    by = [[] for _ in range(n_levels)]
    for v, label in combo:
        by[min(var_level.get(v, 1), n_levels) - 1].append(label)
    return tuple(tuple(b) for b in by)
