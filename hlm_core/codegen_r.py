"""The R script (lme4/lmerTest) that redoes what the app did; see `hlm_core.codegen` for why
and how names are escaped.
"""

from __future__ import annotations

from hlm_core.codegen_ci import CISettings, r_glmm_intervals, r_intervals
from hlm_core.codegen_glmm import R_GLMM_OUTPUT, r_glmm_fit
from hlm_core.codegen_shared import (
    _R_NA_STRINGS,
    _centred,
    _centring_columns,
    _describe,
    _num,
    _r_col,
    _r_formula,
    _r_vector,
    _suffix,
    r_string,
    spec_with_group_means,
)
from hlm_core.codegen_tutorial import PredSlope, r_tutorial_json, r_tutorial_steps
from hlm_core.design import group_mean_name
from hlm_core.io_common import MISSING_TEXTS
from hlm_core.spec import ModelSpec
from hlm_core.transforms import source_columns


def _r_read(file_name: str, sheet: str | None) -> list[str]:
    ext = _suffix(file_name)
    na = "c(" + ", ".join(r_string(s) for s in _R_NA_STRINGS) + ")"
    to_factor = (
        "d[] <- lapply(d, function(v) if (is.character(v)) factor(v) else v)"
        "  # text columns are categories"
    )
    if ext in (".xlsx", ".xlsm"):
        sheet_arg = f", sheet = {r_string(sheet)}" if sheet is not None else ""
        return [
            "# needs the readxl package: install.packages(\"readxl\")",
            f"d <- as.data.frame(readxl::read_excel(file{sheet_arg}, na = {na}))",
            to_factor,
        ]
    if ext in (".sav", ".zsav", ".dta"):
        reader = "read_dta" if ext == ".dta" else "read_sav"
        return [
            "# needs the haven package: install.packages(\"haven\")",
            f"d <- haven::{reader}(file)",
            "# value labels become categories when every value has one (as in the app)",
            "d <- as.data.frame(lapply(d, function(v) {",
            "  if (!haven::is.labelled(v)) return(v)",
            "  if (all(v[!is.na(v)] %in% attr(v, \"labels\"))) "
            "factor(as.character(haven::as_factor(v)))",
            "  else as.vector(haven::zap_labels(v))",
            "}), check.names = FALSE)",
        ]
    if ext in (".parquet", ".pq"):
        return [
            "# needs the arrow package: install.packages(\"arrow\")",
            "d <- as.data.frame(arrow::read_parquet(file))",
            to_factor,
        ]
    reader = "read.delim" if ext in (".tsv", ".tab", ".txt", ".dat") else "read.csv"
    lines = []
    if reader == "read.delim":
        lines.append("# tab-separated; for a comma-separated file use read.csv")
    else:
        lines.append("# for semicolons and decimal commas (3,5) use read.csv2 instead")
    lines.append(
        f"d <- {reader}(file, colClasses = \"character\", check.names = FALSE,\n"
        "    na.strings = character(0), fileEncoding = \"UTF-8-BOM\")"
    )
    lines.append(
        "names(d) <- trimws(gsub(\"\\\\s+\", \" \", names(d)))"
        "  # as the app: no extra spaces in names"
    )
    lines += [
        "# Each column as the app reads it (R's defaults differ, and would change N or the",
        "# groups): spaces around values removed ('S01 ' is 'S01'), these texts are missing,",
        "# numbers are numbers except codes with a leading zero ('01'), which stay categories",
        f"na_strings <- {_r_vector(sorted(MISSING_TEXTS))}",
        "d[] <- lapply(d, function(v) {",
        "  v <- trimws(v)",
        "  v[v %in% na_strings] <- NA",
        "  num <- suppressWarnings(as.numeric(v))",
        "  if (all(is.na(num) == is.na(v)) && !any(grepl(\"^[+-]?0[0-9]\", v))) num else factor(v)",
        "})",
    ]
    return lines


def _r_data_changes(
    column_types: dict[str, str] | None, missing_codes: dict[str, list[float]] | None
) -> list[str]:
    lines: list[str] = []
    if missing_codes:
        lines.append("")
        lines.append("# Codes that mean 'missing' in these columns (set in the app)")
        for col, values in missing_codes.items():
            nums = ", ".join(_num(v) for v in values)
            lines.append(f"{_r_col(col)}[{_r_col(col)} %in% c({nums})] <- NA")
    if column_types:
        lines.append("")
        lines.append("# Column types switched in the app")
        for col, kind in column_types.items():
            c = _r_col(col)
            if kind == "categorical":
                lines.append(f"{c} <- factor(as.character({c}))  # categories, alphabetical")
            elif kind == "numeric":
                lines.append(
                    f"{c} <- as.numeric(sub(\",\", \".\", trimws(as.character({c})), "
                    "fixed = TRUE))"
                )
            else:
                raise ValueError(f"Unknown column type {kind!r}: use 'numeric' or 'categorical'.")
    return lines


def r_code(
    spec: ModelSpec,
    file_name: str,
    column_types: dict[str, str] | None = None,
    sheet: str | None = None,
    *,
    missing_codes: dict[str, list[float]] | None = None,
    pred_slope: PredSlope | None = None,
    plan_call: str | None = None,
    ci: CISettings | None = None,
) -> str:
    """An R script that refits `spec` with lme4/lmerTest on the user's file, then walks the
    R tutorial's steps (`hlm_core.codegen_tutorial`): the null model and `anova()` against
    it, `coef`/`ranef`, the caterpillar data and `pred.slope` (with `pred_slope`'s range,
    step and held values, as the Slopes page used them).

    `plan_call` (hlm_core.plan_views.powerupr_call) appends the study plan's PowerUpR call.

    `column_types` maps the columns the user switched in the app to "numeric" or
    "categorical"; `missing_codes` maps columns to values the user marked as missing (the
    app applies codes first, then types, as here). The script reads the file as R users do,
    keeps the complete rows of the model's columns (so centring uses the model's rows, as
    hlm_core does), centres, fits with lmer() and prints the summary, confidence intervals,
    variance components and group effects. Setting the environment variable
    HLM_CODEGEN_JSON to a file path makes it also save the numbers as JSON (used by tests).
    """
    glmm = spec.family != "gaussian"
    lines = ["# Reproduces the model fitted in the HLM dashboard, with lme4 and lmerTest."]
    lines += [f"# {ln}" for ln in _describe(spec)]
    lines += [
        "# Needs: install.packages(\"lmerTest\")  (installs lme4 too)",
        "",
        "library(lme4)" if glmm else "library(lmerTest)",
        "",
        f"file <- {r_string(file_name)}  # change to where the file is on your computer",
    ]
    lines += _r_read(file_name, sheet)
    lines += _r_data_changes(column_types, missing_codes)
    lines += _r_model_rows(spec)
    if glmm:  # glmer, its Wald tables and JSON (the tutorial steps are for lmer fits)
        lines += r_glmm_fit(spec) + R_GLMM_OUTPUT
        lines += r_glmm_intervals(spec, ci)  # confint or bootMer, as the app's intervals
    else:
        lines += _r_fit(spec)
        lines += _R_OUTPUT
        lines += r_intervals(ci)  # `ci`: lme4's confint or bootMer, as the app's intervals
        lines += r_tutorial_steps(spec, lambda s_: _r_formula(spec_with_group_means(s_)),
                                  pred_slope)
        lines += _r_json(r_tutorial_json(spec, pred_slope))
    if plan_call:
        lines += ["", "# Planning the next study, as on the Plan a study page",
                  "# Needs: install.packages(\"PowerUpR\")", *plan_call.splitlines()]
    return "\n".join(lines) + "\n"


def _r_model_rows(spec: ModelSpec) -> list[str]:
    """With centring: keep the complete rows of the model's columns, then centre as the app
    did. (Without, lmer() is given all rows, as the app's fit is: scale() and poly() in the
    formula are then computed on the same rows as in the app.)"""
    centred = _centred(spec)
    if not centred:
        return []
    cols = source_columns(spec.variables())  # log(x) reads the column x
    lines = [
        "",
        "# Keep the rows with a value in every column of the model (the app does the same),",
        "# so that centring uses exactly the rows the model uses",
        f"model_columns <- {_r_vector(cols)}",
        "d <- d[complete.cases(d[model_columns]), , drop = FALSE]",
    ]
    lines += ["", "# Centring"]
    groups = ", ".join(_r_col(g) for g in _centring_columns(spec))
    for v, how in centred:
        c = _r_col(v)
        if how == "grand":
            lines.append(f"{c} <- {c} - mean({c}, na.rm = TRUE)  # centred at the mean")
        else:
            m = _r_col(group_mean_name(v))
            lines.append(f"{m} <- ave({c}, {groups})  # the group mean")
            lines.append(f"{c} <- {c} - {m}  # centred within groups")
    return lines


def _r_fit(spec: ModelSpec) -> list[str]:
    reml = "TRUE" if spec.reml else "FALSE"
    formula = _r_formula(spec_with_group_means(spec))
    return [
        "",
        f"fit <- lmer({formula},",
        f"    data = d, REML = {reml})",
    ]


# The summary, intervals, variance components, group effects and optional JSON: the same for
# every model
_R_OUTPUT = [
    "summary(fit)  # fixed effects with Satterthwaite df and p values (lmerTest)",
    "",
    "# 95% confidence intervals with Satterthwaite df, as in the app",
    "co <- coef(summary(fit))",
    "q <- qt(0.975, co[, \"df\"])",
    "cbind(co, lower = co[, \"Estimate\"] - q * co[, \"Std. Error\"],",
    "      upper = co[, \"Estimate\"] + q * co[, \"Std. Error\"])",
    "",
    "print(VarCorr(fit), comp = c(\"Variance\", \"Std.Dev.\"))  # variance components",
    "re <- ranef(fit, condVar = TRUE)  # each group's effect, with conditional variances",
    "lapply(re, head, 10)  # the first 10; lattice::dotplot(re) draws them all",
    "# ICC and R2 as in the app (needs the performance package):",
    "# performance::icc(fit); performance::r2_nakagawa(fit)",
]


def _r_json(tutorial: str) -> list[str]:
    """The optional JSON of the numbers (HLM_CODEGEN_JSON names a file; used by tests), with
    the tutorial steps' numbers (`tutorial`: R list fields)."""
    return [
        "",
        "# Optional: save the numbers as JSON when HLM_CODEGEN_JSON names a file (needs jsonlite)",
        "json_file <- Sys.getenv(\"HLM_CODEGEN_JSON\")",
        "if (nzchar(json_file)) {",
        "  fixed <- data.frame(term = rownames(co), estimate = co[, \"Estimate\"],",
        "                      std_error = co[, \"Std. Error\"], df = co[, \"df\"],",
        "                      row.names = NULL, check.names = FALSE)",
        "  jsonlite::write_json(list(fixed = fixed, varcorr = as.data.frame(VarCorr(fit)),",
        "                            nobs = nobs(fit), ngroups = as.list(ngrps(fit)),",
        "                            REML = isREML(fit),",
        f"                            {tutorial}),",
        "                       json_file, digits = NA, auto_unbox = TRUE)",
        "}",
    ]
