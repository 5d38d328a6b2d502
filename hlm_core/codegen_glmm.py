"""The parts of the generated R and Python code that differ for yes/no and count models:
lme4's `glmer` with the family and nAGQ, the outcome coded as the app coded it (the chosen
success value, or the pass mark as `I(score >= 500)`), and Wald z tables with odds / rate ratios.
Names stay escaped literals (see `codegen_shared`)."""

from __future__ import annotations

from hlm_core.codegen_shared import _num, _r_col, _r_formula, r_string, spec_with_group_means
from hlm_core.families import LINKS, formula_text, method_label
from hlm_core.formula import format_formula
from hlm_core.spec import ModelSpec


def r_glmm_fit(spec: ModelSpec) -> list[str]:
    """glmer(...) for the spec (after the rows and centring lines)."""
    lines = [""]
    if spec.success is not None:
        col = _r_col(spec.outcome)
        lines += [f"# success = {spec.success!r} (chosen in the app): 1 for it, 0 otherwise",
                  f"{col} <- as.integer(as.character({col}) == {r_string(spec.success)})"]
    formula = formula_text(_r_formula(spec_with_group_means(spec)), spec.threshold)
    nagq = f", nAGQ = {spec.nagq}" if spec.nagq > 1 else ""
    lines += [f"fit <- glmer({formula},",
              f"    data = d, family = {spec.family}{nagq})"]
    return lines


R_GLMM_OUTPUT = [
    "summary(fit)  # fixed effects with Wald z tests, as in the app",
    "",
    "# 95% Wald confidence intervals, and the ratios (exp) with theirs, as in the app",
    "co <- coef(summary(fit))",
    "q <- qnorm(0.975)",
    "lower <- co[, \"Estimate\"] - q * co[, \"Std. Error\"]",
    "upper <- co[, \"Estimate\"] + q * co[, \"Std. Error\"]",
    "cbind(co, lower, upper, ratio = exp(co[, \"Estimate\"]), ratio_lower = exp(lower),",
    "      ratio_upper = exp(upper))",
    "",
    "print(VarCorr(fit), comp = c(\"Variance\", \"Std.Dev.\"))  # variance components",
    "re <- ranef(fit, condVar = TRUE)  # each group's effect, with conditional variances",
    "lapply(re, head, 10)",
    "# latent-scale ICC and R2 as in the app (needs the performance package):",
    "# performance::icc(fit); performance::r2_nakagawa(fit)",
    "",
    "json_file <- Sys.getenv(\"HLM_CODEGEN_JSON\")",
    "if (nzchar(json_file)) {",
    "  fixed <- data.frame(term = rownames(co), estimate = co[, \"Estimate\"],",
    "                      std_error = co[, \"Std. Error\"], z_value = co[, \"z value\"],",
    "                      row.names = NULL, check.names = FALSE)",
    "  jsonlite::write_json(list(fixed = fixed, varcorr = as.data.frame(VarCorr(fit)),",
    "                            nobs = nobs(fit), loglik = as.numeric(logLik(fit))),",
    "                       json_file, digits = NA, auto_unbox = TRUE)",
    "}",
]


def py_glmm_fields(spec: ModelSpec) -> list[str]:
    """The spec line that makes the Python script fit the same generalized model."""
    args = [f"family={spec.family!r}"]
    if spec.nagq != 1:
        args.append(f"nagq={spec.nagq}")
    if spec.success is not None:
        args.append(f"success={spec.success!r}")
    if spec.threshold is not None:
        args.append(f"threshold=({spec.threshold[0]!r}, {_num(spec.threshold[1])})")
    return [f"spec = spec.with_({', '.join(args)})  # the outcome type, as in the app"]


def describe_glmm(spec: ModelSpec) -> list[str]:
    """The header comment lines for a generalized model (before `_one_line` escaping)."""
    lines = [f"Model: {formula_text(format_formula(spec), spec.threshold)}",
             f"A {spec.family} model with a {LINKS[spec.family]} link, estimated by maximum "
             f"likelihood ({method_label(spec.nagq)}); Wald z tests (as lme4's glmer)."]
    if spec.success is not None:
        lines.append(f"{spec.outcome} = {spec.success} counts as success.")
    return lines
