"""The R tutorial's steps, appended to the generated R script (`hlm_core.codegen.r_code`).

Why: the dashboard grew from an R tutorial (null model, the fitted model, `anova()` between
them, `ranef`/`coef`, a caterpillar plot, `pred.slope`). A user who follows it must find each
step in the code the app gives them, with the numbers the app showed: the same null model as
the Compare page's first rung, and `pred.slope` over the range, step and held values the Slopes
page used. Names from the file are written only as escaped literals (`r_string`) or escaped
backtick names, as in codegen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hlm_core.spec import ModelSpec, RandomEffect

__all__ = ["PredSlope", "pred_slope_args", "r_tutorial_steps"]


@dataclass(frozen=True)
class PredSlope:
    """What the tutorial's pred.slope table shows: `predictor` from `lo` to `hi` in steps of
    `step`, the other predictors at `held` (name -> number, or a category's level), on the
    scale the model used (`hlm_core.effects.held_values`)."""

    predictor: str
    lo: float
    hi: float
    step: float
    held: Mapping[str, float | str] = field(default_factory=dict)


def pred_slope_args(result, predictor: str | None = None, *, hold="mean", lo=None, hi=None,
                    step=None) -> PredSlope | None:
    """The PredSlope of a fit: by default the first predictor with a random slope (else the
    first number predictor) over its data range, the default step, others at their means."""
    from hlm_core.effects import default_step, held_values

    mf = result.model_frame
    if mf is None:
        return None
    numeric = [v for v, i in mf.variables.items() if i.kind == "numeric"]
    sloped = [v for r in result.spec.random for t in r.slopes for v in t.variables
              if v in numeric]
    predictor = predictor or next(iter(sloped + numeric), None)
    if predictor is None:
        return None
    info = mf.variables[predictor]
    return PredSlope(
        predictor,
        float(info.minimum if lo is None else lo),
        float(info.maximum if hi is None else hi),
        float(step if step is not None else default_step(result, predictor)),
        held_values(result, predictor, hold),
    )


def _null_spec(spec: ModelSpec) -> ModelSpec | None:
    """The Compare page's null model (hlm_core.compare.ladder_specs' first rung): intercepts
    only, a random intercept per grouping term. None when the model already is that."""
    null = spec.with_(fixed=(), intercept=True, centering=(),
                      random=tuple(RandomEffect(r.grouping, r.kind) for r in spec.random))
    return None if null == spec else null


def _held_r(name: str, value: float | str, col) -> str:
    from hlm_core.codegen_shared import _num, r_string

    if isinstance(value, str):
        return f"factor({r_string(value)}, levels = levels(factor({col(name)})))"
    return _num(value)


def _pred_slope_lines(spec: ModelSpec, ps: PredSlope) -> list[str]:
    from hlm_core.codegen_shared import _num, r_string

    def col(name: str) -> str:
        return f"d[[{r_string(name)}]]"

    groups = spec.random[0].group_factors()[0]
    if len(groups) != 1:  # class within school: predict() needs both columns; not the tutorial
        return ["# pred.slope: written for models with one grouping column (the tutorial's)."]
    g = groups[0]
    held = "; ".join(f"{k} = {v if isinstance(v, str) else format(v, 'g')}"
                     for k, v in ps.held.items()) or "none"
    lines = [
        "",
        f"# pred.slope: each group's predicted {_one(spec.outcome)} as {_one(ps.predictor)} "
        f"goes from {ps.lo:g} to {ps.hi:g} in steps of {ps.step:g},",
        f"# the other predictors held at: {_one(held)} (as on the Slopes page)",
        f"x <- unique(round(c(seq({_num(ps.lo)}, {_num(ps.hi)}, by = {_num(ps.step)}), "
        f"{_num(ps.hi)}), 12))",
        f"pred.slope <- expand.grid(x = x, group = sort(unique({col(g)})),",
        "                          KEEP.OUT.ATTRS = FALSE, stringsAsFactors = FALSE)",
        f"names(pred.slope) <- c({r_string(ps.predictor)}, {r_string(g)})",
    ]
    for name, value in ps.held.items():
        lines.append(f"pred.slope[[{r_string(name)}]] <- {_held_r(name, value, col)}")
    lines += [
        "pred.slope$Effect <- predict(fit, newdata = pred.slope)  # group's own coefficients",
        "head(pred.slope, 20)",
    ]
    return lines


def _one(text: object) -> str:
    """Text safe inside an R comment: one line."""
    return " ".join(str(text).split())


def r_tutorial_steps(spec: ModelSpec, formula_r, ps: PredSlope | None = None) -> list[str]:
    """R lines after `fit` exists: the null model and anova(), coef/ranef, the caterpillar
    data and pred.slope. `formula_r(spec)` writes a spec as an R formula (codegen's)."""
    reml = "TRUE" if spec.reml else "FALSE"
    null = _null_spec(spec)
    lines = ["", "# ---- The tutorial's steps ----"]
    if null is not None:
        lines += [
            "# The null model (no predictors) and the likelihood-ratio test against it;",
            "# anova() refits both by ML, as the app's Compare page does. It compares models",
            "# of the same rows of the same data: keep the rows the model used (if any were",
            "# left out for missing values) and refit it on them",
            "if (nobs(fit) < nrow(d)) {",
            "  d <- d[rownames(model.frame(fit)), , drop = FALSE]",
            "  fit <- update(fit, data = d)",
            "}",
            f"null <- lmer({formula_r(null)}, data = d, REML = {reml})",
            "summary(null)",
            "lrt <- anova(null, fit)",
            "lrt",
        ]
    lines += [
        "",
        "# Each group's own coefficients (fixed + random effect) and random effects",
        "coef(fit)",
        "ranef(fit)",
        "",
        "# Caterpillar plot data: each group's effect with its 95% interval, lowest first",
        "cat.data <- as.data.frame(ranef(fit, condVar = TRUE))",
        "cat.data$lower <- cat.data$condval - qnorm(0.975) * cat.data$condsd",
        "cat.data$upper <- cat.data$condval + qnorm(0.975) * cat.data$condsd",
        "cat.data <- cat.data[order(cat.data$grpvar, cat.data$term, cat.data$condval), ]",
        "head(cat.data, 20)  # lattice::dotplot(ranef(fit, condVar = TRUE)) draws it",
    ]
    if ps is not None:
        lines += _pred_slope_lines(spec, ps)
    return lines


def r_tutorial_json(spec: ModelSpec, ps: PredSlope | None) -> str:
    """The extra fields the script saves with HLM_CODEGEN_JSON (used by tests)."""
    parts = ["coef = lapply(coef(fit), function(x) cbind(level = rownames(x), x))",
             "caterpillar = cat.data"]
    if _null_spec(spec) is not None:
        parts.append("lrt = list(chisq = lrt$Chisq[2], df = lrt$Df[2], "
                     "p_value = lrt[[\"Pr(>Chisq)\"]][2])")
    if ps is not None and len(spec.random[0].group_factors()[0]) == 1:
        parts.append("pred_slope = pred.slope")
    return (",\n" + " " * 28).join(parts)
