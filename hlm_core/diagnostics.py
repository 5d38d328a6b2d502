"""Model checks: residuals, Q-Q data, spread by group, influential groups, convergence triage.

All read the FitResult; only the influence check and the triage refit, and they say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hlm_core.design import INTERCEPT
from hlm_core.errors import HLMError
from hlm_core.result import FitResult
from hlm_core.spec import RandomEffect


def fitted_and_residuals(result: FitResult) -> pd.DataFrame:
    """Conditional fitted values (X beta + Z b) and residuals, one row per student used."""
    mf = result.model_frame
    beta = result.fixed["estimate"].to_numpy()
    fitted = mf.X @ beta
    for b in mf.blocks:
        re_ = result.ranef[b.group]
        vals = np.column_stack(
            [re_.loc[re_["term"] == t, "value"].to_numpy() for t in b.term_names]
        )
        fitted = fitted + (b.Z * vals[b.codes]).sum(axis=1)
    resid = mf.y - fitted
    first = mf.blocks[0]
    return pd.DataFrame(
        {
            "row": mf.rows,
            "group": np.asarray(first.levels, dtype=object)[first.codes],
            "fitted": fitted,
            "residual": resid,
            "std_residual": resid / result.sigma,
        }
    )


def qq_points(values: np.ndarray) -> pd.DataFrame:
    """Normal Q-Q coordinates (Blom plotting positions, as R's qqnorm for n > 10)."""
    v = np.sort(np.asarray(values, dtype=float))
    n = len(v)
    a = 3 / 8 if n <= 10 else 0.5
    p = (np.arange(1, n + 1) - a) / (n + 1 - 2 * a)
    return pd.DataFrame({"theoretical": stats.norm.ppf(p), "sample": v})


def residual_spread(result: FitResult) -> pd.DataFrame:
    """Residual SD per group: groups with much larger spread than the rest stand out."""
    fr = fitted_and_residuals(result)
    g = fr.groupby("group", sort=False)["residual"]
    return pd.DataFrame({"n": g.size(), "sd": g.std(ddof=1), "mean": g.mean()}).reset_index()


@dataclass
class Influence:
    table: pd.DataFrame  # group, n, and per fixed effect the change in SE units when left out
    candidates: list[str]


def influential_groups(result: FitResult, frame: pd.DataFrame, top: int = 5) -> Influence:
    """Refit without each of the `top` groups most likely to matter (large, extreme BLUPs
    relative to their uncertainty) and report how much each fixed effect moves, in SEs."""
    from hlm_core.fit import fit

    mf = result.model_frame
    b = mf.blocks[0]
    re_ = result.ranef[b.group]
    sub = re_[re_["term"] == b.term_names[0]]
    score = np.abs(sub["value"].to_numpy()) / np.maximum(sub["cond_sd"].to_numpy(), 1e-12)
    score = score * np.sqrt(mf.group_sizes[b.group])
    order = np.argsort(-score)[:top]
    candidates = [b.levels[i] for i in order]
    rows = []
    base = result.fixed.set_index("term")
    used = frame.iloc[mf.rows]
    codes = b.codes
    for i in order:
        keep = codes != i
        try:
            res = fit(used[keep], result.spec)
        except HLMError:
            continue
        change = res.fixed.set_index("term")["estimate"] - base["estimate"]
        row = {"group": b.levels[i], "n": int(mf.group_sizes[b.group][i])}
        for term in base.index:
            row[term] = float(change.get(term, np.nan) / base.loc[term, "std_error"])
        rows.append(row)
    return Influence(table=pd.DataFrame(rows), candidates=candidates)


def near_zero_terms(result: FitResult) -> list[tuple[str, str]]:
    """(group, term) of random-effect SDs estimated at (about) zero."""
    vc = result.varcorr
    out = []
    for r in vc[(vc["term2"] == "") & (vc["group"] != "Residual")].itertuples():
        if r.sdcor < 1e-4 * max(result.sigma, 1e-12):
            out.append((r.group, r.term1))
    return out


def simpler_specs(result: FitResult) -> list[tuple[str, object]]:
    """One-click alternatives for a singular or non-converged fit: the uncorrelated version of
    each random slope, and the model without the slope whose variance is about zero."""
    spec = result.spec
    out: list[tuple[str, object]] = []
    if any(r.slopes and r.correlated for r in spec.random):
        out.append((
            "Uncorrelated random slopes (||)",
            spec.with_(random=tuple(
                RandomEffect(r.grouping, r.kind, r.intercept, r.slopes, False) for r in spec.random
            )),
        ))
    zero = {term for _g, term in near_zero_terms(result)}
    if any(r.slopes for r in spec.random):
        def drop(r: RandomEffect) -> RandomEffect:
            keep = tuple(s for s in r.slopes if ":".join(s.variables) not in zero) if zero else ()
            return RandomEffect(r.grouping, r.kind, r.intercept or not keep, keep, r.correlated)
        label = (f"Without the random slope for {', '.join(sorted(zero - {INTERCEPT}))}"
                 if zero - {INTERCEPT} else "Random intercepts only")
        simpler = spec.with_(random=tuple(drop(r) for r in spec.random))
        if simpler != spec:
            out.append((label, simpler))
    return out


def try_other_optimizer(result: FitResult, frame: pd.DataFrame) -> tuple[FitResult, str]:
    """Refit with a derivative-free optimizer (COBYQA, like lme4's bobyqa) and say which fit
    is better; the better one has the higher log-likelihood."""
    from hlm_core.fit import fit

    other = fit(frame, result.spec, optimizer="COBYQA")
    diff = other.loglik - result.loglik
    if diff > 1e-3:
        msg = (f"The other optimizer found a better fit (log-likelihood higher by {diff:.3g}); "
               "use its results.")
    elif diff < -1e-3:
        msg = "The other optimizer found a worse fit; keep the original results."
    else:
        msg = "Both optimizers agree, so the estimates are not an artefact of the optimizer."
    return other, msg

