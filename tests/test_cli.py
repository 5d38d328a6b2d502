"""The command line, run as a user runs it: a subprocess, real files, exit codes, JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.refdata import FIXTURES, load_reference

ROOT = Path(__file__).resolve().parents[1]
JSON_FIELDS = {
    "formula", "method", "nobs", "ngroups", "fixed_effects", "variance_components", "loglik",
    "aic", "bic", "converged", "singular", "warnings", "icc", "r2_marginal", "r2_conditional",
    "timing",
}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hlm_core", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=300,
    )


def test_fit_json_matches_lme4_and_has_every_documented_field():
    ref = load_reference("exam_rs")
    p = cli("fit", str(FIXTURES / "exam.csv"), "--formula", ref["formula"], "--json", "--ranef")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert JSON_FIELDS <= set(out)
    assert out["method"] == "REML" and out["nobs"] == 4059 and out["ngroups"] == {"school": 65}
    for got, want in zip(out["fixed_effects"], ref["reml"]["fixed"], strict=True):
        assert got["term"] == want["term"]
        assert got["estimate"] == pytest.approx(want["estimate"], abs=1e-3 * want["std_error"])
        assert got["df"] == pytest.approx(want["df"], rel=2e-2)
        assert {"std_error", "t_value", "p_value", "ci_low", "ci_high"} <= set(got)
    vc = out["variance_components"]
    assert [r["group"] for r in vc] == ["school", "school", "school", "Residual"]
    assert vc[2]["sdcor"] == pytest.approx(ref["reml"]["varcorr"][2]["sdcor"], abs=2e-3)
    re_ = out["random_effects"]["school"]
    assert len(re_) == 65 * 2
    first = next(r for r in re_ if r["level"] == "1" and r["term"] == "(Intercept)")
    assert first["value"] == pytest.approx(ref["reml"]["ranef"][0]["values"][0][0], abs=1e-3)
    assert first["cond_sd"] == pytest.approx(ref["reml"]["ranef"][0]["cond_sd"][0][0], abs=1e-3)
    assert set(out["timing"]) == {"read_s", "fit_s"}


def test_fit_text_output_for_people():
    p = cli("fit", str(FIXTURES / "exam.csv"), "--formula", "normexam ~ 1 + (1 | school)", "--ml")
    assert p.returncode == 0
    assert "Linear mixed model fit by ML" in p.stdout
    assert "ICC:" in p.stdout


def test_compare_reports_the_lme4_likelihood_ratio():
    ref = load_reference("exam_rs")
    p = cli("compare", str(FIXTURES / "exam.csv"),
            "--formula", "normexam ~ standLRT + (1 | school)",
            "--formula", ref["formula"], "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["chisq"] == pytest.approx(ref["lrt"]["chisq"], abs=1e-3)
    assert out["df"] == ref["lrt"]["df"]
    assert out["p_value"] == pytest.approx(ref["lrt"]["p_value"], rel=1e-2)


def test_describe_counts_groups():
    p = cli("describe", str(FIXTURES / "exam.csv"), "--levels", "school", "--json")
    assert p.returncode == 0, p.stderr
    assert "65" in p.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "missing.csv", "--formula", "y ~ 1 + (1 | g)"], "no file at missing.csv"),
        (["fit", str(FIXTURES / "exam.csv"), "--formula", "normexam ~ standLRx + (1 | school)"],
         "no column called 'standLRx'"),
        (["fit", str(FIXTURES / "exam.csv"), "--formula", "normexam ~ abs(standLRT) + (1|school)"],
         "is not one of the functions"),
        (["fit", str(FIXTURES / "exam.csv"), "--formula", "sex ~ standLRT + (1 | school)"],
         "holds text"),
        (["fit", str(FIXTURES / "exam.csv")], "--formula"),
        (["compare", str(FIXTURES / "exam.csv"), "--formula", "normexam ~ 1 + (1 | school)"],
         "exactly two"),
    ],
)
def test_user_errors_exit_2_with_plain_words_and_no_traceback(args, message):
    p = cli(*args)
    assert p.returncode == 2
    assert message in p.stderr
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) <= 3


# ---- issue 17.4: control characters in names and values never reach the terminal

ESCAPE_FILE = ROOT / "tests" / "corpus" / "files" / "escape_codes.csv"
ESCAPE_ID = "\x1b]0;PWNED\x07Z\x1b[2J"


def test_escape_codes_in_ids_are_printed_as_visible_text():
    p = cli("fit", str(ESCAPE_FILE), "--formula", "score ~ `hours[31m` + (1 | class)", "--ranef")
    assert p.returncode == 0, p.stderr
    assert "\x1b" not in p.stdout + p.stderr and "\x07" not in p.stdout
    assert "\\x1b]0;PWNED\\x07Z\\x1b[2J" in p.stdout  # the ID is shown, harmlessly


def test_json_output_keeps_ids_exactly():
    p = cli("fit", str(ESCAPE_FILE), "--formula", "score ~ `hours[31m` + (1 | class)", "--ranef",
            "--json")
    assert p.returncode == 0, p.stderr
    assert "\x1b" not in p.stdout  # escaped by the JSON encoder
    levels = [r["level"] for r in json.loads(p.stdout)["random_effects"]["class"]]
    assert ESCAPE_ID in levels


def test_refusals_naming_user_text_are_made_visible(tmp_path):
    data = tmp_path / "names.csv"
    rows = "\n".join(f"c{i % 6},{i}" for i in range(200))
    data.write_text(f"class,score\n{rows}\n")
    p = cli("fit", str(data), "--formula", "score ~ `x\x1b[2J` + (1 | class)")
    assert p.returncode == 2
    assert "\x1b" not in p.stderr and "x\\x1b[2J" in p.stderr
