"""What the command line prints: the text output for people (a fit, its intervals, the
pred.slope table), control characters in user text made visible, and the JSON writer.

Kept apart from `__main__` (argument parsing and the commands) so each stays short; the JSON
layout itself is `result.result_to_dict`.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from hlm_core.safe_text import visible

if TYPE_CHECKING:
    from hlm_core.intervals import Intervals
    from hlm_core.result import FitResult


class Plain:
    """A text stream that writes control characters in user text as visible escapes.

    Names and values from a file reach the terminal in notes, tables and messages; an ESC or
    OSC sequence in a class ID must not clear the screen or retitle the window. Our own line
    breaks and tabs pass; JSON output does not go through here (the encoder escapes it).
    """

    def __init__(self, stream: Any):
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(visible(text, keep="\n\t"))

    def flush(self) -> None:
        self.stream.flush()


def say(text: str) -> None:
    """A message for people on stderr, control characters made visible."""
    Plain(sys.stderr).write(text)


def fmt(v: float | None, digits: int = 4) -> str:
    """A number in `digits` significant digits (tiny ones in e-notation), NA for None."""
    if v is None:
        return "NA"
    return f"{v:.{digits}g}" if abs(v) >= 1e-4 or v == 0 else f"{v:.2e}"


def print_fit(res: FitResult, out: TextIO) -> None:
    """The fit for people, in lme4's order: model, sample, fit statistics, tables, notes (the
    fixed effects with the JSON's column names)."""
    from hlm_core.result import fixed_for_export

    if res.is_glmm:
        link = res.extra["link"]
        print(f"Generalized linear mixed model ({res.family}, {link} link) fit by maximum "
              f"likelihood ({res.method}): {res.formula}", file=out)
        if res.family == "binomial":
            print(f"Success: {res.extra['success']}   (failure: {res.extra['failure']})",
                  file=out)
    else:
        print(f"Linear mixed model fit by {res.method}: {res.formula}", file=out)
    groups = ", ".join(f"{g}: {n:,}" for g, n in res.ngroups.items())
    print(f"Observations: {res.nobs:,}   Groups: {groups}", file=out)
    if res.rows_dropped:
        print(f"Rows left out for missing values: {res.rows_dropped:,}", file=out)
    print(f"logLik {res.loglik:.3f}   AIC {res.aic:.2f}   BIC {res.bic:.2f}", file=out)
    test = "Wald z" if res.is_glmm else "Satterthwaite df"
    print(f"\nFixed effects ({test}):", file=out)
    print(fixed_for_export(res).to_string(index=False, float_format=lambda v: fmt(v, 5)),
          file=out)
    print("\nVariance components:", file=out)
    print(res.varcorr.to_string(index=False, float_format=lambda v: fmt(v, 5)), file=out)
    label = "ICC (adjusted)" if res.icc_adjusted else "ICC"
    label = f"{label[:3]} on the latent scale{label[3:]}" if res.is_glmm else label
    print(
        f"\n{label}: {fmt(res.icc)}   R2 marginal: {fmt(res.r2_marginal)}   "
        f"R2 conditional: {fmt(res.r2_conditional)}",
        file=out,
    )
    for n in res.notes:
        print(f"Note: {n}", file=out)
    for w in res.warnings:
        print(f"Warning: {w}", file=out)


def print_intervals(res: FitResult, iv: Intervals, out: TextIO) -> None:
    """--ci: the intervals table, its edge notes and the ICC's interval."""
    from hlm_core.ci_output import format_ci

    how = ("likelihood profile" if iv.method == "profile"
           else f"parametric bootstrap, {iv.nsim} draws, seed {iv.seed}")
    print(f"\n95% intervals ({how}):", file=out)
    print(iv.table.drop(columns="edge").to_string(index=False,
                                                  float_format=lambda v: fmt(v, 5)), file=out)
    for e in iv.table["edge"]:
        if e:
            print(f"Note: {e}", file=out)
    if iv.icc is not None:
        label = ("Latent ICC" if res.is_glmm else "ICC") + (" (adjusted)" if res.icc_adjusted
                                                             else "")
        print(f"{label} = {res.icc:.2f}, 95% CI {format_ci(*iv.icc)}", file=out)
    for n in iv.notes:
        print(f"Note: {n}", file=out)


def write_json(payload: dict[str, Any], out: TextIO) -> None:
    """The payload indented, with each random effect on one line: json's indenting encoder is
    pure Python (2 s for 1,000,000 rows' 40,000 random effects), its compact one is C."""
    ranef = payload.pop("random_effects", None)
    text = json.dumps(payload, indent=1)
    if ranef is not None:
        groups = ",\n".join(
            f"  {json.dumps(g)}: [\n" + ",\n".join("   " + json.dumps(r) for r in rows) + "\n  ]"
            for g, rows in ranef.items()
        )
        text = text[: text.rfind("}")].rstrip() + ',\n "random_effects": {\n' + groups + "\n }\n}"
    out.write(text + "\n")


def print_slopes(res: FitResult, args: Any, step: float, held: dict, rows: list[dict],
                 out: TextIO) -> None:
    """The pred.slope table for people: what is held, then one line per group per step."""
    from hlm_core.effects import HOLDS

    print(f"Predicted {res.spec.outcome} for each group, {args.predictor} from {args.lo:g} to "
          f"{args.hi:g} in steps of {step:g}; other predictors held at {HOLDS[args.hold]}:",
          file=out)
    if held:
        print("  " + ", ".join(f"{k} = {v if isinstance(v, str) else fmt(v)}"
                               for k, v in held.items()), file=out)
    print(f"\n{'group':>12} {args.predictor:>14} {'prediction':>12}", file=out)
    for r in rows:
        print(f"{r['group']:>12} {r['x']:>14g} {r['prediction']:>12.4f}", file=out)
