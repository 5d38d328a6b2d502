"""Class effects and per-class lines, checked against numbers computed from lme4's estimates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hlm_core.effects import group_ols, group_ols_lines, pred_slope, ranef_table
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import read_table
from tests.refdata import FIXTURES, load_reference


@pytest.fixture(scope="module")
def hsb():
    frame = read_table(FIXTURES / "hsb82.csv").frame
    ref = load_reference("hsb_rb")
    return frame, ref, fit(frame, parse_formula(ref["formula"]))


def test_ranef_table_has_intervals_and_own_coefficients(hsb):
    _, ref, res = hsb
    tab = ranef_table(res, "school")
    assert len(tab) == 160 * 2
    fixef = {r["term"]: r["estimate"] for r in ref["reml"]["fixed"]}
    row = tab[(tab["level"] == "1224") & (tab["term"] == "cses")].iloc[0]
    blup = ref["reml"]["ranef"][0]["values"][1][0]
    assert row["ranef"] == pytest.approx(blup, abs=1e-3)
    assert row["coef"] == pytest.approx(fixef["cses"] + blup, abs=1e-3)
    assert row["ranef_high"] - row["ranef"] == pytest.approx(1.959964 * row["cond_sd"])
    assert row["n"] == 47


def test_pred_slope_uses_each_schools_own_coefficients(hsb):
    frame, ref, res = hsb
    lines = pred_slope(res, "cses", -2.0, 2.0)
    assert list(lines.columns) == ["cses", "group", "prediction"]
    assert lines["group"].nunique() == 160 and len(lines) == 320
    fx = {r["term"]: r["estimate"] for r in ref["reml"]["fixed"]}
    meanses = frame["meanses"].mean()  # other predictors at their mean / reference level
    re_ = ref["reml"]["ranef"][0]
    j = re_["levels"].index("1288")
    b0, b1 = re_["values"][0][j], re_["values"][1][j]
    for c in (-2.0, 2.0):
        want = (fx["(Intercept)"] + fx["meanses"] * meanses + b0
                + (fx["cses"] + fx["meanses:cses"] * meanses + b1) * c)
        got = lines[(lines["group"] == "1288") & (lines["cses"] == c)]["prediction"].iloc[0]
        assert got == pytest.approx(want, abs=2e-3)


def test_group_ols_matches_numpy_polyfit():
    frame = read_table(FIXTURES / "exam.csv").frame
    co = group_ols(frame, "normexam", "standLRT", "school").set_index("group")
    sub = frame[frame["school"] == 7]
    slope, intercept = np.polyfit(sub["standLRT"], sub["normexam"], 1)
    assert co.loc["7", "slope"] == pytest.approx(slope)
    assert co.loc["7", "intercept"] == pytest.approx(intercept)
    lines = group_ols_lines(frame, "normexam", "standLRT", "school")
    assert lines["group"].nunique() == 65
    one = lines[lines["group"] == "7"]
    assert one["standLRT"].min() == pytest.approx(sub["standLRT"].min())


def test_group_ols_skips_groups_without_spread():
    df = pd.DataFrame({"y": [1, 2, 3, 4, 5], "x": [1, 1, 1, 2, 3], "g": ["a", "a", "a", "b", "b"]})
    co = group_ols(df, "y", "x", "g")
    assert list(co["group"]) == ["b"]


def test_pred_slope_refuses_a_category(hsb):
    from hlm_core.errors import ModelError

    _, _, res = hsb
    with pytest.raises(ModelError, match="not a numeric predictor"):
        pred_slope(res, "sector", 0, 1)


def test_group_mean_centring_equals_lme4_on_the_hand_centred_columns():
    """hsb82's `cses` is ses centred within school and `meanses` the school mean; centring `ses`
    in hlm_core must reproduce lme4's fit of the hand-made columns (term names aside)."""
    frame = read_table(FIXTURES / "hsb82.csv").frame
    ref = load_reference("hsb_centred")["reml"]
    spec = parse_formula("mAch ~ ses + sector + (ses | school)").with_(
        centering=(("ses", "group"),)
    )
    res = fit(frame, spec)
    assert list(res.fixed["term"]) == ["(Intercept)", "ses", "ses.mean", "sectorPublic"]
    want = {r["term"]: r for r in ref["fixed"]}
    rename = {"ses": "cses", "ses.mean": "meanses"}
    for _, row in res.fixed.iterrows():
        w = want[rename.get(row["term"], row["term"])]
        assert row["estimate"] == pytest.approx(w["estimate"], abs=1e-3 * w["std_error"])
        assert row["std_error"] == pytest.approx(w["std_error"], rel=2e-3)
        assert row["df"] == pytest.approx(w["df"], rel=2e-2)
    assert res.loglik == pytest.approx(ref["loglik"], abs=2e-3)
    assert any("centred within each school" in n for n in res.notes)


def test_grand_mean_centring_moves_only_the_intercept():
    frame = read_table(FIXTURES / "exam.csv").frame
    plain = fit(frame, parse_formula("normexam ~ standLRT + (1 | school)"))
    centred = fit(frame, parse_formula("normexam ~ standLRT + (1 | school)").with_(
        centering=(("standLRT", "grand"),)))
    assert centred.fixed["estimate"][1] == pytest.approx(plain.fixed["estimate"][1], rel=1e-6)
    shift = plain.fixed["estimate"][1] * frame["standLRT"].mean()
    assert centred.fixed["estimate"][0] == pytest.approx(plain.fixed["estimate"][0] + shift,
                                                         abs=1e-5)
