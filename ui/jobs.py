"""Heavy work from a page: in a worker process (hlm_core.jobs) with a progress bar and a Stop
button where the page asked for it, so one user's file or model never stalls or takes down the
server for everyone else.

`run` returns the job's value or raises HLMError with a plain message (over a limit, the user's
own problem); the caller keeps the session's earlier data and fit then. Stop, or any other click
while a job runs, makes Streamlit start a new run of the page and stop this one at its next
progress update (at most `TICK_S` later); the job is then killed (hlm_core.jobs.run_job's
`finally`). The new run says so at the top of the page (`Session.job_note`, shown by
ui.widgets.page_header): "... was stopped" after Stop (set by the button's callback), "...
was interrupted by another click" after any other click (set here as this run unwinds), so a
fit cut short by opening another page is never lost without a word.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from hlm_core import jobs
from hlm_core.errors import HLMError
from hlm_core.jobs import JobFailed, JobLimits
from ui.state import log, session
from ui.text import md

TICK_S = 0.5  # how often the progress bar is redrawn (each redraw is a message to the browser)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 120 else f"{seconds:g} s"


def _stopped(what: str) -> None:
    """The Stop button's callback: it runs first thing in the next run (Streamlit starts that
    run at once and tells this one to stop, which kills the job), so that run can say so."""
    session().job_note = f"{what} was stopped. What you had before is kept."


def run(
    fn: Callable[..., Any],
    *args: Any,
    what: str,
    advice: str = "",
    key: str,
    **kwargs: Any,
) -> Any:
    """`fn(*args, **kwargs)` in a worker process (fn: a module-level hlm_core function). After
    half a second "`what`… 12 s" and a Stop button (widget key `w_stop_<key>`) show where this
    is called, until it ends. Raises HLMError / JobFailed in plain words."""
    limits = JobLimits.from_env()
    box = st.empty()
    shown: dict[str, Any] = {"at": 0.0}

    def tick(elapsed: float, waiting: bool) -> None:
        if elapsed - shown["at"] < TICK_S and waiting == shown.get("waiting", waiting):
            return  # quick jobs draw nothing; long ones redraw twice a second
        shown["at"], shown["waiting"] = elapsed, waiting
        if "bar" not in shown:
            with box.container():
                shown["bar"] = st.progress(0.0, text=f"{md(what)}…")
                st.button("Stop", key=f"w_stop_{key}", icon=":material/stop_circle:",
                          on_click=_stopped, args=(what,),
                          help="Stops it now; the data and results you had before are kept.")
        if waiting:
            shown["bar"].progress(0.0, text=f"Waiting for the server ({elapsed:.0f} s): it is "
                                  "busy with other users' work; yours starts next.")
        else:
            shown["bar"].progress(min(elapsed / limits.seconds, 1.0),
                                  text=f"{md(what)}… {elapsed:.0f} s (the limit is "
                                  f"{_duration(limits.seconds)})")

    try:
        value = jobs.run_job(fn, args, kwargs, what=what, advice=advice, limits=limits,
                             tick=tick)
    except JobFailed as exc:
        if getattr(exc, "detail", None):
            log.error("%s: %s", what, exc.detail)
        box.empty()
        raise
    except HLMError:
        box.empty()
        raise
    except BaseException:  # another click started a new run: Streamlit stops this one here
        s = session()
        if not s.job_note:  # Stop's callback has said it already
            s.job_note = (f"{what} was interrupted by another click before it finished, so "
                          "nothing changed. Do it again and wait until it ends.")
        raise
    box.empty()
    return value


def warm_up() -> None:
    """Start the worker fork server in the background (first page view), so the first fit
    doesn't wait for it."""
    try:
        jobs.warm_up()
    except Exception:  # the first job starts it instead
        log.exception("could not start the job fork server")
