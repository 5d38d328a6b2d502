"""The formula writer: a ModelSpec back to canonical lme4 text that reads back as the same model
with the same term names. Part of `hlm_core.formula`.
"""

from __future__ import annotations

from collections.abc import Iterable

from hlm_core.errors import FormulaError
from hlm_core.formula_builder import _VarOrder
from hlm_core.formula_tokens import _is_dots, _short
from hlm_core.spec import ModelSpec, RandomEffect, Term, is_syntactic
from hlm_core.transforms import is_derived


def quote_formula_name(name: str) -> str:
    """A column name as it must be written in formula text: in backticks unless R accepts it
    bare. Raises FormulaError for names no formula can hold (empty, or containing a backtick),
    so the user learns to rename the column instead of getting a formula that reads wrongly."""
    if is_derived(name):
        return name.call_text  # type: ignore[attr-defined]  # poly(x, 2) for each piece
    if not isinstance(name, str) or name == "":
        raise FormulaError(
            "A column with an empty name cannot be used in a formula. Give the "
            "column a name in your data."
        )
    if "`" in name:
        raise FormulaError(
            f"The column name '{_short(name)}' contains a backtick (`), which "
            "cannot be written in a formula. Rename the column."
        )
    if name == "." or _is_dots(name) or not is_syntactic(name):
        return f"`{name}`"
    return name


def fixed_term_label(term: Term, backticks: bool = False) -> str:
    """The term's label, variables joined with ':' (`meanses:cses`), as lme4 names the term.

    Plain names by default. R itself writes non-syntactic names in backticks in its term labels
    (`` `my var`:x ``); pass `backticks=True` for that form, which is also valid formula text.
    """
    if backticks:
        return ":".join(quote_formula_name(v) for v in term.variables)
    return ":".join(term.variables)


def format_formula(spec: ModelSpec) -> str:
    """Write a spec as canonical lme4 text, e.g. `y ~ x + z + x:z + (x | g)`.

    This is the text the app shows and exports, and what R users paste into `lmer()`, so it
    must read back as the same model with the same term names:
    `parse_formula(format_formula(spec)) == spec` for specs that parse_formula produces
    (centering and REML are not part of formula text), and `format_formula(parse_formula(t))`
    is stable. '*' is written expanded; products of sums such as `(a + b):c` are kept where
    R's labels need them. Known limit: rarer nestings, such as a product of three sums
    `(a + b):(c + d):(e + f)`, are written term by term in R's normal form (stable text, but
    some interaction labels change order, e.g. `a:e:d`).
    """
    parts: list[str] = []
    terms = _terms_text(spec.fixed)
    if not spec.intercept:
        parts.append("0")
    elif not terms:
        parts.append("1")
    parts.extend(terms)
    parts.extend(spec.offset)
    parts.extend(_random_text(r) for r in spec.random)
    return f"{quote_formula_name(spec.outcome)} ~ {' + '.join(parts)}"


# A piece of written formula: one term, or a product of two sums `(a + b):(c + d)` that stands
# for the terms a:c, a:d, b:c, b:d in that order.
_Piece = Term | tuple[tuple[Term, ...], tuple[Term, ...]]
_MAX_CHUNK = 32


def _terms_text(terms: tuple[Term, ...]) -> list[str]:
    """Terms as formula pieces that read back as the same terms, in the same order."""
    plan = _plan(terms)
    if plan is None:
        # No text gives exactly these terms (a hand-built spec such as `a:b` with `b:a`): write
        # R's normal form of them, which reads back as itself, so the text is stable.
        plan = _plan(_normal_form(terms)) or list(_normal_form(terms))
    return list(dict.fromkeys(_piece_text(p) for p in plan))  # poly's pieces: one call


def _normal_form(terms: tuple[Term, ...]) -> tuple[Term, ...]:
    """What R makes of the terms written one after another: its labels, order and no repeats."""
    order = _VarOrder()
    for t in terms:
        for v in t.variables:
            order.add(v)
    return order.terms(frozenset(t.variables) for t in terms)


def _plan(terms: tuple[Term, ...]) -> list[_Piece] | None:
    """An order in which to write the terms so that they read back unchanged, or None.

    R labels an interaction by the order in which its variables first appear in the text, so
    the terms of `y ~ f:x + x` are `x` and `f:x`; written as `y ~ x + f:x` they would read back
    as `x:f`. R sorts terms only by their order (stably), so a term may be written ahead of
    lower-order terms without changing the result. We keep the usual layout (main effects,
    then two-way, ...) and move a term forward only when one of its variables must appear
    earlier. Writing a term only adds seen variables, which never blocks another term, so this
    greedy choice finds a plain order whenever one exists. Terms such as those of
    `(a + b):c` (a:c before b:c, yet b before c) have no plain order; for them we write
    products of sums.
    """
    before: dict[str, set[str]] = {}
    for t in terms:
        if not t.variables:
            return None
        for k, v in enumerate(t.variables):
            before.setdefault(v, set()).update(set(t.variables[:k]) - {v})
    groups: dict[int, list[Term]] = {}
    for t in terms:
        groups.setdefault(t.order, []).append(t)
    next_in = dict.fromkeys(groups, 0)
    seen: set[str] = set()
    out: list[_Piece] = []

    def ready(written: Iterable[str]) -> bool:
        s = set(seen)
        for v in written:
            if v not in s:
                if not before[v] <= s:
                    return False
                s.add(v)
        return True

    while sum(next_in.values()) < len(terms):
        for order in sorted(groups):
            k = next_in[order]
            if k < len(groups[order]) and ready(groups[order][k].variables):
                out.append(groups[order][k])
                seen.update(groups[order][k].variables)
                next_in[order] = k + 1
                break
        else:
            for order in sorted(groups):
                k = next_in[order]
                chunk = _product_chunk(groups[order][k:], ready)
                if chunk is not None:
                    rows, cols = chunk
                    out.append(chunk)
                    for t in rows + cols:
                        seen.update(t.variables)
                    next_in[order] = k + len(rows) * len(cols)
                    break
            else:
                return None
    return out


def _product_chunk(rest: list[Term], ready) -> tuple[tuple[Term, ...], tuple[Term, ...]] | None:
    """The shortest run of the next terms that can be written as `(X1 + ...):(Y1 + ...)`."""
    for m in range(2, min(len(rest), _MAX_CHUNK) + 1):
        run = rest[:m]
        sets = [frozenset(t.variables) for t in run]
        for p in range(1, m + 1):
            if m % p:
                continue
            q = m // p
            grid = [sets[i * q : (i + 1) * q] for i in range(p)]
            found = _factor_grid(grid, p, q)
            if found is None:
                continue
            rows, cols = found
            # Each factor keeps the variable order of a term it is part of.
            row_terms = tuple(
                Term(tuple(v for v in run[i * q].variables if v in rows[i])) for i in range(p)
            )
            col_terms = tuple(
                Term(tuple(v for v in run[j].variables if v in cols[j])) for j in range(q)
            )
            written = [v for t in row_terms + col_terms for v in t.variables]
            if ready(written):
                return row_terms, col_terms
    return None


def _factor_grid(
    grid: list[list[frozenset[str]]], p: int, q: int
) -> tuple[list[frozenset[str]], list[frozenset[str]]] | None:
    """Row sets X and column sets Y with grid[i][j] == X[i] | Y[j] (disjoint), if any."""
    for rows_first in (True, False):
        if rows_first:
            rows = [frozenset.intersection(*grid[i]) for i in range(p)]
            cols = [
                frozenset.intersection(*(grid[i][j] - rows[i] for i in range(p))) for j in range(q)
            ]
        else:
            cols = [frozenset.intersection(*(grid[i][j] for i in range(p))) for j in range(q)]
            rows = [
                frozenset.intersection(*(grid[i][j] - cols[j] for j in range(q))) for i in range(p)
            ]
        if not all(rows) or not all(cols) or len(set(rows)) < p or len(set(cols)) < q:
            continue
        if all(
            grid[i][j] == rows[i] | cols[j] and not rows[i] & cols[j]
            for i in range(p)
            for j in range(q)
        ):
            return rows, cols
    return None


def _piece_text(piece: _Piece) -> str:
    if isinstance(piece, Term):
        return _term_text(piece)
    rows, cols = piece

    def side(ts: tuple[Term, ...]) -> str:
        text = " + ".join(_term_text(t) for t in ts)
        return f"({text})" if len(ts) > 1 else text

    return f"{side(rows)}:{side(cols)}"


def _term_text(term: Term) -> str:
    if not term.variables:
        raise FormulaError("A model term has no columns. Remove the empty term.")
    return fixed_term_label(term, backticks=True)


def _random_text(r: RandomEffect) -> str:
    slopes = _terms_text(r.slopes)
    if slopes:
        lhs = " + ".join(slopes) if r.intercept else "0 + " + " + ".join(slopes)
    elif r.intercept:
        lhs = "1"
    else:
        raise FormulaError(
            "A random part has neither an intercept nor a slope. Add a random "
            "intercept or a random slope."
        )
    if not r.grouping or (r.kind == "single" and len(r.grouping) != 1):
        raise FormulaError("A random part needs exactly one grouping column, like (1 | school).")
    joiner = "/" if r.kind == "nested" else ":"
    grouping = joiner.join(quote_formula_name(g) for g in r.grouping)
    return f"({lhs} {'|' if r.correlated else '||'} {grouping})"
