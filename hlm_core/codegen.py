"""Reproducible code for the current model: R (lme4/lmerTest) and Python (hlm_core).

Why: an analyst must be able to rerun, check and extend what the dashboard did without it,
and a reviewer must be able to see that the numbers are lme4's. So the code does what the app
did, step by step and in the same order: read the file, apply the missing-value codes and
column types the user set, keep the rows that have a value in every model column, centre
(grand mean, or within groups with the group mean added as a predictor), fit.

Why the escaping is this careful: column and file names come from an uploaded file, i.e. from
anyone. They are written into the generated code only as escaped string literals (`repr` for
Python, `r_string` for R) or as escaped backtick names in the R formula (`r_backtick`), never
pasted raw, so a column called `"); system("rm -rf ~"); ("` stays a column name. R processes
backslash escapes inside backticks too, so the formula text from `format_formula` (which only
adds backticks) has its quoted names re-escaped here before it becomes R code.
"""

from __future__ import annotations

import unicodedata
from pathlib import PurePath

from hlm_core.design import group_mean_name
from hlm_core.formula import format_formula
from hlm_core.spec import ModelSpec, Term, is_syntactic

__all__ = [
    "python_code",
    "r_backtick",
    "r_code",
    "r_string",
    "spec_with_group_means",
]

# Cell texts the app reads as missing (a subset of hlm_core.io's list that R can be given).
_R_NA_STRINGS = ["", "NA", "N/A", "n/a", "NULL", "null", "NaN", ".", "#N/A"]

_R_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


# --------------------------------------------------------------------------- R quoting


def _r_escape(text: str, quote: str) -> str:
    """Escape `text` for an R string (quote '"') or backtick name (quote '`').

    Backslash, the quote character and control characters are escaped; everything else,
    non-ASCII letters included, is kept as is so the code stays readable.
    """
    if "\x00" in text:
        raise ValueError("R strings cannot contain a NUL character.")
    out = []
    for ch in text:
        if ch in _R_ESCAPES and (ch != '"' or quote == '"'):
            out.append(_R_ESCAPES[ch])
        elif ch == quote:
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def r_string(text: str) -> str:
    """`text` as a double-quoted R string literal that R reads back as exactly `text`."""
    return '"' + _r_escape(str(text), '"') + '"'


def r_backtick(name: str) -> str:
    """A column name as R code: bare when R accepts it, else in escaped backticks."""
    return name if is_syntactic(name) else "`" + _r_escape(name, "`") + "`"


def _r_formula(spec: ModelSpec) -> str:
    """format_formula's text with each backtick-quoted name re-escaped for R's parser.

    format_formula never puts a backtick inside a name (it refuses such names), so splitting
    on backticks separates formula syntax (even pieces) from names (odd pieces) exactly.
    """
    pieces = format_formula(spec).split("`")
    if len(pieces) % 2 != 1:
        raise ValueError("Unbalanced backticks in formula text.")
    return "".join(r_backtick(p) if k % 2 else p for k, p in enumerate(pieces))


def _r_col(name: str) -> str:
    """`d$ses` for a plain name, `d[["reading score"]]` otherwise (a string, never code)."""
    return f"d${name}" if is_syntactic(name) else f"d[[{r_string(name)}]]"


def _r_vector(values: list[str]) -> str:
    return "c(" + ", ".join(r_string(v) for v in values) + ")"


def _num(value: float) -> str:
    """A number both R and Python read back exactly."""
    v = float(value)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


# --------------------------------------------------------------------------- the model


def _centred(spec: ModelSpec) -> list[tuple[str, str]]:
    """(variable, 'grand'|'group') for the predictors hlm_core centres, in its order."""
    how = spec.centering_map
    grouping = {g for r in spec.random for g in r.grouping}
    in_terms = {v for t in spec.fixed for v in t.variables} | {
        v for r in spec.random for t in r.slopes for v in t.variables
    }
    out = []
    for v in spec.variables():
        if v == spec.outcome or (v in grouping and v not in in_terms):
            continue
        if how.get(v, "none") in ("grand", "group"):
            out.append((v, how[v]))
    return out


def _centring_columns(spec: ModelSpec) -> tuple[str, ...]:
    """The columns of the first grouping factor of the first random effect: the groups
    within which hlm_core centres ('group')."""
    return spec.random[0].group_factors()[0]


def spec_with_group_means(spec: ModelSpec) -> ModelSpec:
    """The spec as lme4 must be given it: each group-centred `x` followed by `x.mean` among
    the fixed terms (hlm_core adds it during design; R needs it written in the formula)."""
    fixed = list(spec.fixed)
    for v, how in _centred(spec):
        if how != "group":
            continue
        pos = next((i for i, t in enumerate(fixed) if t.variables == (v,)), None)
        if pos is not None:
            fixed.insert(pos + 1, Term((group_mean_name(v),)))
    return spec.with_(fixed=tuple(fixed), centering=())


def _describe(spec: ModelSpec) -> list[str]:
    """Comment lines stating the model in words, shared by both languages."""
    lines = [f"Model: {format_formula(spec)}"]
    lines.append(
        "Estimated by " + ("REML" if spec.reml else "maximum likelihood (ML)")
        + "; Satterthwaite df for the fixed effects (as lmerTest)."
    )
    group = ":".join(_centring_columns(spec)) if spec.random else ""
    for v, how in _centred(spec):
        if how == "grand":
            lines.append(f"{v} is centred at its mean.")
        else:
            lines.append(
                f"{v} is centred within {group}; {group_mean_name(v)} (the {group} mean of "
                f"{v}) is added as a predictor."
            )
    return [_one_line(ln) for ln in lines]


def _one_line(text: str) -> str:
    """Text safe inside a code comment: names can hold anything, and a line break in a name
    would end the comment and turn the rest of the name into code."""
    return "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text
    )


def _suffix(file_name: str) -> str:
    return PurePath(str(file_name)).suffix.lower()


# --------------------------------------------------------------------------- R


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
        f"d <- {reader}(file, stringsAsFactors = TRUE, check.names = FALSE,\n"
        f"    na.strings = {na},\n"
        f"    fileEncoding = \"UTF-8-BOM\")"
    )
    lines.append(
        "names(d) <- trimws(gsub(\"\\\\s+\", \" \", names(d)))"
        "  # as the app: no extra spaces in names"
    )
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
) -> str:
    """An R script that refits `spec` with lme4/lmerTest on the user's file.

    `column_types` maps the columns the user switched in the app to "numeric" or
    "categorical"; `missing_codes` maps columns to values the user marked as missing (the
    app applies codes first, then types, as here). The script reads the file as R users do,
    keeps the complete rows of the model's columns (so centring uses the model's rows, as
    hlm_core does), centres, fits with lmer() and prints the summary, confidence intervals,
    variance components and group effects. Setting the environment variable
    HLM_CODEGEN_JSON to a file path makes it also save the numbers as JSON (used by tests).
    """
    lines = ["# Reproduces the model fitted in the HLM dashboard, with lme4 and lmerTest."]
    lines += [f"# {ln}" for ln in _describe(spec)]
    lines += [
        "# Needs: install.packages(\"lmerTest\")  (installs lme4 too)",
        "",
        "library(lmerTest)",
        "",
        f"file <- {r_string(file_name)}  # change to where the file is on your computer",
    ]
    lines += _r_read(file_name, sheet)
    lines += _r_data_changes(column_types, missing_codes)

    cols = spec.variables()
    lines += [
        "",
        "# Keep the rows with a value in every column of the model (the app does the same),",
        "# so that centring uses exactly the rows the model uses",
        f"model_columns <- {_r_vector(cols)}",
        "d <- d[complete.cases(d[model_columns]), , drop = FALSE]",
    ]
    centred = _centred(spec)
    if centred:
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

    reml = "TRUE" if spec.reml else "FALSE"
    formula = _r_formula(spec_with_group_means(spec))
    lines += [
        "",
        f"fit <- lmer({formula},",
        f"    data = d, REML = {reml})",
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
        "",
        "# Optional: save the numbers as JSON when HLM_CODEGEN_JSON names a file (needs jsonlite)",
        "json_file <- Sys.getenv(\"HLM_CODEGEN_JSON\")",
        "if (nzchar(json_file)) {",
        "  fixed <- data.frame(term = rownames(co), estimate = co[, \"Estimate\"],",
        "                      std_error = co[, \"Std. Error\"], df = co[, \"df\"],",
        "                      row.names = NULL, check.names = FALSE)",
        "  jsonlite::write_json(list(fixed = fixed, varcorr = as.data.frame(VarCorr(fit)),",
        "                            nobs = nobs(fit), REML = isREML(fit)),",
        "                       json_file, digits = NA, auto_unbox = TRUE)",
        "}",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- Python


def python_code(
    spec: ModelSpec,
    file_name: str,
    column_types: dict[str, str] | None = None,
    sheet: str | None = None,
    *,
    missing_codes: dict[str, list[float]] | None = None,
) -> str:
    """A Python script that refits `spec` with hlm_core, exactly as the app did.

    Arguments as for `r_code`. The script reads the file with hlm_core's reader, applies the
    user's missing-value codes and column types the way the app does, parses the formula
    (text, never evaluated), sets the centring and prints the fixed effects, variance
    components, ICC and R². HLM_CODEGEN_JSON set to a path saves the full result as JSON.
    """
    lines = ["# Reproduces the model fitted in the HLM dashboard, with hlm_core."]
    lines += [f"# {ln}" for ln in _describe(spec)]
    lines += [
        "# Run it with the dashboard's folder on the Python path, e.g.",
        "#     PYTHONPATH=/path/to/dashboard python this_file.py",
        "",
        "import json",
        "import os",
        "",
    ]
    needs_pd = bool(column_types) and "numeric" in column_types.values()
    if needs_pd:
        lines += ["import pandas as pd", ""]
    imports = [
        "from hlm_core.fit import fit",
        "from hlm_core.formula import parse_formula",
        "from hlm_core.io import read_table",
        "from hlm_core.result import result_to_dict",
    ]
    if column_types and "categorical" in column_types.values():
        imports.insert(0, "from hlm_core.design import level_labels")
    lines += imports
    sheet_arg = f", sheet={sheet!r}" if sheet is not None else ""
    lines += [
        "",
        f"DATA_FILE = {str(file_name)!r}  # change to where the file is on your computer",
        f"table = read_table(DATA_FILE{sheet_arg})",
        "frame = table.frame.copy()",
        "for note in table.notes:",
        "    print(\"Note:\", note)",
    ]
    if missing_codes:
        lines += ["", "# Codes that mean 'missing' in these columns (set in the app)"]
        for col, values in missing_codes.items():
            vals = "[" + ", ".join(_num(v) for v in values) + "]"
            lines.append(f"frame[{col!r}] = frame[{col!r}].mask(frame[{col!r}].isin({vals}))")
    if column_types:
        lines += ["", "# Column types switched in the app"]
        for col, kind in column_types.items():
            if kind == "categorical":
                lines.append(f"frame[{col!r}] = level_labels(frame[{col!r}]).astype(\"category\")")
            elif kind == "numeric":
                lines += [
                    f"text = frame[{col!r}].astype(\"string\").str.strip()",
                    f"frame[{col!r}] = pd.to_numeric(text.str.replace(\",\", \".\", regex=False), "
                    "errors=\"coerce\")",
                ]
            else:
                raise ValueError(f"Unknown column type {kind!r}: use 'numeric' or 'categorical'.")
    reml = "True" if spec.reml else "False"
    lines += [
        "",
        "# The formula is read as text by hlm_core's own parser (never run as code)",
        f"spec = parse_formula({format_formula(spec)!r}, reml={reml})",
    ]
    if spec.centering:
        lines.append(
            f"spec = spec.with_(centering={tuple(spec.centering)!r})  "
            "# \"group\" adds <x>.mean, the group mean"
        )
    lines += [
        "",
        "result = fit(frame, spec)",
        "",
        "print(result.formula, f\"({result.method}, {result.nobs} rows)\")",
        "for note in result.notes:",
        "    print(\"Note:\", note)",
        "print()",
        "print(\"Fixed effects (Satterthwaite df, as lmerTest):\")",
        "print(result.fixed.to_string(index=False))",
        "print()",
        "print(\"Variance components:\")",
        "print(result.varcorr.to_string(index=False))",
        "print()",
        "print(f\"ICC = {result.icc:.3f}   R2 marginal = {result.r2_marginal:.3f}   \"",
        "      f\"R2 conditional = {result.r2_conditional:.3f}\")",
        "for warning in result.warnings:",
        "    print(\"Warning:\", warning)",
        "",
        "# Optional: save every number as JSON when HLM_CODEGEN_JSON names a file",
        "if os.environ.get(\"HLM_CODEGEN_JSON\"):",
        "    with open(os.environ[\"HLM_CODEGEN_JSON\"], \"w\", encoding=\"utf-8\") as fh:",
        "        json.dump(result_to_dict(result), fh, indent=2)",
    ]
    return "\n".join(lines) + "\n"
