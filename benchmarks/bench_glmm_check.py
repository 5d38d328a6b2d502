"""CPU time of the general GLMM route (mixedlm's search, then the optimum check and the
Hessian SEs, hlm_core/engines/glmm_check.py) on the glmer reference fixtures' models
(tests/fixtures/glmm, glmm_trust). CPU time, not wall clock: the machine is shared.

Run: `python benchmarks/bench_glmm_check.py [--repeat N]`; prints one line per model with the
best CPU seconds of N fits, the log-likelihood and whether the fit converged.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hlm_core.fit import fit  # noqa: E402
from hlm_core.formula import parse_formula  # noqa: E402
from hlm_core.io import read_table  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
HARD = [("trust_slope", "glmm_trust/slope_pass.csv", "passed ~ x + (1 + x | class)"),
        ("trust_nested", "glmm_trust/nested_pass.csv", "passed ~ x + (1 | school/class)")]


def cases() -> list[tuple[str, Path, str, str, int]]:
    rows = list(csv.DictReader((FIXTURES / "glmm" / "cases.csv").open()))
    out = [(r["case"], FIXTURES / "glmm" / r["file"], r["formula"], r["family"],
            int(r["nagq"] or 1)) for r in rows]
    return out + [(n, FIXTURES / f, fo, "binomial", 1) for n, f, fo in HARD]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    total = 0.0
    for name, path, formula, family, nagq in cases():
        frame = read_table(path).frame
        spec = parse_formula(formula).with_(family=family, nagq=nagq)
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.process_time()
            res = fit(frame, spec, optimizer="COBYQA")  # the general route for every model
            best = min(best, time.process_time() - t0)
        total += best
        print(f"{name:14s} {best:7.3f} s CPU  logLik {res.loglik:12.4f}  "
              f"converged {res.converged}")
    print(f"{'total':14s} {total:7.3f} s CPU")


if __name__ == "__main__":
    main()
