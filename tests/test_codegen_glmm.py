"""Generated R (`glmer`) and Python code for yes/no and count models reproduce the app's
numbers: the R scripts run under Rscript (skipped without it), the Python scripts always."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hlm_core.codegen import python_code, r_code
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import read_table

REPO = Path(__file__).resolve().parents[1]
PUPILS = REPO / "tests" / "fixtures" / "glmm" / "pupils.csv"
SPECS = {
    "success": parse_formula("result ~ ses + small + (1 | class)").with_(
        family="binomial", success="fail"),
    "threshold": parse_formula("ses ~ small + sex + (1 | school/class)").with_(
        family="binomial", threshold=(">=", 0.5)),
    "count_agq": parse_formula("absences ~ ses + (1 | class)").with_(family="poisson", nagq=5),
}


@pytest.fixture(scope="module")
def ours() -> dict:
    frame = read_table(PUPILS).frame
    return {k: fit(frame, s) for k, s in SPECS.items()}


def _run(cmd: list[str], script: Path, out: Path) -> dict:
    env = {**os.environ, "HLM_CODEGEN_JSON": str(out), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([*cmd, str(script)], cwd=PUPILS.parent, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", list(SPECS))
def test_generated_python_reproduces_the_fit(ours, tmp_path, name):
    script = tmp_path / "fit.py"
    script.write_text(python_code(SPECS[name], "pupils.csv"), encoding="utf-8")
    got = _run([sys.executable], script, tmp_path / "out.json")
    res = ours[name]
    assert got["family"] == res.family and got["method"] == res.method
    assert [r["estimate"] for r in got["fixed_effects"]] == pytest.approx(
        list(res.fixed["estimate"]), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", list(SPECS))
def test_generated_r_reproduces_the_fit(ours, tmp_path, name):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed")
    script = tmp_path / "fit.R"
    code = r_code(SPECS[name], "pupils.csv")
    assert "glmer(" in code
    script.write_text(code, encoding="utf-8")
    got = _run(["Rscript"], script, tmp_path / "out.json")
    res = ours[name]
    fixed = got["fixed"]
    if isinstance(fixed, dict):  # jsonlite writes a data frame column-wise or row-wise
        fixed = [dict(zip(fixed, v, strict=True)) for v in zip(*fixed.values(), strict=True)]
    assert [f["term"] for f in fixed] == list(res.fixed["term"])
    for f, (_, row) in zip(fixed, res.fixed.iterrows(), strict=True):
        assert abs(f["estimate"] - row["estimate"]) <= max(0.02 * f["std_error"], 1e-3)
        assert row["std_error"] == pytest.approx(f["std_error"], rel=0.01)
    assert got["nobs"] == res.nobs
    assert res.loglik >= got["loglik"] - 2e-3 and res.loglik <= got["loglik"] + 0.05
