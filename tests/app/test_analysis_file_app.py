"""Save analysis / Open analysis through the app (AppTest): a saved session opened in a new
session gives the same choices and the same fit; without the data the app asks for them and
says when another file is given; a bad file changes nothing."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from apphelpers import (
    FIXTURES,
    button,
    count_jobs,
    fit_by_formula,
    go,
    new_app,
    show_fair,
    state,
    texts,
    upload,
    widget,
)
from downloads import download_bytes, record_downloads
from openpyxl import load_workbook
from test_jobs_app import _SlowToAnswer

from benchmarks.make_data import pupils_csv
from hlm_core.analysis_file import Analysis, AnalysisFileError, read_analysis, write_analysis
from hlm_core.analysis_open import analysis_table, open_analysis
from hlm_core.fit import fit
from tests.corpus import analysis_files
from ui import analysis
from ui.text import plain

EXAM = (FIXTURES / "exam.csv").read_bytes()
FORMULA = "normexam ~ standLRT + sex + (standLRT | school)"


@pytest.fixture
def downloads(monkeypatch):
    return record_downloads(monkeypatch)


def _saved_session(downloads, include: bool = True) -> tuple[bytes, object]:
    at = upload(new_app(), "exam.csv", EXAM)
    s = state(at)
    s.types = {"student": "categorical"}
    s.levels = ["school"]
    fit_by_formula(at, FORMULA)
    s = state(at)
    s.saved = [("first", s.spec), ("second", s.spec.with_(reml=False))]
    go(at, "results")
    if not include:
        widget(at, "checkbox", "Include the data in the file").uncheck().run()
    return download_bytes(at, "w_save_analysis", downloads), s.current_fit()


def _open(at, blob: bytes):
    go(at, "data")
    widget(at, "file_uploader", "Open analysis (.hlm.zip)").set_value(
        ("exam.hlm.zip", blob, "application/zip")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_saved_analysis_opens_with_the_same_numbers(downloads):
    blob, fitted = _saved_session(downloads)
    names = zipfile.ZipFile(io.BytesIO(blob)).namelist()
    assert names == ["manifest.json", "data/exam.csv"]
    at = _open(new_app(), blob)
    s = state(at)
    assert s.types == {"student": "categorical"} and s.levels == ["school"]
    assert [n for n, _ in s.saved] == ["first", "second"] and s.saved[1][1].reml is False
    again = s.current_fit()
    assert again is not None and again is not fitted
    assert list(again.fixed["estimate"]) == pytest.approx(list(fitted.fixed["estimate"]))
    assert again.loglik == pytest.approx(fitted.loglik)
    assert s.analysis[0] == "exam.hlm.zip" and len(s.analysis[1]) == 64
    go(at, "results")
    assert not at.error

    # the report and the workbook name the analysis file they came from
    go(at, "report")
    html = download_bytes(at, "dl_report", downloads).decode("utf-8")
    assert "analysis file fingerprint (sha256)" in html and s.analysis[1] in html
    book = download_bytes(at, "dl_workbook", downloads)
    cells = [c.value for ws in load_workbook(io.BytesIO(book)).worksheets
             for row in ws.iter_rows() for c in row]
    assert "exam.hlm.zip" in cells and s.analysis[1] in cells


def test_without_the_data_the_app_asks_and_checks_the_file(downloads):
    blob, _ = _saved_session(downloads, include=False)
    assert zipfile.ZipFile(io.BytesIO(blob)).namelist() == ["manifest.json"]
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(blob)).read("manifest.json"))
    assert manifest["data"]["included"] is False
    at = _open(new_app(), blob)
    assert state(at).table is None
    assert any("saved without its data" in w.value for w in at.warning)
    other = EXAM.replace(b"0.2613242", b"0.2613243")
    widget(at, "file_uploader", "Data file for the analysis").set_value(
        ("exam.csv", other, "text/csv")).run()
    s = state(at)
    assert s.current_fit() is not None and s.pending is None
    # a warning saying what it means and what to do, not an error: the user may mean it
    assert "not the one the analysis was saved with" in (s.data_note or "")
    assert s.read_error is None and not at.error
    warning = next(w.value for w in at.warning if "not the one the analysis" in w.value)
    assert "new data" in warning and "open the analysis once more" in warning


def test_opening_reads_in_a_worker_job_then_refits_in_one(downloads, monkeypatch):
    """Reading the archive and its data is a job (limits, progress, Stop), like an upload;
    the refit of the current model is the fit job that follows."""
    blob, fitted = _saved_session(downloads)
    jobs = count_jobs(monkeypatch)
    at = _open(new_app(), blob)
    assert jobs == [open_analysis, fit]
    again = state(at).current_fit()
    assert again is not None and again.loglik == pytest.approx(fitted.loglik)

    # saved without its data: the archive is one job, the data file given later another
    blob, _ = _saved_session(downloads, include=False)
    jobs.clear()
    at = _open(new_app(), blob)
    assert jobs == [open_analysis] and state(at).pending is not None
    widget(at, "file_uploader", "Data file for the analysis").set_value(
        ("exam.csv", EXAM, "text/csv")).run()
    assert jobs == [open_analysis, analysis_table, fit]
    s = state(at)
    assert s.pending is None and s.data_note is None
    assert s.current_fit().loglik == pytest.approx(fitted.loglik)


def test_opening_cut_short_by_a_click_lands_on_the_next_page(downloads, monkeypatch):
    """A click elsewhere while the analysis opens does not stop the job: the next page lands
    it (and its refit), as if the user had waited. Stop, by contrast, keeps what was there."""
    blob, fitted = _saved_session(downloads)
    at = fit_by_formula(upload(new_app(), "exam.csv", EXAM), "normexam ~ 1 + (1 | school)")
    before = state(at).current_fit()
    _SlowToAnswer.install(monkeypatch)
    _SlowToAnswer.held = True
    try:
        _open(at, blob)  # ... and the user clicks away at once
        go(at, "results")  # on another page: the sidebar shows the job and a Stop button
        stop = [b for b in at.sidebar.button if b.key == "w_jobstop_read"]
        assert len(stop) == 1 and state(at).current_fit() is before
        stop[0].click().run()
        assert "Opening exam.hlm.zip was stopped. What you had before is kept." in texts(at)
    finally:
        _SlowToAnswer.held = False
    s = state(at)
    assert s.jobs == {} and s.current_fit() is before and s.analysis is None

    _SlowToAnswer.install(monkeypatch)  # the next open is cut short by a click too
    _open(at, blob)  # ... and this time left to finish
    assert "read" in state(at).jobs and state(at).current_fit() is before
    assert state(at).jobs["read"].task.wait(60)
    go(at, "results")  # the next run lands it, then refits the saved model
    s = state(at)
    assert not at.exception and s.jobs == {}
    assert s.analysis[0] == "exam.hlm.zip" and s.levels == ["school"]
    assert s.current_fit().loglik == pytest.approx(fitted.loglik)
    assert "What the model found" in texts(at)


def test_an_analysis_over_the_memory_limit_changes_nothing(monkeypatch):
    """The job's limits apply: a 1M-row data file inside the analysis (18 MB) needs more than
    50 MB to read, so opening it stops in plain words and the session keeps its data and fit."""
    blob = write_analysis(Analysis(data_name="pupils.csv", data=pupils_csv(1_000_000)))
    at = fit_by_formula(upload(new_app(), "exam.csv", EXAM), FORMULA)
    before, fit_before = state(at).table, state(at).current_fit()
    monkeypatch.setenv("HLM_JOB_MEMORY_MB", "50")
    _open(at, blob)
    errors = [e.value for e in at.error]
    assert errors == [
        "Opening exam.hlm.zip needed more than 50 MB of memory, the limit on this server, so "
        "it was stopped. " + analysis.OPEN_ADVICE
    ]
    s = state(at)
    assert s.table is before and s.current_fit() is fit_before and s.analysis is None
    monkeypatch.delenv("HLM_JOB_MEMORY_MB")
    _open(at, blob)  # back under the limit, the same file opens
    assert not at.error and state(at).table.name == "pupils.csv"
    assert state(at).analysis[0] == "exam.hlm.zip"


@pytest.mark.parametrize("case", ["path_traversal.hlm.zip", "wrong_option_type.hlm.zip"])
def test_a_bad_file_changes_nothing(case):
    at = fit_by_formula(upload(new_app(), "exam.csv", EXAM), FORMULA)
    go(at, "class_effects")
    widget(at, "number_input", "k (smallest group shown)").set_value(30).run()
    before = state(at).table
    data, fragment = analysis_files.CASES[case]
    _open(at, data)
    assert state(at).table is before
    assert any(fragment in e.value for e in at.error)
    go(at, "class_effects")
    assert widget(at, "number_input", "k (smallest group shown)").value == 30


def test_every_bad_file_of_the_corpus_says_the_same_words_through_the_job():
    """The messages cross from the worker unchanged: each file of the corpus shows exactly
    the words hlm_core says for it, and the session keeps its data."""
    at = upload(new_app(), "exam.csv", EXAM)
    before = state(at).table
    for case, (data, _) in analysis_files.CASES.items():
        with pytest.raises(AnalysisFileError) as said:
            read_analysis(data)
        _open(at, data)
        assert [plain(e.value) for e in at.error] == [str(said.value)], case
        assert state(at).table is before and state(at).analysis is None, case


def test_data_that_dont_fit_the_saved_choices_leave_the_request_open(downloads):
    """The data file given for an analysis saved without its data is read and checked in the
    job: one lacking a column the models use is refused in words, and the app still asks."""
    blob, _ = _saved_session(downloads, include=False)
    at = _open(new_app(), blob)
    rows = [line.split(",") for line in EXAM.decode().splitlines()]
    lacking = "\n".join(",".join(r[:7] + r[8:]) for r in rows).encode()  # without sex
    widget(at, "file_uploader", "Data file for the analysis").set_value(
        ("exam.csv", lacking, "text/csv")).run()
    s = state(at)
    assert s.table is None and s.pending is not None
    assert [plain(e.value) for e in at.error] == [
        "The saved analysis uses columns this data file does not have: sex. Open it "
        "with the data it was saved with."]
    assert any("saved without its data" in w.value for w in at.warning)


def _page_choices(at) -> dict:
    """What the Class effects, Slopes and Compare pages show, widget by widget."""
    shown = {}
    go(at, "class_effects")
    for kind, label in (("radio", "Show"), ("checkbox", "Hide groups with fewer than k students"),
                        ("number_input", "k (smallest group shown)"),
                        ("radio", "Groups shown"), ("number_input", "How many at each end"),
                        ("toggle", "Show the fair comparisons for all 65 schools"),
                        ("selectbox", "Effect to compare")):
        shown[label] = widget(at, kind, label).value
    go(at, "slopes")
    for kind, label in (("selectbox", "Predictor"), ("slider", "Range of standLRT"),
                        ("radio", "Hold the other predictors at"),
                        ("number_input", "Step in standLRT for the table")):
        shown[label] = widget(at, kind, label).value
    go(at, "compare")
    for kind, label in (("multiselect", "Saved models to add"), ("selectbox", "Model A"),
                        ("selectbox", "Model B")):
        shown[label] = widget(at, kind, label).value
    return shown


def test_each_page_opens_with_the_choices_it_was_saved_with(downloads):
    at = upload(new_app(), "exam.csv", EXAM)
    fit_by_formula(at, FORMULA)
    s = state(at)
    s.saved = [("first", s.spec), ("second", s.spec.with_(reml=False))]
    go(at, "class_effects")
    widget(at, "radio", "Show").set_value("deviation").run()
    widget(at, "number_input", "k (smallest group shown)").set_value(12).run()
    widget(at, "radio", "Groups shown").set_value("extremes").run()
    widget(at, "number_input", "How many at each end").set_value(4).run()
    show_fair(at)  # the fair comparisons' switch is a page option too
    widget(at, "selectbox", "Effect to compare").set_value("standLRT").run()
    go(at, "slopes")
    widget(at, "slider", "Range of standLRT").set_range(-2.0, 2.5).run()
    widget(at, "radio", "Hold the other predictors at").set_value("zero").run()
    widget(at, "number_input", "Step in standLRT for the table").set_value(0.5).run()
    go(at, "compare")
    widget(at, "multiselect", "Saved models to add").set_value(["second"]).run()
    button(at, "Fit the model ladder").click().run()
    widget(at, "selectbox", "Model A").set_value("second").run()
    go(at, "results")
    widget(at, "toggle", "Large font (presenter view)").set_value(True).run()
    before = _page_choices(at)
    assert before["Show"] == "deviation" and before["k (smallest group shown)"] == 12
    assert before["Range of standLRT"] == (-2.0, 2.5) and before["Model A"] == "second"
    blob = download_bytes(at, "w_save_analysis", downloads)
    options = json.loads(zipfile.ZipFile(io.BytesIO(blob)).read("manifest.json"))["options"]
    assert options["view"] == {"workshop": False, "large_font": True}
    assert options["class_effects"]["k"] == 12 and options["slopes"]["hold"] == "zero"
    assert options["slopes"]["range"] == {"standLRT": [-2.0, 2.5]}
    assert options["compare"]["saved_models_added"] == ["second"]

    # opened in a session whose pages were set otherwise: the file's choices replace them
    other = upload(new_app(), "exam.csv", EXAM)
    fit_by_formula(other, FORMULA)
    go(other, "class_effects")
    widget(other, "number_input", "k (smallest group shown)").set_value(30).run()
    at = _open(other, blob)
    assert state(at).large_font is True
    go(at, "compare")
    button(at, "Fit the model ladder").click().run()
    assert _page_choices(at) == before


def _with_options(blob: bytes, options: dict) -> bytes:
    z = zipfile.ZipFile(io.BytesIO(blob))
    m = json.loads(z.read("manifest.json"))
    m["options"] = options
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as w:
        w.writestr("manifest.json", json.dumps(m))
        w.writestr("data/exam.csv", z.read("data/exam.csv"))
    return out.getvalue()


def test_options_that_no_longer_fit_fall_back_to_the_pages_defaults(downloads):
    """Well-formed options the model can't use (a predictor it lacks, a range outside the
    data, text held for a number predictor, a model name not saved): each page draws its
    default instead, with no error."""
    blob, _ = _saved_session(downloads)
    odd = _with_options(blob, {
        "view": {"workshop": False, "large_font": False},
        "class_effects": {"level": "class", "fair_effect": "hours", "scale": "response",
                          "how_many": 10_000},
        "slopes": {"predictor": "hours", "hold": "typed", "range": {"standLRT": [-50.0, 80.0]},
                   "step": {"standLRT": 1}, "held": {"standLRT": "M", "sex": 3.5}},
        "compare": {"saved_models_added": ["gone"], "model_a": "gone", "model_b": "gone"},
    })
    at = _open(new_app(), odd)
    for page in ("class_effects", "slopes", "compare"):
        go(at, page)
        assert not at.error, (page, [e.value for e in at.error])
    go(at, "slopes")
    assert widget(at, "selectbox", "Predictor").value == "standLRT"
    lo, hi = widget(at, "slider", "Range of standLRT").value
    assert -50.0 < lo < hi < 80.0
    assert widget(at, "number_input", "Step in standLRT for the table").value == 1.0
