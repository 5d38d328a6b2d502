"""Likelihood-ratio tests of nested models, the way lme4's `anova(m0, m1)` does them.

Models fitted by REML are refitted by ML first (REML likelihoods of models with different
fixed effects are not comparable); the result says when that happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from hlm_core.errors import ModelError
from hlm_core.result import FitResult


@dataclass
class Comparison:
    table: pd.DataFrame  # a row per model: npar, AIC, BIC, logLik, deviance, Chisq, Df, p_value
    chisq: float
    df: int
    p_value: float
    refit_ml: bool
    notes: list[str] = field(default_factory=list)


def as_ml(result: FitResult, frame: pd.DataFrame) -> tuple[FitResult, bool]:
    """The ML version of a fit (refitting only when it was REML)."""
    from hlm_core.fit import fit

    if not result.reml:
        return result, False
    return fit(frame, result.spec.with_(reml=False)), True


def lrt(a: FitResult, b: FitResult, frame: pd.DataFrame) -> Comparison:
    """Compare two nested models; the one with fewer parameters is the null."""
    ma, ra = as_ml(a, frame)
    mb, rb = as_ml(b, frame)
    if ma.nobs != mb.nobs:
        raise ModelError(
            f"The two models use different rows ({ma.nobs:,} and {mb.nobs:,}) because their "
            "columns have different missing values, so they can't be compared. Remove the rows "
            "with missing values first, or compare models that use the same columns."
        )
    small, big = sorted([ma, mb], key=lambda r: r.df_loglik)
    if small.df_loglik == big.df_loglik:
        raise ModelError(
            "Both models have the same number of parameters, so a likelihood-ratio test "
            "can't tell them apart. Compare their AIC and BIC instead."
        )
    chisq = max(0.0, 2 * (big.loglik - small.loglik))
    ddf = big.df_loglik - small.df_loglik
    p = float(stats.chi2.sf(chisq, ddf))
    table = compare_table([small, big])
    table.loc[1, ["Chisq", "Df", "p_value"]] = [chisq, ddf, p]
    notes = []
    if ra or rb:
        notes.append(
            "Models fitted by REML were refitted by ML for this test, as lme4's anova() does."
        )
    return Comparison(table=table, chisq=chisq, df=ddf, p_value=p, refit_ml=ra or rb, notes=notes)


def compare_table(results: list[FitResult], names: list[str] | None = None) -> pd.DataFrame:
    """AIC/BIC/logLik/deviance for several fits (as they are: REML or ML)."""
    rows = []
    for i, r in enumerate(results):
        rows.append(
            {
                "model": names[i] if names else f"Model {i + 1}",
                "formula": r.formula,
                "method": r.method,
                "npar": r.df_loglik,
                "AIC": r.aic,
                "BIC": r.bic,
                "logLik": r.loglik,
                "deviance": -2 * r.loglik,
                "Chisq": np.nan,
                "Df": np.nan,
                "p_value": np.nan,
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the model ladder


@dataclass
class Ladder:
    """The usual sequence of models from the null model up to the user's model, all by ML."""

    table: pd.DataFrame
    results: list[FitResult]
    names: list[str]
    icc: float
    design_effect: float
    notes: list[str] = field(default_factory=list)


def _level2_variables(frame: pd.DataFrame, spec, group_cols: tuple[str, ...]) -> set[str]:
    """Variables constant within every group of the first grouping factor (level-2)."""
    from hlm_core.design import level_labels

    key = level_labels(frame[group_cols[0]]).astype(str)
    for c in group_cols[1:]:
        key = key + "\x1f" + level_labels(frame[c]).astype(str)
    out = set()
    for v in {v for t in spec.fixed for v in t.variables}:
        if v not in frame.columns:
            continue
        n_distinct = frame.groupby(key.to_numpy(), sort=False)[v].nunique(dropna=True)
        if (n_distinct <= 1).all():
            out.add(v)
    return out


def ladder_specs(frame: pd.DataFrame, spec) -> list[tuple[str, object]]:
    """Null → + level-1 predictors → + level-2 predictors → + random slopes → + interactions.
    Steps that would add nothing are skipped; the last step is the user's model."""
    from hlm_core.spec import RandomEffect

    first = spec.random[0]
    inner_cols = first.group_factors()[0]
    l2 = _level2_variables(frame, spec, inner_cols)
    mains = [t for t in spec.fixed if t.order == 1]
    inters = [t for t in spec.fixed if t.order > 1]
    l1_mains = tuple(t for t in mains if t.variables[0] not in l2)
    l2_mains = tuple(t for t in mains if t.variables[0] in l2)
    intercepts = tuple(RandomEffect(r.grouping, r.kind) for r in spec.random)
    steps: list[tuple[str, object]] = [
        ("Null model", spec.with_(fixed=(), random=intercepts, centering=())),
    ]
    if l1_mains:
        steps.append(("+ student-level predictors", spec.with_(fixed=l1_mains, random=intercepts)))
    if l2_mains:
        steps.append(("+ group-level predictors",
                      spec.with_(fixed=l1_mains + l2_mains, random=intercepts)))
    if any(r.slopes for r in spec.random):
        steps.append(("+ random slopes", spec.with_(fixed=l1_mains + l2_mains)))
    if inters:
        steps.append(("+ interactions", spec))
    seen, out = set(), []
    for name, s in steps:
        key = s.with_(reml=False)
        if key not in seen:
            seen.add(key)
            out.append((name, s))
    return out


def boundary_p(chisq: float, df: int) -> float:
    """p for a test of one added variance component (with its covariances) on the boundary:
    a 50:50 mixture of chi-square(df - 1) and chi-square(df) (Self & Liang; Stram & Lee)."""
    lower = float(stats.chi2.sf(chisq, df - 1)) if df > 1 else (0.0 if chisq > 0 else 1.0)
    return 0.5 * lower + 0.5 * float(stats.chi2.sf(chisq, df))


def _adds_one_variance(small, big) -> bool:
    """True when `big` only adds one random term to one block of `small` (same fixed part)."""
    if small.spec.fixed != big.spec.fixed or small.spec.intercept != big.spec.intercept:
        return False
    def n_terms(r) -> int:
        return sum(len(b.term_names) for b in r.model_frame.blocks)

    return n_terms(big) - n_terms(small) == 1


def ladder(frame: pd.DataFrame, spec, extra: list[tuple[str, object]] | None = None) -> Ladder:
    """Fit each step by ML and tabulate logLik, AIC, BIC, LRTs between neighbours, and the
    variance explained at each level relative to the null model."""
    from hlm_core.fit import fit

    steps = ladder_specs(frame, spec) + list(extra or [])
    results = [fit(frame, s.with_(reml=False)) for _, s in steps]
    names = [n for n, _ in steps]
    nobs = {r.nobs for r in results}
    if len(nobs) > 1:
        raise ModelError(
            "The models in the ladder use different rows because of missing values in some "
            "predictors, so they can't be compared. Remove rows with missing values first."
        )
    table = compare_table(results, names)
    null = results[0]
    vc0 = null.varcorr
    sigma2_0 = null.sigma**2
    tau0 = {r.group: r.vcov for r in vc0.itertuples() if r.term1 == "(Intercept)" and not r.term2}
    table["p_boundary"] = np.nan
    table["var_explained_level1"] = np.nan
    for g in tau0:
        table[f"var_explained_{g}"] = np.nan
    for i, r in enumerate(results):
        table.loc[i, "var_explained_level1"] = (sigma2_0 - r.sigma**2) / sigma2_0
        vc = r.varcorr
        for g, t0 in tau0.items():
            row = vc[(vc["group"] == g) & (vc["term1"] == "(Intercept)") & (vc["term2"] == "")]
            if len(row) and t0 > 0:
                table.loc[i, f"var_explained_{g}"] = (t0 - row["vcov"].iloc[0]) / t0
        if i == 0:
            continue
        prev = results[i - 1]
        ddf = r.df_loglik - prev.df_loglik
        if ddf <= 0:
            continue
        chisq = max(0.0, 2 * (r.loglik - prev.loglik))
        table.loc[i, ["Chisq", "Df", "p_value"]] = [chisq, ddf, float(stats.chi2.sf(chisq, ddf))]
        if _adds_one_variance(prev, r):
            table.loc[i, "p_boundary"] = boundary_p(chisq, ddf)
    icc = float(null.icc or 0.0)
    sizes = null.model_frame.group_sizes[null.model_frame.blocks[0].group]
    deff = 1 + (float(sizes.mean()) - 1) * float(null.icc or 0.0)
    notes = [
        "All models in the ladder are fitted by ML so their likelihoods can be compared.",
        "p (boundary) tests a variance that can't be below zero: a 50:50 mixture of "
        "chi-square distributions, which is less conservative than the plain LRT p.",
    ]
    return Ladder(table=table, results=results, names=names, icc=icc, design_effect=deff,
                  notes=notes)


def _p_text(p: float) -> str:
    if not np.isfinite(p):
        return "p = –"
    if p < 0.001:
        return "p < .001"
    return f"p = {p:.3f}".replace("0.", ".", 1)


def ladder_sentences(lad: Ladder, alpha: float = 0.05) -> list[str]:
    """A plain-language reading of a ladder, one sentence per step after the null model:
    "Adding random slopes improved the fit: χ²(2) = 40.37, p < .001 (boundary-corrected
    p < .001)." and which model AIC and BIC prefer."""
    t = lad.table
    out: list[str] = []
    for i in range(1, len(t)):
        row = t.iloc[i]
        name = str(row["model"])
        what = f"Adding {name[2:]}" if name.startswith("+ ") else f"{name}, compared with the " \
            f"model above it,"
        if not np.isfinite(row["Chisq"]):
            out.append(
                f"{what} has no more parameters than the model above it, so there is no "
                "likelihood-ratio test; compare AIC and BIC."
            )
            continue
        p = float(row["p_value"])
        pb = float(row["p_boundary"]) if "p_boundary" in t.columns else float("nan")
        use_p = pb if np.isfinite(pb) else p
        verdict = "improved the fit" if use_p < alpha else "did not clearly improve the fit"
        stat = f"χ²({int(row['Df'])}) = {row['Chisq']:.2f}, {_p_text(p)}"
        if np.isfinite(pb):
            stat += f" (boundary-corrected {_p_text(pb)})"
        out.append(f"{what} {verdict}: {stat}.")
    for col in ("AIC", "BIC"):
        vals = t[col].to_numpy(dtype=float)
        if len(vals) > 1 and np.isfinite(vals).any():
            best = int(np.nanargmin(vals))
            out.append(f"{col} (lower is better) prefers: {t['model'].iloc[best]}.")
    return out
