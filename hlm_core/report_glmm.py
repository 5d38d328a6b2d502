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
from hlm_core.result import FitResult
from hlm_core.wording import plural


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


def _effect_sentence(result: FitResult, row: pd.Series) -> str:
    r = ratio_column(result)
    ratio, lo, hi = row[r], row[f"{r}_ci_low"], row[f"{r}_ci_high"]
    unit = "the odds are" if result.family == "binomial" else "the expected count is"
    clear = "clearly" if row["p_value"] < 0.05 else "not clearly"
    return (f"For {row['term']} (one unit more, or this category against the reference), "
            f"{unit} multiplied by {ratio:.2f} (95% CI {lo:.2f} to {hi:.2f}; {clear} "
            "different from 1).")


def describe_glmm_results(result: FitResult, max_terms: int = 6) -> str:
    """What a yes/no or count model found, in a few plain sentences."""
    where = " and ".join(f"{n:,} {plural(g)}" for g, n in result.ngroups.items())
    s = [f"The model uses {result.nobs:,} rows in {where} and describes "
         f"{what_is_modelled(result)}."]
    if result.family == "binomial":
        s.append(f"A typical pupil (predictors at zero or their reference) in an average "
                 f"{plural(next(iter(result.ngroups)), 1)} has a {typical_value(result):.0%} "
                 f"chance of {success_phrase(result)}.")
    else:
        s.append(f"A typical pupil (predictors at zero or their reference) in an average "
                 f"{plural(next(iter(result.ngroups)), 1)} has {typical_value(result):.2f} "
                 f"{result.spec.outcome} on average.")
    if result.icc is not None and math.isfinite(result.icc):
        s.append(f"On the latent scale, {result.icc:.0%} of the variation lies between groups "
                 f"(latent-scale ICC {fmt_unit(result.icc)}{icc_ci_text(result)}).")
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
    where = " and ".join(f"{n:,} {plural(g)}" for g, n in result.ngroups.items())
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
