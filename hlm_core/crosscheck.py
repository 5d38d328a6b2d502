"""Refit a result with an independent engine (statsmodels) and report the largest differences.

Agreement between two unrelated implementations is the user's evidence that a number is not an
artefact of one optimizer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hlm_core.design import model_frame
from hlm_core.engines import statsmodels_engine
from hlm_core.errors import ModelError
from hlm_core.result import FitResult


@dataclass
class CrossCheck:
    table: pd.DataFrame  # quantity, ours, statsmodels, difference, difference_se (fixed only)
    max_fixed_diff: float  # largest |difference| of a fixed effect, in units of its SE
    max_sd_diff: float  # largest |difference| of a random-effect SD or the residual SD
    loglik_diff: float
    converged: bool
    notes: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return self.max_fixed_diff < 0.01 and self.loglik_diff < 0.01


def crosscheck(frame: pd.DataFrame, result: FitResult) -> CrossCheck:
    # the fit's own design (same rows, same coding); rebuilt only for a result without one
    mf = result.model_frame if result.model_frame is not None else model_frame(frame, result.spec)
    if not statsmodels_engine.supports(mf):
        raise ModelError(
            "The cross-check engine handles one grouping level only; this model has "
            f"{len(mf.blocks)} random-effect blocks."
        )
    sm = statsmodels_engine.fit_arrays(mf, result.reml)
    rows = []
    se = result.fixed["std_error"].to_numpy()
    ours = result.fixed["estimate"].to_numpy()
    for term, a, b, s in zip(result.fixed["term"], ours, sm.beta, se, strict=True):
        rows.append((f"fixed: {term}", a, b, a - b, (a - b) / s))
    block = mf.blocks[0]
    cov_ours = result.extra["covariances"][block.vc_group]
    sd_ours = np.sqrt(np.diag(cov_ours))
    sd_sm = np.sqrt(np.maximum(np.diag(sm.cov_re), 0))
    for t, a, b in zip(block.term_names, sd_ours, sd_sm, strict=True):
        rows.append((f"SD: {t}", a, b, a - b, np.nan))
    sm_sigma = float(np.sqrt(sm.sigma2))
    rows.append(("SD: Residual", result.sigma, sm_sigma, result.sigma - sm_sigma, np.nan))
    rows.append(("logLik", result.loglik, sm.loglik, result.loglik - sm.loglik, np.nan))
    table = pd.DataFrame(
        rows, columns=["quantity", "ours", "statsmodels", "difference", "difference_se"]
    )
    sd_diffs = np.abs(np.append(sd_ours - sd_sm, result.sigma - np.sqrt(sm.sigma2)))
    return CrossCheck(
        table=table,
        max_fixed_diff=float(np.max(np.abs(ours - sm.beta) / se)),
        max_sd_diff=float(np.max(sd_diffs)),
        loglik_diff=float(abs(result.loglik - sm.loglik)),
        converged=sm.converged,
        notes=[m for m in sm.messages if m],
    )


AGREEMENT_BOUNDS = (0.001, 0.01, 0.1)  # in standard errors, the verdict's "to within"


def verdict(cc: CrossCheck) -> str:
    """The cross-check in plain words: how closely the engines agree on the fixed effects (in
    standard errors), or which one differs and by how much; then the SDs and log-likelihoods."""
    t = cc.table
    fixed = t[t["quantity"].str.startswith("fixed: ")]
    bound = next((b for b in AGREEMENT_BOUNDS if cc.max_fixed_diff < b), None)
    if bound is not None:
        text = (
            f"The two engines agree to within {bound:g} of a standard error on every fixed "
            "effect."
        )
    else:
        worst = fixed.loc[fixed["difference_se"].abs().idxmax()]
        name = worst["quantity"][len("fixed: "):]
        text = (
            f"The two engines differ most on the fixed effect {name}: {worst['ours']:.4g} here, "
            f"{worst['statsmodels']:.4g} in statsmodels, {abs(worst['difference_se']):.2f} "
            "standard errors apart."
            + (" That is too small to change a conclusion." if cc.max_fixed_diff < 1 else
               " That is enough to change a conclusion.")
        )
    sds = t[t["quantity"].str.startswith("SD: ")]
    widest = sds.loc[sds["difference"].abs().idxmax()]
    text += (
        f" The largest difference in a standard deviation is {abs(widest['difference']):.2g}, "
        f"for {widest['quantity'][len('SD: '):]}; the log-likelihoods differ by "
        f"{cc.loglik_diff:.2g}."
    )
    if cc.loglik_diff >= 0.01:
        ll = t[t["quantity"] == "logLik"].iloc[0]
        better = "this app's" if ll["ours"] > ll["statsmodels"] else "statsmodels'"
        text += (
            f" The higher log-likelihood ({better}) marks the better estimates: a fit that "
            "stopped early or a singular model can end in different places."
        )
    if not cc.converged:
        text += (
            " statsmodels reported that it did not converge, so a difference may be its "
            "problem rather than this app's."
        )
    return text
