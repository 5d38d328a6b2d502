"""The 1,000,000-row benchmark: 1,000,000 students in 20,000 classes, `y ~ x + (x | class)`.

Generates the data as a CSV (~40 MB: student ID, school, y, x, class) in a temporary folder
outside the repository (our generated data, not anyone's), then times:

  * hlm_core: read, structure check, fit with everything the results pages need (Satterthwaite
    df, conditional SDs), the Class effects and Slopes figures (built and serialised as
    `st.plotly_chart` does);
  * the app's server (Streamlit AppTest): the result pages, and a plot-option rerun;
  * a real browser (Chromium): upload the CSV through the uploader of `streamlit run app.py`,
    type the formula, Fit model, open Class effects and wait until the caterpillar with its
    20,000 points is drawn;
  * peak memory: this process + the server process (VmHWM).

Budgets (2-core machine): fit + df + conditional SDs <= 5 s; upload -> caterpillar in the browser
<= 10 s; peak memory <= 3 GB; a plot-option change <= 0.3 s of server time (no refit).

Run by hand or in CI: `python benchmarks/bench_1m.py [--students N --classes G] [--no-browser]`.
A report: it prints PASS/MISS per budget and exits 0 either way.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_core import core_timings
from benchmarks.bench_dashboard import browser_walk, server_side
from benchmarks.common import CHROMIUM, report, self_peak_mb, timed
from benchmarks.make_data import classes_dataset
from hlm_core.structure import describe_structure

MEMORY_BUDGET_MB = 3 * 1024
BUDGETED = {  # label printed -> shown again in the summary
    "fit + df + conditional SDs": "fit + df + conditional SDs <= 5 s",
    "browser: upload -> caterpillar drawn": "upload -> caterpillar in the browser <= 10 s",
    "server: plot option own -> deviation (no refit)": "plot option change <= 0.3 s (server)",
    "server: plot option all -> extremes (no refit)": "plot option change <= 0.3 s (server)",
    "peak memory (this process + server)": "peak memory <= 3 GB",
}


def figure_timings(frame, res, results: dict) -> None:
    """Build (and serialise, as st.plotly_chart does) the figures the two pages show."""
    import plotly.io as pio

    from hlm_core.effects import group_ols_lines, pred_slope, ranef_table
    from hlm_core.figures import caterpillar, group_lines, spread_groups

    def class_effects():
        table = ranef_table(res, "class")
        for term in res.random_terms("class"):
            t = table[table["term"] == term]
            fig = caterpillar(t, term, "own", value_title=term, group_title="class")
            pio.to_json(fig, validate=False)

    def slopes():
        mf = res.model_frame
        info = mf.variables["x"]
        predicted = pred_slope(res, "x", info.minimum, info.maximum, n=2, group="class")
        own = group_ols_lines(frame, "y", "x", "class")
        keep = spread_groups(predicted, 1000)
        block = mf.blocks[0]
        for lines in (predicted, own):
            drawn = lines[lines["group"].astype(str).isin(keep)]
            fig = group_lines(drawn, "x", "y", "lines", order=block.levels)
            pio.to_json(fig, validate=False)

    timed("Class effects figures (table + 2 caterpillars, JSON)", class_effects, results=results)
    timed("Slopes figures (lines, own-data lines, 2 figures, JSON)", slopes, results=results)


def stage(name: str, fn) -> object:
    """Run one part of the benchmark; a failure is reported and the rest still runs."""
    try:
        return fn()
    except Exception:
        print(f"!! {name} failed:")
        traceback.print_exc(file=sys.stdout)
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=20_000)
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium walk")
    args = ap.parse_args()
    results: dict[str, tuple[float, float | None]] = {}
    server_peak = 0.0
    t_all = time.perf_counter()
    load_start = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs; load average (1 min) at the start: {load_start:.1f}")
    with tempfile.TemporaryDirectory(prefix="hlm-bench-1m-") as tmp:
        path = Path(tmp) / "students_1m.csv"

        def generate():
            data = classes_dataset(args.students, args.classes, ids=True)
            data.to_csv(path, index=False)

        timed(f"generate {args.students:,} students in {args.classes:,} classes (CSV)",
              generate)
        print(f"({path.stat().st_size / 1e6:.0f} MB of CSV in {tmp}; generated, not user data)")

        out = stage("hlm_core", lambda: core_timings(path, name=path.name, results=results))
        if out is not None:
            frame, res = out
            timed("structure check, class within school",
                  lambda: describe_structure(frame, ["class", "school"]), results=results)
            stage("figures", lambda: figure_timings(frame, res, results))
            stage("server (AppTest)", lambda: server_side(frame, res, results))
            del frame, res
        if args.no_browser:
            print("browser walk skipped (--no-browser)")
        elif not Path(CHROMIUM).exists():
            print(f"browser walk skipped: no Chromium at {CHROMIUM}")
        else:
            peak = stage("browser", lambda: browser_walk(path, args.classes, results))
            server_peak = peak or 0.0

    own = self_peak_mb()
    report("peak memory (this process)", own, unit="MB")
    report("peak memory (server, VmHWM)", server_peak, unit="MB")
    report("peak memory (this process + server)", own + server_peak, MEMORY_BUDGET_MB, results,
           unit="MB")
    print(f"total benchmark time {time.perf_counter() - t_all:.0f} s; load average (1 min) at the "
          f"start {load_start:.1f}, at the end {os.getloadavg()[0]:.1f}")
    if max(load_start, os.getloadavg()[0]) > 1.5:
        print("NOTE: other processes were using the CPUs; wall times are longer than on an idle "
              "machine (the CPU times printed beside them are less affected).")

    print("\nbudgets:")
    for label, text in BUDGETED.items():
        if label not in results:
            print(f"  NOT MEASURED  {text}")
            continue
        value, budget = results[label]
        verdict = "PASS" if budget is not None and value <= budget else "MISS"
        unit = "MB" if "memory" in label else "s"
        print(f"  {verdict}  {text}: {value:.2f} {unit}" if unit == "s"
              else f"  {verdict}  {text}: {value:,.0f} {unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
