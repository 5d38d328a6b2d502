"""Views of a planning answer: power curves, the "what if" table and the equivalent PowerUpR
call. Plain tables and text (figures are drawn from these by hlm_core.figures_plan)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hlm_core.power import (
    DESIGN_LABELS,
    TOP_LEVEL,
    TOP_NAME,
    Plan,
    PlanError,
    PlanResult,
    min_clusters,
    power_at,
    solve,
)
from hlm_core.power_sim import SimResult

ICC_STEP = 0.05
N_STEP = 5


def power_by_clusters(res: PlanResult, points: int = 60) -> pd.DataFrame:
    """Power to detect res.es against the number of top-level units, from the fewest that leave
    one degree of freedom to well past the answer."""
    plan = res.plan
    lo = min_clusters(plan)
    hi = max(int(np.ceil(res.clusters)) * 2, lo + 10)
    counts = np.unique(np.linspace(lo, hi, points).round().astype(int))
    return pd.DataFrame({
        "clusters": counts,
        "power": [power_at(plan, es=res.es, clusters=int(c)) for c in counts],
    })


def power_by_effect(res: PlanResult, points: int = 60) -> pd.DataFrame:
    """Power against the effect size (SD units) at the answer's number of clusters."""
    top = max(2 * res.mdes, 2 * abs(res.es), 0.1)
    es = np.linspace(0, top, points)
    return pd.DataFrame({
        "es": es,
        "power": [power_at(res.plan, es=float(e), clusters=res.clusters) for e in es],
    })


def _variants(plan: Plan) -> list[tuple[str, Plan]]:
    rows = [("As planned", plan)]
    icc_names = [("rho2", "ICC")] if plan.design != "cra3" else [("rho3", "School ICC"),
                                                                    ("rho2", "Class ICC")]
    for name, label in icc_names:
        v = float(getattr(plan, name))
        if v - ICC_STEP > 0:
            rows.append((f"{label} {ICC_STEP:g} lower", plan.with_(**{name: v - ICC_STEP})))
        rows.append((f"{label} {ICC_STEP:g} higher", plan.with_(**{name: v + ICC_STEP})))
    if plan.n - N_STEP >= 1:
        rows.append((f"{N_STEP} fewer pupils per cluster", plan.with_(n=plan.n - N_STEP)))
    rows.append((f"{N_STEP} more pupils per cluster", plan.with_(n=plan.n + N_STEP)))
    return rows


def what_if(res: PlanResult) -> pd.DataFrame:
    """The same question answered again with the ICC(s) and the pupils per cluster moved a
    little: how sensitive the answer is to inputs that are only estimates."""
    out = []
    for label, plan in _variants(res.plan):
        if res.solve != "clusters":
            plan = plan.with_clusters(res.clusters)
        row: dict[str, Any] = {"change": label, "rho2": plan.rho2, "n": plan.n}
        if plan.design == "cra3":
            row["rho3"] = plan.rho3
        try:
            ans = solve(plan, res.solve)
        except PlanError as exc:
            row.update(answer=None, note=str(exc))
        else:
            row.update(answer={"power": ans.power, "mdes": ans.mdes,
                               "clusters": ans.clusters}[res.solve], note="")
        out.append(row)
    return pd.DataFrame(out)


def _num(v: Any) -> str:
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    return f"{float(v):.6g}"


def powerupr_call(res: PlanResult) -> str:
    """The equivalent R call(s) with PowerUpR 1.1.0, to check the answer in R."""
    plan = res.plan
    d = plan.design
    args: dict[str, Any] = {}
    if res.solve != "mdes":
        args["es"] = plan.es
    if res.solve != "power":
        args["power"] = plan.power
    args.update(alpha=plan.alpha, two_tailed=plan.two_tailed, rho2=plan.rho2)
    if d == "cra3":
        args["rho3"] = plan.rho3
    if d == "bira2":
        args["omega2"] = plan.omega2
    g = "g3" if d == "cra3" else "g2"
    args.update({g: plan.g, "p": plan.p, "r21": plan.r21})
    if d == "bira2":
        args["r2t2"] = plan.r2t2
    else:
        args["r22"] = plan.r22
    if d == "cra3":
        args["r23"] = plan.r23
    args["n"] = plan.n
    if d == "cra3":
        args["J"] = plan.J
    top = TOP_LEVEL[d]

    def call(fun: str, extra: dict[str, Any]) -> str:
        parts = [f"{k.replace('_', '.')} = {_num(v)}" for k, v in {**args, **extra}.items()]
        return f"{fun}.{d}({', '.join(parts)})"

    lines = ["library(PowerUpR)  # version 1.1.0"]
    if res.solve == "clusters":
        lines.append(call("mrss", {}))
        lines.append(
            f"# mrss.{d} iterates to a tolerance and can stop one short; the exact answer is "
            f"{top} = {res.clusters}: check power at {res.clusters} and one fewer"
        )
        check = {k: v for k, v in args.items() if k != "power"}
        for c in (res.clusters, res.clusters - 1):
            parts = [f"{k.replace('_', '.')} = {_num(v)}" for k, v in {**check, top: c}.items()]
            lines.append(f"power.{d}({', '.join(parts)})")
    elif res.solve == "mdes":
        lines.append(call("mdes", {top: res.clusters}))
    else:
        lines.append(call("power", {top: res.clusters}))
    return "\n".join(lines)


def mdes_interval_text(res: PlanResult) -> str:
    lo, hi = res.mdes_ci
    return f"{res.mdes:.3f} SD ({100 * (1 - res.plan.alpha):g}% interval {lo:.3f} to {hi:.3f})"


INPUT_LABELS = {
    "es": "Effect size to detect (SD)", "rho2": "ICC, level 2 (rho2)",
    "rho3": "ICC, schools (rho3)", "omega2": "Effect heterogeneity across sites (omega2)",
    "n": "Pupils per cluster (n)", "J": "Level-2 units (J)", "K": "Schools (K)",
    "p": "Share treated (p)", "r21": "R² of covariates, pupils (r21)",
    "r22": "R² of covariates, level 2 (r22)", "r23": "R² of covariates, schools (r23)",
    "r2t2": "R² of covariates, site-by-treatment (r2t2)", "g2": "Level-2 covariates (g2)",
    "g3": "School covariates (g3)", "alpha": "Significance level (alpha)",
    "power": "Target power", "two_tailed": "Two-tailed test",
}


def plan_table(res: PlanResult, sources: dict[str, str] | None = None,
               sim: SimResult | None = None) -> pd.DataFrame:
    """The planning inputs and answers as Item / Value / Source rows (report and workbook),
    with the simulation from the fitted model when one was run."""
    plan = res.plan
    used = {"es", "rho2", "n", "p", "r21", "alpha", "power", "two_tailed"}
    used |= {"cra2": {"J", "r22", "g2"}, "cra3": {"rho3", "J", "K", "r22", "r23", "g3"},
             "bira2": {"J", "omega2", "r2t2", "g2"}}[plan.design]
    if res.solve == "clusters":
        used.discard(TOP_LEVEL[plan.design])
    if res.solve == "mdes":
        used.discard("es")
    sources = sources or {}
    rows = [("Design", plan.design, DESIGN_LABELS[plan.design]),
            ("Solved for", res.solve, "")]
    for name, label in INPUT_LABELS.items():
        if name in used:
            rows.append((label, getattr(plan, name), sources.get(name, "entered")))
    top = TOP_LEVEL[plan.design]
    rows += [
        (f"Answer: number of {TOP_NAME[plan.design]} ({top})", res.clusters,
         "smallest whole number reaching the target power" if res.solve == "clusters"
         else "as entered"),
        (f"Answer: power to detect {res.es:.3f} SD", round(res.power, 4), "noncentral t"),
        ("Answer: minimum detectable effect size (SD)", round(res.mdes, 4),
         mdes_interval_text(res)),
        ("Degrees of freedom", res.df, "as PowerUpR"),
    ]
    if sim is not None and sim.n_done:
        st = sim.settings
        test = {"t": "Satterthwaite t-test", "lrt": "likelihood-ratio test"}[st.test]
        rows.append((
            f"Simulated power ({sim.n_done:,} simulations{', cancelled' if sim.cancelled else ''})",
            round(sim.power, 4),
            f"95% Monte-Carlo interval {sim.ci[0]:.3f} to {sim.ci[1]:.3f}; effect of {st.term} "
            f"set to {st.effect:g}; {sim.n_top:,} groups, {sim.n_rows:,} rows; {test}; "
            f"seed {st.seed}",
        ))
    return pd.DataFrame(rows, columns=["Item", "Value", "Source"]).astype({"Value": object})


INPUT_HELP = {
    "es": "The difference between pupils in the programme and the others that you want to be "
          "able to detect, in standard deviations (SD) of the outcome. 0.2 SD is a small "
          "effect; many school trials aim for 0.2 to 0.3.",
    "power": "How sure you want to be of detecting the effect if it is real. 80% is the usual "
             "choice: a 1-in-5 chance of missing a real effect.",
    "rho2": "The ICC: the share of the differences in the outcome that lies between classes "
            "(or schools), as the null model measures it. The bigger it is, the more clusters "
            "you need.",
    "rho3": "The share of the differences in the outcome that lies between schools.",
    "omega2": "How much the programme's effect varies from school to school, relative to how "
              "much schools' averages vary (0 = the same effect everywhere).",
    "n": "Pupils tested in each class (or cluster). More pupils help, but far less than more "
         "clusters once the ICC is above about 0.05.",
    "J_clusters": "How many clusters (classes or schools) take part, programme and comparison "
                  "together.",
    "J_sites": "How many schools take part; each school has pupils in both groups.",
    "J_classes": "Classes taking part in each school.",
    "K": "How many schools take part, programme and comparison together.",
    "p": "The share of clusters (or pupils, in a multisite trial) given the programme. Half "
         "(0.5) gives the most power.",
    "r21": "How much of the differences between pupils your covariates (e.g. last year's test "
           "score) explain. A pre-test typically explains 0.3 to 0.6.",
    "r22": "How much of the differences between classes (clusters) your covariates explain.",
    "r23": "How much of the differences between schools your covariates explain.",
    "r2t2": "How much of the school-to-school variation in the effect your school-level "
            "covariates explain.",
    "g2": "How many covariates are measured at the cluster level (each costs one degree of "
          "freedom).",
    "g3": "How many covariates are measured at the school level (each costs one degree of "
          "freedom).",
    "alpha": "The significance level of the test: 0.05 is usual.",
    "one_tailed": "Test in one direction only (the programme helps). Gives more power, but a "
                  "harmful effect then goes untested; two-tailed is the usual choice.",
}

TYPICAL = {  # starting values when the data can't give one (the user should replace them)
    "es": 0.25, "power": 0.80, "rho2": 0.15, "rho3": 0.10, "omega2": 0.20, "n": 25.0,
    "J": 20.0, "K": 20.0, "p": 0.5, "r21": 0.0, "r22": 0.0, "r23": 0.0, "r2t2": 0.0,
    "g2": 0, "g3": 0, "alpha": 0.05,
}
