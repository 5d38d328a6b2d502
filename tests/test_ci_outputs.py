"""Intervals where people read them: the write-up, the APA table, the workbook, the HTML
report, and the generated R (confint, bootMer) and Python code."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from hlm_core.ci_output import attach, compute_intervals, format_ci
from hlm_core.codegen import CISettings, python_code, r_code
from hlm_core.export import html_report, workbook
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.writeup import apa_paragraph, apa_table

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def null_fit():
    res = fit(pd.read_csv(FIX / "exam.csv"), parse_formula("normexam ~ 1 + (1 | school)"))
    iv = compute_intervals(res, "profile")
    return res, iv


def test_write_up_gives_the_icc_with_its_interval(null_fit):
    res, iv = null_fit
    assert "95% CI" not in apa_paragraph(res).split("Fixed effects")[0]
    attach(res, iv)
    text = apa_paragraph(res)
    low, high = iv.icc
    assert f"ICC = .17, 95% CI [{low:.2f}, {high:.2f}]".replace("0.", ".") in text
    assert "likelihood profile, as lme4's confint()" in text
    sd = iv.table.iloc[0]
    assert f"SD = 0.41, 95% CI [{sd.ci_low:.2f}, {sd.ci_high:.2f}]" in text


def test_plain_summary_gives_the_icc_interval(null_fit):
    from hlm_core.report import describe_results

    res, iv = null_fit
    attach(res, iv)
    assert f"(ICC 0.17, 95% CI [{iv.icc[0]:.2f}, {iv.icc[1]:.2f}])" in describe_results(res)


def test_apa_table_variance_rows_carry_squared_intervals(null_fit):
    res, iv = null_fit
    attach(res, iv)
    t = apa_table(res)
    school = t[t["Term"] == "Intercept | school (variance)"].iloc[0]
    lo, hi = iv.table.loc[0, ["ci_low", "ci_high"]] ** 2
    assert school["95% CI"] == f"[{lo:.2f}, {hi:.2f}]"
    assert "likelihood profile" in t.attrs["note"]


def test_workbook_and_report_hold_the_interval_numbers(null_fit):
    res, iv = null_fit
    attach(res, iv)
    wb = load_workbook(io.BytesIO(workbook(res)))
    ws = wb["Variance components"]
    header = [c.value for c in ws[1]]
    assert header[-2:] == ["ci_low", "ci_high"]
    assert ws.cell(2, len(header) - 1).value == pytest.approx(iv.table.loc[0, "ci_low"])
    fit_rows = {r[0].value: r[1].value for r in wb["Model fit"].iter_rows(min_row=2)}
    assert fit_rows["ICC 95% CI low"] == pytest.approx(iv.icc[0])
    page = html_report(res, "0" * 64, {}, {})
    assert "ci_low" in page and format_ci(*iv.icc, apa=True) in page


def test_generated_code_asks_lme4_for_the_same_intervals(tmp_path):
    spec = parse_formula("score ~ x + (1 | class)")
    data = FIX / "ci" / "ci_singular.csv"
    r = r_code(spec, str(data), ci=CISettings("profile"))
    assert 'confint(fit, parm = "theta_", method = "profile", oldNames = FALSE)' in r
    rb = r_code(spec, str(data), ci=CISettings("boot", 200, 9))
    assert "set.seed(9)" in rb and "bootMer(fit, boot_stats, nsim = 200" in rb
    assert "confint" not in r_code(spec, str(data))
    py = python_code(spec, str(data), ci=CISettings("boot", 30, 4))
    assert 'compute_intervals(result, "boot", nsim=30, seed=4)' in py
    script = tmp_path / "run.py"
    script.write_text(python_code(spec, str(data), ci=CISettings("profile")))
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr
    ref = json.loads((FIX / "ci" / "ci_singular_reml.json").read_text())
    assert f"{ref['intervals'][0]['upper']:.5f}"[:7] == "0.19799"  # lme4's upper bound
    assert "0.19798" in out.stdout  # ours, printed to 6 decimals
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed")
    rs = tmp_path / "run.R"
    rs.write_text(r)
    out = subprocess.run(["Rscript", str(rs)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "sd_(Intercept)|class" in out.stdout and "0.19798" in out.stdout
