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
    if ma.family != mb.family or (ma.is_glmm and ma.method != mb.method):
        raise ModelError(
            "The two models treat the outcome differently (outcome type or approximation), so "
            "their likelihoods can't be compared. Fit both the same way."
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


def _random_terms(spec) -> dict[tuple[str, ...], set[frozenset]]:
    """Per grouping factor (as lme4 builds them), the random terms varying over it: the
    intercept as frozenset(), each slope as the set of its variables."""
    out: dict[tuple[str, ...], set[frozenset]] = {}
    for r in spec.random:
        terms = ({frozenset()} if r.intercept else set()) | {frozenset(t.variables)
                                                              for t in r.slopes}
        for g in r.group_factors():
            out.setdefault(tuple(sorted(g)), set()).update(terms)
    return out


def nested_in(small, big) -> bool:
    """True when the model `small` is a simpler version of `big` (ModelSpecs): same outcome,
    every fixed term and random term of `small` also in `big`, the shared predictors centred
    within groups alike. Only then does a likelihood-ratio test between them mean anything."""
    if small.outcome != big.outcome or (small.intercept and not big.intercept):
        return False
    if not {frozenset(t.variables) for t in small.fixed} <= {frozenset(t.variables)
                                                             for t in big.fixed}:
        return False
    # centring within groups makes another predictor (grand-mean centring only moves 0)
    sc, bc = small.centering_map, big.centering_map
    if any((sc.get(v) == "group") != (bc.get(v) == "group") for v in small.variables()):
        return False
    rb = _random_terms(big)
    return all(g in rb and terms <= rb[g] for g, terms in _random_terms(small).items())


@dataclass
class TwoModels:
    """Model A tested against model B (the Compare page's direct choice)."""

    table: pd.DataFrame  # both models by ML: npar, AIC, BIC, logLik, ... (+ the test, if any)
    nested: bool
    smaller: str | None  # the name of the simpler model when nested
    comparison: Comparison | None
    sentences: list[str]


def compare_two(a: FitResult, b: FitResult, frame: pd.DataFrame,
                names: tuple[str, str] = ("Model A", "Model B")) -> TwoModels:
    """A likelihood-ratio test of A against B when one is a simpler version of the other (by
    ML, as lme4's anova()); otherwise no test: AIC and BIC (by ML, comparable) say which fits
    better, and the sentences say why there is no test."""
    if names[0] == names[1]:
        names = (f"{names[0]} (A)", f"{names[1]} (B)")
    order = None
    if nested_in(a.spec, b.spec) and a.spec != b.spec.with_(reml=a.spec.reml):
        order = (0, 1)
    elif nested_in(b.spec, a.spec) and b.spec != a.spec.with_(reml=b.spec.reml):
        order = (1, 0)
    if order is not None:
        pair = (a, b)
        cmp = lrt(pair[order[0]], pair[order[1]], frame)
        table = cmp.table.assign(model=[names[order[0]], names[order[1]]])
        small, big = names[order[0]], names[order[1]]
        verdict = "fits clearly better" if cmp.p_value < 0.05 else "does not fit clearly better"
        text = [f"{small} is a simpler version of {big}, so they can be tested against each "
                f"other: {big} {verdict} (χ²({cmp.df}) = {cmp.chisq:.2f}, "
                f"{_p_text(cmp.p_value)}).", *cmp.notes]
        return TwoModels(table, True, small, cmp, text + _ic_sentences(table))
    ma, mb = as_ml(a, frame)[0], as_ml(b, frame)[0]
    table = compare_table([ma, mb], list(names))
    text = [f"{names[0]} and {names[1]} are not nested (neither is a simpler version of the "
            "other), so a likelihood-ratio test does not apply. Compare them by AIC and BIC "
            "(both by ML; lower is better)."]
    if ma.nobs != mb.nobs:
        text.append(f"They use different rows ({ma.nobs:,} and {mb.nobs:,}) because of "
                    "missing values, so even AIC and BIC are not comparable.")
        return TwoModels(table, False, None, None, text)
    return TwoModels(table, False, None, None, text + _ic_sentences(table))


def _ic_sentences(table: pd.DataFrame) -> list[str]:
    out = []
    for col in ("AIC", "BIC"):
        vals = table[col].to_numpy(dtype=float)
        if np.isfinite(vals).all() and len(vals) == 2:
            best = int(np.argmin(vals))
            out.append(f"{col} prefers {table['model'].iloc[best]} (lower by "
                       f"{abs(vals[0] - vals[1]):.1f}).")
    return out


def unique_names(names: list[str]) -> list[str]:
    """Names made unique for tables and charts: a repeat gets " (2)", " (3)"; two models
    never share one label (a chart would fold them into one point)."""
    taken: set[str] = set()
    out = []
    for n in names:
        label, k = n, 1
        while label in taken:
            k += 1
            label = f"{n} ({k})"
        taken.add(label)
        out.append(label)
    return out


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
    # one integer per group (missing values a group of their own): the groups' labels as
    # text took ~2 s of CPU on a million rows, on the Compare page's every first visit
    key = np.zeros(len(frame), dtype=np.int64)
    for c in group_cols:
        codes, uniques = pd.factorize(frame[c], use_na_sentinel=False)
        key, _ = pd.factorize(key * (len(uniques) + 1) + codes)
    out = set()
    for v in {v for t in spec.fixed for v in t.variables}:
        if v not in frame.columns:
            continue
        n_distinct = frame.groupby(key, sort=False)[v].nunique(dropna=True)
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

    # every model on the same rows: those with a value in every column any of them reads
    # (the null model alone would keep rows the user's model drops for a missing predictor)
    steps = ladder_specs(frame, spec) + list(extra or [])
    cols = list(dict.fromkeys(c for _, st in steps for c in st.variables() if c in frame.columns))
    complete = frame[cols].notna().all(axis=1).to_numpy()
    left_out = int((~complete).sum())
    if left_out:
        frame = frame[complete]
    results = [fit(frame, s.with_(reml=False)) for _, s in steps]
    names = unique_names([n for n, _ in steps])
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
        if not r.is_glmm:  # a yes/no or count model has no pupil-level variance to reduce
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
        if ddf <= 0 or not nested_in(prev.spec, r.spec):  # a saved model unrelated to the
            continue  # row above it is not tested against it (AIC/BIC compare them)
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
    if left_out:
        notes.insert(0, f"{left_out:,} rows with a missing value in a column of one of the "
                     "models are left out of every model, so all of them use the same "
                     f"{results[0].nobs:,} rows (likelihoods of different rows can't be "
                     "compared).")
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
            prev = lad.results[i - 1].spec
            why = ("has no more parameters than the model above it" if nested_in(
                prev, lad.results[i].spec) or nested_in(lad.results[i].spec, prev)
                else "is not a larger version of the model above it")
            out.append(f"{what} {why}, so there is no likelihood-ratio test; compare AIC "
                       "and BIC.")
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
