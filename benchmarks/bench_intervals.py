"""Benchmark: profile-likelihood intervals for `score ~ x + (x | class)` on 100,000 pupils in
2,000 classes, against lme4's confint(fit, method = "profile") on the same file (issue 14:
within 3x of lme4). Run by hand: `python benchmarks/bench_intervals.py` (R's side needs
Rscript with lme4; without it only our time is printed). Not part of the pass/fail suite.

`python benchmarks/bench_intervals.py glmm` times instead a generalized model's profile:
`passed ~ x + (1 | class)` (binomial, Laplace) on 3,000 pupils in 200 classes, against lme4's
confint on the same glmer fit (no budget in the issue; the ratio is printed). CPU time is shown
next to wall time: the machine may be shared.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import report, timed
from benchmarks.make_data import classes_dataset
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.intervals import profile_intervals

FORMULA = "score ~ x + (x | class)"
R_TEMPLATE = """suppressMessages({library(lme4); library(jsonlite)})
d <- read.csv(commandArgs(trailingOnly = TRUE)[1], stringsAsFactors = TRUE)
fit <- FIT
t0 <- Sys.time()
ci <- suppressWarnings(confint(fit, method = "profile", oldNames = FALSE, parm = "theta_",
                               quiet = TRUE))
secs <- as.numeric(Sys.time() - t0, units = "secs")
cat(toJSON(list(seconds = secs, parm = rownames(ci), lower = ci[, 1], upper = ci[, 2]),
           digits = NA))
"""
R_SCRIPT = R_TEMPLATE.replace("FIT", "lmer(score ~ x + (x | class), data = d, REML = TRUE)")
GLMM_FORMULA = "passed ~ x + (1 | class)"
R_GLMM_SCRIPT = R_TEMPLATE.replace(
    "FIT", "glmer(passed ~ x + (1 | class), data = d, family = binomial,\n"
    "             control = glmerControl(optimizer = \"bobyqa\"))")


def _lme4(script_text: str, data) -> dict | None:
    """lme4's confint time and bounds on `data` (None without Rscript)."""
    if not shutil.which("Rscript"):
        print("Rscript not found: lme4's time not measured.")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bench.csv"
        data.to_csv(csv, index=False)
        script = Path(tmp) / "ci.R"
        script.write_text(script_text)
        out = subprocess.run(["Rscript", str(script), str(csv)], capture_output=True, text=True,
                             check=True)
    lme4 = json.loads(out.stdout)
    secs = float(lme4["seconds"][0] if isinstance(lme4["seconds"], list) else lme4["seconds"])
    report("lme4 confint(method = 'profile')", secs)
    for p, lo, hi in zip(lme4["parm"], lme4["lower"], lme4["upper"], strict=True):
        print(f"  lme4 {p:28s} {lo:.6f} {hi:.6f}")
    return {"seconds": secs}


def glmm_main() -> None:
    """The generalized model's profile (hlm_core.intervals_glmm) against lme4's."""
    spec_file = Path(__file__).resolve().parents[1] / "tests/fixtures/glmm_ci/make_ci_data.py"
    spec = importlib.util.spec_from_file_location("make_ci_data", spec_file)
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    data = make.classes(21, 200, 15, 0.7)
    f = parse_formula(GLMM_FORMULA, reml=False).with_(family="binomial", reml=False)
    result = fit(data, f)
    cpu = time.process_time()
    iv = timed("GLMM profile intervals (ours), 3,000 pupils / 200 classes",
               lambda: profile_intervals(result))
    print(f"  CPU time {time.process_time() - cpu:.2f} s")
    print(iv.table.to_string(index=False))
    print("latent ICC", result.icc, "95% CI", iv.icc)
    lme4 = _lme4(R_GLMM_SCRIPT, data)
    if lme4:
        print(f"ours / lme4: {iv.seconds / lme4['seconds']:.2f}x")


def main() -> None:
    data = classes_dataset(100_000, 2_000).rename(columns={"y": "score"})
    result = fit(data, parse_formula(FORMULA))
    iv = timed("profile intervals (ours), 100k pupils / 2,000 classes",
               lambda: profile_intervals(result))
    print(iv.table.to_string(index=False))
    print("ICC", result.icc, "95% CI", iv.icc)
    lme4 = _lme4(R_SCRIPT, data)
    if lme4 is None:
        return
    ratio = iv.seconds / lme4["seconds"]
    print(f"ours / lme4: {ratio:.2f}x (budget 3x): {'PASS' if ratio <= 3 else 'MISS'}")


if __name__ == "__main__":
    glmm_main() if sys.argv[1:] == ["glmm"] else main()
