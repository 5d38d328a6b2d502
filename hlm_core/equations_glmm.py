"""Level equations of yes/no and count models: the linear predictor is the same as for a
score, but the outcome enters through its link (logit of the chance, log of the expected
count) and level 1 has no residual term (the binomial or Poisson distribution plays its part).
Applied to `equations.level_equations`' output, so the level layout stays in one place."""

from __future__ import annotations

from hlm_core.result import FitResult


def adjust_for_link(eq: dict, result: FitResult, resid: tuple[str, str],
                    y: tuple[str, str]) -> dict:
    """`eq` with the link on the left, no level-1 residual and no residual variance."""
    binomial = result.family == "binomial"
    lhs = (f"logit(P({y[0]} = 1))" if binomial else f"log(E({y[0]}))")
    lhs_tex = (rf"\operatorname{{logit}}(P({y[1]} = 1))" if binomial
               else rf"\log(E({y[1]}))")

    def fix(lines: list[str], plain: bool) -> list[str]:
        r = resid[0] if plain else resid[1]
        left, new_left = (y[0], lhs) if plain else (y[1], lhs_tex)
        out = []
        for line in lines:
            line = line.replace(f" + {r}", "")
            if line.startswith(f"{left} = "):
                line = f"{new_left} = " + line[len(left) + 3:]
            out.append(line)
        return out

    eq = dict(eq)
    for key, plain in (("level1", True), ("mixed", True), ("latex_level1", False),
                       ("latex_mixed", False)):
        one = isinstance(eq[key], str)  # `mixed` is one line, the levels are lists
        lines = fix([eq[key]] if one else eq[key], plain)
        eq[key] = lines[0] if one else lines
    eq["variances"] = [v for v in eq["variances"] if not v.startswith(f"Var({resid[0]})")]
    eq["latex_variances"] = [v for v in eq["latex_variances"] if resid[1] not in v]
    what = (f"{y[0]} is 1 ({result.extra.get('success', 'success')}) or 0, with chance "
            f"P({y[0]} = 1)" if binomial else f"{y[0]} is a count with expected value "
            f"E({y[0]})")
    eq["notes"] = [*eq.get("notes", []),
                   f"{what}; level 1 has no residual term: the "
                   f"{'binomial' if binomial else 'Poisson'} distribution gives the pupil-level "
                   "variation."]
    return eq
