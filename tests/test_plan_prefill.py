"""Planning inputs read from the user's data, against lme4 (fixtures made by
tests/fixtures/power/make_prefill_reference.R)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hlm_core.compare import ladder
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.plan_prefill import from_null_model, from_result_sizes, from_structure, prefill
from hlm_core.structure import describe_structure
from tests.refdata import FIXTURES

REF = json.loads((FIXTURES / "power/prefill_reference.json").read_text())


@pytest.fixture(scope="module")
def exam():
    return pd.read_csv(FIXTURES / "exam.csv")


@pytest.fixture(scope="module")
def exam_ladder(exam):
    return ladder(exam, parse_formula("normexam ~ standLRT + schavg + (1 | school)"))


def test_icc_and_its_interval_from_the_null_model(exam):
    null = fit(exam, parse_formula("normexam ~ 1 + (1 | school)"))
    (rho2,) = from_null_model(null)
    ref = REF["exam_null"]
    assert rho2.name == "rho2"
    assert rho2.value == pytest.approx(ref["icc"], abs=1e-4)
    assert rho2.interval == pytest.approx((ref["icc_lower"], ref["icc_upper"]), abs=1e-6)
    assert "null model" in rho2.source and "school" in rho2.source


def test_three_level_null_model_gives_rho2_and_rho3():
    bdf = pd.read_csv(FIXTURES / "bdf.csv")
    null = fit(bdf, parse_formula("langPOST ~ 1 + (1 | schoolNR/classNR)"))
    ref = REF["bdf_nested"]
    got = {p.name: p for p in from_null_model(null, design="cra3")}
    assert got["rho3"].value == pytest.approx(ref["rho_school"], abs=1e-4)
    assert got["rho2"].value == pytest.approx(ref["rho_class"], abs=1e-4)
    (two_level,) = from_null_model(null, design="cra2")
    assert two_level.value == pytest.approx(ref["rho_school"] + ref["rho_class"], abs=1e-4)
    assert "including differences" in two_level.source


def test_group_sizes_from_the_structure_check_and_from_the_fit(exam):
    st = describe_structure(exam, ["school"], unit="students")
    got = {p.name: p for p in from_structure(st)}
    assert got["n"].value == pytest.approx(REF["exam_null"]["n_mean"])
    assert got["J"].value == REF["exam_null"]["J"]
    assert "students per 'school'" in got["n"].source
    null = fit(exam, parse_formula("normexam ~ 1 + (1 | school)"))
    same = {p.name: p.value for p in from_result_sizes(null)}
    assert same == pytest.approx({"n": got["n"].value, "J": 65})


def test_r2_per_level_from_the_ladder(exam_ladder):
    got = prefill("cra2", ladder=exam_ladder)
    ref = REF["exam_ladder"]
    assert got["r21"].value == pytest.approx(ref["r21"], abs=1e-4)
    assert got["r22"].value == pytest.approx(ref["r22"], abs=1e-4)
    assert "Compare ladder" in got["r22"].source
    # the null model of the ladder (ML) fills the ICC and the sizes too
    assert {"rho2", "n", "J", "r21", "r22"} <= set(got)


def test_omega2_from_a_random_slope_model(exam):
    from hlm_core.plan_prefill import omega_from_slope
    from tests.refdata import load_reference

    ref = load_reference("exam_rs")  # normexam ~ standLRT + (standLRT | school), lme4 REML
    res = fit(exam, parse_formula(ref["formula"]))
    vc = {(r["group"], r["term1"], r["term2"]): r["vcov"] for r in ref["reml"]["varcorr"]}
    want = vc[("school", "standLRT", "")] / vc[("school", "(Intercept)", "")]
    got = omega_from_slope(res, "standLRT")
    assert got.name == "omega2" and got.value == pytest.approx(want, rel=5e-3)
    assert omega_from_slope(res, "sexM") is None
