"""The Model page's outcome-type choices (score / yes-no / count) ⇄ ModelSpec fields, as pure
functions (no streamlit), kept beside `builder.py` so the linear builder stays as it was.

Choices: `family` ("gaussian" | "binomial" | "poisson"), `success` (the value counted as
success, or None for R's rule), `threshold` ((op, number) making pass/fail from a score, or
None) and `nagq` (1 = Laplace).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from hlm_core.factors import level_labels, sorted_levels
from hlm_core.families import FAMILIES, LINKS, THRESHOLD_OPS, method_label, suggest_family
from hlm_core.families import threshold_text as _threshold_text
from hlm_core.glmm import MAX_NAGQ
from hlm_core.spec import ModelSpec

GLMM_DEFAULTS: dict[str, Any] = {"family": "gaussian", "success": None, "threshold": None,
                                 "nagq": 1}
FAMILY_LABELS = {"gaussian": "Score (a number)", "binomial": "Yes/no (pass/fail)",
                 "poisson": "Count (0, 1, 2, ...)"}


def outcome_values(frame: pd.DataFrame, outcome: str | None) -> list[str]:
    """The outcome's values in R's level order (for the success picker), when it has two."""
    if not outcome or outcome not in frame.columns:
        return []
    values = frame[outcome].dropna()
    # a score column has thousands of values: three labels among its first distinct values
    # settle it, found among its first rows (the first distinct values of those rows are the
    # column's first distinct values) without a pass over a million rows on every Model run
    if level_labels(values.head(1000).drop_duplicates().head(50)).nunique() > 2:
        return []
    col = values.drop_duplicates()  # a label depends on the value only
    labels = level_labels(col)
    return sorted_levels(col, labels) if labels.nunique() == 2 else []


def detected_family(frame: pd.DataFrame, outcome: str | None) -> str:
    """The outcome type the column looks like (the page shows it and lets the user override)."""
    if not outcome or outcome not in frame.columns:
        return "gaussian"
    return suggest_family(frame[outcome])


def glmm_options(c: dict[str, Any], frame: pd.DataFrame) -> dict[str, list]:
    return {
        "family": list(FAMILIES),
        "success": outcome_values(frame, c.get("outcome")),
        "threshold_op": list(THRESHOLD_OPS),
    }


def sanitize_glmm(c: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    """Outcome-type choices that still fit the data (unknown values back to the defaults)."""
    c = {**GLMM_DEFAULTS, **c}
    if c["family"] not in FAMILIES:
        c["family"] = "gaussian"
    if c["family"] != "binomial":
        c["success"], c["threshold"] = None, None
    if c["success"] is not None and c["success"] not in outcome_values(frame, c["outcome"]):
        c["success"] = None
    th = c["threshold"]
    if th is not None and not (len(th) == 2 and th[0] in THRESHOLD_OPS):
        c["threshold"] = None
    if c["threshold"] is not None:
        c["threshold"] = (c["threshold"][0], float(c["threshold"][1]))
        c["success"] = None
    try:
        c["nagq"] = min(max(int(c["nagq"]), 1), MAX_NAGQ)
    except (TypeError, ValueError):
        c["nagq"] = 1
    if c["family"] == "gaussian":
        c["nagq"] = 1
    return c


def glmm_fields(c: dict[str, Any]) -> dict[str, Any]:
    """The ModelSpec fields for the outcome type (generalized models are fitted by ML)."""
    family = c.get("family") or "gaussian"
    if family == "gaussian":
        return {"family": "gaussian"}
    th = c.get("threshold")
    return {"family": family, "nagq": int(c.get("nagq") or 1), "reml": False,
            "success": c.get("success") if family == "binomial" and th is None else None,
            "threshold": tuple(th) if family == "binomial" and th is not None else None}


def family_after_outcome(frame: pd.DataFrame, c: dict[str, Any]) -> str:
    """The outcome type after the outcome changed: yes/no when the column has two values;
    back to a score when a yes/no choice no longer fits (counts are only suggested)."""
    detected = detected_family(frame, c.get("outcome"))
    if detected == "binomial":
        return "binomial"
    if c.get("family") == "binomial" and c.get("threshold") is None:
        return "gaussian"
    return c.get("family") or "gaussian"


def spec_caption(spec: ModelSpec) -> str:
    """The Model page's caption under the formula for a yes/no or count model."""
    kind = {"binomial": "Yes/no outcome", "poisson": "Count outcome"}[spec.family]
    text = (f"{kind}: {spec.family} model with a {LINKS[spec.family]} link, estimated by ML "
            f"({method_label(spec.nagq)}).")
    if spec.threshold is not None:
        rule = _threshold_text(spec.outcome, spec.threshold)
        text += f" Pass/fail made from the score: success = {rule}."
    elif spec.success is not None:
        text += f" Success = {spec.outcome} is {spec.success}."
    return text
