"""Planning inputs read from the data the user has already modelled, each with where it came
from: the ICC(s) from the null model, average group sizes from the structure check (or the
fit), and the R² of the covariates at each level from the Compare ladder.

Pure functions: they take a FitResult / Structure / Ladder and return `Prefill` values named as
PowerUpR's arguments (rho2, rho3, n, J, K, r21, r22, r23, g2, g3) that a page shows as defaults
the user can overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from hlm_core.compare import Ladder
from hlm_core.result import FitResult
from hlm_core.structure import Structure


@dataclass(frozen=True)
class Prefill:
    name: str  # PowerUpR's argument name
    value: float
    source: str  # plain words: where the number came from
    interval: tuple[float, float] | None = None  # 95% interval where one exists


def _levels_by_size(result: FitResult) -> list[str]:
    """Grouping names, innermost (most groups) first."""
    return sorted(result.ngroups, key=lambda g: -result.ngroups[g])


def _intercept_variances(result: FitResult) -> dict[str, float]:
    vc = result.varcorr
    rows = vc[(vc["term1"] == "(Intercept)") & (vc["term2"] == "") & (vc["group"] != "Residual")]
    return {str(r.group): float(r.vcov) for r in rows.itertuples()}


def icc_interval(y: np.ndarray, codes: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The F-based (ANOVA) interval for a two-level ICC, with Searle's n0 for unequal groups."""
    counts = np.bincount(codes)
    means_all = np.bincount(codes, weights=y) / np.maximum(counts, 1)
    groups, means = counts[counts > 0], means_all[counts > 0]
    J, N = len(groups), len(y)
    msb = float((groups * (means - y.mean()) ** 2).sum() / (J - 1))
    msw = float(((y - means_all[codes]) ** 2).sum() / (N - J))
    n0 = (N - (groups**2).sum() / N) / (J - 1)
    F = msb / msw
    a = (1 - level) / 2
    f_lo = F / stats.f.ppf(1 - a, J - 1, N - J)
    f_hi = F / stats.f.ppf(a, J - 1, N - J)
    lo, hi = (f_lo - 1) / (f_lo + n0 - 1), (f_hi - 1) / (f_hi + n0 - 1)
    return max(lo, 0.0), min(hi, 1.0)


def from_null_model(null: FitResult, design: str = "cra2") -> list[Prefill]:
    """rho2 (and rho3) from a null model's variance components.

    Two levels: rho2 is the share of variance between its groups. Three levels (e.g.
    school/class): rho3 = schools' share and rho2 = classes' share; for a two-level design the
    classes are the clusters, so rho2 then counts school differences too."""
    taus = _intercept_variances(null)
    total = sum(taus.values()) + null.sigma**2
    levels = [g for g in _levels_by_size(null) if g in taus]
    what = f"the null model ({null.formula}, {null.method})"
    if not levels:
        return []
    if len(levels) == 1:
        g = levels[0]
        interval = None
        mf = null.model_frame
        if mf is not None and len(mf.blocks) == 1:
            interval = icc_interval(mf.y, mf.blocks[0].codes)
        return [Prefill("rho2", taus[g] / total,
                        f"ICC: share of the variance between '{g}' groups in {what}", interval)]
    inner, top = levels[0], levels[-1]
    if design == "cra3":
        return [
            Prefill("rho3", taus[top] / total, f"share of the variance between '{top}' groups "
                    f"in {what}"),
            Prefill("rho2", taus[inner] / total, f"share of the variance between '{inner}' "
                    f"groups within '{top}' in {what}"),
        ]
    return [Prefill("rho2", (taus[inner] + taus[top]) / total,
                    f"share of the variance between '{inner}' groups (including differences "
                    f"between '{top}' groups) in {what}")]


def omega_from_slope(result: FitResult, term: str) -> Prefill | None:
    """omega2 for a multisite plan: the variance of `term`'s effect across sites over the
    variance of the site intercepts, from a model with a random slope for `term`."""
    vc = result.varcorr
    for group in _levels_by_size(result)[::-1]:  # the top level (sites) first
        rows = vc[(vc["group"] == group) & (vc["term2"] == "")]
        var = dict(zip(rows["term1"], rows["vcov"], strict=True))
        if term in var and var.get("(Intercept)", 0) > 0:
            return Prefill("omega2", float(var[term] / var["(Intercept)"]),
                           f"variance of the effect of {term} between '{group}' groups over the "
                           f"variance of their averages, in the model {result.formula}")
    return None


def from_structure(structure: Structure, design: str = "cra2") -> list[Prefill]:
    """n (rows per innermost group), J and K from the structure check (levels inner → outer)."""
    levels = structure.levels
    unit = structure.unit
    inner = levels[0]
    n = inner.n_rows / inner.n_groups if inner.n_groups else float("nan")
    out = [Prefill("n", n, f"average {unit} per '{inner.name}' group in your data "
                   f"({inner.n_rows:,} {unit} in {inner.n_groups:,} groups)")]
    if design == "cra3" and len(levels) >= 2:
        top = levels[1]
        out.append(Prefill("J", inner.n_groups / top.n_groups,
                           f"average '{inner.name}' groups per '{top.name}' group in your data"))
        out.append(Prefill("K", float(top.n_groups), f"'{top.name}' groups in your data"))
    else:
        out.append(Prefill("J", float(inner.n_groups), f"'{inner.name}' groups in your data"))
    return out


def from_result_sizes(result: FitResult, design: str = "cra2") -> list[Prefill]:
    """The same group sizes as `from_structure`, read from a fit (rows the model used)."""
    levels = _levels_by_size(result)
    inner = levels[0]
    n = result.nobs / result.ngroups[inner]
    out = [Prefill("n", n, f"average rows per '{inner}' group in the fitted model "
                   f"({result.nobs:,} rows in {result.ngroups[inner]:,} groups)")]
    if design == "cra3" and len(levels) >= 2:
        top = levels[-1]
        out.append(Prefill("J", result.ngroups[inner] / result.ngroups[top],
                           f"average '{inner}' groups per '{top}' group in the fitted model"))
        out.append(Prefill("K", float(result.ngroups[top]), f"'{top}' groups in the fitted model"))
    else:
        out.append(Prefill("J", float(result.ngroups[inner]),
                           f"'{inner}' groups in the fitted model"))
    return out


def from_ladder(ladder: Ladder, step: int = -1, design: str = "cra2") -> list[Prefill]:
    """R² per level: the variance explained by the predictors of one ladder step (default: the
    user's model) relative to the null model, at the pupil level (r21) and each group level."""
    row = ladder.table.iloc[step]
    name = str(row["model"])
    null = ladder.results[0]
    levels = _levels_by_size(null)
    out: list[Prefill] = []

    def add(arg: str, column: str, where: str) -> None:
        if column not in ladder.table.columns:
            return
        v = float(row[column])
        if not np.isfinite(v):
            return
        note = f"variance explained {where} by the predictors of '{name}' in the Compare ladder"
        if v < 0:
            note += f" (it was {v:.3f}: the variance grew, so 0 is used)"
        out.append(Prefill(arg, max(v, 0.0), note))

    add("r21", "var_explained_level1", "within groups")
    if design == "cra3" and len(levels) >= 2:
        add("r22", f"var_explained_{levels[0]}", f"between '{levels[0]}' groups")
        add("r23", f"var_explained_{levels[-1]}", f"between '{levels[-1]}' groups")
    else:
        add("r22", f"var_explained_{levels[0]}", f"between '{levels[0]}' groups")
    return out


def prefill(
    design: str = "cra2",
    null: FitResult | None = None,
    structure: Structure | None = None,
    ladder: Ladder | None = None,
    result: FitResult | None = None,
) -> dict[str, Prefill]:
    """Every planning input the available objects can give, by PowerUpR name. Later sources
    do not overwrite earlier ones: null model, then structure (or the fit's sizes), then ladder."""
    found: list[Prefill] = []
    null = null if null is not None else (ladder.results[0] if ladder is not None else None)
    if null is not None:
        found += from_null_model(null, design)
    if structure is not None:
        found += from_structure(structure, design)
    elif result is not None or null is not None:
        found += from_result_sizes(result if result is not None else null, design)
    if ladder is not None:
        found += from_ladder(ladder, design=design)
    out: dict[str, Prefill] = {}
    for p in found:
        out.setdefault(p.name, p)
    return out
