"""Reading and fitting run in worker processes with memory and time limits (ui.jobs): a file or
model over a limit ends with a plain message on the page, and the session keeps the data and the
fit it had before."""

from __future__ import annotations

import pytest
from apphelpers import button, fit_by_formula, go, new_app, state, texts, upload, widget

from benchmarks.make_data import far_cell_xlsx, pupils_csv

FORMULA = "normexam ~ standLRT + (1 | school)"


@pytest.fixture
def fitted(exam_csv):
    """exam.csv loaded and a model fitted: what must survive a failed read or fit."""
    at = upload(new_app(), "exam.csv", exam_csv)
    return fit_by_formula(at, FORMULA)


def assert_kept(at, before) -> None:
    """The data and the fit the session had before are still there and on show."""
    s = state(at)
    assert s.table.name == "exam.csv"
    assert s.current_fit() is before
    go(at, "results")
    assert "What the model found" in texts(at)


@pytest.mark.parametrize("setting, value, message", [
    # a 1M-row CSV (18 MB) reads in under 100 MB (its bytes, the Arrow cells and the typed
    # columns; since the reader copies less, in under 50 MB as well): 25 MB is too little
    ("HLM_JOB_MEMORY_MB", "25", "Reading pupils.csv needed more than 25 MB of memory, the "
                                 "limit on this server, so it was stopped. Save a smaller file"),
    ("HLM_JOB_SECONDS", "0.3", "Reading pupils.csv took longer than 0.3 seconds, the time "
                               "limit on this server, so it was stopped. Save a smaller file"),
])
def test_a_file_over_a_limit_keeps_the_earlier_data_and_fit(fitted, monkeypatch, setting, value,
                                                             message):
    before = state(fitted).current_fit()
    monkeypatch.setenv(setting, value)
    at = upload(fitted, "pupils.csv", pupils_csv(1_000_000))
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    assert errors[0].startswith(message)
    assert_kept(at, before)


def test_the_far_cell_workbook_ends_in_words_and_keeps_the_earlier_data(fitted):
    before = state(fitted).current_fit()
    at = upload(fitted, "far.xlsx", far_cell_xlsx(),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "far.xlsx" in errors[0], errors
    assert "Traceback" not in errors[0]
    assert_kept(at, before)


def test_a_fit_over_the_memory_limit_keeps_the_earlier_fit(fitted, monkeypatch):
    before = state(fitted).current_fit()
    go(fitted, "model")
    widget(fitted, "text_input", "Formula").input(
        "normexam ~ standLRT + (standLRT | school)").run()
    monkeypatch.setenv("HLM_JOB_MEMORY_MB", "1")
    button(fitted, "Fit model").click().run()
    assert not fitted.exception
    errors = [e.value for e in fitted.error]
    assert errors == [
        "Fitting the model needed more than 1 MB of memory, the limit on this server, so it "
        "was stopped. Try a simpler model (fewer random slopes or predictors) or a smaller "
        "data set."
    ]
    assert state(fitted).fits[state(fitted).fit_key] is before  # the earlier fit, kept
    monkeypatch.delenv("HLM_JOB_MEMORY_MB")
    button(fitted, "Fit model").click().run()  # back under the limit, the same click works
    assert not fitted.error
    assert state(fitted).current_fit().formula == "normexam ~ standLRT + (standLRT | school)"


class _SlowToAnswer:
    """Stands in for a click during a job: the page's first look at the job finds it running
    (whatever the machine's speed), so the page draws its progress; `Click` ends the run there,
    as Streamlit's StopException does when the user clicks elsewhere. `held` keeps the job
    "running" for as many later runs as a test needs."""

    held = False

    @classmethod
    def install(cls, monkeypatch):
        from streamlit.runtime.scriptrunner_utils.exceptions import StopException

        import hlm_core.jobs
        import ui.jobs

        real = hlm_core.jobs.Task

        class Task(real):
            looked = False

            def wait(self, timeout=0.1):
                if not self.looked:
                    self.looked = True
                    return False
                return super().wait(timeout)

            def done(self):
                return not cls.held and super().done()

        clicked = []

        def click(*_):
            if not clicked:
                clicked.append(True)
                raise StopException()
            return 0.0, ""

        monkeypatch.setattr(hlm_core.jobs, "Task", Task)
        monkeypatch.setattr(ui.jobs, "TICK_S", 0.0)
        monkeypatch.setattr(ui.jobs, "_progress_text", click)


SLOPES = "normexam ~ standLRT + (standLRT | school)"


def test_a_fit_cut_short_by_a_click_lands_on_the_next_page_as_if_waited(fitted, monkeypatch,
                                                                         exam_csv):
    waited = state(fit_by_formula(upload(new_app(), "exam.csv", exam_csv), SLOPES)).current_fit()
    _SlowToAnswer.install(monkeypatch)
    at = fitted
    go(at, "model")
    widget(at, "text_input", "Formula").input(SLOPES).run()
    button(at, "Fit model").click().run()  # ... and the user opens Results at once
    s = state(at)
    assert not at.exception
    assert s.current_fit().formula == FORMULA  # the earlier fit is on show meanwhile
    assert "fit" in s.jobs
    assert s.jobs["fit"].task.wait(60)  # the worker went on without the page
    go(at, "results")  # the next run lands it
    s = state(at)
    assert s.jobs == {}
    landed = s.current_fit()
    assert landed.formula == SLOPES
    assert s.fit_key == (s.data_key(), waited.spec)
    assert landed.fixed["estimate"].tolist() == waited.fixed["estimate"].tolist()
    assert landed.loglik == waited.loglik
    assert "What the model found" in texts(at)
    assert "Fitting the model" not in texts(at)  # no status left behind


def test_the_sidebar_shows_a_running_job_and_its_stop_keeps_the_earlier_fit(fitted,
                                                                          monkeypatch):
    before = state(fitted).current_fit()
    _SlowToAnswer.install(monkeypatch)
    _SlowToAnswer.held = True
    try:
        at = fitted
        go(at, "model")
        widget(at, "text_input", "Formula").input(SLOPES).run()
        button(at, "Fit model").click().run()
        go(at, "results")  # on another page: the sidebar shows the job and a Stop button
        stop = [b for b in at.sidebar.button if b.key == "w_jobstop_fit"]
        assert len(stop) == 1
        stop[0].click().run()
        s = state(at)
        assert s.jobs == {}
        assert "Fitting the model was stopped. What you had before is kept." in texts(at)
    finally:
        _SlowToAnswer.held = False
    assert s.current_fit() is before
    go(at, "model")  # and nothing lands later
    assert state(at).current_fit() is before


def test_the_example_data_load_in_a_worker_process(monkeypatch):
    from apphelpers import count_jobs

    from hlm_core.examples import example_table

    jobs = count_jobs(monkeypatch)
    at = new_app()
    button(at, "Use example data").click().run()
    assert not at.exception
    assert jobs == [example_table]
    s = state(at)
    assert s.example == "classroom" and s.table.name == "Example: classroom"
    assert s.levels and len(s.table.frame) == 500
