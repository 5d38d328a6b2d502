"""fit for generalized models (lme4's `glmer`): binomial (logit) and Poisson (log) outcomes.

Builds the same FitResult as a linear fit (pages and exports read one shape), with `family`
set and these differences, each as lme4 / performance report them:

* fixed effects carry Wald `z_value` (no df), 95 % Wald CIs, and odds ratios (binomial) or rate
  ratios (Poisson) with CIs on the ratio scale;
* VarCorr has no Residual row and sigma is 1;
* the ICC and Nakagawa R² use the latent-scale distribution variance: π²/3 for the logit link,
  and for the log link the log-normal approximation ln(1 + 1/λ), λ = exp(b0 + τ0 / 2) from the
  intercept-only model with the same random part (Nakagawa et al. 2017; performance's default
  `approximation = "lognormal"`, checked in tests/test_glmm_performance.py);
* with nAGQ > 1 the log-likelihood is lme4's (which leaves out the saturated model's constant).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from hlm_core.design import ModelFrame, model_frame
from hlm_core.errors import ModelError
from hlm_core.families import LOGIT_RESIDUAL_VARIANCE, code_outcome, formula_text
from hlm_core.result import VARCORR_COLUMNS, FitResult
from hlm_core.spec import ModelSpec

MAX_NAGQ = 25
RATIO_NAME = {"binomial": "odds_ratio", "poisson": "rate_ratio"}


def glmm_fixed_columns(family: str) -> list[str]:
    """The fixed-effects table's columns for a generalized model."""
    r = RATIO_NAME[family]
    return ["term", "estimate", "std_error", "z_value", "p_value", "ci_low", "ci_high",
            r, f"{r}_ci_low", f"{r}_ci_high"]


def exported_fixed(fixed: pd.DataFrame, family: str) -> pd.DataFrame:
    """The fixed-effects table as the JSON, workbook and CSV give it (issue 13.7): `ci_low` /
    `ci_high` are the odds (rate) ratio's interval, next to the ratio; the estimate's Wald
    interval on the logit (log) scale is `estimate_ci_low` / `estimate_ci_high`. One meaning
    per name: `ci_*` is always the interval of the number a reader quotes for that family."""
    r = RATIO_NAME[family]
    return fixed.rename(columns={"ci_low": "estimate_ci_low", "ci_high": "estimate_ci_high",
                                 f"{r}_ci_low": "ci_low", f"{r}_ci_high": "ci_high"})


def exported_fixed_note(family: str) -> str:
    """What the exported columns hold, for the workbook's sheet and the README."""
    scale, ratio = ("logit", "odds ratio") if family == "binomial" else ("log", "rate ratio")
    return (f"estimate, std_error, z_value, p_value and estimate_ci_low/high (95% Wald "
            f"interval) are on the {scale} scale; {RATIO_NAME[family]} = exp(estimate), the "
            f"{ratio}, with ci_low/ci_high its 95% interval.")


def check_nagq(spec: ModelSpec, mf: ModelFrame) -> None:
    """lme4's rule: adaptive quadrature only for a single scalar random effect."""
    if spec.nagq == 1:
        return
    if not 1 <= spec.nagq <= MAX_NAGQ:
        raise ModelError(f"The number of quadrature points must be between 1 and {MAX_NAGQ}.")
    if len(mf.blocks) != 1 or mf.blocks[0].Z.shape[1] != 1:
        raise ModelError(
            "Adaptive quadrature (nAGQ above 1) works only for a model with one random "
            "intercept and no random slopes, as in lme4. Use the Laplace approximation "
            "(nAGQ = 1) for this model."
        )


def fit_glmm(frame: pd.DataFrame, spec: ModelSpec, optimizer: str | None = None) -> FitResult:
    """Fit a binomial or Poisson multilevel model. Raises HLMError (plain message)."""
    from hlm_core.engines.glmm_engine import fit_glmm_arrays

    t0 = time.perf_counter()
    mf = model_frame(frame, spec)
    check_nagq(spec, mf)
    t1 = time.perf_counter()
    try:
        raw = fit_glmm_arrays(mf, spec.family, spec.nagq, optimizer=optimizer)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError, RuntimeError) as exc:
        raise ModelError(
            "The model could not be estimated with these data (the numbers did not work out). "
            "Try a simpler model: remove a random slope or a predictor."
        ) from exc
    t2 = time.perf_counter()
    result = build_glmm_result(frame, mf, raw)
    t3 = time.perf_counter()
    result.timing = {"design_s": t1 - t0, "engine_s": t2 - t1, "result_s": t3 - t2,
                     "fit_s": t3 - t0}
    return result


def _fixed_table(mf: ModelFrame, raw, family: str) -> pd.DataFrame:
    se = np.sqrt(np.diag(raw.vcov))
    z = raw.beta / se
    q = stats.norm.ppf(0.975)
    lo, hi = raw.beta - q * se, raw.beta + q * se
    r = RATIO_NAME[family]
    return pd.DataFrame(
        {"term": mf.fixed_names, "estimate": raw.beta, "std_error": se, "z_value": z,
         "p_value": 2 * stats.norm.sf(np.abs(z)), "ci_low": lo, "ci_high": hi,
         r: np.exp(raw.beta), f"{r}_ci_low": np.exp(lo), f"{r}_ci_high": np.exp(hi)},
        columns=glmm_fixed_columns(family),
    )


def _varcorr_table(mf: ModelFrame, raw) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """as.data.frame(VarCorr(glmer_fit)): no Residual row (sigma is fixed at 1)."""
    rows, covs = [], []
    for b, L in zip(mf.blocks, raw.lambda_blocks, strict=True):
        cov = L @ L.T
        covs.append(cov)
        sd = np.sqrt(np.diag(cov))
        names = b.term_names
        rows += [(b.vc_group, n, "", cov[i, i], sd[i]) for i, n in enumerate(names)]
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                corr = cov[i, j] / (sd[i] * sd[j]) if sd[i] > 0 and sd[j] > 0 else np.nan
                rows.append((b.vc_group, names[i], names[j], cov[i, j], corr))
    return pd.DataFrame(rows, columns=VARCORR_COLUMNS), covs


def distribution_variance(frame: pd.DataFrame, mf: ModelFrame, raw, covs) -> float:
    """The latent-scale 'residual' variance: π²/3 (logit); ln(1 + 1/λ) (log link).

    λ = exp(b0 + τ0 / 2) with b0 the intercept and τ0 the random-intercept variance (summed
    over grouping factors) of the model without predictors and the same random part, as
    Nakagawa et al. (2017) and performance::r2_nakagawa (insight's null model; a random slope's
    variance does not enter λ there: the null model has no slope column to weigh it by).
    """
    if mf.spec.family == "binomial":
        return LOGIT_RESIDUAL_VARIANCE
    from hlm_core.engines.glmm_engine import fit_glmm_arrays

    spec = mf.spec
    if mf.fixed_terms:  # the intercept-only model with the same random part
        null = replace(spec, fixed=(), intercept=True, nagq=1)
        try:
            mf0 = model_frame(frame, null)
            raw0 = fit_glmm_arrays(mf0, spec.family, 1)
            covs0 = [L @ L.T for L in raw0.lambda_blocks]
            b0, tau0 = float(raw0.beta[0]), _intercept_variance(mf0, covs0)
        except (ModelError, np.linalg.LinAlgError, ValueError, RuntimeError):
            b0, tau0 = float(np.log(mf.y.mean())), _intercept_variance(mf, covs)
    else:
        b0, tau0 = float(raw.beta[0]), _intercept_variance(mf, covs)
    lam = np.exp(b0 + tau0 / 2)
    return float(np.log1p(1 / lam))


def _intercept_variance(mf: ModelFrame, covs: list[np.ndarray]) -> float:
    """The random intercepts' variances, summed over the grouping factors that have one."""
    return float(sum(c[0, 0] for b, c in zip(mf.blocks, covs, strict=True) if b.intercept))


def _success_labels(frame: pd.DataFrame, mf: ModelFrame) -> dict:
    spec = mf.spec
    out = code_outcome(frame[spec.outcome].iloc[mf.rows].reset_index(drop=True), spec.outcome,
                       spec.family, spec.success, spec.threshold)
    return {"success": out.success, "failure": out.failure, "outcome_meaning": out.description}


def build_glmm_result(frame: pd.DataFrame, mf: ModelFrame, raw) -> FitResult:
    """Assemble the FitResult for a generalized model (same shape as a linear one)."""
    from hlm_core.fit import _is_null, _plain_warnings, _random_variance, _ranef_tables
    from hlm_core.formula import format_formula

    spec = mf.spec
    family = spec.family
    fixed = _fixed_table(mf, raw, family)
    fixef = dict(zip(fixed["term"], fixed["estimate"], strict=True))
    varcorr, covs = _varcorr_table(mf, raw)
    n = mf.nobs
    df_ll = len(raw.beta) + len(raw.theta)
    loglik = raw.loglik - raw.saturated_loglik if spec.nagq > 1 else raw.loglik
    var_fixed = float(np.var(mf.X @ raw.beta, ddof=1)) if n > 1 else 0.0
    var_random = _random_variance(mf, covs)
    var_dist = distribution_variance(frame, mf, raw, covs)
    total = var_fixed + var_random + var_dist
    null = _is_null(spec, mf)
    extra: dict = {"covariances": {b.vc_group: c for b, c in zip(mf.blocks, covs, strict=True)},
                   "distribution_variance": var_dist, "link": _link(family),
                   "eta": raw.eta, "icc_definition": icc_definition(family),
                   **_success_labels(frame, mf)}
    if null:
        taus = {b.vc_group: float(c[0, 0]) for b, c in zip(mf.blocks, covs, strict=True)}
        extra["icc_by_group"] = {g: t / (sum(taus.values()) + var_dist) for g, t in taus.items()}
    # conditional SDs: lme4's condVar with the rows weighted by the final PIRLS weights
    mu = _inverse_link(family, raw.eta)
    w = mu * (1 - mu) if family == "binomial" else mu
    weighted = replace(mf, blocks=[replace(b, Z=b.Z * np.sqrt(w)[:, None]) for b in mf.blocks])
    ranef, coef, cv_warning = _ranef_tables(weighted, raw, fixef)
    singular, warns = _plain_warnings(mf, raw, varcorr)
    if not raw.hessian_ok:
        warns.append("The standard errors come from a simpler approximation because the "
                     "model's curvature could not be measured at the estimate; treat them "
                     "as rough.")
    if cv_warning:
        warns.append(cv_warning)
    notes = list(mf.notes)
    if spec.nagq > 1:
        notes.append("As in lme4, with adaptive quadrature the log-likelihood leaves out a "
                     "constant, so compare it only with other fits that use the same setting.")
    return FitResult(
        spec=spec, formula=formula_text(format_formula(spec), spec.threshold), reml=False,
        nobs=n, ngroups=dict(mf.groups),
        fixed=fixed, varcorr=varcorr, sigma=1.0, loglik=loglik, df_loglik=df_ll,
        aic=-2 * loglik + 2 * df_ll, bic=-2 * loglik + df_ll * np.log(n), deviance=-2 * loglik,
        converged=raw.converged, singular=singular, warnings=warns,
        icc=var_random / (var_random + var_dist), icc_adjusted=not null,
        r2_marginal=var_fixed / total, r2_conditional=(var_fixed + var_random) / total,
        ranef=ranef, coef=coef, rows_total=mf.rows_total, rows_dropped=mf.rows_dropped,
        dropped_by_column=dict(mf.dropped_by_column), notes=notes, engine="mixedlm",
        model_frame=mf, extra=extra, family=family,
    )


def icc_definition(family: str) -> str:
    """How the latent-scale ICC is defined, in one sentence for results pages and exports
    (Unicode π, ², λ: it is read on pages, in the CLI and in workbooks, never typeset)."""
    if family == "binomial":
        return ("ICC on the latent (logit) scale: the between-group variance divided by itself "
                "plus π²/3 (3.29), the variance of the logistic distribution that stands in "
                "for the pupil-level variance of a yes/no outcome.")
    return ("ICC on the latent (log) scale: the between-group variance divided by itself plus "
            "ln(1 + 1/λ), the log-normal approximation of the count's own variance, with "
            "λ the average count from the model without predictors (Nakagawa et al. 2017; "
            "as performance::icc in R).")


def _link(family: str) -> str:
    return {"binomial": "logit", "poisson": "log"}[family]


def _inverse_link(family: str, eta: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-eta)) if family == "binomial" else np.exp(eta)

