"""Benchmark: profile-likelihood intervals for `score ~ x + (x | class)` on 100,000 pupils in
2,000 classes, against lme4's confint(fit, method = "profile") on the same file (issue 14:
within 3x of lme4). Run by hand: `python benchmarks/bench_intervals.py` (R's side needs
Rscript with lme4; without it only our time is printed). Not part of the pass/fail suite.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import report, timed
from benchmarks.make_data import classes_dataset
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.intervals import profile_intervals

FORMULA = "score ~ x + (x | class)"
R_SCRIPT = """suppressMessages({library(lme4); library(jsonlite)})
d <- read.csv(commandArgs(trailingOnly = TRUE)[1], stringsAsFactors = TRUE)
fit <- lmer(score ~ x + (x | class), data = d, REML = TRUE)
t0 <- Sys.time()
ci <- suppressWarnings(confint(fit, method = "profile", oldNames = FALSE, parm = "theta_",
                               quiet = TRUE))
secs <- as.numeric(Sys.time() - t0, units = "secs")
cat(toJSON(list(seconds = secs, parm = rownames(ci), lower = ci[, 1], upper = ci[, 2]),
           digits = NA))
"""


def main() -> None:
    data = classes_dataset(100_000, 2_000).rename(columns={"y": "score"})
    result = fit(data, parse_formula(FORMULA))
    iv = timed("profile intervals (ours), 100k pupils / 2,000 classes",
               lambda: profile_intervals(result))
    print(iv.table.to_string(index=False))
    print("ICC", result.icc, "95% CI", iv.icc)
    if not shutil.which("Rscript"):
        print("Rscript not found: lme4's time not measured.")
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bench.csv"
        data.to_csv(csv, index=False)
        script = Path(tmp) / "ci.R"
        script.write_text(R_SCRIPT)
        out = subprocess.run(["Rscript", str(script), str(csv)], capture_output=True, text=True,
                             check=True)
    lme4 = json.loads(out.stdout)
    secs = float(lme4["seconds"][0] if isinstance(lme4["seconds"], list) else lme4["seconds"])
    report("lme4 confint(method = 'profile')", secs)
    for p, lo, hi in zip(lme4["parm"], lme4["lower"], lme4["upper"], strict=True):
        print(f"  lme4 {p:28s} {lo:.6f} {hi:.6f}")
    ratio = iv.seconds / secs
    print(f"ours / lme4: {ratio:.2f}x (budget 3x): {'PASS' if ratio <= 3 else 'MISS'}")


if __name__ == "__main__":
    main()
