"""The cross-check engine: statsmodels MixedLM, an independent implementation.

It gets the same arrays as mixedlm (never a formula). Use statsmodels' default optimizer list:
`method=['lbfgs']` alone was seen to stop at wrong optima on real data while reporting success.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from hlm_core.design import ModelFrame


@dataclass
class SMFit:
    beta: np.ndarray
    std_error: np.ndarray
    cov_re: np.ndarray  # covariance of the random effects (variance units)
    sigma2: float
    loglik: float
    converged: bool
    messages: list[str] = field(default_factory=list)


def supports(mf: ModelFrame) -> bool:
    """statsmodels handles one grouping factor with one (correlated) block."""
    return len(mf.blocks) == 1


def fit_arrays(mf: ModelFrame, reml: bool) -> SMFit:
    from statsmodels.regression.mixed_linear_model import MixedLM

    b = mf.blocks[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = MixedLM(mf.y, mf.X, groups=b.codes, exog_re=b.Z)
        res = model.fit(reml=reml)
    return SMFit(
        beta=np.asarray(res.fe_params, dtype=float),
        std_error=np.asarray(res.bse_fe, dtype=float),
        cov_re=np.asarray(res.cov_re, dtype=float),
        sigma2=float(res.scale),
        loglik=float(res.llf),
        converged=bool(res.converged),
        messages=[str(w.message) for w in caught],
    )
