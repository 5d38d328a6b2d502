"""Benchmark: simulation power at full size (500 simulations) against the cra2 closed form.

A cluster-randomised pilot (J schools of n pupils, half treated) is fitted with
y ~ treat + (1 | school); simulate_power then refits 500 simulated data sets with J and 2J
schools (Satterthwaite t-test) and with J schools (likelihood-ratio test). Prints the simulated
power, its Monte-Carlo interval, PowerUpR's closed form for the fitted ICC and effect, whether
the closed form lies inside the interval, and the time. The t-test runs must agree (exit 1
otherwise); the likelihood-ratio test is known to reject too often with few clusters, so its
power is shown above the closed form, not checked. Run by hand:
`python benchmarks/bench_power_sim.py [--nsim 500] [--J 20] [--n 25]`. Not part of the suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.power import Plan, power_at
from hlm_core.power_sim import SimSettings, simulate_power


def pilot(J: int, n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    school = np.repeat(np.arange(J), n)
    treat = (np.arange(J) % 2)[school]
    y = 0.3 * treat + rng.normal(0, np.sqrt(0.15), J)[school] + rng.normal(0, 0.9, J * n)
    return pd.DataFrame({"y": y, "treat": treat, "school": school})


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nsim", type=int, default=500)
    ap.add_argument("--J", type=int, default=20)
    ap.add_argument("--n", type=int, default=25)
    args = ap.parse_args()
    res = fit(pilot(args.J, args.n), parse_formula("y ~ treat + (1 | school)"))
    tau = float(res.varcorr["vcov"].iloc[0])
    total = tau + res.sigma**2
    effect = 0.25 * np.sqrt(total)  # a quarter of an SD, in the outcome's units
    print(f"pilot: {args.J} schools x {args.n} pupils; fitted ICC {tau / total:.3f}")
    inside = 0
    runs = [(args.J, "t"), (2 * args.J, "t"), (args.J, "lrt")]
    for J, test in runs:
        settings = SimSettings(term="treat", effect=effect, clusters=J, nsim=args.nsim,
                               test=test, seed=2026)
        t0 = time.perf_counter()
        sim = simulate_power(res, settings)
        secs = time.perf_counter() - t0
        closed = power_at(Plan("cra2", rho2=tau / total, n=args.n, J=J, es=0.25))
        ok = sim.ci[0] <= closed <= sim.ci[1]
        inside += ok or test == "lrt"
        print(
            f"J={J:3d} {test:3s}: simulated {sim.power:.3f} [{sim.ci[0]:.3f}, {sim.ci[1]:.3f}]"
            f"  closed form {closed:.3f}  {'inside' if ok else 'OUTSIDE'}  "
            f"failed {sim.n_failed}  singular {sim.n_singular}  {secs:.1f} s "
            f"({1000 * secs / args.nsim:.0f} ms per refit)"
        )
    return 0 if inside == len(runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
