"""Planning a study: power, minimum detectable effect size (MDES) and the number of clusters.

Closed forms follow PowerUpR 1.1.0 (Dong & Maynard 2013; Bulus et al.) for the three designs
schools run, with PowerUpR's argument names and defaults so an analyst can check us in R:

- ``cra2``: whole classes (or schools) assigned; J clusters of n pupils; df = J - g2 - 2;
- ``cra3``: schools assigned; K schools, J classes each, n pupils per class; df = K - g3 - 2;
- ``bira2``: pupils randomised within each school (multisite, random site effects); J sites of
  n pupils; treatment-effect heterogeneity omega2; df = J - g2 - 1.

Power is the noncentral-t power, as PowerUpR's ``power.*``. The MDES is PowerUpR's
``(t_{1-alpha/2} + t_{power}) * SE`` (Bloom's multiplier), as ``mdes.*``. The number of clusters
is the *exact* smallest whole number whose noncentral-t power reaches the target (power there >=
target and at one fewer < target); PowerUpR's ``mrss.*`` iterates a rounded fixed point and can
stop one short.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from scipy import stats

from hlm_core.errors import HLMError

Design = Literal["cra2", "cra3", "bira2"]
Solve = Literal["power", "mdes", "clusters"]
DESIGNS: tuple[str, ...] = ("cra2", "cra3", "bira2")
SOLVES: tuple[str, ...] = ("power", "mdes", "clusters")
MAX_CLUSTERS = 10_000_000  # search ceiling for the number of clusters

DESIGN_LABELS = {
    "cra2": "Whole classes (or schools) are assigned to the programme — 2 levels",
    "cra3": "Whole schools are assigned; classes within schools, pupils within classes — 3 levels",
    "bira2": "Pupils are assigned within each school (multisite trial) — 2 levels",
}
TOP_LEVEL = {"cra2": "J", "cra3": "K", "bira2": "J"}  # the count solved for
TOP_NAME = {"cra2": "clusters (classes or schools)", "cra3": "schools", "bira2": "schools (sites)"}


class PlanError(HLMError):
    """Planning inputs that cannot describe a study (ICC >= 1, p outside (0, 1), ...)."""


@dataclass(frozen=True)
class Plan:
    """One design's inputs, named as PowerUpR's arguments (defaults as PowerUpR's).

    ``J`` is the number of clusters for cra2/bira2 and the classes per school for cra3;
    ``K`` is the number of schools for cra3. ``two_tailed`` is PowerUpR's ``two.tailed``.
    """

    design: Design
    rho2: float
    n: float
    J: float | None = None
    K: float | None = None
    rho3: float | None = None
    omega2: float | None = None
    es: float = 0.25
    power: float = 0.80
    alpha: float = 0.05
    two_tailed: bool = True
    p: float = 0.50
    g2: int = 0
    g3: int = 0
    r21: float = 0.0
    r22: float = 0.0
    r23: float = 0.0
    r2t2: float = 0.0

    def with_(self, **changes: Any) -> Plan:
        return replace(self, **changes)

    @property
    def clusters(self) -> float | None:
        """The top-level count: J for cra2/bira2, K for cra3."""
        return self.K if self.design == "cra3" else self.J

    def with_clusters(self, value: float) -> Plan:
        return self.with_(**{TOP_LEVEL[self.design]: value})

    @property
    def g(self) -> int:
        return self.g3 if self.design == "cra3" else self.g2


@dataclass
class PlanResult:
    """One design point: power to detect ``es``, the MDES at the target power, at ``clusters``."""

    plan: Plan
    solve: Solve
    es: float  # the effect size the power refers to (the MDES when solving for it)
    power: float
    mdes: float
    mdes_ci: tuple[float, float]  # PowerUpR's interval for the MDES
    clusters: int | float
    df: float
    se: float  # standardised standard error of the effect
    mrss_note: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        inputs = {k: v for k, v in asdict(self.plan).items() if v is not None}
        return {
            "design": self.plan.design,
            "solve": self.solve,
            "power": self.power,
            "mdes": self.mdes,
            "mdes_ci": list(self.mdes_ci),
            "clusters": self.clusters,
            "clusters_name": TOP_LEVEL[self.plan.design],
            "df": self.df,
            "es": self.es,
            "target_power": self.plan.power,
            "se": self.se,
            "inputs": inputs,
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- checks


def _need(value: float | None, name: str, what: str) -> float:
    if value is None:
        raise PlanError(f"Give {name}: {what}.")
    if not math.isfinite(value):
        raise PlanError(f"{what[0].upper()}{what[1:]} ({name}) must be a number.")
    return float(value)


def _check_share(value: float, name: str, what: str, closed_top: bool = True) -> None:
    top_ok = value <= 1 if closed_top else value < 1
    if not (value >= 0 and top_ok):
        upper = "between 0 and 1" if closed_top else "at least 0 and below 1"
        raise PlanError(f"{what} ({name}) must be {upper}; it is {value:g}.")


def validate(plan: Plan, solve: Solve = "power") -> None:
    """Refuse inputs that cannot describe a study, in words saying what to change."""
    if plan.design not in DESIGNS:
        raise PlanError(f"Unknown design '{plan.design}': choose cra2, cra3 or bira2.")
    if solve not in SOLVES:
        raise PlanError(f"Unknown quantity '{solve}' to solve for: choose power, mdes or clusters.")
    rho2 = _need(plan.rho2, "rho2", "the ICC, the share of variance that lies between classes")
    if plan.design == "cra3":
        rho3 = _need(plan.rho3, "rho3", "the share of variance between schools")
        _check_share(rho3, "rho3", "The ICC for schools", closed_top=False)
        _check_share(rho2, "rho2", "The ICC for classes", closed_top=False)
        if rho2 + rho3 >= 1:
            raise PlanError(
                f"The two ICCs add up to {rho2 + rho3:g}: together they must stay below 1, "
                "because pupils within a class always differ a little."
            )
    else:
        _check_share(rho2, "rho2", "The ICC", closed_top=False)
    if plan.design == "bira2":
        omega2 = _need(plan.omega2, "omega2", "how much the effect varies between schools")
        if omega2 < 0:
            raise PlanError(
                f"The effect heterogeneity (omega2) can't be below 0; it is {omega2:g}."
            )
    if not 0 < plan.p < 1:
        raise PlanError(
            f"The share treated (p) must be between 0 and 1, not {plan.p:g}: "
            "for half the clusters in the programme, use 0.5."
        )
    if not 0 < plan.alpha < 1:
        raise PlanError(
            f"The significance level (alpha) must be between 0 and 1, not {plan.alpha:g}."
        )
    if not 0 < plan.power < 1:
        raise PlanError(
            f"The target power must be between 0 and 1 (e.g. 0.8), not {plan.power:g}."
        )
    for name in ("r21", "r22", "r23", "r2t2"):
        _check_share(float(getattr(plan, name)), name, "An R² of the covariates")
    for name in ("g2", "g3"):
        g = getattr(plan, name)
        if g < 0 or int(g) != g:
            raise PlanError(f"The number of covariates ({name}) must be a whole number 0 or more.")
    if _need(plan.n, "n", "the number of pupils per class") < 1:
        raise PlanError(f"The number of pupils per cluster (n) must be at least 1, not {plan.n:g}.")
    if plan.design == "cra3" and _need(plan.J, "J", "the number of classes per school") < 1:
        raise PlanError(f"The number of classes per school (J) must be at least 1, not {plan.J:g}.")
    if solve != "clusters":
        top = TOP_LEVEL[plan.design]
        count = _need(plan.clusters, top, f"the number of {TOP_NAME[plan.design]}")
        df = degrees_of_freedom(plan, count)
        if df < 1:
            raise PlanError(
                f"With {count:g} {TOP_NAME[plan.design]} and {plan.g} "
                f"covariate{'' if plan.g == 1 else 's'} there are no "
                f"degrees of freedom left for the test (df = {df:g}). Use at least "
                f"{min_clusters(plan)} {TOP_NAME[plan.design]} or fewer covariates."
            )
    if solve in ("power", "clusters"):
        es = _need(plan.es, "es", "the effect size")
        if solve == "clusters" and es <= 0:
            raise PlanError("The effect size (es) must be above 0 to find a number of clusters.")


# --------------------------------------------------------------------------- closed forms


def degrees_of_freedom(plan: Plan, clusters: float | None = None) -> float:
    """PowerUpR's df: J - g2 - 2 (cra2), K - g3 - 2 (cra3), J - g2 - 1 (bira2)."""
    c = plan.clusters if clusters is None else clusters
    if plan.design == "bira2":
        return c - plan.g2 - 1
    return c - plan.g - 2


def min_clusters(plan: Plan) -> int:
    """The fewest top-level units that leave one degree of freedom."""
    return plan.g + (2 if plan.design == "bira2" else 3)


def standard_error(plan: Plan, clusters: float | None = None) -> float:
    """The standardised standard error of the treatment effect (PowerUpR's SSE)."""
    c = plan.clusters if clusters is None else clusters
    pq = plan.p * (1 - plan.p)
    if plan.design == "cra2":
        v = plan.rho2 * (1 - plan.r22) / (pq * c) + (1 - plan.rho2) * (1 - plan.r21) / (
            pq * c * plan.n
        )
    elif plan.design == "cra3":
        rho3 = float(plan.rho3 or 0.0)
        v = (
            rho3 * (1 - plan.r23) / (pq * c)
            + plan.rho2 * (1 - plan.r22) / (pq * plan.J * c)
            + (1 - rho3 - plan.rho2) * (1 - plan.r21) / (pq * plan.J * c * plan.n)
        )
    else:
        v = plan.rho2 * float(plan.omega2 or 0.0) * (1 - plan.r2t2) / c + (1 - plan.rho2) * (
            1 - plan.r21
        ) / (pq * c * plan.n)
    return math.sqrt(v)


def _critical(plan: Plan, df: float) -> float:
    a = plan.alpha / 2 if plan.two_tailed else plan.alpha
    return float(stats.t.isf(a, df))


def _nct_cdf(x: float, df: float, lam: float) -> float:
    """P(T <= x) for a noncentral t. scipy (Boost) returns NaN far in a tail (e.g. x = -1.96,
    df = 479, ncp = 21); then integrate P(Z + ncp <= x * sqrt(V / df)) over V ~ chi2(df)."""
    value = float(stats.nct.cdf(x, df, lam))
    if math.isfinite(value):
        return value
    from scipy import integrate

    chi = stats.chi2(df)
    lo, hi = chi.ppf(1e-15), chi.isf(1e-15)
    value, _ = integrate.quad(
        lambda v: stats.norm.cdf(x * math.sqrt(v / df) - lam) * chi.pdf(v), lo, hi, limit=200
    )
    return min(max(value, 0.0), 1.0)


def power_at(plan: Plan, es: float | None = None, clusters: float | None = None) -> float:
    """Noncentral-t power to detect ``es`` (default plan.es), as PowerUpR's .power.fun."""
    es = plan.es if es is None else es
    df = degrees_of_freedom(plan, clusters)
    se = standard_error(plan, clusters)
    if se == 0:
        return 1.0 if es != 0 else (plan.alpha)
    lam = es / se
    t1 = _critical(plan, df)
    pw = 1.0 - _nct_cdf(t1, df, lam)
    if plan.two_tailed:
        pw += _nct_cdf(-t1, df, lam)
    return min(max(pw, 0.0), 1.0)


def mdes_at(plan: Plan, clusters: float | None = None) -> tuple[float, float, float]:
    """PowerUpR's MDES and its interval: M * SE with M = t_crit + t_power (t_crit - t_power
    when the target power is below one half)."""
    df = degrees_of_freedom(plan, clusters)
    se = standard_error(plan, clusters)
    t1 = _critical(plan, df)
    t2 = abs(float(stats.t.ppf(plan.power, df)))
    m = t1 + t2 if plan.power >= 0.5 else t1 - t2
    mdes = m * se
    return mdes, mdes * (1 - t1 / m), mdes * (1 + t1 / m)


def clusters_needed(plan: Plan) -> int:
    """The smallest whole number of top-level units whose power reaches ``plan.power``.

    Power rises with the number of clusters (the standard error falls and df grows), so a
    doubling search and then bisection on whole numbers give the exact answer."""
    lo = min_clusters(plan)  # first count with df >= 1
    if power_at(plan, clusters=lo) >= plan.power:
        return lo
    hi = lo
    while power_at(plan, clusters=hi) < plan.power:
        lo = hi
        hi *= 2
        if hi > MAX_CLUSTERS:
            raise PlanError(
                "No practical number of clusters reaches that power: the effect is too small "
                "for this design. Raise the effect size or lower the target power."
            )
    while hi - lo > 1:  # power(lo) < target <= power(hi)
        mid = (lo + hi) // 2
        if power_at(plan, clusters=mid) >= plan.power:
            hi = mid
        else:
            lo = mid
    return hi


def solve(plan: Plan, what: Solve = "power") -> PlanResult:
    """Answer one planning question; the result describes the whole design point."""
    validate(plan, what)
    if what == "clusters":
        count: int | float = clusters_needed(plan)
    else:
        c = float(plan.clusters)
        count = int(c) if c.is_integer() else c
    mdes, lo, hi = mdes_at(plan, count)
    es = mdes if what == "mdes" else plan.es
    notes = []
    if what == "clusters":
        notes.append(
            f"Power is {power_at(plan, clusters=count):.4f} with {count} "
            f"{TOP_NAME[plan.design]} and {power_at(plan, clusters=count - 1):.4f} with one fewer."
            if count > min_clusters(plan)
            else f"The fewest {TOP_NAME[plan.design]} that leave a degree of freedom already "
            "reach the target power."
        )
    return PlanResult(
        plan=plan,
        solve=what,
        es=es,
        power=power_at(plan, es=es, clusters=count),
        mdes=mdes,
        mdes_ci=(lo, hi),
        clusters=count,
        df=degrees_of_freedom(plan, count),
        se=standard_error(plan, count),
        notes=notes,
    )
