"""`python -m hlm_core power ...`: the planning calculator on the command line.

Flags carry PowerUpR's argument names (`--rho2 --n --J ...`, `--one-tailed` for
`two.tailed = FALSE`) and its defaults, so a call can be checked against R line by line.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from hlm_core.power import DESIGNS, SOLVES, TOP_LEVEL, TOP_NAME, Plan, PlanResult, solve


def add_parser(sub: Any) -> None:
    """The `power` subcommand's options (PowerUpR's names; unset options keep its defaults)."""
    p = sub.add_parser(
        "power",
        help="plan a study: power, minimum detectable effect, or number of clusters",
        description="Closed forms as R's PowerUpR 1.1.0 (power.*, mdes.*, and an exact mrss.*).",
    )
    p.add_argument("--design", required=True, choices=DESIGNS,
                   help="cra2: clusters assigned (2 levels); cra3: schools assigned (3 levels); "
                   "bira2: pupils assigned within schools (multisite)")
    p.add_argument("--solve", default="power", choices=SOLVES, help="what to work out")
    p.add_argument("--es", type=float, default=0.25, help="effect size in SD units (default 0.25)")
    p.add_argument("--rho2", type=float, help="ICC: share of variance between classes/clusters")
    p.add_argument("--rho3", type=float, help="ICC between schools (cra3)")
    p.add_argument("--omega2", type=float, help="effect heterogeneity across sites (bira2)")
    p.add_argument("--n", type=float, help="pupils per class/cluster")
    p.add_argument("--J", type=float, help="clusters (cra2, bira2) or classes per school (cra3)")
    p.add_argument("--K", type=float, help="schools (cra3)")
    for name, what in (("r21", "pupils"), ("r22", "classes/clusters"), ("r23", "schools"),
                       ("r2t2", "the site-by-treatment variance (bira2)")):
        p.add_argument(f"--{name}", type=float, default=0.0,
                       help=f"share of variance explained by covariates at the level of {what}")
    p.add_argument("--g2", type=int, default=0, help="covariates at level 2 (cra2, bira2)")
    p.add_argument("--g3", type=int, default=0, help="covariates at level 3 (cra3)")
    p.add_argument("--p", type=float, default=0.5, help="share assigned to the programme")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level")
    p.add_argument("--power", type=float, default=0.80, help="target power")
    p.add_argument("--one-tailed", action="store_true", help="one-sided test")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def plan_from_args(args: argparse.Namespace) -> Plan:
    return Plan(
        design=args.design, rho2=args.rho2, rho3=args.rho3, omega2=args.omega2, n=args.n,
        J=args.J, K=args.K, es=args.es, power=args.power, alpha=args.alpha,
        two_tailed=not args.one_tailed, p=args.p, g2=args.g2, g3=args.g3, r21=args.r21,
        r22=args.r22, r23=args.r23, r2t2=args.r2t2,
    )


def summary_lines(res: PlanResult) -> list[str]:
    """The answer in a few plain lines (the CLI's text output)."""
    plan = res.plan
    top = TOP_LEVEL[plan.design]
    count = f"{res.clusters:g}" if isinstance(res.clusters, float) else str(res.clusters)
    lines = [
        f"Design: {plan.design}   test: {'two' if plan.two_tailed else 'one'}-tailed, "
        f"alpha = {plan.alpha:g}",
    ]
    if res.solve == "clusters":
        lines.append(
            f"Smallest number of {TOP_NAME[plan.design]} ({top}) for power {plan.power:g} "
            f"to detect an effect of {plan.es:g} SD: {count}"
        )
    elif res.solve == "mdes":
        lines.append(
            f"Minimum detectable effect size with {top} = {count} at power {plan.power:g}: "
            f"{res.mdes:.3f} SD ({100 * (1 - plan.alpha):g}% interval "
            f"{res.mdes_ci[0]:.3f} to {res.mdes_ci[1]:.3f})"
        )
    else:
        lines.append(
            f"Power to detect an effect of {plan.es:g} SD with {top} = {count}: {res.power:.3f}"
        )
    lines.append(
        f"At {top} = {count}: power {res.power:.3f} (effect {res.es:.3f} SD), MDES "
        f"{res.mdes:.3f} SD at power {plan.power:g}, df = {res.df:g}, "
        f"standard error {res.se:.4f} SD"
    )
    lines.extend(res.notes)
    return lines


def run(args: argparse.Namespace, out: Any) -> int:
    res = solve(plan_from_args(args), args.solve)
    if args.json:
        json.dump(res.to_dict(), out, indent=1)
        out.write("\n")
    else:
        for line in summary_lines(res):
            print(line, file=out)
    return 0
