"""A short plain-language paragraph saying what a fitted model found (no streamlit here).

Written for teachers and school analysts: percentages and ranges rather than variance
components, each number next to the statistic it comes from so an analyst can trace it.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from hlm_core.ci_output import icc_ci_text
from hlm_core.result import FitResult

INTERCEPT = "(Intercept)"
Z95 = 1.959963984540054


def num(x: float) -> str:
    """A number rounded for reading: 3 significant figures or so, thousands separated."""
    if x is None or not math.isfinite(x):
        return "–"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 0.1 or a == 0:
        return f"{x:.2f}"
    places = min(12, 1 - math.floor(math.log10(a)))  # two significant digits, never 1e-05
    return f"{x:.{places}f}".rstrip("0")


def pct(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{100 * x:.0f}%" if x >= 0.01 or x == 0 else f"{100 * x:.1f}%"


def _base_group(vc_group: str, groups: list[str]) -> str:
    """varcorr names split `||` blocks as 'g.1', 'g.2'; map them back to 'g'."""
    if vc_group in groups:
        return vc_group
    m = re.fullmatch(r"(.*)\.\d+", vc_group)
    if m and m.group(1) in groups:
        return m.group(1)
    return vc_group


FEW_GROUPS = 10  # below this, a random slope's SD and correlation are very uncertain


def _factor_level(result: FitResult, term: str) -> tuple[str, str] | None:
    """('sex', 'M') when `term` is a factor level's name such as 'sexM'."""
    mf = result.model_frame
    for name, info in (mf.variables if mf is not None else {}).items():
        if info.kind != "factor":
            continue
        for q in (name, f"`{name}`"):
            if term.startswith(q) and term[len(q) :] in info.levels:
                return name, term[len(q) :]
    return None


def reference_level(result: FitResult, term: str) -> tuple[str, str, str] | None:
    """('sex', 'M', 'F') when `term` compares a factor level with the reference level (lme4's
    first level, sorted): the variable, the level and the reference. None for other terms and
    for a factor coded without a reference (`0 + sex`: each level's own mean)."""
    lv = _factor_level(result, term)
    mf = result.model_frame
    if lv is None or mf is None:
        return None
    ref = mf.variables[lv[0]].levels[0]
    if term.replace(lv[1], ref) in mf.fixed_names or ref == lv[1]:
        return None
    return lv[0], lv[1], ref


def _is_binary(result: FitResult, term: str) -> bool:
    """A numeric 0/1 predictor (e.g. poverty yes/no), read from the design actually used."""
    mf = result.model_frame
    if mf is None or term not in mf.fixed_names:
        return False
    col = mf.X[:, mf.fixed_names.index(term)]
    return bool(((col == 0) | (col == 1)).all() and (col == 0).any() and (col == 1).any())


def _part(result: FitResult, part: str) -> str:
    lv = _factor_level(result, part)
    return f"{lv[0]} '{lv[1]}'" if lv else part


def _fixed_sentence(result: FitResult, row: pd.Series, outcome: str) -> str:
    term = row["term"]
    est, lo, hi, p = row["estimate"], row["ci_low"], row["ci_high"], row["p_value"]
    direction = "higher" if est > 0 else "lower"
    ci = f"95% CI {num(lo)} to {num(hi)}"
    unclear = f"(estimate {num(est)}, p = {p:.2f})"
    clear = p < 0.05
    level = _factor_level(result, term)
    if ":" in term and level is None:
        parts = [_part(result, x) for x in term.split(":")]
        if clear:
            return (
                f"The effect of {parts[0]} depends on {' and '.join(parts[1:])} "
                f"(interaction {num(est)}, {ci})."
            )
        return (
            f"There is no clear evidence that the effect of {parts[0]} depends on "
            f"{' and '.join(parts[1:])} (interaction {num(est)}, p = {p:.2f})."
        )
    if level is not None:
        var, lv = level
        ref = reference_level(result, term)
        if ref is None:  # `0 + sex`: the estimate is this level's own mean
            return f"With {var} '{lv}', {outcome} is {num(est)} on average ({ci})."
        than = f"with {var} '{ref[2]}' (the reference group)"
        if clear:
            return (
                f"With {var} '{lv}', {outcome} is {num(abs(est))} {direction} than {than} "
                f"({ci})."
            )
        return f"{var} '{lv}' does not clearly differ from {than} {unclear}."
    if _is_binary(result, term):
        if clear:
            return (
                f"Where {term} is 1, {outcome} is {num(abs(est))} {direction} than where it is "
                f"0 ({ci})."
            )
        return f"There is no clear evidence that {term} (0 or 1) matters for {outcome} {unclear}."
    if clear:
        return (
            f"Each extra unit of {term} goes with a {num(abs(est))} {direction} {outcome} "
            f"on average ({ci})."
        )
    return f"There is no clear evidence that {term} matters for {outcome} {unclear}."


def _slope_sentence(result: FitResult, term: str, g: str, sd: float, centre: float) -> str:
    """How much an effect varies between groups: the range the model expects for 95% of them
    and, when that range spans 0, what that implies (and how many groups' own estimates have
    the other sign) rather than claiming it goes the other way somewhere; few groups said."""
    lo, hi = centre - Z95 * sd, centre + Z95 * sd
    text = (f"The effect of {term} varies between {result.group_words(g)} (SD {num(sd)}): for most "
            f"{result.group_words(g)} (95%) the model expects it between {num(lo)} and {num(hi)}")
    coef = result.coef.get(g)
    own = (coef.loc[coef["term"] == term, "value"].to_numpy(dtype=float)
           if coef is not None else np.array([]))
    if lo < 0 < hi:
        side = "below" if centre >= 0 else "above"
        k = int((own < 0).sum() if centre >= 0 else (own > 0).sum())
        text += (f"; that range includes 0, so the effect may be absent or reversed in some "
                 f"{result.group_words(g)}")
        if own.size:
            text += (f" ({k:,} of the {own.size:,} {result.group_words(g)}' own estimates are "
                     f"{side} 0)")
    text += "."
    if 0 < own.size < FEW_GROUPS:
        text += (f" With only {own.size} {result.group_words(g)}, this spread (and its "
                 "correlation with the intercept) is a very uncertain estimate.")
    return text


def describe_results(result: FitResult, max_terms: int = 6) -> str:
    """What the model found, in a few plain sentences."""
    if result.is_glmm:
        from hlm_core.report_glmm import describe_glmm_results

        return describe_glmm_results(result, max_terms)
    spec = result.spec
    outcome = spec.outcome
    groups = list(result.ngroups)
    sentences: list[str] = []

    where = " and ".join(f"{n:,} {result.group_words(g)}" for g, n in result.ngroups.items())
    dropped = (
        f" ({result.rows_dropped:,} rows with missing values were left out)"
        if result.rows_dropped
        else ""
    )
    sentences.append(f"The model uses {result.nobs:,} rows in {where}{dropped}.")

    # how much lies between groups
    if result.icc is not None and math.isfinite(result.icc):
        between = " and ".join(result.group_words(g) for g in groups)
        how = "differ between" if result.icc >= 0.05 else "differ little between"
        icc_name = "adjusted ICC" if result.icc_adjusted else "ICC"
        after = " once the predictors are taken into account," if result.icc_adjusted else ""
        sentences.append(
            f"Values of {outcome} {how} {between}:{after} {pct(result.icc)} of the "
            f"{'remaining ' if after else ''}variation lies between {between} "
            f"({icc_name} {result.icc:.2f}{icc_ci_text(result, apa=False)})."
        )

    fixed = result.fixed.set_index("term")
    vc = result.varcorr
    variances = vc[(vc["group"] != "Residual") & (vc["term2"].fillna("") == "")]
    null_model = len(fixed) == 1 and INTERCEPT in fixed.index

    # a null model: the range of group averages
    if null_model:
        mean = float(fixed.loc[INTERCEPT, "estimate"])
        for _, r in variances[variances["term1"] == INTERCEPT].iterrows():
            g = _base_group(r["group"], groups)
            sd = float(r["sdcor"])
            sentences.append(
                f"The average {outcome} is {num(mean)}; for most {result.group_words(g)} "
                f"(95%) their own average lies between {num(mean - Z95 * sd)} and "
                f"{num(mean + Z95 * sd)}."
            )

    # fixed effects
    rows = [r for _, r in result.fixed.iterrows() if r["term"] != INTERCEPT]
    terms = [r["term"] for r in rows]
    for row in rows[:max_terms]:
        sentences.append(_fixed_sentence(result, row, outcome))
    if len(terms) > max_terms:
        sentences.append(f"({len(terms) - max_terms} more terms are in the table below.)")

    # random slopes: how much an effect varies between groups
    for _, r in variances[variances["term1"] != INTERCEPT].iterrows():
        term = r["term1"]
        g = _base_group(r["group"], groups)
        sd = float(r["sdcor"])
        centre = float(fixed.loc[term, "estimate"]) if term in fixed.index else 0.0
        sentences.append(_slope_sentence(result, term, g, sd, centre))

    # variance explained
    if math.isfinite(result.r2_marginal) and not null_model:
        between = " and ".join(result.group_words(g) for g in groups)
        sentences.append(
            f"The predictors explain {pct(result.r2_marginal)} of the variation in {outcome} "
            f"(marginal R²); with the differences between {between} added, the model explains "
            f"{pct(result.r2_conditional)} (conditional R²)."
        )

    if result.warnings or result.singular or not result.converged:
        sentences.append("Read these results with care: see the warnings below.")
    return " ".join(sentences)
