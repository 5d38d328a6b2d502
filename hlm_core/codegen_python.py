"""The Python script (hlm_core) that redoes what the app did; see `hlm_core.codegen`.
"""

from __future__ import annotations

from hlm_core.codegen_ci import CISettings, py_intervals
from hlm_core.codegen_shared import (
    _describe,
    _num,
)
from hlm_core.formula import format_formula
from hlm_core.spec import ModelSpec


def python_code(
    spec: ModelSpec,
    file_name: str,
    column_types: dict[str, str] | None = None,
    sheet: str | None = None,
    *,
    missing_codes: dict[str, list[float]] | None = None,
    ci: CISettings | None = None,
) -> str:
    """A Python script that refits `spec` with hlm_core, exactly as the app did.

    Arguments as for `r_code`. The script reads the file with hlm_core's reader, applies the
    user's missing-value codes and column types the way the app does, parses the formula
    (text, never evaluated), sets the centring and prints the fixed effects, variance
    components, ICC and R². HLM_CODEGEN_JSON set to a path saves the full result as JSON.
    """
    lines = [
        *_py_header(spec, column_types),
        *_py_read(file_name, sheet),
        *_py_data_changes(column_types, missing_codes),
        *_py_fit(spec),
        *_PY_PRINT,
        *py_intervals(ci),  # `ci`: the app's 95% intervals, by hlm_core
    ]
    return "\n".join(lines) + "\n"


def _py_header(spec: ModelSpec, column_types: dict[str, str] | None) -> list[str]:
    """The comment describing the model and the imports the script needs."""
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
    return lines


def _py_read(file_name: str, sheet: str | None) -> list[str]:
    sheet_arg = f", sheet={sheet!r}" if sheet is not None else ""
    return [
        "",
        f"DATA_FILE = {str(file_name)!r}  # change to where the file is on your computer",
        f"table = read_table(DATA_FILE{sheet_arg})",
        "frame = table.frame.copy()",
        "for note in table.notes:",
        "    print(\"Note:\", note)",
    ]


def _py_data_changes(
    column_types: dict[str, str] | None, missing_codes: dict[str, list[float]] | None
) -> list[str]:
    """The missing-value codes and column types the user set in the app."""
    lines: list[str] = []
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
    return lines


def _py_fit(spec: ModelSpec) -> list[str]:
    reml = "True" if spec.reml else "False"
    lines = [
        "",
        "# The formula is read as text by hlm_core's own parser (never run as code)",
        f"spec = parse_formula({format_formula(spec)!r}, reml={reml})",
    ]
    if spec.centering:
        lines.append(
            f"spec = spec.with_(centering={tuple(spec.centering)!r})  "
            "# \"group\" adds <x>.mean, the group mean"
        )
    if spec.family != "gaussian":
        from hlm_core.codegen_glmm import py_glmm_fields

        lines += py_glmm_fields(spec)
    return lines


# Fit, print the tables, optionally save the JSON: the same for every model
_PY_PRINT = [
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
