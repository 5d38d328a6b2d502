"""Benchmark: y ~ x + (x | class) on 1,000,000 students in 20,000 classes.

Prints read / fit / effects times (wall and CPU: on a shared machine CPU time is the steadier
figure) and peak memory. Run by hand: `python benchmarks/bench_core.py` (budget: everything
`fit --ranef --json` needs in <= 5 s on the 2-core machine; lme4 + lmerTest take ~44 s).
`--students 10000000 --classes 200000`: read + fit + df + conditional SDs <= 20 s and peak
memory <= 12 GB, judged on the wall clock and, since the machine is shared, on CPU time too
(the 1-minute load average is printed with each step: at a load of 8 on 2 cores a step's wall
time is several times its CPU time). `--growth` runs 100k, 1M and 10M rows, each in a fresh
process, and prints the README's growth table. Not part of the pass/fail suite. The process's
allocator is set up as the command line's and the app's job workers' (hlm_core/allocator.py).
`benchmarks/bench_1m.py` runs these same steps on a CSV file, then the dashboard's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import FORMULA, report, self_peak_mb, timed
from benchmarks.make_data import classes_dataset
from hlm_core.allocator import keep_freed_memory
from hlm_core.effects import pred_slope, ranef_table
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import read_table
from hlm_core.result import FitResult, result_to_dict
from hlm_core.structure import describe_structure

FIT_BUDGET = 5.0  # s: fit + Satterthwaite df + conditional SDs (+ the JSON) on 2 cores
BIG_BUDGET = 20.0  # s: read + fit + df + conditional SDs at 10,000,000 rows
BIG_MEMORY_MB = 12 * 1024
GROWTH = [(100_000, 2_000), (1_000_000, 20_000), (10_000_000, 200_000)]
STEPS = {  # label printed -> column of the growth table
    "read (hlm_core.io.read_table)": "read",
    "structure check (describe_structure)": "structure",
    "fit + df + conditional SDs": "fit + df + SDs",
    "JSON of the result with every BLUP (CLI --ranef)": "JSON",
}


def core_timings(source, name: str = "bench.csv", formula: str = FORMULA,
                 results: dict | None = None, cpu: dict | None = None):
    """Read `source` (bytes or a path) as the app does, check the structure, fit `formula`
    with everything the results need, and build the effects tables; print each time (and put
    each step's CPU seconds in `cpu`). Returns (frame, FitResult)."""
    cpu = {} if cpu is None else cpu

    def step(label, fn, budget=None):
        start = time.process_time()
        out = timed(label, fn, budget, results)
        cpu[label] = time.process_time() - start
        report("  (CPU time, both cores)", cpu[label])
        print(f"  (load average, 1 min: {os.getloadavg()[0]:.1f})")
        return out

    frame = step("read (hlm_core.io.read_table)", lambda: read_table(source, name=name).frame)
    step("structure check (describe_structure)", lambda: describe_structure(frame, ["class"]))
    spec = parse_formula(formula)
    res: FitResult = step("fit + df + conditional SDs", lambda: fit(frame, spec),
                          FIT_BUDGET if len(frame) <= 1_000_000 else None)
    for k, v in res.timing.items():
        report(f"  {k}", v)
    payload = step("JSON of the result with every BLUP (CLI --ranef)",
                   lambda: result_to_dict(res, ranef=True))
    step("effects tables (ranef table + pred_slope)",
         lambda: (ranef_table(res, "class"), pred_slope(res, "x", -2, 2)))
    print(f"groups: {res.ngroups}, fixed: {json.dumps(payload['fixed_effects'][1])[:120]}")
    return frame, res


def growth_table() -> None:
    """Run each size of GROWTH in a fresh process (its own peak memory) and print a Markdown
    table: wall (CPU) seconds per step, peak memory, and the growth from the size before."""
    rows = []
    for n, g in GROWTH:
        print(f"--- {n:,} students, {g:,} classes", flush=True)
        proc = subprocess.run(
            [sys.executable, __file__, "--students", str(n), "--classes", str(g), "--json-line"],
            capture_output=True, text=True, check=True,
        )
        print(proc.stdout, end="")
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    head = ["rows / classes", *STEPS.values(), "read + fit", "peak memory", "load average",
            "growth (CPU time, memory)"]
    print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    prev = None
    for r in rows:
        cells = [f"{r['n']:,} / {r['g']:,}"]
        cells += [f"{r['wall'][k]:.2f} s ({r['cpu'][k]:.2f})" for k in STEPS]
        cells += [f"{r['core']:.2f} s ({r['core_cpu']:.2f})", f"{r['peak_mb']:,.0f} MB",
                  f"{r['load'][0]:.1f}-{r['load'][1]:.1f}"]
        cells.append("" if prev is None else f"x{r['core_cpu'] / prev['core_cpu']:.1f}, "
                     f"x{r['peak_mb'] / prev['peak_mb']:.1f}")
        print("| " + " | ".join(cells) + " |")
        prev = r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=20_000)
    ap.add_argument("--growth", action="store_true", help="100k -> 1M -> 10M table")
    ap.add_argument("--json-line", action="store_true", help="end with the numbers as JSON")
    args = ap.parse_args()
    if args.growth:
        growth_table()
        return
    keep_freed_memory()  # set up as the processes that fit are (command line, job workers)
    data = timed("generate data", lambda: classes_dataset(args.students, args.classes))
    raw = data.to_csv(index=False).encode()
    del data
    print(f"({len(raw) / 1e6:.0f} MB of CSV)")
    results: dict = {}
    cpu: dict = {}
    load_before = os.getloadavg()[0]
    core_timings(raw, results=results, cpu=cpu)
    load_after = os.getloadavg()[0]
    big = args.students >= 10_000_000
    read, fitted = "read (hlm_core.io.read_table)", "fit + df + conditional SDs"
    core = results[read][0] + results[fitted][0]
    core_cpu = cpu[read] + cpu[fitted]
    print(f"load average (1 min) before and after: {load_before:.1f}, {load_after:.1f} "
          f"on {os.cpu_count()} cores")
    report("read + fit + df + conditional SDs (wall)", core, BIG_BUDGET if big else None)
    report("read + fit + df + conditional SDs (CPU)", core_cpu, BIG_BUDGET if big else None)
    peak = self_peak_mb()
    report("peak memory (this process)", peak, BIG_MEMORY_MB if big else None, unit="MB")
    if args.json_line:
        print(json.dumps({
            "n": args.students, "g": args.classes, "core": core, "core_cpu": core_cpu,
            "peak_mb": peak, "load": [load_before, load_after],
            "wall": {k: v[0] for k, v in results.items()}, "cpu": cpu,
        }))


if __name__ == "__main__":
    main()
