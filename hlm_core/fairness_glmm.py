"""Fair comparisons for yes/no and count models, on the model's (logit or log) scale.

Reliability: lambda_j = 1 - condVar_j / tau00, the share of the between-group variance the
group's own data pin down. For a linear random-intercept model this is exactly Raudenbush &
Bryk's tau00 / (tau00 + sigma^2 / n_j); for these models it uses the Laplace conditional
variance (lme4's condVar), since there is no single pupil-level variance.
Shrinkage: a group's "own" intercept is the fixed intercept plus how far its own outcomes sit
from what the fixed part expects for its pupils, on the link scale (empirical logit with the
usual 0.5 correction, or log of the count rate), beside the model's shrunken value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hlm_core.design import INTERCEPT
from hlm_core.effects_glmm import inverse_link
from hlm_core.errors import ModelError
from hlm_core.result import FitResult


def reliability_glmm(result: FitResult, mf, b) -> pd.DataFrame:
    tau00 = result.extra["covariances"][b.vc_group][0, 0]
    re_ = result.ranef[b.group]
    sd = re_.loc[re_["term"] == INTERCEPT, "cond_sd"].to_numpy(dtype=float)
    lam = 1 - sd**2 / tau00 if tau00 > 0 else np.zeros_like(sd)
    n = mf.group_sizes[b.group]
    return pd.DataFrame({"level": b.levels, "n": np.asarray(n).astype(int),
                         "reliability": np.clip(lam, 0, 1)})


def shrinkage_glmm(result: FitResult, term: str, mf, b) -> pd.DataFrame:
    if term != INTERCEPT:
        raise ModelError("For yes/no and count models the own-versus-model comparison is "
                         "shown for the intercept only.")
    fixed_eta = mf.X @ result.fixed["estimate"].to_numpy()
    mu = inverse_link(result, fixed_eta)
    G = b.n_levels
    n = np.bincount(b.codes, minlength=G).astype(float)
    s = np.bincount(b.codes, weights=mf.y, minlength=G)
    expected = np.bincount(b.codes, weights=mu, minlength=G)
    if result.family == "binomial":
        own_link = np.log((s + 0.5) / (n - s + 0.5))
        exp_p = expected / n
        expected_link = np.log(exp_p / (1 - exp_p))
    else:
        own_link = np.log((s + 0.5) / n)
        expected_link = np.log(expected / n)
    fixef = result.fixef().get(INTERCEPT, 0.0)
    co = result.coef[b.group]
    model = co.loc[co["term"] == INTERCEPT, "value"].to_numpy()
    return pd.DataFrame({"level": b.levels, "n": mf.group_sizes[b.group],
                         "own_estimate": fixef + own_link - expected_link,
                         "model_estimate": model, "average": fixef})
