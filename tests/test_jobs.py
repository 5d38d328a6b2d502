"""The job runner (hlm_core.jobs): heavy work runs in a worker process with a memory ceiling and
a time limit; a job over a limit, stopped, or dying ends with a plain message and this process
(the server) carries on."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
import time

import numpy as np
import pytest

from benchmarks.make_data import far_cell_xlsx
from hlm_core import jobs
from hlm_core.errors import FormulaError, HLMError
from hlm_core.examples import classroom
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import read_table
from hlm_core.jobs import JobFailed, JobLimits, JobOutOfMemory, JobStopped, JobTooSlow, run_job
from tests import job_tasks

QUICK = JobLimits(memory_mb=1024, seconds=60, max_jobs=4)


def no_workers_left() -> bool:
    """No worker process of ours is still running (killed ones are reaped)."""
    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not multiprocessing.active_children()


def test_a_fit_comes_back_from_the_worker_with_the_same_numbers():
    frame = classroom(seed=2024)
    spec = parse_formula("score ~ exam.prep.days + poverty + (exam.prep.days | class)")
    here = fit(frame, spec)
    there = run_job(fit, (frame, spec), what="Fitting the model", limits=QUICK)
    assert there.spec == spec
    np.testing.assert_allclose(there.fixed["estimate"], here.fixed["estimate"], rtol=1e-6)
    np.testing.assert_allclose(there.varcorr["vcov"], here.varcorr["vcov"], rtol=1e-5)
    assert there.ranef["class"]["level"].tolist() == here.ranef["class"]["level"].tolist()
    # the result object is plain data: it survives a pickle round trip unchanged
    again = pickle.loads(pickle.dumps(there))
    assert again.loglik == there.loglik


def test_jobs_run_in_another_process():
    assert run_job(job_tasks.pid, limits=QUICK) != os.getpid()
    assert no_workers_left()


def test_an_upload_is_read_in_the_worker():
    data = b"score,class\n1.5,a\n2.5,b\n3.5,a\n"
    table = run_job(read_table, (data,), {"name": "pupils.csv"}, what="Reading pupils.csv",
                    limits=QUICK)
    assert table.frame["score"].tolist() == [1.5, 2.5, 3.5]
    assert table.frame["class"].tolist() == ["a", "b", "a"]


def test_over_the_memory_limit_ends_in_words():
    with pytest.raises(JobOutOfMemory) as err:
        run_job(job_tasks.grab_memory, (600,), what="Reading big.csv",
                advice="Save fewer rows.", limits=JobLimits(memory_mb=200, seconds=60))
    text = str(err.value)
    assert text.startswith("Reading big.csv needed more than 200 MB of memory")
    assert "limit on this server" in text and text.endswith("Save fewer rows.")
    assert isinstance(err.value, HLMError)  # shown like every other user-fixable problem
    assert no_workers_left()
    # under the limit the same job succeeds
    assert run_job(job_tasks.grab_memory, (50,), limits=JobLimits(memory_mb=200)) == 50 * 2**20


def test_over_the_time_limit_ends_in_words():
    start = time.monotonic()
    with pytest.raises(JobTooSlow) as err:
        run_job(job_tasks.sleep, (60,), what="Fitting the model",
                limits=JobLimits(memory_mb=256, seconds=1))
    assert time.monotonic() - start < 20  # stopped at the limit, not after the minute
    assert str(err.value).startswith(
        "Fitting the model took longer than 1 seconds, the time limit on this server")
    assert no_workers_left()


def test_stop_cancels_a_running_job():
    job = jobs.Job(job_tasks.sleep, (60,), what="Fitting the model", limits=QUICK)
    assert not job.wait(0.2)
    job.cancel()
    assert job.wait(0)
    with pytest.raises(JobStopped, match=r"^Fitting the model was stopped\.$"):
        job.result()
    assert no_workers_left()


def test_an_interrupted_wait_stops_the_job():
    """Streamlit stops a script (Stop pressed, another page) by raising inside `tick`: the
    worker must not run on."""

    class Interrupted(Exception):
        pass

    ticks: list[float] = []

    def tick(elapsed: float, waiting: bool) -> None:
        ticks.append(elapsed)
        if len(ticks) == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        run_job(job_tasks.sleep, (60,), limits=QUICK, tick=tick)
    assert ticks == sorted(ticks)
    assert no_workers_left()


def test_the_users_problem_comes_back_as_it_was_raised():
    with pytest.raises(FormulaError) as err:
        run_job(job_tasks.refuse, ("y ~ (",), limits=QUICK)
    assert str(err.value) == "'y ~ (' is not a formula"
    assert err.value.position == 3 and err.value.text == "y ~ ("


def test_an_internal_error_or_a_dead_worker_ends_in_words():
    with pytest.raises(JobFailed) as err:
        run_job(job_tasks.crash, what="Fitting the model", limits=QUICK)
    assert str(err.value) == "Fitting the model failed inside the program."
    assert "ZeroDivisionError" in err.value.detail  # for the server log, never the page
    with pytest.raises(JobFailed, match=r"^Reading x\.csv ended unexpectedly\.$"):
        run_job(job_tasks.die, what="Reading x.csv", limits=QUICK)
    # native code aborts when an allocation fails at the ceiling: said as memory
    with pytest.raises(JobOutOfMemory, match=r"^Fitting the model needed more than 1 GB "):
        run_job(job_tasks.abort, what="Fitting the model", limits=QUICK)


def test_far_cell_workbook_is_read_safely_in_a_worker():
    """The audit's 2 KB workbook whose only cell is XFD1048576 took the whole server down; in a
    worker it ends with a plain message (refused, or over the memory limit) and we carry on."""
    with pytest.raises(HLMError) as err:
        run_job(read_table, (far_cell_xlsx(),), {"name": "far.xlsx"}, what="Reading far.xlsx",
                limits=JobLimits(memory_mb=1024, seconds=120))
    assert "Traceback" not in str(err.value)
    assert run_job(job_tasks.pid, limits=QUICK) != os.getpid()


def test_jobs_beyond_the_server_limit_wait_their_turn():
    one = JobLimits(memory_mb=256, seconds=60, max_jobs=1)
    first = threading.Thread(target=run_job, args=(job_tasks.sleep, (1.5,)), kwargs={"limits": one})
    first.start()
    time.sleep(0.3)
    waited: list[bool] = []
    assert run_job(job_tasks.sleep, (0,), limits=one, tick=lambda _, w: waited.append(w))
    first.join()
    assert waited and waited[0] is True  # queued behind the first job, then ran


def test_limits_come_from_the_environment():
    env = {"HLM_JOB_MEMORY_MB": "2_048", "HLM_JOB_SECONDS": "90", "HLM_MAX_JOBS": "2",
           "HLM_ORPHAN_SECONDS": "15"}
    assert JobLimits.from_env(env) == JobLimits(memory_mb=2048, seconds=90, max_jobs=2,
                                                orphan_seconds=15)
    bad = {"HLM_JOB_MEMORY_MB": "lots", "HLM_JOB_SECONDS": "-5", "HLM_MAX_JOBS": ""}
    assert JobLimits.from_env(bad) == JobLimits()


def test_the_servers_reader_settings_reach_the_worker(monkeypatch):
    monkeypatch.setenv("HLM_TEST_SETTING", "42")
    assert run_job(job_tasks.setting, ("HLM_TEST_SETTING",), limits=QUICK) == "42"


def test_the_worker_never_runs_the_servers_main_script(tmp_path, monkeypatch):
    """Streamlit installs the page script being run as `__main__`; multiprocessing would run
    it again in every worker. Ours start without it."""
    import types

    sentinel = tmp_path / "ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(sentinel)!r}, 'w').close()\n")
    fake = types.ModuleType("__main__")
    fake.__file__ = str(script)
    monkeypatch.setitem(__import__("sys").modules, "__main__", fake)
    assert run_job(job_tasks.pid, limits=QUICK) != os.getpid()
    assert not sentinel.exists()


def test_a_task_goes_on_when_nobody_waits_and_its_answer_is_kept():
    """The app's page run that starts a job can be cut short by the next click: the Task's own
    thread collects the answer, so a later run takes it."""
    task = jobs.Task(job_tasks.sleep, (0.5,), what="Fitting the model", limits=QUICK)
    assert not task.done() and task.elapsed < 0.5
    with pytest.raises(RuntimeError):
        task.result()  # not yet
    deadline = time.monotonic() + 30
    while not task.done() and time.monotonic() < deadline:
        time.sleep(0.05)  # nobody calls wait(): the thread drives it
    assert task.result() == "slept"
    assert no_workers_left()


def test_cancel_stops_a_task_and_frees_its_slot():
    one = JobLimits(memory_mb=256, seconds=60, max_jobs=1)
    first = jobs.Task(job_tasks.sleep, (60,), what="Fitting the model", limits=one)
    queued = jobs.Task(job_tasks.sleep, (0,), what="Reading x.csv", limits=one)
    assert not first.wait(0.5)
    assert queued.waiting  # the server's one slot is taken
    queued.cancel()
    assert queued.wait(5)
    with pytest.raises(JobStopped, match=r"^Reading x\.csv was stopped\.$"):
        queued.result()
    first.cancel()
    assert first.wait(5)
    with pytest.raises(JobStopped):
        first.result()
    assert no_workers_left()
    assert run_job(job_tasks.sleep, (0,), limits=one) == "slept"  # the slot is free again


def test_a_task_over_the_time_limit_is_stopped_without_anyone_waiting():
    task = jobs.Task(job_tasks.sleep, (60,), what="Fitting the model",
                     limits=JobLimits(memory_mb=256, seconds=1))
    deadline = time.monotonic() + 20
    while not task.done() and time.monotonic() < deadline:
        time.sleep(0.1)
    with pytest.raises(JobTooSlow):
        task.result()
    assert no_workers_left()


def test_a_job_reports_its_progress():
    task = jobs.Task(job_tasks.count_to, (20,), limits=QUICK, progress=True)
    seen = []
    while not task.wait(0.02):
        seen.append(task.progress)
    assert task.result() == 20
    fractions = [p for p in seen if p is not None]
    assert fractions and fractions == sorted(fractions) and 0 < fractions[-1] <= 1


def test_arguments_that_cannot_reach_a_worker_end_in_words():
    task = jobs.Task(job_tasks.sleep, (threading.Lock(),), what="Fitting the model",
                     limits=QUICK)
    assert task.wait(10)
    with pytest.raises(JobFailed, match=r"^Fitting the model failed inside the program\.$"):
        task.result()


def test_a_task_whose_tab_is_gone_ends_and_frees_its_slot():
    one = JobLimits(memory_mb=256, seconds=60, max_jobs=1, orphan_seconds=1.5)
    tab = {"open": True}
    first = jobs.Task(job_tasks.sleep, (60,), what="Fitting the model", limits=one,
                      owner_alive=lambda: tab["open"])
    assert not first.wait(0.5) and not first.waiting  # running, its tab open
    tab["open"] = False  # a blip shorter than the grace: it goes on
    time.sleep(1.1)
    tab["open"] = True
    assert not first.wait(2.0)
    tab["open"] = False  # the tab closed for good: ended after the grace, the slot free
    started = time.monotonic()
    assert first.wait(10)
    assert 1.4 <= time.monotonic() - started <= 6
    with pytest.raises(JobStopped):
        first.result()
    assert no_workers_left()
    assert run_job(job_tasks.sleep, (0,), limits=one) == "slept"


def test_a_task_waiting_for_a_slot_ends_when_its_tab_is_gone():
    one = JobLimits(memory_mb=256, seconds=60, max_jobs=1, orphan_seconds=0.5)
    first = jobs.Task(job_tasks.sleep, (60,), limits=one)
    queued = jobs.Task(job_tasks.sleep, (0,), limits=one, owner_alive=lambda: False)
    assert queued.wait(10) and queued.waiting is False
    with pytest.raises(JobStopped):
        queued.result()
    first.cancel()
    assert first.wait(5)
    assert no_workers_left()
