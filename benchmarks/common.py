"""What the benchmark scripts share: timing lines, the app server, Chromium's settings, the
browser's "figure drawn" wait, and peak-memory readings from /proc.

Only loopback traffic: the server listens on 127.0.0.1 and the browser only opens that address.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# Chromium's path and flags, shared with the browser tests (the scripts import them from here)
from browser_flags import CHROMIUM, CHROMIUM_ARGS  # noqa: E402, F401

FORMULA = "y ~ x + (x | class)"
CATERPILLARS = '[class*="st-key-caterpillar_"] .js-plotly-plot'
SLOPES = ".st-key-slopes_model .js-plotly-plot, .st-key-slopes_raw .js-plotly-plot"
# two animation frames: plotly draws synchronously, so the page answers once drawing is done
NEXT_FRAMES_JS = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
# Timed in the page: arm before a click (CLICK_ARM_JS), then DRAWN_AFTER_CLICK_JS resolves with
# the seconds from that click to two frames after the figures are ready. Measured in the page,
# so a long task that starts later (another big figure further down) can't delay the reading.
CLICK_ARM_JS = """() => { window.__hlmClick = null;
  document.addEventListener('click', () => { window.__hlmClick = performance.now(); },
                            {capture: true, once: true}); }"""
DRAWN_AFTER_CLICK_JS = """([sel, n]) => new Promise(resolve => {
  (function check() {
    const d = [...document.querySelectorAll(sel)];
    if (window.__hlmClick !== null && d.length >= n
        && d.every(x => x._fullData && x._fullData.length)) {
      requestAnimationFrame(() => requestAnimationFrame(
        () => resolve((performance.now() - window.__hlmClick) / 1000)));
      return;
    }
    requestAnimationFrame(check);
  })(); })"""
# Streamlit has finished the current run (no "running" status widget)
IDLE_JS = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
# an element already drawn by the current run (Streamlit marks the others data-stale="true")
FRESH = '[data-testid="stElementContainer"][data-stale="false"]'
# an exception box, or an error alert the app shows (st.error)
ERROR_SELECTOR = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def timed(label: str, fn, budget: float | None = None, results: dict | None = None):
    """Run `fn`, print `label` with its wall time (and PASS/MISS against `budget`)."""
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    report(label, dt, budget, results)
    return out


def report(label: str, seconds: float, budget: float | None = None,
           results: dict | None = None, unit: str = "s") -> None:
    verdict = "" if budget is None else (
        f"  PASS (<= {budget:g} {unit})" if seconds <= budget else f"  MISS (> {budget:g} {unit})"
    )
    fmt = f"{seconds:9.2f}" if unit == "s" else f"{seconds:9.0f}"
    print(f"{label:<52} {fmt} {unit}{verdict}", flush=True)
    if results is not None:
        results[label] = (seconds, budget)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: ppid follows the last ')'
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(_children(p))
    return seen


def vm_hwm_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of one process, in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_hwm_mb(pid: int) -> float:
    """Sum of the peak resident memory of `pid` and its descendants, in MB (an upper bound of
    their joint peak)."""
    return sum(vm_hwm_mb(p) for p in process_tree(pid))


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by `pid` and its descendants, in seconds: the
    live ones, and those that have ended and were waited for (e.g. the app's read and fit
    workers, reaped by their fork server), through their parents' cutime and cstime."""
    total = 0
    for p in process_tree(pid):
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        # utime, stime, cutime, cstime (fields 14-17)
        total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


def self_peak_mb() -> float:
    """Peak resident memory of this process, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class AppServer:
    """`streamlit run app.py` on a free loopback port, headless, until `stop()` (or the end of
    a `with` block). Its log goes to a temporary file outside the repository."""

    def __init__(self, *extra_args: str, start_timeout: float = 90.0, main: Path | None = None):
        """`main`: another app's script to serve instead (e.g. an empty app for a yardstick)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._logdir = tempfile.TemporaryDirectory(prefix="hlm-bench-server-")
        self.log_path = Path(self._logdir.name) / "streamlit.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", str(main or "app.py"),
                "--server.port", str(self.port),
                "--server.address", "127.0.0.1",
                "--server.headless", "true",
                "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none",
                *extra_args,
            ],
            cwd=main.parent if main else ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"streamlit did not start:\n{self.log_tail()}")
            time.sleep(0.3)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def peak_mb(self) -> float:
        """VmHWM of the server and its children, in MB (read while it is still running)."""
        return tree_hwm_mb(self.proc.pid)

    def log_tail(self, n: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-n:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self._log.closed:
            self._log.close()

    def close(self) -> None:
        self.stop()
        self._logdir.cleanup()

    def __enter__(self) -> AppServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def idle_and_busy_loads(
    load,
    start,
    running,
    finished,
    rounds: int = 3,
    idle_each: int = 2,
    busy_each: int = 3,
) -> tuple[list[float], list[float]]:
    """Session B's page-load seconds, idle and while session A works, taken in turns in the
    same window: `rounds` times, `idle_each` idle loads, then `start(round)` (A's work is under
    way when it returns), up to `busy_each` loads while `running()` (a load that A's work
    outlived; one it didn't outlive counts as neither), then `finished(round)` (A's work and
    its page done); then `idle_each` more idle loads. Idle and busy loads alternate over the
    whole window, so a change in the machine's load (it is shared) moves both alike, and their
    medians compare what A's work adds — not what the machine did meanwhile."""
    idle: list[float] = []
    busy: list[float] = []
    for r in range(rounds):
        idle += [load() for _ in range(idle_each)]
        start(r)
        for _ in range(busy_each):
            seconds = load()
            if not running():
                break
            busy.append(seconds)
        finished(r)
    idle += [load() for _ in range(idle_each)]
    return idle, busy
