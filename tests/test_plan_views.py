"""Power curves, the what-if table and the PowerUpR call text of a planning answer."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from hlm_core.plan_views import power_by_clusters, power_by_effect, powerupr_call, what_if
from hlm_core.power import Plan, power_at, solve

ROOT = Path(__file__).resolve().parents[1]
CASES = json.loads((ROOT / "tests/fixtures/power/powerupr_reference.json").read_text())["cases"]


def plan_of(case: dict) -> Plan:
    a = dict(case["args"])
    return Plan(design=case["design"], two_tailed=a.pop("two.tailed", True), **a)


def _args(call: str) -> tuple[str, dict[str, str]]:
    m = re.fullmatch(r"(\w+\.\w+)\((.*)\)", call)
    assert m, call
    return m.group(1), dict(kv.split(" = ") for kv in m.group(2).split(", "))


@pytest.mark.parametrize("case", CASES[:12], ids=[c["id"] for c in CASES[:12]])
def test_powerupr_call_carries_the_case_arguments(case):
    res = solve(plan_of(case), "power")
    fun, args = _args(powerupr_call(res).splitlines()[1])
    assert fun == f"power.{case['design']}"
    for k, v in case["args"].items():
        if k == "power":
            continue
        want = ("TRUE" if v else "FALSE") if isinstance(v, bool) else float(v)
        assert (args[k] if isinstance(want, str) else float(args[k])) == want, k


def test_clusters_call_checks_the_exact_answer_and_one_fewer():
    res = solve(Plan("cra3", rho3=0.06, rho2=0.17, n=15, J=3, es=0.269), "clusters")
    lines = powerupr_call(res).splitlines()
    assert lines[1].startswith("mrss.cra3(") and "K =" not in lines[1]
    assert "can stop one short" in lines[2]
    assert lines[3].endswith("K = 61)") and lines[4].endswith("K = 60)")


@pytest.mark.skipif(not os.environ.get("POWERUPR_LIB"), reason="set POWERUPR_LIB to a library "
                    "holding PowerUpR 1.1.0 to run the calls in R")
def test_powerupr_call_runs_in_r_and_gives_our_number():
    res = solve(Plan("bira2", rho2=0.2, omega2=0.3, n=20, J=25, es=0.3), "power")
    code = powerupr_call(res).replace(
        "library(PowerUpR)", f'.libPaths(c("{os.environ["POWERUPR_LIB"]}", .libPaths())); '
        "suppressMessages(library(PowerUpR))"
    ).replace("power.bira2(", "x <- power.bira2(") + "\ncat(sprintf('%.10f', x$power))"
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, check=True)
    assert float(out.stdout.strip().splitlines()[-1]) == pytest.approx(res.power, abs=1e-8)


def test_curves_pass_through_the_answer():
    res = solve(Plan("cra2", rho2=0.15, n=20, es=0.3), "clusters")
    by_j = power_by_clusters(res)
    assert by_j["clusters"].min() == 3 and by_j["clusters"].max() >= 2 * res.clusters
    assert by_j["power"].is_monotonic_increasing
    by_es = power_by_effect(res)
    assert by_es["power"].iloc[0] == pytest.approx(0.05, abs=1e-9)  # no effect: alpha
    assert by_es["power"].is_monotonic_increasing
    assert power_at(res.plan, es=0.3, clusters=res.clusters) >= 0.8


def test_what_if_moves_the_answer_the_right_way():
    res = solve(Plan("cra2", rho2=0.15, n=20, es=0.3), "clusters")
    t = what_if(res).set_index("change")
    base = t.loc["As planned", "answer"]
    assert base == res.clusters
    assert t.loc["ICC 0.05 higher", "answer"] > base > t.loc["ICC 0.05 lower", "answer"]
    assert t.loc["5 fewer pupils per cluster", "answer"] >= base
    assert t.loc["5 more pupils per cluster", "answer"] <= base
    power_rows = what_if(solve(Plan("cra2", rho2=0.15, n=20, J=40, es=0.3), "power"))
    assert power_rows.set_index("change").loc["ICC 0.05 higher", "answer"] < power_rows[
        "answer"].iloc[0]


def test_what_if_row_that_cannot_be_answered_says_why():
    res = solve(Plan("cra3", rho3=0.48, rho2=0.48, n=10, J=2, K=30), "power")
    t = what_if(res).set_index("change")
    assert pd.isna(t.loc["School ICC 0.05 higher", "answer"])
    assert "below 1" in t.loc["School ICC 0.05 higher", "note"]


def test_figures_mark_the_answer_and_the_target():
    from hlm_core.figures import power_clusters_figure, power_effect_figure

    res = solve(Plan("cra2", rho2=0.15, n=20, es=0.3), "clusters")
    fig = power_clusters_figure(res)
    answer = fig.data[1]
    assert list(answer.x) == [res.clusters] and answer.y[0] >= 0.8
    assert fig.layout.shapes[0].y0 == 0.8  # the target line
    assert "Number of clusters" in fig.layout.xaxis.title.text
    eff = power_effect_figure(res)
    assert eff.data[1].x[0] == pytest.approx(res.mdes)
    assert "MDES" in eff.data[1].text[0]


def test_plan_goes_into_the_workbook_report_and_r_code():
    import io

    from openpyxl import load_workbook

    from hlm_core.codegen import r_code
    from hlm_core.export import html_report, workbook
    from hlm_core.fit import fit
    from hlm_core.formula import parse_formula
    from hlm_core.plan_views import plan_table
    from tests.refdata import FIXTURES

    res = solve(Plan("cra2", rho2=0.17, n=15, es=0.4), "clusters")
    table = plan_table(res, {"rho2": "ICC of the null model"})
    assert table.set_index("Item").loc["Answer: number of clusters (classes or schools) (J)",
                                       "Value"] == res.clusters == 47
    result = fit(pd.read_csv(FIXTURES / "exam.csv"), parse_formula("normexam ~ 1 + (1 | school)"))
    wb = load_workbook(io.BytesIO(workbook(result, {"Study plan": table})))
    rows = list(wb["Study plan"].iter_rows(values_only=True))
    assert ("ICC, level 2 (rho2)", 0.17, "ICC of the null model") in rows
    page = html_report(result, "abc", None, {}, extra_tables={"Study plan": table},
                       code={"R": r_code(result.spec, "exam.csv",
                                         plan_call=powerupr_call(res))})
    assert "<h2>Study plan</h2>" in page and "ICC of the null model" in page
    assert "mrss.cra2(es = 0.4, power = 0.8" in page
    code = r_code(result.spec, "exam.csv", plan_call=powerupr_call(res))
    assert code.rstrip().endswith("J = 46)") and "library(PowerUpR)" in code
