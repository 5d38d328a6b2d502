"""Saving an analysis and opening it again (hlm_core.analysis_file) and the CLI's
`fit --analysis`: a round trip keeps every choice, the refit gives lme4's numbers, and every bad
file in tests/corpus/analysis/ is refused in plain words."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from hlm_core.__main__ import main, run
from hlm_core.analysis_file import (
    Analysis,
    AnalysisFileError,
    file_name,
    read_analysis,
    write_analysis,
)
from hlm_core.analysis_open import analysis_table, open_analysis
from hlm_core.errors import HLMError
from hlm_core.formula import parse_formula
from tests.corpus import analysis_files

FIX = Path(__file__).parent / "fixtures"
EXAM = (FIX / "exam.csv").read_bytes()
REF = json.loads((FIX / "exam_rs.json").read_text())["reml"]


OPTIONS = {
    "view": {"workshop": True, "large_font": False},
    "class_effects": {"scale": "response", "k": 7, "hide_small": True, "show": "deviation",
                      "groups_shown": "extremes", "how_many": 4, "fair_effect": "standLRT"},
    "slopes": {"predictor": "standLRT", "hold": "typed", "range": {"standLRT": [-2.5, 3.0]},
               "step": {"standLRT": 0.5}, "held": {"sex": "M"}},
    "compare": {"saved_models_added": ["intercepts"], "model_a": "intercepts",
                "model_b": "centred"},
}


def _analysis(data: bytes | None = EXAM) -> Analysis:
    rs = parse_formula("normexam ~ standLRT + (standLRT | school)")
    ri = parse_formula("normexam ~ standLRT + sex + (1 | school)", reml=False)
    centred = rs.with_(centering=(("standLRT", "group"),))
    return Analysis(
        data_name="exam.csv", data_sha256=hashlib.sha256(EXAM).hexdigest(),
        types={"student": "categorical"}, missing={"schavg": [99.0]},
        stray={}, levels=["school"], current=rs,
        saved=[("intercepts", ri), ("centred", centred)], options=OPTIONS, data=data,
    )


def test_round_trip_keeps_every_choice():
    a = _analysis()
    b = read_analysis(write_analysis(a))
    for name in ("data_name", "data_sha256", "types", "missing", "levels", "current", "saved",
                 "options", "data"):
        assert getattr(b, name) == getattr(a, name), name
    assert b.saved[0][1].reml is False and b.saved[1][1].centering == (("standLRT", "group"),)


def test_the_manifest_is_readable_json_and_the_data_optional():
    z = zipfile.ZipFile(io.BytesIO(write_analysis(_analysis(), include_data=False)))
    assert z.namelist() == ["manifest.json"]
    m = json.loads(z.read("manifest.json"))
    assert m["schema_version"] == 2 and m["data"]["included"] is False
    assert m["options"] == OPTIONS
    assert m["current_model"] == {"formula": "normexam ~ standLRT + (standLRT | school)",
                                  "method": "REML", "centring": {}}
    assert m["saved_models"][1]["centring"] == {"standLRT": "group"}
    assert m["reading"]["column_types"] == {"student": "categorical"}
    assert file_name("exam.csv") == "exam.hlm.zip"
    assert file_name("../../a b.xlsx") == "a_b.hlm.zip"


def test_opening_reads_and_checks_the_data_in_one_call():
    """hlm_core.analysis_open: what the app's job runs (the archive, then its data, checked
    against the saved choices) before anything of the session changes."""
    opened = open_analysis(write_analysis(_analysis()), 2024)
    assert opened.table.name == "exam.csv" and opened.table.frame.shape == (4059, 10)
    assert opened.analysis.levels == ["school"] and opened.analysis.data == EXAM
    assert open_analysis(write_analysis(_analysis(), include_data=False), 2024).table is None
    example = Analysis(data_name="classroom.csv", example="classroom", levels=["class"])
    assert analysis_table(example, "classroom.csv", None, 2024).frame.shape == (500, 5)
    with pytest.raises(HLMError, match=r"does not have: nope, other\. Open it with the data"):
        analysis_table(Analysis("exam.csv", levels=["other", "nope"]), "exam.csv", EXAM, 2024)
    with pytest.raises(HLMError, match="saved choices don't fit this data file"):
        analysis_table(Analysis("exam.csv", types={"sex": "numeric"}), "exam.csv", EXAM, 2024)
    with pytest.raises(HLMError, match=r"^The data for this analysis could not be read\.$") as exc:
        analysis_table(Analysis("x.csv", example="no such example"), "x.csv", None, 2024)
    assert "KeyError" in exc.value.detail  # for the server's log, never the page


def test_tampered_data_are_refused():
    raw = bytearray(write_analysis(_analysis(b"a,b\n1,2\n")))
    with pytest.raises(AnalysisFileError, match="do not match"):
        read_analysis(bytes(raw))


@pytest.mark.parametrize("name", sorted(analysis_files.CASES))
def test_bad_files_are_refused_in_plain_words(name):
    data, fragment = analysis_files.CASES[name]
    assert (analysis_files.OUT / name).read_bytes() == data, "run tests/corpus/make_corpus.py"
    with pytest.raises(AnalysisFileError) as exc:
        read_analysis(data)
    assert fragment in str(exc.value)
    assert "Traceback" not in str(exc.value)


def test_cli_refuses_a_bad_file(capsys):
    path = analysis_files.OUT / "path_traversal.hlm.zip"
    assert main(["fit", "--analysis", str(path)]) == 2
    assert "unsafe path" in capsys.readouterr().err


def _fixed(payload: dict) -> dict[str, float]:
    return {r["term"]: r["estimate"] for r in payload["fixed_effects"]}


def test_cli_refits_the_current_model_to_lme4s_numbers(tmp_path):
    path = tmp_path / "exam.hlm.zip"
    path.write_bytes(write_analysis(_analysis()))
    out = io.StringIO()
    assert run(["fit", "--analysis", str(path), "--json"], out=out) == 0
    got = json.loads(out.getvalue())
    want = {r["term"]: r["estimate"] for r in REF["fixed"]}
    for term, value in want.items():
        assert _fixed(got)[term] == pytest.approx(value, rel=1e-4, abs=1e-6)
    assert got["loglik"] == pytest.approx(REF["loglik"], rel=1e-6)


def test_cli_refits_a_named_saved_model_and_needs_the_data(tmp_path):
    path = tmp_path / "exam.hlm.zip"
    path.write_bytes(write_analysis(_analysis(), include_data=False))
    assert main(["fit", "--analysis", str(path)]) == 2  # no data inside, none given
    data = tmp_path / "exam.csv"
    data.write_bytes(EXAM)
    out = io.StringIO()
    assert run(["fit", str(data), "--analysis", str(path), "--model", "intercepts", "--json"],
               out=out) == 0
    got = json.loads(out.getvalue())
    assert got["method"] == "ML" and "sexM" in _fixed(got)
    direct = io.StringIO()
    run(["fit", str(data), "--formula", "normexam ~ standLRT + sex + (1 | school)", "--ml",
         "--json"], out=direct)
    assert _fixed(got) == pytest.approx(_fixed(json.loads(direct.getvalue())))
    with pytest.raises(AnalysisFileError, match="no saved model called 'nope'"):
        run(["fit", "--analysis", str(path), "--model", "nope", str(data)], out=io.StringIO())


def test_cli_says_when_the_data_file_differs(tmp_path):
    path = tmp_path / "exam.hlm.zip"
    path.write_bytes(write_analysis(_analysis(), include_data=False))
    other = tmp_path / "exam.csv"
    other.write_bytes(EXAM.replace(b"0.2613242", b"0.2613243"))
    out = io.StringIO()
    assert run(["fit", str(other), "--analysis", str(path), "--json"], out=out) == 0
    assert any("not the one the analysis was saved with" in n
               for n in json.loads(out.getvalue())["notes"])


def test_a_generalized_model_keeps_its_family_and_pass_mark():
    spec = parse_formula("normexam ~ standLRT + (1 | school)").with_(
        family="binomial", threshold=(">=", 0.5), reml=False)
    a = _analysis()
    a.current, a.saved = spec, [("pass", spec)]
    b = read_analysis(write_analysis(a))
    assert b.current == spec and b.saved[0][1] == spec
    m = json.loads(zipfile.ZipFile(io.BytesIO(write_analysis(a))).read("manifest.json"))
    assert m["current_model"]["family"] == "binomial"
    assert m["current_model"]["threshold"] == [">=", 0.5]


def test_a_version_1_file_still_opens_with_its_sidebar_switches():
    m = json.loads(json.dumps(analysis_files.GOOD))
    m["options"] = {"workshop": True, "large_font": "yes", "k_small": 5}  # v1: not checked
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("manifest.json", json.dumps(m))
    a = read_analysis(buf.getvalue())
    assert a.options["view"] == {"workshop": True, "large_font": False}
    assert a.options["class_effects"] == {} and a.options["slopes"] == {}
