"""Save analysis / Open analysis through the app (AppTest): a saved session opened in a new
session gives the same choices and the same fit; without the data the app asks for them and
says when another file is given; a bad file changes nothing."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from apphelpers import FIXTURES, fit_by_formula, go, new_app, state, upload, widget
from downloads import download_bytes, record_downloads
from openpyxl import load_workbook

from tests.corpus import analysis_files

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


def test_a_bad_file_changes_nothing():
    at = upload(new_app(), "exam.csv", EXAM)
    before = state(at).table
    data, fragment = analysis_files.CASES["path_traversal.hlm.zip"]
    _open(at, data)
    assert state(at).table is before
    assert any(fragment in e.value for e in at.error)
