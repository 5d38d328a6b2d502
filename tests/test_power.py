"""Closed-form planning against R's PowerUpR 1.1.0 (fixtures made by
tests/fixtures/power/make_power_reference.R), the exact number of clusters, refusals, the CLI."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hlm_core.power import (
    Plan,
    PlanError,
    clusters_needed,
    power_at,
    solve,
)

ROOT = Path(__file__).resolve().parents[1]
REF = json.loads((ROOT / "tests/fixtures/power/powerupr_reference.json").read_text())
CASES = REF["cases"]
TOP = {"cra2": "J", "cra3": "K", "bira2": "J"}


def plan_of(case: dict) -> Plan:
    a = dict(case["args"])
    two = a.pop("two.tailed", True)
    return Plan(design=case["design"], two_tailed=two, **a)


def test_reference_was_made_with_powerupr_1_1_0():
    assert REF["powerupr_version"] == "1.1.0"
    assert len(CASES) >= 90
    assert {c["design"] for c in CASES} == {"cra2", "cra3", "bira2"}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_power_mdes_and_df_match_powerupr(case):
    plan = plan_of(case)
    res = solve(plan, "power")
    assert res.power == pytest.approx(case["power"], abs=1e-6)
    assert res.df == case["df"]
    md = solve(plan, "mdes")
    assert md.mdes == pytest.approx(case["mdes"], abs=1e-6)
    assert md.mdes_ci[0] == pytest.approx(case["mdes_lcl"], abs=1e-6)
    assert md.mdes_ci[1] == pytest.approx(case["mdes_ucl"], abs=1e-6)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_clusters_are_the_exact_smallest_whole_number(case):
    plan = plan_of(case)
    res = solve(plan, "clusters")
    assert res.clusters == case["exact"]
    assert res.power == pytest.approx(case["power_exact"], abs=1e-6)
    assert res.power >= plan.power
    if case["power_exact_minus1"] is not None:
        assert power_at(plan, clusters=res.clusters - 1) < plan.power
        assert power_at(plan, clusters=res.clusters - 1) == pytest.approx(
            case["power_exact_minus1"], abs=1e-6
        )
    # PowerUpR's mrss.* lands on the same number or one away (usually one short)
    assert abs(case["mrss"] - res.clusters) <= 1


def test_powerupr_mrss_stops_one_short_in_the_documented_cra3_example():
    case = next(c for c in CASES if c["source"] == "man/cra3.Rd")
    assert case["mrss"] == 60 and case["exact"] == 61
    plan = plan_of(case)
    assert power_at(plan, clusters=60) < 0.80 <= power_at(plan, clusters=61)


def test_documented_examples_cross_check_each_other():
    """PowerUpR's man pages: the MDES at J = 20 gives power 0.80 back, and J = 20 again."""
    cra2 = Plan("cra2", rho2=0.17, n=15, J=20)
    mdes = solve(cra2, "mdes").mdes
    assert mdes == pytest.approx(0.629, abs=1e-3)
    assert solve(cra2.with_(es=0.629), "power").power == pytest.approx(0.800, abs=1e-3)
    assert clusters_needed(cra2.with_(es=0.629)) == 20
    bira2 = Plan("bira2", rho2=0.17, omega2=0.5, n=15, J=20)
    assert solve(bira2, "mdes").mdes == pytest.approx(0.366, abs=1e-3)
    cra3 = Plan("cra3", rho3=0.06, rho2=0.17, n=15, J=3, K=60)
    assert solve(cra3, "mdes").mdes == pytest.approx(0.269, abs=1e-3)


@pytest.mark.parametrize(
    ("plan", "solve_for", "words"),
    [
        (Plan("cra2", rho2=1.0, n=20, J=30), "power", "ICC (rho2) must be at least 0 and below 1"),
        (Plan("cra2", rho2=0.1, n=20, J=30, p=1.0), "power", "share treated (p)"),
        (Plan("cra2", rho2=0.1, n=20, J=30, p=0.0), "mdes", "share treated (p)"),
        (Plan("cra3", rho2=0.5, rho3=0.5, n=20, J=3, K=30), "power", "add up to 1"),
        (Plan("cra2", rho2=0.1, n=20, J=4, g2=2), "power", "no degrees of freedom"),
        (Plan("bira2", rho2=0.1, omega2=0.2, n=20, J=1), "mdes", "at least 2 schools"),
        (Plan("bira2", rho2=0.1, n=20, J=30), "power", "Give omega2"),
        (Plan("cra2", rho2=0.1, n=20, es=0.0), "clusters", "effect size (es) must be above 0"),
        (Plan("cra2", rho2=0.1, n=20, J=30, r21=1.5), "power", "R² of the covariates (r21)"),
        (Plan("cra2", rho2=0.1, n=20, J=30, power=1.0), "mdes", "target power"),
    ],
)
def test_impossible_inputs_are_refused_in_words(plan, solve_for, words):
    with pytest.raises(PlanError, match=words.replace("(", r"\(").replace(")", r"\)")):
        solve(plan, solve_for)


def test_what_more_clusters_buy_is_monotone():
    plan = Plan("cra2", rho2=0.2, n=25, es=0.3)
    powers = [power_at(plan, clusters=j) for j in range(4, 200)]
    assert all(b > a for a, b in itertools.pairwise(powers))


# --------------------------------------------------------------------------- CLI


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hlm_core", "power", *args], cwd=ROOT, capture_output=True,
        text=True, timeout=120,
    )


def test_cli_json_gives_power_mdes_clusters_df():
    case = next(c for c in CASES if c["source"] == "man/cra3.Rd")
    p = cli("--design", "cra3", "--solve", "clusters", "--es", "0.269", "--rho3", "0.06",
            "--rho2", "0.17", "--n", "15", "--J", "3", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["clusters"] == case["exact"] == 61
    assert out["df"] == 59
    assert out["power"] == pytest.approx(case["power_exact"], abs=1e-6)
    assert {"power", "mdes", "clusters", "df"} <= set(out)


def test_cli_flags_are_powerupr_arguments():
    case = next(c for c in CASES if c["design"] == "bira2" and not c["args"].get("two.tailed", 1))
    a = case["args"]
    flags = ["--design", "bira2", "--json", "--one-tailed"]
    for k, v in a.items():
        if k != "two.tailed":
            flags += [f"--{k}", str(v)]
    out = json.loads(cli(*flags, "--solve", "power").stdout)
    assert out["power"] == pytest.approx(case["power"], abs=1e-6)
    out = json.loads(cli(*flags, "--solve", "mdes").stdout)
    assert out["mdes"] == pytest.approx(case["mdes"], abs=1e-6)


def test_cli_text_output():
    p = cli("--design", "cra2", "--rho2", ".17", "--n", "15", "--J", "20", "--es", ".629")
    assert p.returncode == 0
    assert "Power to detect an effect of 0.629 SD with J = 20: 0.800" in p.stdout


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--rho2", "1.2", "--n", "15", "--J", "20"], "ICC"),
        (["--rho2", ".1", "--n", "15", "--J", "20", "--p", "1.5"], "share treated"),
        (["--rho2", ".1", "--n", "15", "--J", "2"], "degrees of freedom"),
        (["--rho2", ".1", "--n", "15"], "Give J"),
    ],
)
def test_cli_refuses_impossible_inputs_with_exit_2(flags, words, capsys):
    from hlm_core.__main__ import main

    assert main(["power", "--design", "cra2", *flags]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_cli_unknown_design_exits_2():
    from hlm_core.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["power", "--design", "cra4", "--rho2", ".1"])
    assert exc.value.code == 2
