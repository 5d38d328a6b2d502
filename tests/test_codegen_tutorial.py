"""The generated R code walks the R tutorial (issue 10, point 11): the null model, the fitted
model, anova() between them, coef/ranef, the caterpillar data and pred.slope with the held
values the Slopes page used. Run under Rscript on the tutorial's classroom file; every number
is compared with what the app shows (hlm_core)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from hlm_core.codegen import r_code
from hlm_core.codegen_tutorial import pred_slope_args
from hlm_core.compare import ladder_specs, lrt
from hlm_core.effects import pred_slope, ranef_table
from hlm_core.fit import fit
from hlm_core.formula import format_formula, parse_formula
from tests.refdata import FIXTURES

FILE = FIXTURES / "tutorial" / "classroom.csv"
FORMULA = "score ~ exam.prep.days + poverty + parent.ed + (exam.prep.days | class)"
HELD = {"poverty": 0, "parent.ed": 12}  # "a value I type" on the Slopes page


@pytest.fixture(scope="module")
def app():
    d = pd.read_csv(FILE)
    res = fit(d, parse_formula(FORMULA))
    ps = pred_slope_args(res, "exam.prep.days", hold=HELD, lo=0, hi=10, step=1)
    return d, res, ps, r_code(res.spec, str(FILE), pred_slope=ps)


@pytest.fixture(scope="module")
def r_out(app, tmp_path_factory):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed (Debian: r-base-core r-cran-lme4 r-cran-lmertest "
                    "r-cran-jsonlite)")
    tmp = tmp_path_factory.mktemp("tutorial_r")
    script, out = tmp / "tutorial.R", tmp / "out.json"
    script.write_text(app[3], encoding="utf-8")
    proc = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HLM_CODEGEN_JSON": str(out), "LC_ALL": "C.UTF-8"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8")), proc.stdout


def test_the_script_has_each_tutorial_step(app):
    d, res, _, code = app
    null = ladder_specs(d, res.spec)[0][1]  # the Compare page's null model
    assert f"null <- lmer({format_formula(null)}, data = d, REML = TRUE)" in code
    for step in ("lrt <- anova(null, fit)", "coef(fit)", "ranef(fit)",
                 "as.data.frame(ranef(fit, condVar = TRUE))", "pred.slope$Effect <- predict("):
        assert step in code
    assert "held at: poverty = 0; parent.ed = 12" in code


def test_anova_reproduces_the_compare_page(app, r_out):
    d, res, _, _ = app
    used = d.iloc[res.model_frame.rows]  # the script keeps the model's complete rows first
    null = fit(used, ladder_specs(used, res.spec)[0][1])
    ours = lrt(null, res, used)
    got = r_out[0]["lrt"]
    assert got["df"] == ours.df
    assert got["chisq"] == pytest.approx(ours.chisq, rel=1e-4, abs=1e-3)
    assert got["p_value"] == pytest.approx(ours.p_value, rel=1e-3)


def test_coef_and_caterpillar_reproduce_the_class_effects_page(app, r_out):
    _, res, _, _ = app
    got = r_out[0]
    coef = pd.DataFrame(got["coef"]["class"])
    ours = res.coef["class"]
    for term in ("(Intercept)", "exam.prep.days"):
        mine = ours[ours["term"] == term].set_index("level")["value"]
        theirs = coef.set_index("level")[term].astype(float)
        np.testing.assert_allclose(theirs.loc[mine.index], mine, rtol=1e-4, atol=1e-3)
    cat = pd.DataFrame(got["caterpillar"])
    table = ranef_table(res, "class")
    for term in ("(Intercept)", "exam.prep.days"):
        theirs = cat[cat["term"] == term]
        mine = table[table["term"] == term].set_index("level")
        # lowest first, as the caterpillar plot sorts them
        assert theirs["grp"].astype(str).tolist() == mine.sort_values("ranef").index.tolist()
        np.testing.assert_allclose(theirs["condval"], mine.loc[theirs["grp"].astype(str),
                                   "ranef"], atol=1e-3)
        np.testing.assert_allclose(theirs["condsd"], mine.loc[theirs["grp"].astype(str),
                                   "cond_sd"], atol=1e-3)


def test_pred_slope_with_held_values_reproduces_the_slopes_page(app, r_out):
    _, res, ps, _ = app
    got = pd.DataFrame(r_out[0]["pred_slope"])
    assert (got["poverty"] == 0).all() and (got["parent.ed"] == 12).all()
    ours = pred_slope(res, "exam.prep.days", 0, 10, step=1, hold=dict(ps.held))
    assert len(got) == len(ours) == 7 * 11
    assert got["class"].astype(str).tolist() == ours["group"].tolist()
    assert got["exam.prep.days"].tolist() == ours["exam.prep.days"].tolist()
    np.testing.assert_allclose(got["Effect"], ours["prediction"], rtol=1e-4)
