"""The 95% intervals in the generated code: lme4's confint (likelihood profile) or bootMer
(parametric bootstrap, percentile) in R, hlm_core.ci_output.compute_intervals in Python, as the
app computed them."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hlm_core.spec import ModelSpec


@dataclass(frozen=True)
class CISettings:
    """Which 95% intervals the app showed: "profile" or "boot" (with its draws and seed)."""

    method: str = "profile"
    nsim: int = 500
    seed: int = 2024


def r_intervals(ci: CISettings | None) -> list[str]:
    """lme4's confint (profile) or bootMer (parametric bootstrap, percentile) lines."""
    if ci is None:
        return []
    if ci.method == "profile":
        return [
            "",
            "# 95% intervals for the SDs, correlations and residual SD: likelihood profile,",
            "# as in the app (confint's default method; slow on very large files)",
            "confint(fit, parm = \"theta_\", method = \"profile\", oldNames = FALSE)",
        ]
    return [
        "",
        "# 95% intervals by parametric bootstrap (bootMer, percentile), as in the app: the",
        "# SDs, correlations, residual SD and the ICC. R's random numbers differ from the",
        "# app's, so the bounds differ a little from draw to draw.",
        "icc_of <- function(m) {  # mean random-effect variance over the total (Nakagawa)",
        "  v <- sigma(m)^2 * sum((getME(m, \"Z\") %*% t(getME(m, \"Lambdat\")))^2) / nobs(m)",
        "  v / (v + sigma(m)^2)",
        "}",
        "boot_stats <- function(m) {",
        "  vc <- as.data.frame(VarCorr(m))",
        "  name <- trimws(paste(vc$grp, ifelse(is.na(vc$var1), \"\", vc$var1),",
        "                       ifelse(is.na(vc$var2), \"\", vc$var2)))",
        "  c(setNames(vc$sdcor, name), ICC = icc_of(m))",
        "}",
        f"set.seed({int(ci.seed)})",
        f"b <- bootMer(fit, boot_stats, nsim = {int(ci.nsim)}, type = \"parametric\")",
        "confint(b, type = \"perc\")",
    ]


def py_intervals(ci: CISettings | None) -> list[str]:
    if ci is None:
        return []
    how = ("\"profile\"" if ci.method == "profile"
           else f"\"boot\", nsim={int(ci.nsim)}, seed={int(ci.seed)}")
    return [
        "",
        "# 95% intervals for the SDs, correlations (and residual SD) and the ICC, as in the app",
        "from hlm_core.ci_output import compute_intervals  # noqa: E402",
        "",
        f"intervals = compute_intervals(result, {how})",
        "print(intervals.table.to_string(index=False))",
        "if intervals.icc is not None:",
        "    print(f\"ICC 95% CI [{intervals.icc[0]:.3f}, {intervals.icc[1]:.3f}]\")",
    ]


def r_glmm_intervals(spec: ModelSpec, ci: CISettings | None) -> list[str]:
    """confint (profile) or bootMer (percentile) lines for a glmer fit: SDs and correlations
    (these families have no residual SD) and the latent ICC, defined as the app defines it."""
    if ci is None:
        return []
    if ci.method == "profile":
        return [
            "",
            "# 95% intervals for the SDs and correlations: likelihood profile, as in the app",
            "# (confint's default method; it refits the fixed effects at every profile point)",
            "confint(fit, parm = \"theta_\", method = \"profile\", oldNames = FALSE)",
        ]
    lines = [
        "",
        "# 95% intervals by parametric bootstrap (bootMer, percentile), as in the app: the",
        "# SDs, correlations and the latent ICC. R's random numbers differ from the app's, so",
        "# the bounds differ a little from draw to draw.",
        "mean_re_var <- function(m) {  # the mean random-effect variance (sigma is 1 here)",
        "  sum((getME(m, \"Z\") %*% t(getME(m, \"Lambdat\")))^2) / nobs(m)",
        "}",
    ]
    if spec.family == "binomial":
        lines.append("dist_var <- function(m, v) pi^2 / 3  # the logistic distribution's")
    elif not spec.fixed:
        lines.append("dist_var <- function(m, v) unname(log1p(1 / exp(fixef(m)[1] + v / 2)))")
    else:
        from hlm_core.codegen_shared import _r_formula, spec_with_group_means

        null = replace(spec, fixed=(), intercept=True, nagq=1)
        lines += [
            "# log(1 + 1/lambda), lambda from the model without predictors, held at its estimate",
            f"fit0 <- glmer({_r_formula(spec_with_group_means(null))}, data = d, family = poisson)",
            "vd0 <- unname(log1p(1 / exp(fixef(fit0)[1] + mean_re_var(fit0) / 2)))",
            "dist_var <- function(m, v) vd0",
        ]
    lines += [
        "boot_stats <- function(m) {",
        "  vc <- as.data.frame(VarCorr(m))",
        "  name <- trimws(paste(vc$grp, ifelse(is.na(vc$var1), \"\", vc$var1),",
        "                       ifelse(is.na(vc$var2), \"\", vc$var2)))",
        "  v <- mean_re_var(m)",
        "  c(setNames(vc$sdcor, name), ICC = v / (v + dist_var(m, v)))",
        "}",
        f"set.seed({int(ci.seed)})",
        f"b <- bootMer(fit, boot_stats, nsim = {int(ci.nsim)}, type = \"parametric\")",
        "confint(b, type = \"perc\")",
    ]
    return lines
