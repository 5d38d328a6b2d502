"""The write-up of a fitted model: HLM level equations, an APA paragraph and an APA table.

Why level equations: many school researchers learnt multilevel models from Raudenbush & Bryk
(HLM), where a model is a set of equations, one per level (students, then classes, then
schools), not one lme4 formula. Showing both, built from the same fit, lets a reader check that
the model is the one they meant, e.g. that a cross-level interaction is "the school mean of SES
moderates the SES slope" (it sits in the equation of the SES slope).

Why we classify predictors from the data: whether a predictor belongs to level 1 or level 2 is
not in the formula; it is a property of the data (a school mean is constant within each school).
We read it from the design the model actually used (after centring and dropping incomplete
rows), falling back on the original frame for variables that only enter through interactions.

Why the APA text is built here, not on a page: the paragraph and table are copied into reports,
so the numbers must be exactly those of the FitResult, rounded once by one set of rules (APA 7:
two decimals, no leading zero for statistics that cannot exceed 1, p < .001).
"""

from __future__ import annotations

import math

import pandas as pd

from hlm_core.ci_output import attached, icc_ci_text, method_words
from hlm_core.design import INTERCEPT
from hlm_core.equations import _centring_sentences, level_equations
from hlm_core.formatting import Z975, _count, _p_clause, fmt, fmt_df, fmt_p, fmt_unit
from hlm_core.levels import MAX_LEVELS, _structure
from hlm_core.report import FEW_GROUPS, reference_level
from hlm_core.result import FitResult
from hlm_core.wording import plural

# The number formats live in formatting.py and the level equations in equations.py; callers
# import them from here.
__all__ = [
    "MAX_LEVELS", "apa_paragraph", "apa_table", "fmt", "fmt_df", "fmt_p", "fmt_unit",
    "level_equations",
]

# --------------------------------------------------------------------------- APA


def _term_label(term: str) -> str:
    return "intercept" if term == INTERCEPT else term


def _group_phrase(result: FitResult) -> str:
    """'N = 4,059 students in J = 65 schools' (or classes within schools, or crossed)."""
    mf = result.model_frame
    n = f"N = {_count(result.nobs)} students"
    if mf is None:
        groups = ", ".join(f"{_count(k)} {result.group_words(g)}"
                           for g, k in result.ngroups.items())
        return f"{n} in {groups}"
    st = _structure(mf, None)
    chain = st.chain
    text = f"{n} in J = {_count(chain[0].n_levels)} {plural(chain[0].label)}"
    for g in chain[1:]:
        text += f" within K = {_count(g.n_levels)} {plural(g.label)}"
    if st.extra:
        text += " and " + ", ".join(
            f"{_count(g.n_levels)} {plural(g.label)}" for g in st.extra
        ) + " (crossed)"
    return text


def _fixed_label(result: FitResult, term: str) -> str:
    """The term as the paragraph names it; a factor level with the level it is compared with:
    'schgendgirls (girls vs. boys)'."""
    ref = reference_level(result, term)
    return f"{term} ({ref[1]} vs. {ref[2]})" if ref else _term_label(term)


def _fixed_clause(row: pd.Series) -> str:
    se = row["std_error"]
    ci = f"95% CI [{fmt(row['ci_low'], se=se)}, {fmt(row['ci_high'], se=se)}]"
    return (
        f"b = {fmt(row['estimate'], se=se)}, SE = {fmt(se, se=se)}, "
        f"t({fmt_df(row['df'])}) = {fmt(row['t_value'])}, {_p_clause(row['p_value'])}, {ci}"
    )


def apa_paragraph(result: FitResult, frame: pd.DataFrame | None = None) -> str:
    """An APA-style paragraph describing the fitted model, ready to paste into a report.

    States the sample (N students in J groups), the estimation (REML/ML, Satterthwaite df as
    in lmerTest), centring, the ICC, every fixed effect with b, SE, t(df), p and 95% CI, the
    SD of each random effect with the range in which 95% of the groups' intercepts and slopes
    are expected to lie, and Nakagawa's marginal and conditional R². `frame` is not needed;
    it is accepted for symmetry with `level_equations`.
    """
    if result.is_glmm:
        from hlm_core.report_glmm import apa_glmm_paragraph

        return apa_glmm_paragraph(result)
    del frame
    spec = result.spec
    mf = result.model_frame
    method = (
        "restricted maximum likelihood (REML)" if result.reml else "maximum likelihood (ML)"
    )
    parts: list[str] = []
    parts.append(
        f"We fitted a linear mixed model (multilevel model) for {spec.outcome} to data from "
        f"{_group_phrase(result)}, with the lme4 formula {result.formula}."
    )
    if mf is not None:
        parts.extend(_centring_sentences(mf, past=True))
    if result.rows_dropped:
        parts.append(
            f"{_count(result.rows_dropped)} of {_count(result.rows_total)} rows were excluded "
            "because of missing values."
        )
    parts.append(
        f"Parameters were estimated by {method}; degrees of freedom for the t tests and "
        "confidence intervals of the fixed effects use the Satterthwaite approximation "
        "(as in lmerTest)."
    )
    if result.icc is not None and math.isfinite(result.icc):
        if not result.icc_adjusted:
            by = result.extra.get("icc_by_group") or {}
            if len(by) > 1:
                detail = ", ".join(f"{fmt_unit(v)} for {g}" for g, v in by.items())
                parts.append(f"The intraclass correlations were {detail}.")
            else:
                where = plural(mf.blocks[0].columns[0]) if mf is not None else "groups"
                parts.append(
                    f"The intraclass correlation was ICC = {fmt_unit(result.icc)}"
                    f"{icc_ci_text(result)}: "
                    f"{100 * result.icc:.0f}% of the variance in {spec.outcome} lies between "
                    f"{where}."
                )
        else:
            parts.append(
                f"The adjusted intraclass correlation (Nakagawa) was ICC = "
                f"{fmt_unit(result.icc)}{icc_ci_text(result)}."
            )

    fixed = result.fixed
    if len(fixed):
        clauses = [f"{_fixed_label(result, r['term'])}, {_fixed_clause(r)}"
                   for _, r in fixed.iterrows()]
        parts.append("Fixed effects: " + "; ".join(clauses) + ".")

    parts.extend(_random_sentences(result))
    parts.append(_ci_method_sentence(result))
    parts.append(
        f"The fixed effects explained R² = {fmt_unit(result.r2_marginal)} of the variance "
        f"(marginal R²); fixed and random effects together R² = "
        f"{fmt_unit(result.r2_conditional)} (conditional R², Nakagawa & Schielzeth)."
    )
    if result.singular:
        parts.append(
            "The fit was singular (a variance component was estimated at or near zero), so the "
            "random-effects structure may be simpler than specified."
        )
    if not result.converged:
        parts.append(
            "The estimation did not converge; the estimates should be treated with caution."
        )
    return " ".join(p.strip() for p in parts if p.strip())


def _random_sentences(result: FitResult) -> list[str]:
    vc = result.varcorr
    fixef = result.fixef()
    out: list[str] = []
    mf = result.model_frame
    labels, sizes = {}, {}
    if mf is not None:
        for b in mf.blocks:
            labels[b.vc_group] = b.columns[0] if b.columns else b.group
            sizes[b.vc_group] = b.n_levels
    interacted = {
        t for t in fixef for other in fixef if other != t and t in other.split(":")
    }
    for grp in dict.fromkeys(vc.loc[vc["group"] != "Residual", "group"]):
        rows = vc[(vc["group"] == grp) & (vc["term2"] == "")]
        word = plural(labels.get(grp, grp))
        pieces = []
        ranges = []
        for _, r in rows.iterrows():
            term = r["term1"]
            sd = float(r["sdcor"])
            what = "intercept" if term == INTERCEPT else f"slope of {term}"
            centre = fixef.get(term, 0.0)
            if not sd > 1e-8 * max(1.0, abs(centre)):
                pieces.append(f"the {what} (SD = {fmt(sd)}, estimated at zero)")
                continue
            pieces.append(f"the {what} (SD = {fmt(sd)}{_vc_ci(result, r.name, text=True)})")
            lo, hi = centre - Z975 * sd, centre + Z975 * sd
            cond = " (where the other predictors are 0)" if term in interacted else ""
            if term == INTERCEPT:
                ranges.append(f"intercepts between {fmt(lo)} and {fmt(hi)}")
            else:
                ranges.append(f"slopes of {term} between {fmt(lo)} and {fmt(hi)}{cond}")
        if not pieces:
            continue
        sentence = f"Across {word}, " + _and(pieces) + " varied"
        corr = vc[(vc["group"] == grp) & (vc["term2"] != "")]
        if len(corr):
            cs = [
                f"r = {fmt_unit(float(c['sdcor']))}{_vc_ci(result, c.name, text=True)} between the "
                f"{_what(c['term1'])} and the "
                f"{_what(c['term2'])}"
                for _, c in corr.iterrows()
            ]
            sentence += " (" + "; ".join(cs) + ")"
        if ranges:
            sentence += f"; 95% of {word} are expected to have " + _and(ranges)
        sentence += "."
        if len(rows) > 1 and sizes.get(grp, FEW_GROUPS) < FEW_GROUPS:
            sentence += (f" With only {sizes[grp]} {word}, the SDs of the slopes and their "
                         "correlations are very uncertain estimates.")
        out.append(sentence)
    out.append(f"The residual SD was {fmt(result.sigma)}"
               f"{_vc_ci(result, len(vc) - 1, text=True)}.")
    return out


def _what(term: str) -> str:
    return "intercepts" if term == INTERCEPT else f"slopes of {term}"


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


APA_COLUMNS = ["Part", "Term", "Estimate", "SE", "df", "t", "p", "95% CI", "SD"]


def apa_table(result: FitResult) -> pd.DataFrame:
    """Fixed-effect rows, then random-effect rows, as formatted strings for a report.

    Fixed effects: b, SE, Satterthwaite df, t, p ('< .001') and 95% CI. Random effects: the
    variance of each term per grouping (Estimate) with its SD, the correlations (Estimate,
    no leading zero), and the residual. `df.attrs["note"]` holds the APA table note.
    """
    if result.is_glmm:
        from hlm_core.report_glmm import apa_glmm_table

        return apa_glmm_table(result)
    rows: list[dict[str, str]] = []
    for _, r in result.fixed.iterrows():
        se = r["std_error"]
        rows.append({
            "Part": "Fixed effects",
            "Term": "Intercept" if r["term"] == INTERCEPT else r["term"],
            "Estimate": fmt(r["estimate"], se=se),
            "SE": fmt(se, se=se),
            "df": fmt_df(r["df"]),
            "t": fmt(r["t_value"]),
            "p": fmt_p(r["p_value"]),
            "95% CI": f"[{fmt(r['ci_low'], se=se)}, {fmt(r['ci_high'], se=se)}]",
            "SD": "",
        })
    blank = {"SE": "", "df": "", "t": "", "p": "", "95% CI": ""}
    for i, r in result.varcorr.iterrows():
        blank["95% CI"] = _vc_ci(result, i, square=r["term2"] == "")
        if r["group"] == "Residual":
            rows.append({"Part": "Random effects", "Term": "Residual",
                         "Estimate": fmt(r["vcov"]), **blank, "SD": fmt(r["sdcor"])})
        elif r["term2"] == "":
            t1 = "Intercept" if r["term1"] == INTERCEPT else r["term1"]
            rows.append({"Part": "Random effects", "Term": f"{t1} | {r['group']} (variance)",
                         "Estimate": fmt(r["vcov"]), **blank, "SD": fmt(r["sdcor"])})
        else:
            t1 = "Intercept" if r["term1"] == INTERCEPT else r["term1"]
            t2 = "Intercept" if r["term2"] == INTERCEPT else r["term2"]
            rows.append({"Part": "Random effects",
                         "Term": f"{t1}, {t2} | {r['group']} (correlation)",
                         "Estimate": fmt_unit(r["sdcor"]), **blank, "SD": ""})
    table = pd.DataFrame(rows, columns=APA_COLUMNS)
    groups = "; ".join(f"{g}: {_count(k)} groups" for g, k in result.ngroups.items())
    table.attrs["note"] = (
        f"Note. N = {_count(result.nobs)} ({groups}). Estimated by {result.method}; df by the "
        f"Satterthwaite approximation (lmerTest). Marginal R² = {fmt_unit(result.r2_marginal)}, "
        f"conditional R² = {fmt_unit(result.r2_conditional)}.{_ci_note(result)}"
    )
    return table


def _vc_ci(result: FitResult, i: int, square: bool = False, text: bool = False) -> str:
    """The attached interval of varcorr row i: "[0.25, 0.37]", or ", 95% CI [...]" inside a
    sentence (`text`); squared onto the variance scale for the APA table's variance rows
    (a profile or percentile interval for an SD squares into the variance's). "" if none."""
    iv = attached(result)
    if iv is None:
        return ""
    lo, hi = float(iv.table.at[i, "ci_low"]), float(iv.table.at[i, "ci_high"])
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    if square:
        lo, hi = lo**2, hi**2
    f = fmt_unit if result.varcorr.at[i, "term2"] else fmt
    ci = f"[{f(lo)}, {f(hi)}]"
    return f", 95% CI {ci}" if text else ci


def _ci_method_sentence(result: FitResult) -> str:
    iv = attached(result)
    if iv is None:
        return ""
    return f"Confidence intervals of the variance components: {method_words(iv)}."


def _ci_note(result: FitResult) -> str:
    iv = attached(result)
    if iv is None:
        return ""
    return f" 95% CIs of the random effects: {method_words(iv)}."
