"""The tutorial's pred.slope table (issue 10, point 8): each class's intercept + slope x days
with the other predictors held at 0 (lme4's coef()), at their means, or at typed values; over
a range in steps; one row per class per step. And the same from the command line.

Reference: tests/fixtures/tutorial/coef.json, lme4's coef(fit)$class for the tutorial's
classroom file (made by coef.R in that folder)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlm_core.effects import default_step, held_values, pred_slope
from hlm_core.errors import HLMError
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from tests.refdata import FIXTURES

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = FIXTURES / "tutorial"
REF = json.loads((TUTORIAL / "coef.json").read_text())
X = "exam.prep.days"


@pytest.fixture(scope="module")
def tutorial():
    d = pd.read_csv(TUTORIAL / "classroom.csv")
    return d, fit(d, parse_formula(REF["formula"]))


def lme4_rows(xs) -> pd.DataFrame:
    """coef(fit)$class[, "(Intercept)"] + coef(fit)$class[, X] * x, one row per class per x."""
    a = np.array(REF["coef"]["(Intercept)"])
    b = np.array(REF["coef"][X])
    return pd.DataFrame({
        "group": np.repeat(REF["levels"], len(xs)),
        "x": np.tile(xs, len(a)),
        "prediction": (a[:, None] + b[:, None] * np.asarray(xs)[None, :]).ravel(),
    })


def test_hold_zero_is_lme4_coef_rows(tutorial):
    _, res = tutorial
    got = pred_slope(res, X, 0, 10, step=1, hold="zero")
    want = lme4_rows(np.arange(0, 11.0))
    assert len(got) == 7 * 11  # one row per class per step, as the tutorial's table
    assert got["group"].tolist() == want["group"].tolist()
    np.testing.assert_array_equal(got[X].to_numpy(), want["x"].to_numpy())
    np.testing.assert_allclose(got["prediction"], want["prediction"], rtol=1e-6)


def test_hold_mean_adds_the_other_predictors_at_their_means(tutorial):
    d, res = tutorial
    held = held_values(res, X, "mean")
    used = d.dropna(subset=["score", X, "poverty", "parent.ed"])
    assert held == pytest.approx({"poverty": used["poverty"].mean(),
                                  "parent.ed": used["parent.ed"].mean()})
    got = pred_slope(res, X, 0, 2, step=1, hold="mean")
    fe = res.fixed.set_index("term")["estimate"]
    shift = fe["poverty"] * held["poverty"] + fe["parent.ed"] * held["parent.ed"]
    want = lme4_rows([0.0, 1.0, 2.0])
    np.testing.assert_allclose(got["prediction"], want["prediction"] + shift, rtol=1e-6)


def test_hold_typed_values(tutorial):
    _, res = tutorial
    held = held_values(res, X, {"parent.ed": 12})
    assert held["parent.ed"] == 12 and held["poverty"] == pytest.approx(res.model_frame.variables[
        "poverty"].mean)
    got = pred_slope(res, X, 5, 5, step=1, hold={"poverty": 1, "parent.ed": 12})
    fe = res.fixed.set_index("term")["estimate"]
    want = lme4_rows([5.0])["prediction"] + fe["poverty"] + 12 * fe["parent.ed"]
    np.testing.assert_allclose(got["prediction"], want, rtol=1e-6)
    with pytest.raises(HLMError, match="not a predictor"):
        held_values(res, X, {"shoe size": 3})
    with pytest.raises(HLMError, match="number"):
        held_values(res, X, {"parent.ed": float("nan")})
    with pytest.raises(HLMError, match="mean"):
        held_values(res, X, "median")


def test_step_and_default_step(tutorial):
    _, res = tutorial
    assert default_step(res, X) == 1  # whole-number days
    assert default_step(res, "parent.ed") == 1
    got = pred_slope(res, X, 0, 1, step=0.25, hold="zero")
    assert sorted(set(got[X])) == [0, 0.25, 0.5, 0.75, 1.0]
    # the last step never overshoots the range; a range not a multiple of the step ends at hi
    got = pred_slope(res, X, 0, 2.5, step=1, hold="zero")
    assert sorted(set(got[X])) == [0, 1, 2, 2.5]
    with pytest.raises(HLMError, match="step"):
        pred_slope(res, X, 0, 10, step=0)
    with pytest.raises(HLMError, match="step"):
        pred_slope(res, X, 0, 1e6, step=1e-3)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hlm_core", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_cli_slopes_json_hold_zero_equals_lme4():
    p = cli("slopes", str(TUTORIAL / "classroom.csv"), "--formula", REF["formula"],
            "--predictor", X, "--from", "0", "--to", "25", "--hold", "zero", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["predictor"] == X and out["hold"] == "zero"
    rows = pd.DataFrame(out["rows"])
    assert list(rows.columns) == ["group", "x", "prediction"]
    assert all(isinstance(g, str) for g in rows["group"])  # the ID text in the file
    want = lme4_rows(np.arange(0, 26.0))  # step 1: whole-number days
    assert rows["group"].tolist() == want["group"].tolist()
    assert rows["x"].tolist() == want["x"].tolist()
    np.testing.assert_allclose(rows["prediction"], want["prediction"], rtol=1e-6)


def test_cli_slopes_text_states_held_values_and_refuses_plainly():
    p = cli("slopes", str(TUTORIAL / "classroom.csv"), "--formula", REF["formula"],
            "--predictor", X, "--from", "0", "--to", "2", "--step", "1")
    assert p.returncode == 0, p.stderr
    assert "poverty" in p.stdout and "mean" in p.stdout
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    assert lines[-1].split()[:2] == ["7", "2"]  # last row: class 7 at 2 days
    bad = cli("slopes", str(TUTORIAL / "classroom.csv"), "--formula", REF["formula"],
              "--predictor", "poverty_typo", "--from", "0", "--to", "2")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "exam.prep.days" in bad.stderr  # says what to choose instead
