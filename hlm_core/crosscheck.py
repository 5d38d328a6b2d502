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
    table: pd.DataFrame  # quantity, ours, statsmodels, difference
    max_fixed_diff: float  # largest |difference| of a fixed effect, in units of its SE
    max_sd_diff: float  # largest |difference| of a random-effect SD or the residual SD
    loglik_diff: float
    converged: bool
    notes: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return self.max_fixed_diff < 0.01 and self.loglik_diff < 0.01


def crosscheck(frame: pd.DataFrame, result: FitResult) -> CrossCheck:
    mf = model_frame(frame, result.spec)
    if not statsmodels_engine.supports(mf):
        raise ModelError(
            "The cross-check engine handles one grouping level only; this model has "
            f"{len(mf.blocks)} random-effect blocks."
        )
    sm = statsmodels_engine.fit_arrays(mf, result.reml)
    rows = []
    se = result.fixed["std_error"].to_numpy()
    ours = result.fixed["estimate"].to_numpy()
    for term, a, b in zip(result.fixed["term"], ours, sm.beta, strict=True):
        rows.append((f"fixed: {term}", a, b, a - b))
    block = mf.blocks[0]
    cov_ours = result.extra["covariances"][block.vc_group]
    sd_ours = np.sqrt(np.diag(cov_ours))
    sd_sm = np.sqrt(np.maximum(np.diag(sm.cov_re), 0))
    for t, a, b in zip(block.term_names, sd_ours, sd_sm, strict=True):
        rows.append((f"SD: {t}", a, b, a - b))
    sm_sigma = float(np.sqrt(sm.sigma2))
    rows.append(("SD: Residual", result.sigma, sm_sigma, result.sigma - sm_sigma))
    rows.append(("logLik", result.loglik, sm.loglik, result.loglik - sm.loglik))
    table = pd.DataFrame(rows, columns=["quantity", "ours", "statsmodels", "difference"])
    sd_diffs = np.abs(np.append(sd_ours - sd_sm, result.sigma - np.sqrt(sm.sigma2)))
    return CrossCheck(
        table=table,
        max_fixed_diff=float(np.max(np.abs(ours - sm.beta) / se)),
        max_sd_diff=float(np.max(sd_diffs)),
        loglik_diff=float(abs(result.loglik - sm.loglik)),
        converged=sm.converged,
        notes=[m for m in sm.messages if m],
    )
