"""Heavy work (reading an upload, fitting, the model ladder, refits) in a worker process of its
own, with a memory ceiling and a time limit, so that one user's file or model can never take the
server (and every other user's session) down or stall it.

Why a process per job: a 2 KB workbook can ask for gigabytes, a pathological model can run for
minutes, and inside the server either one takes every session with it (memory) or holds the
interpreter while others wait (time). A worker process gets its own memory ceiling
(`resource.setrlimit(RLIMIT_AS)`), is killed at its time limit or when the user presses Stop,
and its memory goes back to the system when it ends.

Why a fork server: the Streamlit server is threaded, so forking it directly is unsafe, and a fresh
`spawn` costs seconds (importing numpy, pandas and the engine). multiprocessing's "forkserver"
starts one small, single-threaded process once, imports hlm_core there, and forks each worker
from it: a job then starts in milliseconds with everything already imported.

What crosses between processes: the job (a module-level function and its arguments: bytes, data
frames, our own spec and result objects) is pickled by the server and the answer (our own result
objects) by the worker. Nothing is written to disk. Nothing read from a user's file is ever
unpickled: a file's bytes travel as bytes and are parsed by the reader in the worker.

Limits (read from the environment on every job, so an administrator sets them once for the
server):

    HLM_JOB_MEMORY_MB   memory one job may take on top of the worker's start-up size (4096)
    HLM_JOB_SECONDS     seconds one job may run before it is stopped               (300)
    HLM_MAX_JOBS        jobs running at once on the server; more wait their turn    (4)
    HLM_ORPHAN_SECONDS  a job whose browser tab has been closed this long is ended  (60)
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import resource
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import context, forkserver, popen_forkserver, reduction, spawn, util
from typing import Any

from hlm_core.allocator import keep_freed_memory
from hlm_core.errors import HLMError

__all__ = [
    "Job",
    "JobFailed",
    "JobLimits",
    "JobOutOfMemory",
    "JobStopped",
    "JobTooSlow",
    "Task",
    "run_job",
    "warm_up",
]

# What the fork server imports once, so that each worker starts with it in memory (the last one
# also does a small read and fit, so first-call set-up is done once, not in every worker).
PRELOAD = [
    "hlm_core.jobs",
    "hlm_core.io",
    "hlm_core.fit",
    "hlm_core.compare",
    "hlm_core.diagnostics",
    "hlm_core.crosscheck",
    "hlm_core.jobs_warm",
]
NICE = 10  # workers run at a lower CPU priority than the server (page loads first)
POLL_S = 0.1  # how often the waiting side looks at the job (and lets the UI show progress)


@dataclass(frozen=True)
class JobLimits:
    """How much one job may take: memory on top of the worker's start-up size (MB), seconds,
    and how many jobs may run at once on this server."""

    memory_mb: int = 4096
    seconds: float = 300.0
    max_jobs: int = 4
    orphan_seconds: float = 60.0  # a job whose browser tab has been gone this long is ended

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> JobLimits:
        """The defaults, overridden by HLM_JOB_MEMORY_MB, HLM_JOB_SECONDS, HLM_MAX_JOBS and
        HLM_ORPHAN_SECONDS (a mistyped value keeps the default rather than stopping the app)."""
        env = os.environ if environ is None else environ
        base = cls()
        return cls(
            memory_mb=int(_number(env.get("HLM_JOB_MEMORY_MB"), base.memory_mb)),
            seconds=_number(env.get("HLM_JOB_SECONDS"), base.seconds),
            max_jobs=int(_number(env.get("HLM_MAX_JOBS"), base.max_jobs)),
            orphan_seconds=_number(env.get("HLM_ORPHAN_SECONDS"), base.orphan_seconds),
        )


def _number(raw: str | None, default: float) -> float:
    if not raw:
        return default
    try:
        value = float(raw.replace("_", "").replace(",", ""))
    except ValueError:
        return default
    return value if value > 0 else default


# ---------------------------------------------------------------------------- errors


class JobFailed(HLMError):
    """A job ended without an answer: stopped, over a limit, or ended unexpectedly. The text
    says so in plain words; the session keeps what it had before."""


class JobStopped(JobFailed):
    """The user pressed Stop (or left the page) while the job ran."""


class JobTooSlow(JobFailed):
    """The job ran past the time limit (HLM_JOB_SECONDS)."""


class JobOutOfMemory(JobFailed):
    """The job needed more memory than the limit (HLM_JOB_MEMORY_MB), or was killed."""


def _seconds_text(seconds: float) -> str:
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:g} seconds"


def _memory_text(mb: int) -> str:
    return f"{mb / 1024:.1f} GB".replace(".0 ", " ") if mb >= 1024 else f"{mb} MB"


def failure(what: str, advice: str, limits: JobLimits, kind: str, detail: Any) -> JobFailed:
    """The plain message for a job that ended without an answer (`kind`: stopped, slow,
    memory, died, crash); `detail` (how it ended) goes to the server log only."""
    lim, advice = limits, f" {advice}" if advice else ""
    if kind == "stopped":
        return JobStopped(f"{what} was stopped.")
    if kind == "slow":
        return JobTooSlow(
            f"{what} took longer than {_seconds_text(lim.seconds)}, the time limit "
            f"on this server, so it was stopped.{advice}"
        )
    if kind == "memory":
        return JobOutOfMemory(
            f"{what} needed more than {_memory_text(lim.memory_mb)} of memory, the "
            f"limit on this server, so it was stopped.{advice}"
        )
    failed = JobFailed(
        f"{what} ended unexpectedly.{advice}" if kind == "died" else
        f"{what} failed inside the program.{advice}"
    )
    failed.detail = detail  # the worker's traceback, for the server log only
    return failed


# ---------------------------------------------------------------------------- the worker side


def _limit_memory(memory_mb: int) -> None:
    """Cap this process's address space at its current size plus `memory_mb`: past it,
    allocations fail (MemoryError) instead of the machine running out."""
    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * resource.getpagesize()
    limit = size + memory_mb * 2**20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _progress_sender(conn: Any) -> Callable[[float], None]:
    """`progress(fraction)` for a job that reports how far it is: sends ("progress", fraction)
    to the server at most once per percent."""
    last = [-1.0]

    def progress(done: float) -> None:
        if done - last[0] >= 0.01 or done >= 1.0:
            last[0] = done
            conn.send_bytes(pickle.dumps(("progress", float(done))))

    return progress


def _worker(conn: Any, memory_mb: int, seconds: float, env: dict[str, str],
            progress: bool = False) -> None:
    """The worker process: read the job from `conn`, run it (with `progress=` a sender when
    asked), send back ("ok", value), ("error", HLMError), ("memory", None) or ("crash",
    traceback text)."""
    signal.alarm(int(seconds) + 30)  # a backstop should the server itself be gone
    os.nice(NICE)  # page loads (in the server) come first when the cores are busy
    keep_freed_memory()  # one job, then the worker ends (hlm_core/allocator.py)
    os.environ.update(env)  # the server's current HLM_* settings (reader limits too)
    try:
        _limit_memory(memory_mb)
        fn, args, kwargs = pickle.loads(conn.recv_bytes())
        if progress:
            kwargs["progress"] = _progress_sender(conn)
        answer = pickle.dumps(("ok", fn(*args, **kwargs)), protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        answer = pickle.dumps(("memory", None))
    except HLMError as exc:
        try:
            answer = pickle.dumps(("error", exc))
        except Exception:  # an unpicklable extra attribute: keep the message
            answer = pickle.dumps(("error", HLMError(str(exc))))
    except BaseException:  # everything else is reported, never raised here
        answer = pickle.dumps(("crash", traceback.format_exc()))
    try:
        conn.send_bytes(answer)
    except OSError:
        pass  # the server stopped waiting (Stop pressed)
    conn.close()


# ---------------------------------------------------------------------------- the server side

_context_lock = threading.Lock()
_context: Any = None
_slots: tuple[int, threading.BoundedSemaphore] | None = None


class _Popen(popen_forkserver.Popen):
    """multiprocessing's fork-server start (Python 3.11's `_launch`), except that the worker
    does not re-import the server's `__main__`: under Streamlit that is the page script being
    run (Streamlit installs it as `__main__`), which a worker must never execute."""

    def _launch(self, process_obj: Any) -> None:
        prep_data = {
            k: v for k, v in spawn.get_preparation_data(process_obj._name).items()
            if not k.startswith("init_main")
        }
        buf = io.BytesIO()
        context.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            context.set_spawning_popen(None)
        self.sentinel, w = forkserver.connect_to_new_process(self._fds)
        _parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _WorkerProcess(context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)


def _ctx() -> Any:
    """The fork-server context (created once per server process)."""
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            _context = ctx
        return _context


def warm_up() -> None:
    """Start the fork server now (it imports hlm_core in the background), so the first job
    doesn't wait for it. Safe to call often."""
    _ctx()
    forkserver.ensure_running()


def _job_slots(limit: int) -> threading.BoundedSemaphore:
    """The server-wide count of jobs running at once (HLM_MAX_JOBS)."""
    global _slots
    with _context_lock:
        if _slots is None or _slots[0] != limit:
            _slots = (limit, threading.BoundedSemaphore(limit))
        return _slots[1]


def _hlm_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("HLM_")}


class Job:
    """One call `fn(*args, **kwargs)` running in a worker process of its own.

    `fn` must be importable by name (a module-level function). Poll with `wait`, collect with
    `result` (which raises HLMError / JobFailed with a plain message), end it with `cancel`.
    With `progress=True`, `fn` is called with `progress=` a function taking the fraction done,
    and `progress` here holds the last fraction it reported."""

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple = (),
        kwargs: dict[str, Any] | None = None,
        *,
        what: str = "The job",
        advice: str = "",
        limits: JobLimits | None = None,
        progress: bool = False,
    ) -> None:
        self.what = what
        self.advice = advice
        self.limits = limits or JobLimits.from_env()
        self.started = time.monotonic()
        self._outcome: tuple[str, Any] | None = None
        self.progress: float | None = None  # the last fraction a `progress` job reported
        payload = pickle.dumps((fn, tuple(args), dict(kwargs or {})),
                               protocol=pickle.HIGHEST_PROTOCOL)
        ctx = _ctx()
        self._conn, child = ctx.Pipe(duplex=True)
        self._proc = _WorkerProcess(
            target=_worker,
            args=(child, self.limits.memory_mb, self.limits.seconds, _hlm_env(), progress),
            daemon=True,
        )
        self._proc.start()
        child.close()
        try:
            self._conn.send_bytes(payload)
        except OSError:
            self._ended()  # the worker died while taking the job (e.g. its memory limit)

    @property
    def elapsed(self) -> float:
        """Seconds since the job started."""
        return time.monotonic() - self.started

    def wait(self, timeout: float = POLL_S) -> bool:
        """Wait up to `timeout` seconds; True once the job has ended (answer or not)."""
        if self._outcome is not None:
            return True
        deadline = time.monotonic() + timeout
        while self._conn.poll(max(0.0, deadline - time.monotonic())):
            try:
                message = pickle.loads(self._conn.recv_bytes())
            except (EOFError, OSError):
                message = None
                self._ended()
            if message is not None and message[0] == "progress":
                self.progress = message[1]
                continue
            if message is not None:
                self._outcome = message
            self._kill()  # answered (or dead): no need to wait for it to wind down
            return True
        if self.elapsed > self.limits.seconds:
            self._kill()
            self._outcome = ("slow", None)
            return True
        return False

    def cancel(self) -> None:
        """Stop the job now (Stop pressed, page left). Nothing it did is kept."""
        if self._outcome is None:
            self._outcome = ("stopped", None)
        self._kill()

    def result(self) -> Any:
        """The job's value; HLMError (the user's problem, in words) or JobFailed (stopped,
        over a limit, ended unexpectedly) otherwise. Call after `wait` returned True."""
        if self._outcome is None:
            raise RuntimeError("the job has not ended yet")
        kind, value = self._outcome
        if kind == "ok":
            return value
        if kind == "error":
            raise value
        raise failure(self.what, self.advice, self.limits, kind, value)

    def _ended(self) -> None:
        """The worker closed its end without an answer: it died. Aborted (native code whose
        allocation failed at the memory ceiling, e.g. the engine's Rust core) or killed (the
        system out of memory) means memory; anything else, a crash."""
        self._proc.join(timeout=5)
        code = self._proc.exitcode
        memory = code in (-signal.SIGABRT, -signal.SIGKILL)
        self._outcome = ("memory" if memory else "died", f"worker exit code {code}")

    def _kill(self) -> None:
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(timeout=5)
        self._conn.close()


# The background driver and the blocking call over it live in their own module (they need Job
# above); `from hlm_core.jobs import run_job` keeps working.
from hlm_core.jobs_background import Task, run_job  # noqa: E402
