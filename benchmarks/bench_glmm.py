"""Generalized-model benchmark: 1,000,000 pupils in 20,000 classes, a yes/no outcome,
`passed ~ x + (1 | class)` (binomial, Laplace).

Times hlm_core's fit with everything the results pages need (lme4-style Hessian SEs,
conditional modes and their SDs, latent ICC and R²) in wall and CPU time, with the load average
(the machine is shared: CPU time is what the fit costs), and, when Rscript is on the PATH,
lme4's `glmer` plus `ranef(condVar = TRUE)` on the same CSV in the same run (R's CSV reading is
not timed; R is stopped at --r-limit seconds, default 900, and the printout says so).
`--general` also times mixedlm's general route (what every fit used before the scalar route,
hlm_core/engines/glmm_scalar.py) on the same data. Budget: fit + conditional SDs <= 10 s on the
2-core machine. Data are generated here (fixed seed) into a temporary folder outside the
repository.

Run: `python benchmarks/bench_glmm.py [--pupils N --classes G] [--no-r] [--r-limit S]
[--general]`. Prints PASS/MISS and exits 0 either way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hlm_core.fit import fit
from hlm_core.formula import parse_formula

BUDGET_S = 10.0
FORMULA = "passed ~ x + (1 | class)"
R_SCRIPT = """suppressMessages(library(lme4))
d <- read.csv(commandArgs(TRUE)[1]); d$class <- factor(d$class)
t <- system.time({m <- glmer(passed ~ x + (1 | class), data = d, family = binomial)
                  r <- ranef(m, condVar = TRUE)})
cat(sprintf("%.3f %.3f %.6f %.6f %.6f\\n", t[["elapsed"]], t[["user.self"]] + t[["sys.self"]],
            fixef(m)[2], sqrt(diag(vcov(m)))[2], as.numeric(logLik(m))))
"""


def make_data(n: int, g: int, seed: int = 13) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cls = rng.integers(0, g, n)
    u = rng.normal(0, 0.8, g)
    x = rng.normal(0, 1, n)
    eta = -0.3 + 0.5 * x + u[cls]
    passed = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"class": [f"C{c:05d}" for c in cls], "x": np.round(x, 4),
                         "passed": passed})


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def timed_fit(frame: pd.DataFrame, optimizer: str | None = None):
    """fit() with its wall and CPU seconds (CPU: this process, all threads)."""
    spec = parse_formula(FORMULA).with_(family="binomial")
    wall, cpu = time.perf_counter(), time.process_time()
    res = fit(frame, spec, optimizer=optimizer)
    return res, time.perf_counter() - wall, time.process_time() - cpu


def describe(label: str, res, wall: float, cpu: float) -> None:
    t = res.timing
    sd = res.ranef["class"]["cond_sd"]
    x = res.fixed.set_index("term").loc["x"]
    print(f"{label}: fit + SEs + conditional SDs: {wall:.2f} s wall, {cpu:.2f} s CPU "
          f"(design {t['design_s']:.2f} s, engine {t['engine_s']:.2f} s, results "
          f"{t['result_s']:.2f} s wall); x = {x['estimate']:.6f} (SE {x['std_error']:.6f}), "
          f"logLik = {res.loglik:.4f}, cond SDs finite: {bool(np.isfinite(sd).all())}")


def run_lme4(frame: pd.DataFrame, res, limit: float) -> None:
    """glmer + ranef(condVar) in Rscript on the same data, stopped at `limit` seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "pupils.csv"
        frame.to_csv(csv, index=False)
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        proc = subprocess.Popen(["Rscript", str(script), str(csv)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # Rscript's own process group (R included)
            proc.communicate()
            print(f"lme4 glmer + ranef(condVar): stopped at the {limit:g} s limit, not finished "
                  f"(includes R reading the CSV); load average {load()}")
            return
    if proc.returncode != 0:
        print("lme4 run failed:", err.strip()[-300:])
        return
    secs, cpu, r_slope, r_se, r_ll = (float(v) for v in out.split())
    x = res.fixed.set_index("term").loc["x"]
    print(f"lme4 glmer + ranef(condVar): {secs:.2f} s wall, {cpu:.2f} s CPU; x = {r_slope:.6f} "
          f"(SE {r_se:.6f}), logLik = {r_ll:.4f} (ours - lme4: x {x['estimate'] - r_slope:+.2e}, "
          f"SE {x['std_error'] / r_se - 1:+.2e} relative, logLik {res.loglik - r_ll:+.4f}); "
          f"load average {load()}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pupils", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=20_000)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--r-limit", type=float, default=900.0, help="stop lme4 after S seconds")
    ap.add_argument("--general", action="store_true",
                    help="also time mixedlm's general route (the fit before the scalar route)")
    args = ap.parse_args()
    frame = make_data(args.pupils, args.classes)
    print(f"{args.pupils:,} pupils in {args.classes:,} classes, {FORMULA} (binomial, Laplace); "
          f"{os.cpu_count()} CPUs, load average (1, 5, 15 min) {load()}")
    res, wall, cpu = timed_fit(frame)
    describe("hlm_core", res, wall, cpu)
    print(f"{'PASS' if wall <= BUDGET_S else 'MISS'}: fit + conditional SDs <= {BUDGET_S:g} s "
          f"(wall {wall:.2f} s at load average {load()}; CPU {cpu:.2f} s)")
    if args.general:
        gen, gwall, gcpu = timed_fit(frame, optimizer="COBYQA")
        describe("general route (mixedlm)", gen, gwall, gcpu)
        print(f"scalar route - general route: x {res.fixef()['x'] - gen.fixef()['x']:+.2e}, "
              f"logLik {res.loglik - gen.loglik:+.2e}; load average {load()}")
    if not args.no_r and shutil.which("Rscript"):
        run_lme4(frame, res, args.r_limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
