"""Words for yes/no and count models: the Results paragraph, the APA paragraph and table.

Readers of school reports think in chances and odds, not logits: every effect is said as an
odds ratio ("1.8 times the odds of passing") or a rate ratio ("0.8 times as many absences"),
and the intercept as the chance (or expected count) for a typical pupil in an average class.
Numbers are those of the FitResult, rounded by the same APA rules as linear fits.
"""

from __future__ import annotations

import math

import pandas as pd

from hlm_core.ci_output import icc_ci_text
from hlm_core.design import INTERCEPT
from hlm_core.formatting import _p_clause, fmt, fmt_p, fmt_unit
from hlm_core.report import _factor_level, _is_binary, _part, reference_level
from hlm_core.result import FitResult
from hlm_core.wording import plural

RATIO_LABEL = {"odds_ratio": "odds ratio", "rate_ratio": "rate ratio"}


def ratio_column(result: FitResult) -> str:
    return "odds_ratio" if result.family == "binomial" else "rate_ratio"


def what_is_modelled(result: FitResult) -> str:
    """'the odds that result is pass' / 'the expected number of absences'."""
    if result.family == "binomial":
        return f"the odds of {success_phrase(result)}"
    return f"the expected number of {result.spec.outcome}"


def success_phrase(result: FitResult) -> str:
    """'result = pass' or 'math >= 500'."""
    succ = result.extra.get("success", "")
    if result.spec.threshold is not None:
        return succ
    return f"{result.spec.outcome} = {succ}"


def typical_value(result: FitResult) -> float:
    """The intercept on the response scale: a typical pupil's chance, or expected count."""
    b0 = result.fixef().get(INTERCEPT, 0.0)
    return 1 / (1 + math.exp(-b0)) if result.family == "binomial" else math.exp(b0)


def _ratio_words(result: FitResult, ratio: float) -> str:
    """'1.81 times the odds of result = pass' / '0.85 times as many absences on average'."""
    if result.family == "binomial":
        return f"{ratio:.2f} times the odds of {success_phrase(result)}"
    return f"{ratio:.2f} times as many {result.spec.outcome} on average"


def _effect_sentence(result: FitResult, row: pd.Series) -> str:
    """One effect as a ratio, naming what is compared as the linear write-up does: a factor
    level against its reference group, a 0/1 predictor's 1 against 0, one extra unit of a
    number predictor (issue 10's rule: the reader never has to guess the reference)."""
    r = ratio_column(result)
    term, ratio, p = row["term"], row[r], row["p_value"]
    ci = f"95% CI {row[f'{r}_ci_low']:.2f} to {row[f'{r}_ci_high']:.2f}"
    unclear = f"({RATIO_LABEL[r]} {ratio:.2f}, {ci}, p = {p:.2f})"
    odds = what_is_modelled(result)
    level = _factor_level(result, term)
    if ":" in term and level is None:
        parts = [_part(result, x) for x in term.split(":")]
        if p < 0.05:
            return (f"The effect of {parts[0]} depends on {' and '.join(parts[1:])}: the "
                    f"{RATIO_LABEL[r]} changes by a factor of {ratio:.2f} ({ci}).")
        return (f"There is no clear evidence that the effect of {parts[0]} depends on "
                f"{' and '.join(parts[1:])} {unclear}.")
    if level is not None:
        var, lv = level
        ref = reference_level(result, term)
        if ref is None:  # `0 + sex`: the estimate is this level's own log odds / log rate
            verb = "are" if result.family == "binomial" else "is"
            to_one = " to 1" if result.family == "binomial" else ""
            return f"With {var} '{lv}', {odds} {verb} {ratio:.2f}{to_one} ({ci})."
        if p < 0.05:
            return (f"Pupils with {var} '{lv}', compared with {var} '{ref[2]}' (the reference "
                    f"group), had {_ratio_words(result, ratio)} ({ci}).")
        return (f"Pupils with {var} '{lv}' do not clearly differ from those with {var} "
                f"'{ref[2]}' (the reference group) {unclear}.")
    if _is_binary(result, term):
        if p < 0.05:
            return (f"Pupils where {term} is 1, compared with where it is 0, had "
                    f"{_ratio_words(result, ratio)} ({ci}).")
        return f"There is no clear evidence that {term} (0 or 1) matters for {odds} {unclear}."
    if p < 0.05:
        return f"Each extra unit of {term} multiplies {odds} by {ratio:.2f} ({ci})."
    return f"There is no clear evidence that {term} matters for {odds} {unclear}."


def _unit(result: FitResult) -> str:
    """One unit of the innermost grouping, 'class' (of a nesting `school/class` too)."""
    mf = result.model_frame
    inner = mf.blocks[0].columns[0] if mf is not None and mf.blocks[0].columns else \
        next(iter(result.ngroups))
    return plural(inner, 1)


def describe_glmm_results(result: FitResult, max_terms: int = 6) -> str:
    """What a yes/no or count model found, in a few plain sentences."""
    where = " and ".join(f"{n:,} {result.group_words(g)}" for g, n in result.ngroups.items())
    s = [f"The model uses {result.nobs:,} rows in {where} and describes "
         f"{what_is_modelled(result)}."]
    typical = (f"A typical pupil (predictors at zero or their reference) in an average "
               f"{_unit(result)} has")
    if result.family == "binomial":
        s.append(f"{typical} a {typical_value(result):.0%} chance of {success_phrase(result)}.")
    else:
        s.append(f"{typical} {typical_value(result):.2f} {result.spec.outcome} on average.")
    if result.icc is not None and math.isfinite(result.icc):
        between = " and ".join(result.group_words(g) for g in result.ngroups)
        s.append(f"On the latent scale, {result.icc:.0%} of the variation lies between "
                 f"{between} (latent-scale ICC {fmt_unit(result.icc)}{icc_ci_text(result)}).")
    rows = [r for _, r in result.fixed.iterrows() if r["term"] != INTERCEPT]
    s += [_effect_sentence(result, r) for r in rows[:max_terms]]
    if len(rows) > max_terms:
        s.append(f"({len(rows) - max_terms} more terms are in the table below.)")
    if rows:
        s.append(f"The predictors explain {result.r2_marginal:.0%} of the latent variation "
                 f"(marginal R²), {result.r2_conditional:.0%} with the group differences "
                 "(conditional R²).")
    if result.warnings or result.singular or not result.converged:
        s.append("Read these results with care: see the warnings below.")
    return " ".join(s)


def apa_glmm_paragraph(result: FitResult) -> str:
    """An APA-style paragraph for a multilevel logistic or Poisson regression."""
    kind = ("multilevel logistic regression (binomial, logit link)" if result.family ==
            "binomial" else "multilevel Poisson regression (log link)")
    where = " and ".join(f"{n:,} {result.group_words(g)}" for g, n in result.ngroups.items())
    approx = "Laplace approximation" if result.method == "Laplace" else \
        f"adaptive Gauss–Hermite quadrature with {result.spec.nagq} points"
    s = [f"We fitted a {kind} of {what_is_modelled(result)} to N = {result.nobs:,} pupils in "
         f"{where} by maximum likelihood ({approx}; lme4's glmer). Fixed effects were tested "
         "with Wald z tests."]
    if result.icc is not None:
        s.append(f"The latent-scale ICC was {fmt_unit(result.icc)}{icc_ci_text(result)}.")
    r = ratio_column(result)
    name = "OR" if result.family == "binomial" else "IRR"
    for _, row in result.fixed.iterrows():
        if row["term"] == INTERCEPT:
            continue
        s.append(f"For {row['term']}, b = {fmt(row['estimate'])}, SE = {fmt(row['std_error'])}, "
                 f"{name} = {fmt(row[r])}, 95% CI [{fmt(row[f'{r}_ci_low'])}, "
                 f"{fmt(row[f'{r}_ci_high'])}], z = {fmt(row['z_value'])}, "
                 f"{_p_clause(row['p_value'])}.")
    from hlm_core.writeup import _ci_method_sentence, _vc_ci

    vc = result.varcorr
    sds = "; ".join(f"{v['group']}: {v['term1']} SD = {fmt(v['sdcor'])}"
                    f"{_vc_ci(result, i, text=True)}"
                    for i, v in vc.iterrows() if not v["term2"])
    s.append("Random-effect SDs (logit scale)" if result.family == "binomial" else
             "Random-effect SDs (log scale)")
    s[-1] += f": {sds}."
    s.append(_ci_method_sentence(result))
    s.append(f"Marginal R² = {fmt_unit(result.r2_marginal)}, conditional R² = "
             f"{fmt_unit(result.r2_conditional)} (Nakagawa, latent scale).")
    return " ".join(p for p in s if p)


def apa_glmm_table(result: FitResult) -> pd.DataFrame:
    """The APA table: fixed effects with b, SE, ratio and its CI, z, p; then the random SDs."""
    r = ratio_column(result)
    name = "OR" if result.family == "binomial" else "IRR"
    rows = [{"Part": "Fixed effects", "Term": row["term"], "b": fmt(row["estimate"]),
             "SE": fmt(row["std_error"]), name: fmt(row[r]),
             "95% CI": f"[{fmt(row[f'{r}_ci_low'])}, {fmt(row[f'{r}_ci_high'])}]",
             "z": fmt(row["z_value"]), "p": fmt_p(row["p_value"])}
            for _, row in result.fixed.iterrows()]
    from hlm_core.writeup import _ci_note, _vc_ci

    for i, v in result.varcorr.iterrows():
        label = v["term1"] if not v["term2"] else f"corr({v['term1']}, {v['term2']})"
        rows.append({"Part": "Random effects", "Term": f"{v['group']}: {label}",
                     "b": fmt(v["sdcor"]), "SE": "", name: "", "95% CI": _vc_ci(result, i),
                     "z": "", "p": ""})
    table = pd.DataFrame(rows)
    if _ci_note(result):  # the random rows' 95% CI: of the SD (or correlation)
        table.attrs["note"] = ("Note. Random effects: b is the SD (or the correlation)."
                               f"{_ci_note(result)}")
    return table
