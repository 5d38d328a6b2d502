"""How each predictor enters a model: a factor with its levels, or numbers, centred at the
overall mean or within groups (adding the group mean as a contextual predictor). A step of
`design.model_frame`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hlm_core.coding import VariableInfo
from hlm_core.design_limits import check_levels, check_magnitude
from hlm_core.errors import ModelError
from hlm_core.factors import factorize, is_factor
from hlm_core.frame_checks import _date_words, _is_date
from hlm_core.spec import ModelSpec, RandomEffect, Term

_BlockSpec = tuple[RandomEffect, tuple[str, ...], str]
_GroupCodes = dict[str, tuple[np.ndarray, list[str], tuple[str, ...]]]


def group_mean_name(variable: str) -> str:
    """The name of the group-mean predictor that group-mean centring adds (`ses` -> `ses.mean`)."""
    return f"{variable}.mean"


def code_predictors(
    data: pd.DataFrame,
    frame: pd.DataFrame,
    spec: ModelSpec,
    group_codes: _GroupCodes,
    blocks_spec: list[_BlockSpec],
    notes: list[str],
) -> tuple[dict[str, VariableInfo], list[Term]]:
    """How each predictor enters: a factor with its levels, or numbers (centred as asked; the
    numbers in `data` are replaced by the centred ones). Returns the variables and the fixed
    terms, with a group-mean term added after each group-centred predictor."""
    # ---- predictors: kinds, levels, centering
    variables: dict[str, VariableInfo] = {}
    used = spec.variables()
    predictors = [v for v in used if v != spec.outcome and v not in spec.offset]
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
            check_levels(v, int(s.nunique()), frame[v])  # before any dummy column exists
            variables[v] = factor_variable(v, s, centering.get(v, "none"), notes)
            continue
        how = centering.get(v, "none")
        info, x = numeric_variable(v, s, how, notes)
        if how == "group":
            x = centre_within_groups(
                v, x, data, frame, group_codes[first_group][0], first_group, variables,
                fixed_spec, notes,
            )
        info.center = how
        info.mean = float(x.mean())
        info.minimum, info.maximum = float(x.min()), float(x.max())
        data[v] = x
        variables[v] = info
    return variables, fixed_spec


def factor_variable(v: str, s: pd.Series, how: str, notes: list[str]) -> VariableInfo:
    """A category predictor: its levels (at least two in the rows used); never centred."""
    _codes, levels = factorize(s)
    if len(levels) < 2:
        raise ModelError(
            f"'{v}' has only one category ('{levels[0]}') in the rows used, so it can't "
            "explain differences. Remove it from the predictors."
        )
    if how != "none":
        notes.append(f"'{v}' is a category, so it was not centred.")
    return VariableInfo(v, "factor", levels=levels)


def numeric_variable(
    v: str, s: pd.Series, how: str, notes: list[str]
) -> tuple[VariableInfo, np.ndarray]:
    """A numeric predictor's values, centred at the overall mean when `how` is "grand"
    (group centring is `centre_within_groups`)."""
    if _is_date(s):
        words = _date_words(s)
        example = "age in months, or the year" if words == "dates" else "minutes since midnight"
        raise ModelError(
            f"'{v}' holds {words}, which can't be used as a number directly. Make a numeric "
            f"column from it (for example {example}) and use that, or remove it from the "
            "predictors."
        )
    x = s.to_numpy(dtype=float)
    if not np.all(np.isfinite(x)):
        raise ModelError(f"'{v}' has infinite values; remove them first.")
    check_magnitude(f"'{v}'", x)
    info = VariableInfo(v, "numeric", raw_mean=float(x.mean()))
    if how == "grand":
        x = x - x.mean()
        notes.append(f"'{v}' is centred at its overall mean ({info.raw_mean:.4g}).")
    return info, x


def centre_within_groups(
    v: str,
    x: np.ndarray,
    data: pd.DataFrame,
    frame: pd.DataFrame,
    codes: np.ndarray,
    first_group: str,
    variables: dict[str, VariableInfo],
    fixed_spec: list[Term],
    notes: list[str],
) -> np.ndarray:
    """Within-group centring, plus the group mean as a level-2 predictor so the between-group
    (contextual) effect is not lost (Enders & Tofighi 2007). Adds the group-mean column to
    `data`, its VariableInfo to `variables` and its term after `v`'s in `fixed_spec`."""
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
    return x
