"""The life of a job in a browser session (ui.jobs): a click that cuts the page run short leaves
the job running; the next run lands its answer exactly as waiting would have; only Stop, new
data or a new job of the same kind cancels it.

Streamlit stops a run by raising inside the next element update; here the first progress
update raises `Click`, as Streamlit's StopException would."""

from __future__ import annotations

import time

import pytest
import streamlit as st

import ui.jobs as uj
from hlm_core.io import Table
from hlm_core.jobs import JobLimits, JobStopped
from tests import job_tasks
from ui.state import KEY, session

QUICK = JobLimits(memory_mb=512, seconds=60, max_jobs=4)


class Click(BaseException):
    """Another click: Streamlit stops the running script at its next element update."""


@pytest.fixture(autouse=True)
def fresh_session(monkeypatch):
    st.session_state.pop(KEY, None)
    monkeypatch.setattr(uj, "TICK_S", 0.0)  # draw (and so be interruptible) at once
    monkeypatch.setattr(uj.JobLimits, "from_env", classmethod(lambda cls, env=None: QUICK))
    yield
    for running in session().jobs.values():
        running.task.cancel()
    st.session_state.pop(KEY, None)


def click_during_progress(monkeypatch) -> None:
    def interrupted(*_):
        raise Click
    monkeypatch.setattr(uj, "_progress_text", interrupted)


def start(fn, *args, key="fit", tag=None, landed=None, **kwargs):
    """ui.jobs.run as a page calls it; `landed` collects what reaches done / failed."""
    landed = landed if landed is not None else []
    uj.run(fn, *args, what="Fitting the model", key=key, tag=tag,
           done=lambda v: landed.append(("done", v)),
           failed=lambda m: landed.append(("failed", m)), **kwargs)
    return landed


def wait_done(key="fit"):
    assert session().jobs[key].task.wait(30)


def test_a_job_that_ends_while_the_page_waits_lands_at_once():
    landed = start(job_tasks.sleep, 0.3)
    assert landed == [("done", "slept")]
    assert session().jobs == {}


def test_a_click_leaves_the_job_running_and_the_next_run_lands_it(monkeypatch):
    click_during_progress(monkeypatch)
    landed = []
    with pytest.raises(Click):
        start(job_tasks.sleep, 1.0, landed=landed)
    running = session().jobs["fit"]
    assert not running.task.done() and landed == []  # still working, nothing landed yet
    uj.collect()  # a run before it ends: nothing happens
    assert landed == [] and "fit" in session().jobs
    wait_done()
    uj.collect()  # the first run after it ended
    assert landed == [("done", "slept")]
    assert session().jobs == {}
    uj.collect()  # landed once only
    assert landed == [("done", "slept")]


def test_a_failure_lands_as_its_plain_message(monkeypatch):
    landed = start(job_tasks.refuse, "y ~ (")  # waited for
    assert landed == [("failed", "'y ~ (' is not a formula")]
    click_during_progress(monkeypatch)
    with pytest.raises(Click):
        start(job_tasks.refuse_after, 0.5, "y ~ (", landed=landed)  # or after a click
    wait_done()
    uj.collect()
    assert landed == [("failed", "'y ~ (' is not a formula")] * 2


def a_long_job_cut_short(monkeypatch):
    """A minute-long fit whose page run a click cut short: (what landed, its task)."""
    click_during_progress(monkeypatch)
    landed = []
    with pytest.raises(Click):
        start(job_tasks.sleep, 60, landed=landed)
    return landed, session().jobs["fit"].task


def assert_cancelled(task, landed) -> None:
    assert session().jobs == {}
    assert task.wait(5)
    with pytest.raises(JobStopped):
        task.result()
    uj.collect()
    assert landed == []


def test_stop_cancels_says_so_and_nothing_lands(monkeypatch):
    landed, task = a_long_job_cut_short(monkeypatch)
    uj.stop("fit")  # the Stop button's callback (on the page or in the sidebar)
    assert session().job_note == "Fitting the model was stopped. What you had before is kept."
    assert_cancelled(task, landed)


def test_a_new_job_of_the_same_kind_replaces_the_running_one(monkeypatch):
    click_during_progress(monkeypatch)
    first, second = [], []
    with pytest.raises(Click):
        start(job_tasks.sleep, 60, tag="model A", landed=first)
    old = session().jobs["fit"].task
    with pytest.raises(Click):
        start(job_tasks.sleep, 0.2, tag="model B", landed=second)
    assert old.wait(5)  # cancelled
    with pytest.raises(JobStopped):
        old.result()
    wait_done()
    uj.collect()
    assert first == [] and second == [("done", "slept")]


def test_the_same_job_asked_again_is_waited_for_not_started_twice(monkeypatch):
    click_during_progress(monkeypatch)
    landed = []
    with pytest.raises(Click):
        start(job_tasks.sleep, 0.8, tag="model A", landed=landed)
    task = session().jobs["fit"].task
    monkeypatch.setattr(uj, "_progress_text", lambda *_: (0.0, ""))
    start(job_tasks.sleep, 0.8, tag="model A", landed=landed)  # Fit model pressed again
    assert task.done() and landed == [("done", "slept")]


def test_jobs_of_other_kinds_run_side_by_side(monkeypatch):
    click_during_progress(monkeypatch)
    fit, ladder = [], []
    with pytest.raises(Click):
        start(job_tasks.sleep, 0.5, key="fit", landed=fit)
    with pytest.raises(Click):
        start(job_tasks.sleep, 0.5, key="ladder", landed=ladder)
    wait_done("fit")
    wait_done("ladder")
    uj.collect()
    assert fit == [("done", "slept")] and ladder == [("done", "slept")]


def test_new_data_cancel_the_jobs_for_the_old_data(monkeypatch):
    landed, task = a_long_job_cut_short(monkeypatch)
    session().new_data(Table(frame=None, notes=[], name="new.csv", fingerprint="x"))
    assert_cancelled(task, landed)


def test_progress_text_says_what_and_how_long():
    task = uj.jobs.Task(job_tasks.count_to, (10,), limits=QUICK, progress=True)
    running = uj.Running(task, "Bootstrap", None, print, print)
    while task.progress is None and not task.done():
        time.sleep(0.02)
    value, text = uj._progress_text(running, QUICK)
    assert 0 < value <= 1 and text.startswith("Bootstrap… ") and "%" in text
    task.cancel()
