"""Heavy work from a page (reading an upload, fitting, the ladder, refits, slow views) in a worker
process (hlm_core.jobs), so one user's file or model never stalls or takes down the server for
everyone else — and a job that survives the user's next click.

How a job lives:

- `run` starts it (a `hlm_core.jobs.Task`, driven by a thread of the server) and keeps it in the
  session (`Session.jobs`, one per kind: "fit", "read", "ladder", ...), with what to do with
  its answer: `done(value)` puts it where the pages look for it, `failed(message)` stores the
  plain message. Then `run` waits for it right there, with a progress bar and a Stop button;
  when it ends in this script run, the answer lands at once.
- Any other click (a widget, another page) makes Streamlit start a new run and stop this one at
  its next progress update. The job is *not* stopped: it goes on in its worker. Every page
  begins with `collect` (ui.widgets.page_header), which lands every job that has ended since
  — exactly as if the user had waited — and `status` (the sidebar of every page) shows the
  ones still running, redrawn every `TICK_S` by a fragment that starts a new run as soon as
  one ends.
- Only Stop (`stop`), new data (`Session.new_data`) or a new job of the same kind replacing it
  cancels a job, or the tab closed for HLM_ORPHAN_SECONDS (hlm_core/jobs_background.py). A
  job asked for again while it runs (same kind, same `tag`) is waited for, not started twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from hlm_core import jobs
from hlm_core.errors import HLMError
from hlm_core.jobs import JobLimits, JobStopped
from ui.state import log, session
from ui.text import md

TICK_S = 0.5  # how often progress is redrawn (each redraw is a message to the browser)


@dataclass
class Running:
    """A job of this session and what to do with its answer (kept in `Session.jobs`)."""

    task: jobs.Task
    what: str  # "Fitting the model": what the progress bar and the notes say
    tag: Any  # what it computes (e.g. the fit's key): asked again, it is waited for
    done: Callable[[Any], None]  # puts the value where the pages look for it
    failed: Callable[[str], None]  # stores the plain message why it failed


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 120 else f"{seconds:g} s"


def _this_tab_connected() -> Callable[[], bool] | None:
    """Whether the browser tab of this session is still connected, for a job to end once its
    tab has been closed (None outside a running server, e.g. in AppTest)."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return None
    server, session_id = runtime.get_instance(), ctx.session_id
    return lambda: server.is_active_session(session_id)


def stop(key: str) -> None:
    """The Stop button's callback: cancel the job of kind `key`; the next run says so."""
    s = session()
    running = s.jobs.pop(key, None)
    if running is not None:
        running.task.cancel()
        s.job_note = f"{running.what} was stopped. What you had before is kept."


def _progress_text(running: Running, limits: JobLimits) -> tuple[float, str]:
    task, what = running.task, md(running.what)
    if task.waiting:
        return 0.0, (f"Waiting for the server ({task.elapsed:.0f} s): it is busy with other "
                     "users' work; yours starts next.")
    if task.progress is not None:
        return min(task.progress, 1.0), f"{what}… {task.progress:.0%} ({task.elapsed:.0f} s)"
    return (min(task.elapsed / limits.seconds, 1.0),
            f"{what}… {task.elapsed:.0f} s (the limit is {_duration(limits.seconds)})")


def run(
    fn: Callable[..., Any],
    *args: Any,
    what: str,
    key: str,
    done: Callable[[Any], None],
    failed: Callable[[str], None],
    advice: str = "",
    tag: Any = None,
    progress: bool = False,
    show: bool = True,
    **kwargs: Any,
) -> bool:
    """Start `fn(*args, **kwargs)` (a module-level hlm_core function) in a worker process as
    this session's job of kind `key` (replacing one of that kind computing something else), and
    wait for it here: after half a second "`what`… 12 s" and a Stop button (widget key
    `w_stop_<key>`; `show=False`: none, the caller draws its own). True when its answer landed
    (`done` or `failed` called) in this run; a click elsewhere leaves it running, to land in a
    later run."""
    s = session()
    running = s.jobs.get(key)
    if running is None or tag is None or running.tag != tag:
        if running is not None:
            running.task.cancel()
        task = jobs.Task(fn, args, kwargs, what=what, advice=advice, progress=progress,
                         owner_alive=_this_tab_connected())
        running = s.jobs[key] = Running(task, what, tag, done, failed)
    box = st.empty()
    bar = None
    drawn = 0.0  # the first draw after TICK_S: quick jobs draw nothing
    while not running.task.wait(jobs.POLL_S):
        if not show or running.task.elapsed - drawn < TICK_S:
            continue  # long jobs redraw twice a second
        drawn = running.task.elapsed
        if bar is None:
            with box.container():
                bar = st.progress(0.0, text=f"{md(what)}…")
                st.button("Stop", key=f"w_stop_{key}", icon=":material/stop_circle:",
                          on_click=stop, args=(key,),
                          help="Stops it now; the data and results you had before are kept.")
        # another click: Streamlit stops this run here; the job goes on (see the docstring)
        bar.progress(*_progress_text(running, running.task.limits))
    box.empty()
    _land(key, running)
    return True


def _land(key: str, running: Running) -> None:
    """Hand the job's answer to its `done` (or its message to `failed`), once."""
    s = session()
    if s.jobs.get(key) is running:
        del s.jobs[key]
    try:
        value = running.task.result()
    except JobStopped:
        return  # Stop (its note is said) or replaced: nothing lands
    except HLMError as exc:
        if getattr(exc, "detail", None):  # how it failed inside (JobFailed, or the job's own)
            log.error("%s: %s", running.what, exc.detail)
        running.failed(str(exc))
        return
    except Exception:
        log.exception("%s: the answer could not be taken", running.what)
        running.failed(f"{running.what} failed inside the program. Try again, or try a "
                       "smaller data set or a simpler model.")
        return
    try:
        running.done(value)
    except Exception:  # our own bug: said in words once, never a traceback on every run
        log.exception("%s: its answer could not be kept", running.what)
        running.failed(f"{running.what} finished, but its answer could not be shown. Try "
                       "again.")


def collect() -> None:
    """Land every job of this session that has ended (first thing on every page)."""
    s = session()
    for key, running in list(s.jobs.items()):
        if s.jobs.get(key) is running and running.task.done():  # new data cancel the others
            _land(key, running)


def status() -> None:
    """This session's running jobs, with progress and Stop (the sidebar of every page), redrawn
    every TICK_S until one ends; then a new run lands it and shows it on the page."""
    if session().jobs:
        _live_status()


@st.fragment(run_every=TICK_S)
def _live_status() -> None:
    s = session()
    if not s.jobs or any(r.task.done() for r in s.jobs.values()):
        st.rerun()  # the whole page again: `collect` lands it, the page shows it
    for key, running in s.jobs.items():
        value, text = _progress_text(running, running.task.limits)
        st.progress(value, text=text)
        st.button("Stop", key=f"w_jobstop_{key}", icon=":material/stop_circle:",
                  on_click=stop, args=(key,), help=f"Stops {md(running.what.lower())} now; "
                  "the data and results you had before are kept.")


def warm_up() -> None:
    """Start the worker fork server in the background (first page view), so the first fit
    doesn't wait for it."""
    try:
        jobs.warm_up()
    except Exception:  # the first job starts it instead
        log.exception("could not start the job fork server")
