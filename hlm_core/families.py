"""Outcome families for generalized models (lme4's `glmer`): how a yes/no or count column
becomes the numbers the engine fits, by R's rules, and the plain words when it can't.

Binomial (logit link): a two-level column; R's rule is that the first level in sorted order is
"failure" and the other "success" (so FALSE/TRUE, 0/1, fail/pass, no/yes all mean what a reader
expects), unless the user picks the success value. A threshold ("math >= 500") makes pass/fail
from a score without editing the file. Poisson (log link): non-negative whole numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hlm_core.errors import ModelError
from hlm_core.factors import factorize, is_factor

FAMILIES = ("gaussian", "binomial", "poisson")
LINKS = {"gaussian": "identity", "binomial": "logit", "poisson": "log"}
THRESHOLD_OPS = (">=", ">", "<=", "<")
LOGIT_RESIDUAL_VARIANCE = math.pi**2 / 3  # the standard logistic distribution's variance


@dataclass(frozen=True)
class Outcome:
    """The coded outcome and what it means: `y` as 0/1 (binomial) or counts (Poisson)."""

    y: np.ndarray
    success: str = ""  # binomial: the value counted as 1, as the user sees it
    failure: str = ""  # binomial: the value counted as 0 (or "otherwise" for a threshold)
    description: str = ""  # one sentence for results pages: what is modelled


def method_label(nagq: int) -> str:
    """lme4's name for the approximation: `Laplace` (nAGQ = 1) or `AGQ(K)`."""
    return "Laplace" if nagq <= 1 else f"AGQ({nagq})"


def threshold_text(outcome: str, threshold: tuple[str, float]) -> str:
    """The pass/fail rule as a reader writes it: `math >= 500`."""
    op, value = threshold
    return f"{outcome} {op} {value:g}"


def parse_threshold(text: str) -> tuple[str, float]:
    """A pass mark typed as `>=500`, `> 2.5` or `<= 10` → (">=", 500.0); plain error if not."""
    import re

    m = re.fullmatch(r"\s*(>=|<=|>|<)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*", text or "")
    if not m:
        raise ModelError(
            f"The pass mark '{text}' is not understood. Write a comparison and a number, "
            "such as '>=500' or '<3'."
        )
    return m.group(1), float(m.group(2))


def formula_text(formula: str, threshold: tuple[str, float] | None) -> str:
    """The lme4 formula with a pass mark written as R would: `I(math >= 500) ~ ...`."""
    if threshold is None or " ~ " not in formula:
        return formula
    lhs, rhs = formula.split(" ~ ", 1)
    return f"I({lhs} {threshold[0]} {threshold[1]:g}) ~ {rhs}"


def code_outcome(values: pd.Series, outcome: str, family: str, success: str | None = None,
                 threshold: tuple[str, float] | None = None) -> Outcome:
    """The outcome column coded for `family`, or a ModelError saying what to change."""
    if family == "binomial":
        if threshold is not None:
            return _threshold_outcome(values, outcome, threshold)
        return _binary_outcome(values, outcome, success)
    if family == "poisson":
        return _count_outcome(values, outcome)
    raise ModelError(f"Unknown outcome type '{family}': choose binomial or poisson.")


def _threshold_outcome(values: pd.Series, outcome: str, threshold: tuple[str, float]) -> Outcome:
    op, cut = threshold
    if op not in THRESHOLD_OPS:
        raise ModelError(f"The pass mark must use one of {', '.join(THRESHOLD_OPS)}.")
    if is_factor(values) or not pd.api.types.is_numeric_dtype(values.dtype):
        raise ModelError(
            f"A pass mark needs a numeric score, but '{outcome}' holds text. Choose a score "
            "column for the pass mark, or use this column as it is (yes/no)."
        )
    x = values.to_numpy(dtype=float)
    y = {">=": x >= cut, ">": x > cut, "<=": x <= cut, "<": x < cut}[op].astype(float)
    rule = threshold_text(outcome, threshold)
    if y.min() == y.max():
        word = "every" if y[0] == 1 else "no"
        raise ModelError(
            f"With the pass mark '{rule}', {word} pupil passes, so there is nothing to "
            "compare. Choose a pass mark between the lowest and highest score."
        )
    return Outcome(y, success=rule, failure="otherwise",
                   description=f"the chance that {rule} (1 = yes, 0 = no)")


def _binary_outcome(values: pd.Series, outcome: str, success: str | None) -> Outcome:
    codes, levels = factorize(values)  # labels of the distinct values only: fast on 1e6 rows
    numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
        values.dtype
    )
    if numeric:
        x = values.to_numpy(dtype=float)
        if not np.all(x == np.round(x)):
            raise ModelError(
                f"'{outcome}' has decimal values (a score), so it cannot be a yes/no outcome. "
                "Set a pass mark (for example 'at least 50') to turn it into pass/fail, or "
                "choose the 'score' outcome type."
            )
    if len(levels) < 2:
        raise ModelError(
            f"'{outcome}' has only one value ({levels[0] if levels else 'none'}) in the rows "
            "used, so there is nothing to compare. Choose another outcome."
        )
    if len(levels) > 2:
        shown = ", ".join(levels[:4]) + (", ..." if len(levels) > 4 else "")
        raise ModelError(
            f"'{outcome}' has {len(levels)} different values ({shown}); a yes/no outcome needs "
            "exactly two. Set a pass mark to make two groups, or choose another outcome type."
        )
    if numeric and set(levels) != {"0", "1"} and success is None:
        raise ModelError(
            f"'{outcome}' holds {levels[0]} and {levels[1]}; a yes/no outcome in numbers must be "
            f"0 and 1. Say which value counts as success."
        )
    if success is None:
        failure, succ = levels
    elif success in levels:
        succ = success
        failure = levels[0] if levels[1] == success else levels[1]
    else:
        raise ModelError(
            f"'{success}' is not a value of '{outcome}' (its values are {levels[0]} and "
            f"{levels[1]}). Choose one of these as success."
        )
    y = (codes == levels.index(succ)).astype(float)
    return Outcome(y, success=succ, failure=failure,
                   description=f"the chance that {outcome} is {succ} (rather than {failure})")


def _count_outcome(values: pd.Series, outcome: str) -> Outcome:
    if is_factor(values) or not pd.api.types.is_numeric_dtype(values.dtype):
        raise ModelError(
            f"'{outcome}' holds text, not counts. A count outcome needs whole numbers "
            "(0, 1, 2, ...), such as days absent."
        )
    x = values.to_numpy(dtype=float)
    if (x < 0).any():
        raise ModelError(
            f"'{outcome}' has negative values (lowest {x.min():g}); counts cannot be negative. "
            "Choose the 'score' outcome type, or fix the data."
        )
    if not np.all(x == np.round(x)):
        raise ModelError(
            f"'{outcome}' has values that are not whole numbers (such as "
            f"{x[x != np.round(x)][0]:g}); counts are whole numbers. Choose the 'score' "
            "outcome type instead."
        )
    if x.min() == x.max():
        raise ModelError(
            f"'{outcome}' is {x[0]:g} in every row, so there is nothing to explain. "
            "Choose another outcome."
        )
    return Outcome(x, description=f"the expected number of {outcome} (a rate, on the log scale)")


def suggest_family(values: pd.Series) -> str:
    """The outcome type a column looks like: two values → binomial, whole numbers ≥ 0 with
    few distinct values → poisson, anything else → gaussian (the user can override)."""
    v = values.dropna()
    if v.empty:
        return "gaussian"
    if v.nunique() == 2:
        return "binomial"
    if is_factor(v) or not pd.api.types.is_numeric_dtype(v.dtype):
        return "gaussian"
    x = v.to_numpy(dtype=float)
    if (x >= 0).all() and np.all(x == np.round(x)) and v.nunique() <= 50 and x.max() <= 100:
        return "poisson"
    return "gaussian"
