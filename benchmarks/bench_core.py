"""Benchmark: y ~ x + (x | class) on 1,000,000 students in 20,000 classes.

Prints read / fit / effects times and peak memory. Run by hand: `python benchmarks/bench_core.py`
(budget: everything `fit --ranef --json` needs in <= 5 s on the 2-core machine; lme4 + lmerTest
take ~44 s). Not part of the pass/fail suite. `benchmarks/bench_1m.py` runs these same steps
on a CSV file, then the dashboard's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import FORMULA, report, self_peak_mb, timed
from benchmarks.make_data import classes_dataset
from hlm_core.effects import pred_slope, ranef_table
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import read_table
from hlm_core.result import FitResult, result_to_dict
from hlm_core.structure import describe_structure

FIT_BUDGET = 5.0  # s: fit + Satterthwaite df + conditional SDs (+ the JSON) on 2 cores


def core_timings(source, name: str = "bench.csv", formula: str = FORMULA,
                 results: dict | None = None):
    """Read `source` (bytes or a path) as the app does, check the structure, fit `formula`
    with everything the results need, and build the effects tables; print each time.
    Returns (frame, FitResult)."""
    frame = timed("read (hlm_core.io.read_table)", lambda: read_table(source, name=name).frame,
                  results=results)
    timed("structure check (describe_structure)", lambda: describe_structure(frame, ["class"]),
          results=results)
    spec = parse_formula(formula)
    cpu = time.process_time()
    res: FitResult = timed("fit + df + conditional SDs", lambda: fit(frame, spec), FIT_BUDGET,
                           results)
    report("  (CPU time of that fit, both cores)", time.process_time() - cpu)
    for k, v in res.timing.items():
        report(f"  {k}", v)
    payload = timed("JSON of the result with every BLUP (CLI --ranef)",
                    lambda: result_to_dict(res, ranef=True), results=results)
    timed("effects tables (ranef table + pred_slope)",
          lambda: (ranef_table(res, "class"), pred_slope(res, "x", -2, 2)), results=results)
    print(f"groups: {res.ngroups}, fixed: {json.dumps(payload['fixed_effects'][1])[:120]}")
    return frame, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=20_000)
    args = ap.parse_args()
    data = timed("generate data", lambda: classes_dataset(args.students, args.classes))
    raw = data.to_csv(index=False).encode()
    del data
    print(f"({len(raw) / 1e6:.0f} MB of CSV)")
    core_timings(raw)
    report("peak memory (this process)", self_peak_mb(), unit="MB")


if __name__ == "__main__":
    main()
