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

from hlm_core.codegen_ci import CISettings
from hlm_core.codegen_python import python_code
from hlm_core.codegen_r import r_code
from hlm_core.codegen_shared import r_backtick, r_string, spec_with_group_means

# The shared quoting lives in codegen_shared, the scripts in codegen_r and codegen_python.
__all__ = [
    "CISettings",
    "python_code",
    "r_backtick",
    "r_code",
    "r_string",
    "spec_with_group_means",
]
