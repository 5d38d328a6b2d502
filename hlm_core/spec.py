"""The model specification: the one object both the formula text and the builder widgets become.

A spec holds column *names* only, never code. The formula parser (`formula.py`) turns lme4 text
into a spec and back; the design step (`design.py`) turns a spec plus a data frame into arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Centering = Literal["none", "grand", "group"]
Family = Literal["gaussian", "binomial", "poisson"]


class Computed(str):
    """A name that stands for a column computed from a formula call, such as `log(x)`
    (hlm_core.transforms.Derived): written as is, never in backticks."""


@dataclass(frozen=True)
class Term:
    """A fixed or random-slope term: one variable, or an interaction of several (`a:b`)."""

    variables: tuple[str, ...]

    @property
    def order(self) -> int:
        return len(self.variables)


@dataclass(frozen=True)
class RandomEffect:
    """One `( ... | grouping)` bar as the user wrote it.

    `grouping` lists column names outer→inner as written. `kind` says how they combine:
    "single" (`g`), "nested" (`school/class`: lme4 expands it to `class:school` and `school`),
    or "interaction" (`school:class`: one factor of the combinations).
    """

    grouping: tuple[str, ...]
    kind: Literal["single", "nested", "interaction"] = "single"
    intercept: bool = True
    slopes: tuple[Term, ...] = ()
    correlated: bool = True

    def group_factors(self) -> list[tuple[str, ...]]:
        """The grouping factors lme4 builds, as column tuples inner-most first (lme4 order)."""
        if self.kind == "single":
            return [self.grouping]
        if self.kind == "interaction":
            return [self.grouping]
        # nested a/b/c -> c:(b:a), b:a, a  (each prefix, innermost first)
        out = []
        for k in range(len(self.grouping), 0, -1):
            out.append(tuple(reversed(self.grouping[:k])))
        return out


def group_name(cols: tuple[str, ...], nested: bool = False) -> str:
    """lme4's name for a grouping factor built from `cols` (inner first).

    `(1 | a/b/c)` gives `c:(b:a)`, `b:a`, `a`; `(1 | a:b)` gives `a:b`.
    """
    if len(cols) == 1:
        return cols[0]
    if not nested:
        return ":".join(cols)
    if len(cols) == 2:
        return f"{cols[0]}:{cols[1]}"
    return f"{cols[0]}:({group_name(cols[1:], nested=True)})"


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to fit one linear mixed model.

    `centering` maps a predictor to "grand" or "group" (group = centred within the first
    grouping factor of the first random effect, with the group mean added as a predictor).
    """

    outcome: str
    fixed: tuple[Term, ...] = ()
    intercept: bool = True
    random: tuple[RandomEffect, ...] = ()
    reml: bool = True
    centering: tuple[tuple[str, Centering], ...] = field(default=())
    offset: tuple[str, ...] = ()  # offset(x) terms (computed labels), added with coefficient 1
    # generalized models (lme4's glmer): see hlm_core/families.py for how the outcome is coded
    family: Family = "gaussian"
    nagq: int = 1  # 1 = Laplace; K > 1 = adaptive Gauss-Hermite (one scalar random effect only)
    success: str | None = None  # binomial: the outcome value that counts as success
    threshold: tuple[str, float] | None = None  # binomial from a score: (">=", 500.0)

    def with_(self, **changes) -> ModelSpec:
        return replace(self, **changes)

    @property
    def centering_map(self) -> dict[str, Centering]:
        return dict(self.centering)

    def variables(self) -> list[str]:
        """Every column the model reads, in first-appearance order (outcome first)."""
        seen: dict[str, None] = {self.outcome: None}
        for t in self.fixed:
            for v in t.variables:
                seen.setdefault(v, None)
        for r in self.random:
            for t in r.slopes:
                for v in t.variables:
                    seen.setdefault(v, None)
            for g in r.grouping:
                seen.setdefault(g, None)
        for o in self.offset:
            seen.setdefault(o, None)
        return list(seen)


R_RESERVED = frozenset(
    "if else repeat while function for next break TRUE FALSE NULL Inf NaN NA NA_integer_ "
    "NA_real_ NA_character_ NA_complex_ in".split()
)


def is_syntactic(name: str) -> bool:
    """True when R would accept `name` unquoted (so lme4 prints it without backticks)."""
    import re

    if name in R_RESERVED or not name:
        return False
    # R in a UTF-8 locale accepts letters of any script, like Python's \w without leading digits
    if not re.fullmatch(r"[^\W\d_.]?[\w.]*", name) or name[0] == "_" or name[0].isdigit():
        return False
    return not re.match(r"\.[0-9]", name)


def quote_name(name: str) -> str:
    """A column name as R writes it in formulas and coefficient names (backticks if needed)."""
    return name if isinstance(name, Computed) or is_syntactic(name) else f"`{name}`"
