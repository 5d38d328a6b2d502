"""Benchmark: y ~ x + (x | class) on 1,000,000 students in 20,000 classes.

Prints read / fit / effects times and peak memory. Run by hand: `python benchmarks/bench_core.py`
(budget: everything `fit --ranef --json` needs in <= 5 s on the 2-core machine; lme4 + lmerTest
take ~44 s). Not part of the pass/fail suite.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.make_data import classes_dataset
from hlm_core.effects import pred_slope, ranef_table
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import read_table
from hlm_core.result import result_to_dict
from hlm_core.structure import describe_structure


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=20_000)
    args = ap.parse_args()
    t = time.perf_counter()
    data = classes_dataset(args.students, args.classes)
    raw = data.to_csv(index=False).encode()
    print(f"generate: {time.perf_counter() - t:.2f} s ({len(raw) / 1e6:.0f} MB csv)")
    timings: dict[str, float] = {}

    t = time.perf_counter()
    frame = read_table(io.BytesIO(raw), name="bench.csv").frame
    timings["read"] = time.perf_counter() - t

    t = time.perf_counter()
    describe_structure(frame, ["class"])
    timings["structure"] = time.perf_counter() - t

    spec = parse_formula("y ~ x + (x | class)")
    t = time.perf_counter()
    res = fit(frame, spec)
    payload = result_to_dict(res, ranef=True)
    timings["fit + df + condSD + json"] = time.perf_counter() - t
    for k, v in res.timing.items():
        timings[f"  {k}"] = v

    t = time.perf_counter()
    ranef_table(res, "class")
    pred_slope(res, "x", -2, 2)
    timings["effects (ranef table + pred_slope)"] = time.perf_counter() - t

    for k, v in timings.items():
        print(f"{k:40s} {v:7.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak memory':40s} {peak:7.0f} MB")
    print(f"groups: {res.ngroups}, fixed: {json.dumps(payload['fixed_effects'][1])[:120]}")


if __name__ == "__main__":
    main()
