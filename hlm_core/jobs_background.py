"""A job that goes on while nobody waits for it (`Task`), and the blocking `run_job` over it.

Why: in the app, the page run that starts a fit is cut short by the user's next click (Streamlit
stops a script run to start the next one). If the job lived only as long as that run, a click on
another page would throw the work away. A `Task` is driven by a small thread of the server: it
waits for a free slot (HLM_MAX_JOBS), starts the worker process (hlm_core.jobs.Job), reads its
progress and its answer, enforces the time limit, ends the worker and frees the slot — whether
or not anyone is looking. Whoever holds the Task (the browser session) looks at it when it likes
(`done`, `elapsed`, `progress`) and takes the answer once it is there (`result`). Only `cancel`
stops it early.

A session that is closed with a Task running costs nothing lasting: given `owner_alive` (is
the browser tab that asked still connected? Streamlit has no hook for a session's end), the
Task ends once the tab has been gone for `JobLimits.orphan_seconds` — long enough for a
reconnect after a network blip — and frees its slot for the users still there; without it, at
its time limit. Its answer is dropped with the session.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from hlm_core.jobs import POLL_S, Job, JobLimits, _job_slots, failure

__all__ = ["Task", "run_job"]

log = logging.getLogger(__name__)


class Task:
    """`fn(*args, **kwargs)` in a worker process, driven by a thread of this process.

    `options` are Job's: `what`, `advice`, `limits`, `progress`, and `owner_alive` (see the
    module docstring). `done()` is True once it has ended (answer, failure, or cancelled);
    `result()` then returns the value or raises HLMError / JobFailed in plain words."""

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple = (),
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        self.what = options.get("what", "The job")
        self.advice = options.get("advice", "")
        self.limits = options["limits"] = options.get("limits") or JobLimits.from_env()
        self.queued = time.monotonic()
        self._owner_alive: Callable[[], bool] | None = options.pop("owner_alive", None)
        self._gone_since: float | None = None  # when the owner was first seen gone
        self._looked = 0.0
        self._job: Job | None = None
        self._early: tuple[str, Any] = ("stopped", None)  # the outcome when no Job started
        self._stop = threading.Event()
        self._done = threading.Event()
        threading.Thread(
            target=self._drive, args=(fn, tuple(args), dict(kwargs or {}), options),
            name=f"hlm-job {self.what}", daemon=True,
        ).start()

    @property
    def waiting(self) -> bool:
        """True while it waits for a free slot (the server runs HLM_MAX_JOBS at once)."""
        return self._job is None and not self._done.is_set()

    @property
    def elapsed(self) -> float:
        """Seconds it has run (or, while waiting for a slot, waited)."""
        job = self._job
        return job.elapsed if job is not None else time.monotonic() - self.queued

    @property
    def progress(self) -> float | None:
        """The fraction done, for a job that reports it (None otherwise)."""
        job = self._job
        return job.progress if job is not None else None

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float = POLL_S) -> bool:
        """Wait up to `timeout` seconds; True once it has ended."""
        return self._done.wait(timeout)

    def cancel(self) -> None:
        """Stop it (Stop pressed, new data, a new job replacing it): the worker is killed within
        POLL_S and nothing it did is kept."""
        self._stop.set()

    def result(self) -> Any:
        """The value, or HLMError / JobFailed in plain words. Only once `done()`."""
        if not self._done.is_set():
            raise RuntimeError("the job has not ended yet")
        if self._job is None:
            raise failure(self.what, self.advice, self.limits, *self._early)
        return self._job.result()

    def _orphaned(self) -> bool:
        """True once the owner (the browser tab) has been gone for `orphan_seconds` (looked at
        about once a second)."""
        now = time.monotonic()
        if self._owner_alive is None or now - self._looked < 1.0:
            return False
        self._looked = now
        try:
            alive = self._owner_alive()
        except Exception:  # the server shutting down: its own end stops the job
            alive = True
        if alive:
            self._gone_since = None
            return False
        if self._gone_since is None:
            self._gone_since = now
        return now - self._gone_since >= self.limits.orphan_seconds

    def _ended(self) -> bool:
        if not self._stop.is_set() and self._orphaned():
            log.warning("%s was ended after %.0f s: its browser tab has been closed for %g s",
                        self.what, self.elapsed, self.limits.orphan_seconds)
            self._stop.set()
        return self._stop.is_set()

    def _drive(self, fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any],
               options: dict[str, Any]) -> None:
        """The thread: a slot, the worker, its answer (or the time limit, or cancel, or the
        owner gone), the end."""
        try:
            slots = _job_slots(self.limits.max_jobs)
            while not slots.acquire(timeout=POLL_S):
                if self._ended():
                    return
            try:
                if self._ended():
                    return
                job = Job(fn, args, kwargs, **options)
                self._job = job
                while not job.wait(POLL_S):
                    if self._ended():
                        break
                job.cancel()  # ends the worker; an answer already in is kept
            finally:
                slots.release()
        except BaseException:  # e.g. arguments that can't be sent to a worker
            self._job = None
            self._early = ("crash", traceback.format_exc())
        finally:
            self._done.set()


def run_job(
    fn: Callable[..., Any],
    args: tuple = (),
    kwargs: dict[str, Any] | None = None,
    *,
    tick: Callable[[float, bool], None] | None = None,
    **options: Any,
) -> Any:
    """Run `fn(*args, **kwargs)` in a worker process and wait for its value. `options` are
    `Job`'s: `what` (e.g. "Fitting the model"), `advice` (what to change), `limits`.

    `tick(elapsed_seconds, waiting_for_a_slot)` is called about every 0.1 s while it runs; an
    exception raised from it stops the job. Raises the job's HLMError, or JobFailed with a plain
    message when it was stopped, ran out of time or memory, or ended unexpectedly."""
    task = Task(fn, args, kwargs, **options)
    try:
        while not task.wait(POLL_S):
            if tick is not None:
                tick(task.elapsed, task.waiting)
        return task.result()
    finally:
        task.cancel()
