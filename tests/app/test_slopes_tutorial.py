"""The Slopes page as the R tutorial's pred.slope (issue 10, point 8): hold the other
predictors at their means, at 0 (lme4's coef(): the tutorial's table) or at typed values;
the held values stated; a step; the full table (one row per class per step) downloadable; and
the Report page's R code uses the same settings (point 11)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hlm_core.effects import pred_slope
from tests.app.apphelpers import fit_by_formula, go, new_app, state, texts, upload, widget
from tests.refdata import FIXTURES

TUTORIAL = FIXTURES / "tutorial"
REF = json.loads((TUTORIAL / "coef.json").read_text())
X = "exam.prep.days"


@pytest.fixture
def at():
    at = upload(new_app(), "classroom.csv", (TUTORIAL / "classroom.csv").read_bytes())
    fit_by_formula(at, REF["formula"])
    return go(at, "slopes")


def the_table(at) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if list(d.value.columns) == [X, "class",
                                                                            "prediction"])


def test_hold_zero_table_is_lme4s_coef_rows(at):
    widget(at, "radio", "Hold the other predictors at").set_value("zero").run()
    widget(at, "slider", f"Range of {X}").set_value((0.0, 10.0)).run()
    t = the_table(at)
    xs = np.arange(0, 11.0)  # 0, 1, ..., 10 days: step 1 for a whole-number predictor
    assert len(t) == 7 * len(xs)
    a, b = np.array(REF["coef"]["(Intercept)"]), np.array(REF["coef"][X])
    want = (a[:, None] + b[:, None] * xs[None, :]).ravel()
    assert t["class"].astype(str).tolist() == list(np.repeat(REF["levels"], len(xs)))
    np.testing.assert_allclose(t["prediction"], want, rtol=1e-6)
    assert "Other predictors held at: poverty = 0, parent.ed = 0." in texts(at).replace("\\", "")


def test_typed_values_and_step_are_used_and_stated(at):
    widget(at, "radio", "Hold the other predictors at").set_value("typed").run()
    widget(at, "number_input", "parent.ed").set_value(12.0).run()
    widget(at, "number_input", "poverty").set_value(1.0).run()
    widget(at, "slider", f"Range of {X}").set_value((0.0, 18.0)).run()
    widget(at, "number_input", f"Step in {X} for the table").set_value(5.0).run()
    t = the_table(at)
    res = state(at).current_fit()
    want = pred_slope(res, X, 0, 18, step=5, hold={"poverty": 1, "parent.ed": 12})
    np.testing.assert_allclose(t["prediction"], want["prediction"], rtol=1e-12)
    assert sorted(set(t[X])) == [0, 5, 10, 15, 18]
    assert "poverty = 1, parent.ed = 12" in texts(at).replace("\\", "")
    assert any(b.label == "Download predicted lines (CSV)" for b in at.get("download_button"))
    # the Report page's R code holds the same values
    go(at, "report")
    code = next(c.value for c in at.code if "pred.slope" in c.value)
    assert "held at: poverty = 1; parent.ed = 12" in code
    assert "seq(0, 18, by = 5)" in code
