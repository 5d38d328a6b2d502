"""Reproducible code: the generated Python and R run and give hlm_core's numbers, and hostile
column or file names stay data.

The R scripts all run in one Rscript process (each start costs 1-2 s): a small driver parses
each script, records the file name R read from it, and sources it with HLM_CODEGEN_JSON set so
the script saves its numbers.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlm_core.codegen import (
    python_code,
    r_backtick,
    r_code,
    r_string,
    spec_with_group_means,
)
from hlm_core.design import level_labels
from hlm_core.fit import fit
from hlm_core.formula import format_formula, parse_formula
from hlm_core.io import read_table
from hlm_core.result import FitResult
from hlm_core.spec import ModelSpec
from tests.refdata import FIXTURES

REPO = Path(__file__).resolve().parents[1]


def _hostile(sentinel: Path | str) -> str:
    """A name that would run `touch sentinel` if it were pasted into R or Python code."""
    s = str(sentinel)
    return f'evil\\"); system("touch {s}"); (\'); __import__("os").system("touch {s}"); (\''


# ----------------------------------------------------------------------------- cases


class Case:
    """One model: the data file, the spec and the app's data settings, plus hlm_core's fit."""

    def __init__(self, name, path, spec, column_types=None, missing_codes=None, cwd=None):
        self.name = name
        self.path = Path(path)
        self.spec: ModelSpec = spec
        self.column_types = column_types
        self.missing_codes = missing_codes
        self.cwd = cwd
        self._result: FitResult | None = None

    def frame(self) -> pd.DataFrame:
        """The data as the app fits it: read, missing codes, then type switches."""
        frame = read_table(self.path).frame.copy()
        for col, values in (self.missing_codes or {}).items():
            frame[col] = frame[col].mask(frame[col].isin(list(values)))
        for col, kind in (self.column_types or {}).items():
            if kind == "categorical":
                frame[col] = level_labels(frame[col]).astype("category")
            else:
                frame[col] = pd.to_numeric(frame[col], errors="coerce")
        return frame

    @property
    def result(self) -> FitResult:
        if self._result is None:
            self._result = fit(self.frame(), self.spec)
        return self._result

    def r(self) -> str:
        return r_code(self.spec, str(self.path), self.column_types,
                      missing_codes=self.missing_codes)

    def py(self) -> str:
        return python_code(self.spec, str(self.path), self.column_types,
                           missing_codes=self.missing_codes)


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> dict[str, Case]:
    tmp = tmp_path_factory.mktemp("codegen")
    out: dict[str, Case] = {}
    out["exam_rs"] = Case(
        "exam_rs", FIXTURES / "exam.csv",
        parse_formula("normexam ~ standLRT + (standLRT | school)"),
    )
    out["hsb_group"] = Case(
        "hsb_group", FIXTURES / "hsb82.csv",
        parse_formula("mAch ~ ses + sector + (ses | school)").with_(
            centering=(("ses", "group"),)
        ),
    )
    # grand-mean centring on data with missing values (an NA outcome and a missing code):
    # the means must be those of the rows the model uses; `sex` switched to categories
    bdf = pd.read_csv(FIXTURES / "bdf.csv")
    rng = np.random.default_rng(7)
    bdf.loc[rng.choice(len(bdf), 150, replace=False), "langPOST"] = np.nan
    bdf.loc[rng.choice(len(bdf), 80, replace=False), "ses"] = -9
    bdf_path = tmp / "bdf_missing.csv"
    bdf.to_csv(bdf_path, index=False)
    out["bdf_grand"] = Case(
        "bdf_grand", bdf_path,
        parse_formula("langPOST ~ IQ.verb + ses + sex + (IQ.verb | schoolNR)").with_(
            centering=(("IQ.verb", "grand"), ("ses", "grand"))
        ),
        column_types={"sex": "categorical"},
        missing_codes={"ses": [-9]},
    )
    # names R only accepts in backticks, one of them a factor, one non-ASCII; group-centred
    exam = pd.read_csv(FIXTURES / "exam.csv")
    odd_path = tmp / "exam odd names.csv"
    exam.rename(columns={"standLRT": "reading score", "sex": "pupil sëx"}).to_csv(
        odd_path, index=False
    )
    out["odd_names"] = Case(
        "odd_names", odd_path,
        parse_formula("normexam ~ `reading score` + `pupil sëx` + (`reading score` | school)")
        .with_(centering=(("reading score", "group"),)),
    )
    # reading decisions R's read.csv makes differently: spaces around IDs (trimmed: merged),
    # zero-padded school codes (kept as categories), "", "." and "N/A" read as missing
    rng = np.random.default_rng(11)
    rows = []
    for k in range(120):
        school, klass = k // 10, k // 5
        score = f"{50 + school + rng.normal(0, 3):.2f}"
        if k % 17 == 3:
            score = ["", ".", "N/A"][k % 3]
        label = f"K{klass}" + (" " if k % 7 == 0 else "")
        rows.append((f"{school + 1:02d}", label if k % 11 else f"  {label}", score,
                     f"{rng.normal():.3f}"))
    quirks = tmp / "reading_quirks.csv"
    pd.DataFrame(rows, columns=["school", "klass", "score", "ses"]).to_csv(quirks, index=False)
    out["reading_quirks"] = Case(
        "reading_quirks", quirks,
        parse_formula("score ~ ses + (1 | school) + (1 | klass)"),
    )
    # transformations typed in the formula: R computes them itself from the formula text
    out["transforms"] = Case(
        "transforms", REPO / "tests" / "fixtures" / "awkward" / "transforms.csv",
        parse_formula("y ~ log(hours) + poly(z, 2) + factor(grade) + I(hours^2) + scale(expo)"
                      " + offset(expo) + (sqrt(hours) | klass)"),
    )
    # a hostile file name holding a column with a hostile name
    col = _hostile(tmp / "pwned_by_column")
    hostile_dir = tmp / "hostile"
    hostile_dir.mkdir()
    file_name = _hostile("pwned_by_file").replace("/", "_") + ".csv"
    hostile_path = hostile_dir / file_name
    exam.rename(columns={"standLRT": col}).to_csv(hostile_path, index=False)
    quoted = "`" + col + "`"
    out["hostile"] = Case(
        "hostile", hostile_path,
        parse_formula(f"normexam ~ {quoted} + (1 | school)").with_(
            centering=((col, "grand"),)
        ),
        cwd=hostile_dir,
    )
    return out


def _sentinels(case: Case) -> list[Path]:
    return [case.path.parent.parent / "pwned_by_column", case.path.parent / "pwned_by_file"]


def _compare(case: Case, fixed: list[dict], by_position: bool = False, *,
             exact: bool = False) -> None:
    """R's (or the script's) fixed effects against hlm_core's, at the reference tolerances."""
    ours = case.result.fixed
    assert len(fixed) == len(ours), (fixed, ours)
    for row, (_, mine) in zip(fixed, ours.iterrows(), strict=True):
        if not by_position:
            assert row["term"] == mine["term"]
        if exact:
            for k in ("estimate", "std_error", "df"):
                assert row[k] == pytest.approx(mine[k], rel=1e-9, abs=1e-12)
            continue
        assert abs(row["estimate"] - mine["estimate"]) <= 1e-3 * mine["std_error"], row
        assert row["std_error"] == pytest.approx(mine["std_error"], rel=2e-3), row
        assert row["df"] == pytest.approx(mine["df"], rel=2e-2), row


# ----------------------------------------------------------------------------- unit checks


def test_r_string_escapes():
    assert r_string('a"b') == r'"a\"b"'
    assert r_string("a\\b") == r'"a\\b"'
    assert r_string("line\nbreak") == r'"line\nbreak"'
    assert r_string("été") == '"été"'  # non-ASCII as is
    assert r_string("\x01") == r'"\x01"'
    assert r_backtick("ses") == "ses"
    assert r_backtick("reading score") == "`reading score`"
    assert r_backtick("a\\b") == r"`a\\b`"  # R reads escapes inside backticks too
    with pytest.raises(ValueError):
        r_string("nul\x00")


def test_group_means_follow_their_variable():
    spec = parse_formula("y ~ x + w + z + (x | g)").with_(
        centering=(("x", "group"), ("z", "group"), ("w", "grand"))
    )
    assert format_formula(spec_with_group_means(spec)) == (
        "y ~ x + x.mean + w + z + z.mean + (x | g)"
    )


def test_r_code_reads_each_format():
    spec = parse_formula("y ~ x + (1 | g)")
    assert 'read.csv(file, colClasses = "character", check.names = FALSE' in r_code(spec, "a.csv")
    assert "read.delim(" in r_code(spec, "a.tsv")
    xl = r_code(spec, "a.xlsx", sheet='Data "2"')
    assert 'readxl::read_excel(file, sheet = "Data \\"2\\""' in xl
    assert "haven::read_sav(file)" in r_code(spec, "a.sav")
    assert "haven::read_dta(file)" in r_code(spec, "a.DTA")
    assert "arrow::read_parquet(file)" in r_code(spec, "a.parquet")
    code = r_code(spec, "a.csv", {"x": "numeric", "g": "categorical"})
    assert "d$x <- as.numeric(" in code and "d$g <- factor(as.character(d$g))" in code
    assert "REML = TRUE" in code
    assert "REML = FALSE" in r_code(spec.with_(reml=False), "a.csv")
    py = python_code(spec, "a.xlsx", sheet="S1")
    assert "read_table(DATA_FILE, sheet='S1')" in py


def test_centring_comes_after_dropping_incomplete_rows(cases):
    code = cases["bdf_grand"].r()
    drop = code.index("complete.cases(")
    assert drop < code.index("d$IQ.verb <- d$IQ.verb - mean(d$IQ.verb, na.rm = TRUE)")
    assert code.index("d$ses[d$ses %in% c(-9)] <- NA") < drop
    group = cases["hsb_group"].r()
    assert "d$ses.mean <- ave(d$ses, d$school)" in group
    assert "d$ses <- d$ses - d$ses.mean" in group
    assert "lmer(mAch ~ ses + ses.mean + sector + (ses | school)," in group
    odd = cases["odd_names"].r()
    assert 'd[["reading score.mean"]] <- ave(d[["reading score"]], d$school)' in odd
    assert "`reading score` + `reading score.mean` + `pupil sëx`" in odd


# ----------------------------------------------------------------------------- hostile names


_ALLOWED_CALLS = {
    "read_table", "print", "parse_formula", "fit", "open", "json.dump", "result_to_dict",
    "os.environ.get", "spec.with_", "table.frame.copy", "result.fixed.to_string",
    "result.varcorr.to_string",
}


def _call_name(node: ast.AST) -> str:
    return ast.unparse(node)


def test_python_code_keeps_hostile_names_as_literals(cases):
    case = cases["hostile"]
    code = case.py()
    tree = ast.parse(code)  # parses: no quote was broken out of
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert str(case.path) in strings
    assert format_formula(case.spec) in strings
    calls = {_call_name(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert calls <= _ALLOWED_CALLS, calls - _ALLOWED_CALLS
    # the centring argument is a literal holding the column name, nothing else
    centring = next(n for n in ast.walk(tree) if isinstance(n, ast.keyword)
                    and n.arg == "centering")
    assert ast.literal_eval(centring.value) == case.spec.centering


def _r_code_outside_literals(code: str) -> str:
    """R source with its strings, backtick names and comments removed, as R's lexer reads
    them (backslash escapes inside quotes and backticks): what R would run as code."""
    out: list[str] = []
    i, n = 0, len(code)
    while i < n:
        ch = code[i]
        if ch in "\"'`":
            j = i + 1
            while j < n and code[j] != ch:
                j += 2 if code[j] == "\\" else 1
            assert j < n, "unterminated literal"
            out.append(" ")
            i = j + 1
        elif ch == "#":
            j = code.find("\n", i)
            i = n if j < 0 else j
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def test_r_code_keeps_hostile_names_inert_when_parsed(cases):
    """Without Rscript: read as R reads it, the hostile text is only ever inside literals."""
    case = cases["hostile"]
    code = case.r()
    col = case.spec.fixed[0].variables[0]
    assert r_string(str(case.path)) in code
    assert r_backtick(col) in code
    executable = _r_code_outside_literals(code)
    assert "system" not in executable and "touch" not in executable
    assert "__import__" not in executable
    # the same check sees an unescaped name for what it is
    assert "touch" in _r_code_outside_literals(f'file <- "{case.path}"')


# ----------------------------------------------------------------------------- Python runs


def _run_python(case: Case, tmp: Path) -> dict:
    script = tmp / f"{case.name}.py"
    script.write_text(case.py(), encoding="utf-8")
    out = tmp / f"{case.name}.json"
    env = {**os.environ, "HLM_CODEGEN_JSON": str(out), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=case.cwd or REPO, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Fixed effects" in proc.stdout and "Variance components" in proc.stdout
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["exam_rs", "bdf_grand", "hostile", "transforms"])
def test_generated_python_reproduces_hlm_core(cases, tmp_path, name):
    case = cases[name]
    got = _run_python(case, tmp_path)
    _compare(case, got["fixed_effects"], exact=True)
    ours = case.result.varcorr
    assert [v["vcov"] for v in got["variance_components"]] == pytest.approx(
        ours["vcov"].tolist(), rel=1e-9
    )
    assert got["nobs"] == case.result.nobs
    if name == "bdf_grand":
        assert case.result.rows_dropped > 0  # the missing values were really dropped
    for s in _sentinels(case):
        assert not s.exists()


# ----------------------------------------------------------------------------- R runs

_DRIVER = r"""
args <- commandArgs(trailingOnly = TRUE)
suppressMessages(library(lmerTest))
for (k in seq(1, length(args), by = 2)) {
  script <- args[k]; out <- args[k + 1]
  exprs <- parse(file = script, encoding = "UTF-8")
  for (e in as.list(exprs)) {
    if (is.call(e) && identical(e[[1]], as.name("<-")) && identical(e[[2]], as.name("file")))
      jsonlite::write_json(e[[3]], paste0(out, ".file"))
  }
  Sys.setenv(HLM_CODEGEN_JSON = out)
  wd <- setwd(dirname(script))
  status <- tryCatch({
    source(script, local = new.env(), print.eval = TRUE, encoding = "UTF-8")
    "ok"
  }, error = function(err) conditionMessage(err))
  setwd(wd)
  writeLines(status, paste0(out, ".status"))
}
"""


@pytest.fixture(scope="module")
def r_runs(cases, tmp_path_factory) -> dict[str, dict]:
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed (Debian: r-base-core r-cran-lme4 r-cran-lmertest "
                    "r-cran-jsonlite), so the generated R code can't be run here")
    tmp = tmp_path_factory.mktemp("rruns")
    driver = tmp / "driver.R"
    driver.write_text(_DRIVER, encoding="utf-8")
    args: list[str] = []
    outs: dict[str, Path] = {}
    for name, case in cases.items():
        where = case.cwd or tmp  # the hostile case runs beside its file: a relative `touch`
        script = where / f"{name}.R"  # would land there
        script.write_text(case.r(), encoding="utf-8")
        outs[name] = tmp / f"{name}.json"
        args += [str(script), str(outs[name])]
    env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    proc = subprocess.run(["Rscript", str(driver), *args], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = {}
    for name, out in outs.items():
        status = Path(str(out) + ".status").read_text(encoding="utf-8").strip()
        assert status == "ok", f"{name}: {status}\n{proc.stderr[-2000:]}"
        runs[name] = {
            "result": json.loads(out.read_text(encoding="utf-8")),
            "file": json.loads(Path(str(out) + ".file").read_text(encoding="utf-8")),
        }
    return runs


@pytest.mark.parametrize(
    "name", ["exam_rs", "hsb_group", "bdf_grand", "odd_names", "reading_quirks", "transforms"]
)
def test_generated_r_reproduces_hlm_core(cases, r_runs, name):
    case = cases[name]
    got = r_runs[name]["result"]
    assert got["nobs"] == case.result.nobs
    assert got["ngroups"] == case.result.ngroups  # R reads the same groups as the app
    assert got["REML"] is case.spec.reml
    _compare(case, got["fixed"])
    # variance components: same layout as hlm_core (lme4's as.data.frame(VarCorr()))
    ours = case.result.varcorr
    theirs = [v["sdcor"] for v in got["varcorr"]]
    assert theirs == pytest.approx(ours["sdcor"].tolist(), rel=5e-3, abs=1e-4)


def test_generated_r_with_hostile_names_runs_and_stays_inert(cases, r_runs):
    case = cases["hostile"]
    run = r_runs["hostile"]
    assert run["file"] == [str(case.path)]  # R read the name back exactly
    _compare(case, run["result"]["fixed"], by_position=True)
    for s in _sentinels(case):
        assert not s.exists(), f"{s} was created: a name ran as code"
