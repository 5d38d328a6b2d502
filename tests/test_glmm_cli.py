"""The command line for yes/no and count outcomes: JSON fields, numbers against lme4, refusals."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest

from hlm_core.__main__ import main, run

GLMM = Path(__file__).parent / "fixtures" / "glmm"
PUPILS = str(GLMM / "pupils.csv")
Z95 = 1.959963984540054


def _json(argv: list[str]) -> dict:
    out = io.StringIO()
    assert run([*argv, "--json"], out=out) == 0
    return json.loads(out.getvalue())


def test_fit_binomial_json_matches_glmer():
    ref = json.loads((GLMM / "bin_ri.json").read_text())
    got = _json(["fit", PUPILS, "--formula", ref["formula"], "--family", "binomial", "--ranef"])
    assert got["family"] == "binomial" and got["method"] == "Laplace" and got["link"] == "logit"
    assert got["success"] == "pass" and got["failure"] == "fail"
    for row, f in zip(got["fixed_effects"], ref["fixed"], strict=True):
        assert row["term"] == f["term"]
        assert "df" not in row and "t_value" not in row
        assert row["z_value"] == pytest.approx(f["z_value"], rel=0.02)
        assert row["odds_ratio"] == pytest.approx(2.718281828 ** row["estimate"])
        # issue 13.7: ci_low/ci_high are the odds ratio's interval; the logit's is estimate_ci_*
        assert list(row) == ["term", "estimate", "std_error", "z_value", "p_value",
                             "estimate_ci_low", "estimate_ci_high", "odds_ratio", "ci_low",
                             "ci_high"]
        for key, sign in (("ci_low", -1), ("ci_high", 1)):
            wald = f["estimate"] + sign * Z95 * f["std_error"]  # lme4's estimate and SE
            assert row[key] == pytest.approx(math.exp(wald), rel=0.01)
            assert row[f"estimate_{key}"] == pytest.approx(
                row["estimate"] + sign * Z95 * row["std_error"])
    assert got["loglik"] == pytest.approx(ref["loglik"], abs=2e-3)
    assert "latent" in got["icc_definition"]
    assert len(got["random_effects"]["class"]) == 60


def test_fit_poisson_agq_json():
    ref = json.loads((GLMM / "pois_agq.json").read_text())
    got = _json(["fit", PUPILS, "--formula", ref["formula"], "--family", "poisson",
                 "--nagq", "5"])
    assert got["method"] == "AGQ(5)" and got["family"] == "poisson"
    assert [r["rate_ratio"] for r in got["fixed_effects"]] == pytest.approx(
        [2.718281828 ** f["estimate"] for f in ref["fixed"]], rel=1e-4)
    for row in got["fixed_effects"]:  # the rate ratio's interval, on the ratio scale
        assert row["ci_low"] == pytest.approx(math.exp(row["estimate_ci_low"]))
        assert row["ci_low"] < row["rate_ratio"] < row["ci_high"]
    assert got["ci_scale"] == "rate_ratio"
    assert got["loglik"] == pytest.approx(ref["loglik"], abs=2e-3)


def test_compare_gives_anova_chisq():
    ref = json.loads((GLMM / "pois_nested.json").read_text())
    got = _json(["compare", PUPILS, "--formula", "absences ~ ses + small + (1 | class)",
                 "--formula", ref["formula"], "--family", "poisson"])
    assert got["family"] == "poisson"
    assert got["chisq"] == pytest.approx(ref["lrt"]["chisq"], abs=0.01)
    assert got["df"] == ref["lrt"]["df"]
    assert got["p_value"] == pytest.approx(ref["lrt"]["p_value"], rel=0.02)


def test_threshold_in_formula_and_text_output():
    out = io.StringIO()
    assert run(["fit", PUPILS, "--formula", "ses ~ small + (1 | class)", "--family", "binomial",
                "--threshold", ">=0"], out=out) == 0
    text = out.getvalue()
    assert "I(ses >= 0) ~ small + (1 | class)" in text and "Wald z" in text
    assert "odds_ratio" in text and "latent scale" in text


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--formula", "ses ~ small + (1 | class)", "--family", "binomial"], "decimal"),
        (["--formula", "ses ~ small + (1 | class)", "--family", "poisson"], "negative"),
        (["--formula", "school ~ 1 + (1 | class)", "--family", "binomial"], "different values"),
        (["--formula", "result ~ 1 + (1 | class)", "--family", "binomial", "--threshold", "x"],
         "not understood"),
        (["--formula", "result ~ ses + (ses | class)", "--family", "binomial", "--nagq", "3"],
         "one random intercept"),
        (["--formula", "absences ~ 1 + (1 | class)", "--nagq", "3"], "need --family"),
    ],
)
def test_unsuitable_outcomes_exit_2_in_plain_words(argv, words, capsys):
    assert main(["fit", PUPILS, *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
