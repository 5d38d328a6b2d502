"""FitResult: the one object every page, export and command reads after a fit.

It holds plain pandas tables and numbers, built once per fit, so that nothing downstream needs
the engine (or refits). Column names follow lme4/lmerTest so an analyst can check them against R.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from hlm_core.design import ModelFrame
    from hlm_core.spec import ModelSpec

FIXED_COLUMNS = ["term", "estimate", "std_error", "df", "t_value", "p_value", "ci_low", "ci_high"]
VARCORR_COLUMNS = ["group", "term1", "term2", "vcov", "sdcor"]
RANEF_COLUMNS = ["level", "term", "value", "cond_sd"]


@dataclass
class FitResult:
    spec: ModelSpec
    formula: str  # lme4 formula text of the spec
    reml: bool
    nobs: int
    ngroups: dict[str, int]  # lme4 group names, e.g. {"class:school": 120, "school": 30}
    fixed: pd.DataFrame  # FIXED_COLUMNS; lme4 term names
    varcorr: pd.DataFrame  # VARCORR_COLUMNS, lme4 as.data.frame(VarCorr()) layout, Residual last
    sigma: float
    loglik: float
    df_loglik: int
    aic: float
    bic: float
    deviance: float  # -2 logLik (ML) or the REML criterion (REML), as lme4's summary shows
    converged: bool
    singular: bool
    warnings: list[str]  # plain-language, each says what to try
    icc: float | None
    icc_adjusted: bool  # False for a null model (plain ICC), True otherwise (Nakagawa adjusted)
    r2_marginal: float
    r2_conditional: float
    ranef: dict[str, pd.DataFrame]  # group name -> RANEF_COLUMNS (BLUPs + conditional SDs)
    coef: dict[str, pd.DataFrame]  # group name -> level, term, value (= fixef + ranef)
    rows_total: int
    rows_dropped: int
    dropped_by_column: dict[str, int]  # missing-value counts among the dropped rows, per column
    notes: list[str] = field(default_factory=list)  # what we did on the user's behalf
    timing: dict[str, float] = field(default_factory=dict)
    engine: str = "mixedlm"
    model_frame: ModelFrame | None = field(default=None, repr=False)  # our design, for effects
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    family: str = "gaussian"  # "binomial" (logit link) or "poisson" (log link): see glmm.py

    @property
    def method(self) -> str:
        if self.family != "gaussian":
            return "Laplace" if self.spec.nagq <= 1 else f"AGQ({self.spec.nagq})"
        return "REML" if self.reml else "ML"

    @property
    def is_glmm(self) -> bool:
        return self.family != "gaussian"

    @property
    def group_names(self) -> list[str]:
        return list(self.ngroups)

    def group_columns(self, group: str) -> tuple[str, ...]:
        """The data columns that make grouping factor `group`, inner first: ('class',
        'school') for lme4's 'class:school' of `(1 | school/class)`, ('class',) for 'class'
        or its `||` pieces 'class.1'; (group,) when the design is not at hand. A column whose
        own name holds ':' stays one column."""
        for b in self.model_frame.blocks if self.model_frame is not None else []:
            if group in (b.group, b.vc_group) and b.columns:
                return tuple(b.columns)
        return (group,)

    def group_words(self, group: str, n: int = 2) -> str:
        """The grouping factor's units in a sentence: 'classes (within schools)' (n == 1:
        'class (within schools)'), by wording.plural's rule."""
        from hlm_core.wording import plural

        return plural(self.group_columns(group), n)

    def fixef(self) -> dict[str, float]:
        return dict(zip(self.fixed["term"], self.fixed["estimate"], strict=True))

    def random_terms(self, group: str) -> list[str]:
        return list(pd.unique(self.ranef[group]["term"]))  # in order; fast for 20,000 groups


def _clean(v: Any) -> Any:
    """JSON-safe scalars: numpy numbers to Python, NaN/inf to None."""
    import math

    import numpy as np

    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _plain_column(values: pd.Series) -> list[Any]:
    """A column as JSON-safe Python values; float columns in one step (NaN/inf -> None), so
    400,000 random effects don't cost a Python call per number."""
    import numpy as np

    if pd.api.types.is_float_dtype(values.dtype):
        arr = values.to_numpy(dtype=float)
        out = arr.astype(object)  # Python floats
        out[~np.isfinite(arr)] = None
        return out.tolist()
    return [None if v is pd.NA else _clean(v) for v in values.tolist()]


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    names = list(df.columns)
    columns = [_plain_column(df.iloc[:, i]) for i in range(df.shape[1])]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def fixed_for_export(result: FitResult) -> pd.DataFrame:
    """The fixed effects as every export names them (JSON, workbook, CSV): as fitted for a
    linear model; for a generalized one `ci_low`/`ci_high` on the ratio scale (glmm.py)."""
    if not result.is_glmm:
        return result.fixed
    from hlm_core.glmm import exported_fixed

    return exported_fixed(result.fixed, result.family)


def result_to_dict(result: FitResult, ranef: bool = False) -> dict[str, Any]:
    """The command line's --json layout (documented in README)."""
    out: dict[str, Any] = {
        "formula": result.formula,
        "family": result.family,
        "method": result.method,
        "nobs": result.nobs,
        "ngroups": dict(result.ngroups),
        "rows_dropped": result.rows_dropped,
        "fixed_effects": records(fixed_for_export(result)),
        "variance_components": records(result.varcorr),
        "loglik": _clean(result.loglik),
        "aic": _clean(result.aic),
        "bic": _clean(result.bic),
        "deviance": _clean(result.deviance),
        "converged": result.converged,
        "singular": result.singular,
        "warnings": list(result.warnings),
        "notes": list(result.notes),
        "icc": _clean(result.icc),
        "icc_adjusted": result.icc_adjusted,
        "r2_marginal": _clean(result.r2_marginal),
        "r2_conditional": _clean(result.r2_conditional),
    }
    if result.is_glmm:  # what the numbers mean for a yes/no or count outcome
        for key in ("link", "success", "failure", "icc_definition"):
            out[key] = result.extra.get(key)
        from hlm_core.glmm import RATIO_NAME

        out["ci_scale"] = RATIO_NAME[result.family]  # what fixed_effects' ci_low/ci_high are
    if ranef:
        out["random_effects"] = {
            g: records(t[["level", "term", "value", "cond_sd"]]) for g, t in result.ranef.items()
        }
    return out
