"""fit(frame, spec) -> FitResult: model_frame → engine → one result object (lme4's mkMerMod).

Everything a page, export or command shows is computed here, once: fixed effects with
Satterthwaite df, VarCorr in lme4's layout, BLUPs with conditional SDs, ICC, Nakagawa R², and
warnings rewritten in plain words. Nothing after this step refits or needs the engine.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy import stats

from hlm_core.checks import hessian_warnings, scale_warning
from hlm_core.condvar import conditional_covariances
from hlm_core.design import INTERCEPT, ModelFrame, model_frame
from hlm_core.engines.mixedlm_engine import RawFit, fit_arrays
from hlm_core.errors import ModelError
from hlm_core.result import FIXED_COLUMNS, VARCORR_COLUMNS, FitResult
from hlm_core.spec import ModelSpec

SINGULAR_TOL = 1e-4  # lme4's isSingular() tolerance on the relative covariance factor


def fit(frame: pd.DataFrame, spec: ModelSpec, optimizer: str | None = None) -> FitResult:
    """Fit `spec` to `frame`. Raises HLMError (plain message) for anything the user can fix."""
    if spec.family != "gaussian":
        from hlm_core.glmm import fit_glmm

        return fit_glmm(frame, spec, optimizer=optimizer)
    t0 = time.perf_counter()
    mf = model_frame(frame, spec)
    t1 = time.perf_counter()
    try:
        raw = fit_arrays(mf, spec.reml, optimizer=optimizer)
    # mixedlm raises RuntimeError when its last step fails (seen with predictors in the 1e8s)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError, RuntimeError) as exc:
        raise ModelError(
            "The model could not be estimated with these data (the numbers did not work out). "
            + _rescue_hint(mf)
        ) from exc
    t2 = time.perf_counter()
    result = build_result(mf, raw)
    t3 = time.perf_counter()
    result.timing = {
        "design_s": t1 - t0, "engine_s": t2 - t1, "result_s": t3 - t2, "fit_s": t3 - t0
    }
    return result


LARGE_VALUE = 1e4  # predictors beyond this are worth rescaling before blaming the model


def _rescue_hint(mf: ModelFrame) -> str:
    """What to change after a failed fit: rescale a predictor with huge values, if any (as
    lme4's "predictor variables are on very different scales"), else simplify the model."""
    big = [
        (v.name, max(abs(v.minimum), abs(v.maximum)))
        for v in mf.variables.values()
        if v.kind == "numeric" and max(abs(v.minimum), abs(v.maximum)) > LARGE_VALUE
    ]
    if big:
        name, size = max(big, key=lambda t: t[1])
        return (
            f"'{name}' has very large values (up to {size:.3g}): divide it by a power of ten "
            "(for example, income in thousands) in your data and fit again."
        )
    return "Try a simpler model: remove a random slope or a predictor."


def _fixed_table(mf: ModelFrame, raw: RawFit) -> pd.DataFrame:
    se = np.sqrt(np.diag(raw.vcov))
    t = raw.beta / se
    df = raw.df
    p = 2 * stats.t.sf(np.abs(t), df)
    q = stats.t.ppf(0.975, df)
    return pd.DataFrame(
        {
            "term": mf.fixed_names,
            "estimate": raw.beta,
            "std_error": se,
            "df": df,
            "t_value": t,
            "p_value": p,
            "ci_low": raw.beta - q * se,
            "ci_high": raw.beta + q * se,
        },
        columns=FIXED_COLUMNS,
    )


def _varcorr_table(mf: ModelFrame, raw: RawFit) -> tuple[pd.DataFrame, list[np.ndarray]]:
    rows = []
    covs = []
    for b, L in zip(mf.blocks, raw.lambda_blocks, strict=True):
        cov = raw.sigma**2 * (L @ L.T)
        covs.append(cov)
        names = b.term_names
        sd = np.sqrt(np.diag(cov))
        for i, n in enumerate(names):
            rows.append((b.vc_group, n, "", cov[i, i], sd[i]))
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                corr = cov[i, j] / (sd[i] * sd[j]) if sd[i] > 0 and sd[j] > 0 else np.nan
                rows.append((b.vc_group, names[i], names[j], cov[i, j], corr))
    rows.append(("Residual", "", "", raw.sigma**2, raw.sigma))
    return pd.DataFrame(rows, columns=VARCORR_COLUMNS), covs


def _random_variance(mf: ModelFrame, covs: list[np.ndarray]) -> float:
    """Johnson's (2014) mean random-effect variance, as insight::get_variance_random."""
    total = 0.0
    for b, cov in zip(mf.blocks, covs, strict=True):
        Z = b.Z  # the mean of z_i' cov z_i over the rows, as trace(cov Z'Z) / n
        total += float(np.sum(cov * (Z.T @ Z))) / len(Z)
    return total


def _is_null(spec: ModelSpec, mf: ModelFrame) -> bool:
    return not mf.fixed_terms and all(not b.terms for b in mf.blocks)


def _ranef_tables(
    mf: ModelFrame, raw: RawFit, fixef: dict[str, float]
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], str | None]:
    warning = None
    try:
        cond = conditional_covariances(mf.blocks, raw.lambda_blocks, raw.sigma)
    except MemoryError:
        cond = [np.full((b.n_levels, b.Z.shape[1], b.Z.shape[1]), np.nan) for b in mf.blocks]
        warning = (
            "Intervals for the group effects were not computed: the model has too many "
            "groups outside the largest grouping level for this to be done quickly."
        )
    per_group: dict[str, list[pd.DataFrame]] = {}
    coef_group: dict[str, list[pd.DataFrame]] = {}
    offset = 0
    for b, cv in zip(mf.blocks, cond, strict=True):
        q = b.Z.shape[1]
        vals = raw.b[offset : offset + b.n_levels * q].reshape(b.n_levels, q)
        offset += b.n_levels * q
        sizes = mf.group_sizes[b.group]
        for k, term in enumerate(b.term_names):
            sd = np.sqrt(np.maximum(cv[:, k, k], 0.0))
            levels = pd.Series(b.levels, dtype=object)
            per_group.setdefault(b.group, []).append(
                pd.DataFrame(
                    {"level": levels, "term": term, "value": vals[:, k], "cond_sd": sd, "n": sizes}
                )
            )
            coef_group.setdefault(b.group, []).append(
                pd.DataFrame(
                    {"level": levels, "term": term, "value": vals[:, k] + fixef.get(term, 0.0)}
                )
            )
    ranef = {g: pd.concat(v, ignore_index=True) for g, v in per_group.items()}
    coef = {g: pd.concat(v, ignore_index=True) for g, v in coef_group.items()}
    return ranef, coef, warning


def _plain_warnings(mf: ModelFrame, raw: RawFit, varcorr: pd.DataFrame) -> tuple[bool, list[str]]:
    """lme4's isSingular() (a diagonal element of a relative covariance factor at ~0), told in
    words: which SD is ~0, or which correlation sits at +-1, and what to try."""
    msgs: list[str] = []
    singular = False
    for b, L in zip(mf.blocks, raw.lambda_blocks, strict=True):
        if not (np.abs(np.diag(L)) < SINGULAR_TOL).any():
            continue
        singular = True
        cov = raw.sigma**2 * (L @ L.T)
        sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
        explained = False
        for i, term in enumerate(b.term_names):
            if sd[i] < SINGULAR_TOL * raw.sigma:
                explained = True
                if term == INTERCEPT:
                    msgs.append(
                        f"The model estimates how much the average differs between {b.group} "
                        "groups as zero (a 'singular fit'): the data show no differences between "
                        f"{b.group} groups beyond chance. A model without this level may do."
                    )
                else:
                    msgs.append(
                        f"The model estimates how much the effect of {term} differs between "
                        f"{b.group} groups as zero (a 'singular fit'): the data can't support "
                        f"this random slope. Try removing the random slope for {term}."
                    )
        names = b.term_names
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                if sd[i] > 0 and sd[j] > 0 and abs(cov[i, j] / (sd[i] * sd[j])) > 0.99:
                    explained = True
                    msgs.append(
                        f"The correlation between {names[i]} and {names[j]} across {b.group} "
                        f"groups is estimated at {cov[i, j] / (sd[i] * sd[j]):+.2f}, at its "
                        "limit (a 'singular fit'): the data can't tell these apart. Try the "
                        "uncorrelated version of the random slope (||) or remove the slope."
                    )
        if not explained:
            msgs.append(
                f"The random effects for {b.group} ({', '.join(names)}) are estimated as "
                "exactly related to each other (a 'singular fit'). Try a simpler random part."
            )
    if not raw.converged:
        msgs.append(
            "The fitting routine did not settle on an answer (no convergence), so the numbers "
            "may be wrong. Try centring the predictors, removing a random slope, or the other "
            "optimizer."
        )
    for m in dict.fromkeys(raw.messages):
        low = m.lower()
        if "converge" in low or "singular" in low or "boundary" in low:
            continue  # said above, in plain words
        msgs.append(f"The fitting engine added a technical note: {m.strip()}")
    for lv, n in mf.groups.items():
        if n < 5:
            msgs.append(
                f"Only {n} groups in '{lv}': variance estimates from fewer than 5 groups are "
                "very uncertain. Treat the between-group results with caution."
            )
    return singular, msgs


def build_result(mf: ModelFrame, raw: RawFit) -> FitResult:
    """Assemble the FitResult tables from the design and the engine's estimates."""
    from hlm_core.formula import format_formula

    spec = mf.spec
    fixed = _fixed_table(mf, raw)
    fixef = dict(zip(fixed["term"], fixed["estimate"], strict=True))
    varcorr, covs = _varcorr_table(mf, raw)
    n = mf.nobs
    n_theta = len(raw.theta)
    df_ll = len(raw.beta) + n_theta + 1
    aic = -2 * raw.loglik + 2 * df_ll
    bic = -2 * raw.loglik + df_ll * np.log(n)

    sigma2 = raw.sigma**2
    var_fixed = float(np.var(mf.X @ raw.beta, ddof=1)) if n > 1 else 0.0
    var_random = _random_variance(mf, covs)
    total = var_fixed + var_random + sigma2
    r2m = var_fixed / total
    r2c = (var_fixed + var_random) / total
    null = _is_null(spec, mf)
    extra: dict = {
        "covariances": {b.vc_group: c for b, c in zip(mf.blocks, covs, strict=True)},
        "theta": raw.theta,
    }
    if null:
        taus = {b.vc_group: float(c[0, 0]) for b, c in zip(mf.blocks, covs, strict=True)}
        denom = sum(taus.values()) + sigma2
        icc = sum(taus.values()) / denom
        extra["icc_by_group"] = {g: t / denom for g, t in taus.items()}
    else:
        icc = var_random / (var_random + sigma2)

    ranef, coef, cv_warning = _ranef_tables(mf, raw, fixef)
    singular, warns = _plain_warnings(mf, raw, varcorr)
    if not singular and raw.theta_hessian is not None:  # lme4's checkConv skips singular fits
        warns.extend(hessian_warnings(raw.theta_hessian))
    scale = scale_warning(mf.X, mf.fixed_names)  # lme4's checkScaleX, on the kept columns
    if scale:
        warns.insert(0, scale)
    if cv_warning:
        warns.append(cv_warning)
    notes = list(mf.notes)
    return FitResult(
        spec=spec,
        formula=format_formula(spec),
        reml=spec.reml,
        nobs=n,
        ngroups=dict(mf.groups),
        fixed=fixed,
        varcorr=varcorr,
        sigma=raw.sigma,
        loglik=raw.loglik,
        df_loglik=df_ll,
        aic=aic,
        bic=bic,
        deviance=raw.criterion,
        converged=raw.converged,
        singular=singular,
        warnings=warns,
        icc=icc,
        icc_adjusted=not null,
        r2_marginal=r2m,
        r2_conditional=r2c,
        ranef=ranef,
        coef=coef,
        rows_total=mf.rows_total,
        rows_dropped=mf.rows_dropped,
        dropped_by_column=dict(mf.dropped_by_column),
        notes=notes,
        engine="mixedlm",
        model_frame=mf,
        extra=extra,
    )
