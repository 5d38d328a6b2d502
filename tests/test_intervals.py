"""Profile-likelihood intervals against lme4's confint(fit, method = "profile").

References: tests/fixtures/ci/*.json, made by tests/fixtures/ci/make_ci_reference.R from
tests/fixtures/ci/cases.csv (R 4.2.2, lme4 1.1-31). Tolerances from issue 14: SD and sigma
bounds within 0.5% relative, correlation bounds within 1e-3.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.intervals import profile_intervals

CI = Path(__file__).parent / "fixtures" / "ci"
CASES = pd.read_csv(CI / "cases.csv")["case"].tolist()
# lme4's profile() is stuck here: its optimiser never moves the (singular) class SD off 0, so
# its deviances are too high and its intervals too narrow. check_bdf_nested.R shows lme4's own
# deviance function agreeing with ours at our profile's points (test below).
LME4_STUCK = {("bdf_nested_reml", "sd_(Intercept)|classNR:schoolNR", "upper"),
              ("bdf_nested_reml", "sd_(Intercept)|schoolNR", "lower")}


def lme4_names(table: pd.DataFrame) -> list[str]:
    """lme4's oldNames = FALSE parameter names. VarCorr calls the blocks of a split
    (x || g) term g, g.1, ...; confint names them all g."""
    names = []
    for row in table.itertuples():
        group = re.sub(r"\.\d+$", "", row.group)
        if row.group == "Residual":
            names.append("sigma")
        elif row.term2:
            names.append(f"cor_{row.term2}.{row.term1}|{group}")
        else:
            names.append(f"sd_{row.term1}|{group}")
    return names


def _load(case: str):
    ref = json.loads((CI / f"{case}.json").read_text())
    path = CI / ref["file"]
    if not path.exists():
        path = CI.parent / ref["file"]
    data = pd.read_csv(path)
    return ref, fit(data, parse_formula(ref["formula"], reml=ref["method"] == "REML"))


@cache
def _profiled(case: str):
    ref, result = _load(case)
    return case, ref, result, profile_intervals(result)


@pytest.fixture(params=CASES)
def case(request):
    return _profiled(request.param)


def test_bounds_match_lme4(case):
    name, ref, _result, iv = case
    refs = {r["parm"]: r for r in ref["intervals"]}
    names = lme4_names(iv.table)
    assert sorted(names) == sorted(refs)
    for n, row in zip(names, iv.table.itertuples(), strict=True):
        for side, ours in (("lower", row.ci_low), ("upper", row.ci_high)):
            theirs = refs[n][side]
            if (name, n, side) in LME4_STUCK:
                assert (ours < theirs) if side == "lower" else (ours > theirs)
                continue
            if n.startswith("cor_"):
                assert ours == pytest.approx(theirs, abs=1e-3), (n, side)
            else:
                assert ours == pytest.approx(theirs, rel=5e-3, abs=1e-9), (n, side)


def test_estimates_inside_and_edges_in_words(case):
    _, _ref, result, iv = case
    t = iv.table
    assert (t["ci_low"] <= t["sdcor"] + 1e-6).all() and (t["sdcor"] <= t["ci_high"] + 1e-6).all()
    at_zero = (t["term2"] == "") & (t["group"] != "Residual") & (t["ci_low"] == 0)
    assert all("lower bound is 0" in e for e in t.loc[at_zero, "edge"])
    assert all(e == "" for e in t.loc[~at_zero & (t["term2"] == ""), "edge"])
    if result.icc is not None:
        low, high = iv.icc
        assert 0 <= low <= high < 1


def test_reml_and_ml_fits_give_lme4s_same_interval():
    """lme4 profiles the ML deviance for both (devfun2 refits by ML)."""
    a, b = _profiled("exam_rs_reml")[3].table, _profiled("exam_rs_ml")[3].table
    np.testing.assert_allclose(a[["ci_low", "ci_high"]], b[["ci_low", "ci_high"]], rtol=1e-5)


def test_where_lme4_is_stuck_its_own_deviance_agrees_with_ours():
    from hlm_core.intervals import SdcorModel, _theta_hat

    check = json.loads((CI / "bdf_nested_devfun2.json").read_text())
    _, result = _load("bdf_nested_reml")
    model = SdcorModel(result)
    _, _, base = model.ml_fit(_theta_hat(result))
    assert base == pytest.approx(check["basedev"], abs=1e-3)
    for pt in check["points"]:
        assert model.deviance(np.array(pt["pars"])) == pytest.approx(pt["deviance"], abs=1e-3)
    # at school SD = 1 lme4's zeta is below -4, the likelihood's is above -1: lme4 missed it
    assert check["lme4_zeta_at_school_sd"] < -4
    assert check["points"][1]["deviance"] - check["basedev"] < 1.0


def test_singular_fit_reports_zero_edge_in_words():
    iv = _profiled("ci_singular_reml")[3]
    row = iv.table.iloc[0]
    assert row.ci_low == 0 and "consistent with the average not differing" in row.edge
    assert iv.icc[0] == 0.0


def _cli(*args: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "hlm_core", *args], capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).resolve().parents[1])


def test_cli_profile_json_carries_lme4s_bounds():
    ref = json.loads((CI / "ci_singular_reml.json").read_text())
    p = _cli("fit", str(CI / "ci_singular.csv"), "--formula", ref["formula"], "--ci", "profile",
             "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    vc = out["variance_components"]
    assert vc[0]["ci_low"] == 0 and "lower bound is 0" in vc[0]["ci_note"]
    assert vc[0]["ci_high"] == pytest.approx(ref["intervals"][0]["upper"], rel=5e-3)
    assert vc[1]["ci_low"] == pytest.approx(ref["intervals"][1]["lower"], rel=5e-3)
    assert out["icc_ci"][0] == 0 and 0 < out["icc_ci"][1] < 0.2
    assert out["ci"]["method"] == "profile" and out["timing"]["ci_s"] > 0


def test_cli_boot_is_reproducible_and_says_what_it_did():
    args = ("fit", str(CI / "ci_singular.csv"), "--formula", "score ~ x + (1 | class)",
            "--ci", "boot", "--nsim", "30", "--seed", "5")
    a, b = _cli(*args, "--json"), _cli(*args, "--json")
    assert a.returncode == 0, a.stderr
    ja, jb = json.loads(a.stdout), json.loads(b.stdout)
    assert ja["variance_components"] == jb["variance_components"]
    assert ja["icc_ci"] == jb["icc_ci"] and ja["ci"]["nsim"] == 30 and ja["ci"]["seed"] == 5
    text = _cli(*args)
    assert "parametric bootstrap, 30 draws, seed 5" in text.stdout
    assert "95% CI [" in text.stdout


def test_cli_refuses_seed_without_boot_in_words():
    p = _cli("fit", str(CI / "ci_singular.csv"), "--formula", "score ~ x + (1 | class)",
             "--seed", "3")
    assert p.returncode == 2 and "--ci boot" in p.stderr
    p = _cli("fit", str(CI / "ci_singular.csv"), "--formula", "score ~ x + (1 | class)",
             "--ci", "boot", "--nsim", "3")
    assert p.returncode == 2 and "at least 20" in p.stderr


@pytest.mark.skipif(not os.environ.get("HLM_SLOW_TESTS"),
                    reason="several minutes: set HLM_SLOW_TESTS=1 to run")
def test_three_by_three_singular_block_against_lme4():
    """A 3 x 3 random block that is singular (two correlations at +-1): the SDs and sigma agree
    within 0.5%, the one well-determined correlation's lower bound within 1e-3. On this ridge
    both optimisers struggle: its upper bound differs by ~2e-3 and lme4 puts the lower bound
    of cor(sexM, Intercept) at -1 where we find -0.96; those are not asserted."""
    _, ref, _, iv = _profiled("exam_q3_ml")
    refs = {r["parm"]: r for r in ref["intervals"]}
    for n, row in zip(lme4_names(iv.table), iv.table.itertuples(), strict=True):
        if n.startswith("sd_") or n == "sigma":
            assert row.ci_low == pytest.approx(refs[n]["lower"], rel=5e-3, abs=1e-9), n
            assert row.ci_high == pytest.approx(refs[n]["upper"], rel=5e-3), n
    cor = iv.table.iloc[3]
    assert cor.ci_low == pytest.approx(refs["cor_standLRT.(Intercept)|school"]["lower"],
                                       abs=1e-3)
