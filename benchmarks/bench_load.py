"""Load test: 30 people use one server at once (a workshop), on loopback.

Starts `streamlit run app.py` (headless, a free port on 127.0.0.1), then runs N concurrent
sessions in one Chromium (one browser context each). Every session opens the app; once all N
are connected to the server, all of them at once upload their own CSV (a different subset of
schools from tests/fixtures/exam.csv, written to a temporary folder), type a formula, press Fit
model, open Class effects and wait until the caterpillar is drawn. Each session checks that it
sees its own data: its row count, its number of schools and exactly its schools in the
caterpillar. Prints per-session latency (upload -> caterpillar drawn) and its distribution, the
time to open the app, errors, the server's CPU time and its peak memory (VmHWM of the server and
its children, from /proc).

One Chromium on the same 2 cores plays all N browsers: most of the wall time is the browser
drawing N pages (compare the server's CPU time with the wall time).

Run: `python benchmarks/bench_load.py [--sessions 30] [--cap 300]`. Exit 0 when every session
completes without an error, 1 otherwise. `tests/browser/test_load_small.py` runs 5 sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    CATERPILLARS,
    CHROMIUM,
    CHROMIUM_ARGS,
    CLICK_ARM_JS,
    DRAWN_AFTER_CLICK_JS,
    ERROR_SELECTOR,
    FRESH,
    AppServer,
    cpu_seconds,
)

EXAM = ROOT / "tests" / "fixtures" / "exam.csv"
FORMULAS = (
    "normexam ~ standLRT + (1 | school)",
    "normexam ~ standLRT + sex + (standLRT | school)",
)
# the distinct point labels (groups) of the first caterpillar, once plotly has its data
CATERPILLAR_GROUPS_JS = """
sel => { const d = document.querySelector(sel);
  if (!d || !d._fullData || !d._fullData.length) return null;
  const names = new Set();
  (d.data || []).forEach(tr => { if (Array.isArray(tr.text))
    tr.text.forEach(t => { if (t !== null) names.add(String(t)); }); });
  return [...names]; }
"""


@dataclass
class Dataset:
    path: Path
    formula: str
    rows: int
    schools: list[str]
    sizes: dict[str, int]

    def shown_schools(self) -> list[list[str]]:
        """What the caterpillar may show: every school, or (the page's privacy default) those
        with at least DEFAULT_MIN_GROUP students."""
        try:
            from hlm_core.fairness import DEFAULT_MIN_GROUP
        except ImportError:
            DEFAULT_MIN_GROUP = 1
        return [self.schools, [s for s in self.schools if self.sizes[s] >= DEFAULT_MIN_GROUP]]


@dataclass
class SessionResult:
    index: int
    ok: bool = False
    latency: float | None = None
    phases: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def make_datasets(n: int, folder: Path, seed: int = 5) -> list[Dataset]:
    """`n` different CSVs: session i gets its own random 20-50 of exam.csv's 65 schools."""
    import numpy as np
    import pandas as pd

    exam = pd.read_csv(EXAM, dtype={"school": str, "student": str})
    all_schools = exam["school"].drop_duplicates().to_numpy()
    out = []
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        k = int(rng.integers(20, 51))
        schools = sorted(rng.choice(all_schools, size=k, replace=False).tolist(), key=int)
        sub = exam[exam["school"].isin(schools)]
        path = folder / f"exam_s{i + 1:02d}.csv"
        sub.to_csv(path, index=False)
        sizes = sub["school"].value_counts().to_dict()
        out.append(Dataset(path, FORMULAS[i % len(FORMULAS)], len(sub), schools, sizes))
    return out


class SessionError(Exception):
    pass


async def _wait(page, target, what: str, timeout_ms: float) -> None:
    """Wait for `target`, or fail at once with the app's message if an error shows instead."""
    errors = page.locator(ERROR_SELECTOR)
    try:
        await target.or_(errors).first.wait_for(timeout=timeout_ms)
    except Exception as exc:
        raise SessionError(f"timed out waiting for {what}") from exc
    if await errors.count():
        text = (await errors.first.inner_text()).strip().replace("\n", " ")
        raise SessionError(f"error shown while waiting for {what}: {text[:300]}")


class StartLine:
    """Every session opens the app first; the clock starts for all of them together once all
    are connected (as in a workshop: "everyone, upload the file now")."""

    def __init__(self, n: int):
        self.n, self.arrived, self.go = n, 0, asyncio.Event()

    async def arrive_and_wait(self) -> None:
        self.arrived += 1
        if self.arrived >= self.n:
            self.go.set()
        await self.go.wait()


async def run_session(browser, url: str, index: int, data: Dataset, start: StartLine | None = None,
                      step_timeout: float = 240.0) -> SessionResult:
    """One user: open the app, (wait for the others,) upload, formula, Fit model, Class effects
    until the caterpillar is drawn. The latency runs from the upload to the drawn caterpillar."""
    res = SessionResult(index)
    ms = step_timeout * 1000
    last = time.perf_counter()
    waiting = start is not None

    def lap(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        res.phases[name] = now - last
        last = now

    context = None
    try:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        page.set_default_timeout(ms)
        await page.goto(url)
        await _wait(page, page.get_by_role("button", name="Use example data"), "the app", ms)
        lap("open")
        if start is not None:
            waiting = False
            await start.arrive_and_wait()
        t0 = last = time.perf_counter()
        uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first
        await uploader.set_input_files(str(data.path))
        heading = f"{data.path.name}: {data.rows:,} rows"
        await _wait(page, page.get_by_text(heading), f"'{heading}'", ms)
        lap("upload")
        nav = page.get_by_test_id("stSidebarNav")
        await nav.get_by_role("link", name="Model", exact=True).click()
        box = page.get_by_role("textbox", name="Formula")
        await _wait(page, box, "the Model page", ms)
        await box.fill(data.formula)
        await box.press("Enter")
        sidebar = page.get_by_test_id("stSidebar")
        await _wait(page, sidebar.get_by_text(data.formula, exact=True), "the typed model", ms)
        # until this run has drawn the Fit model button (so the builder above it too): pressing
        # it earlier can fit the builder's previous model (its widgets send their old values)
        fit = page.get_by_role("button", name="Fit model")
        await page.locator(FRESH).filter(has=fit).wait_for(timeout=ms)
        lap("model")
        await fit.click()
        fitted = page.get_by_text(f"{data.rows:,} rows in {len(data.schools)} schools")
        await _wait(page, fitted, "the fit", ms)
        lap("fit")
        if not await sidebar.get_by_text(data.formula, exact=True).count():
            raise SessionError("the model fitted is not the one typed")
        await page.evaluate(CLICK_ARM_JS)
        t_click = time.perf_counter()
        await nav.get_by_role("link", name="Class effects", exact=True).click()
        await _wait(page, page.locator(CATERPILLARS).first, "the caterpillar", ms)
        seconds = await page.evaluate(DRAWN_AFTER_CLICK_JS, [CATERPILLARS, 1])
        res.phases["class_effects"] = t_click - last + seconds
        res.latency = t_click - t0 + seconds
        names = await page.wait_for_function(CATERPILLAR_GROUPS_JS, arg=CATERPILLARS, timeout=ms)
        shown = sorted(await names.json_value(), key=lambda s: (len(s), s))
        if shown not in data.shown_schools():
            raise SessionError(
                f"the caterpillar shows {len(shown)} schools, not this session's "
                f"{len(data.schools)}: {shown[:8]}..."
            )
        if await page.locator(ERROR_SELECTOR).count():
            text = await page.locator(ERROR_SELECTOR).first.inner_text()
            raise SessionError(f"error on the Class effects page: {text[:300]}")
        res.ok = True
    except Exception as exc:  # a session's failure is its result; the others go on
        res.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:400]
        if waiting:  # failed before the start line: don't keep the others waiting
            await start.arrive_and_wait()
    finally:
        if context is not None:
            await context.close()
    return res


async def run_load(url: str, datasets: list[Dataset], cap: float = 300.0,
                   step_timeout: float = 240.0) -> list[SessionResult]:
    """All sessions at once against the server at `url`, in one Chromium; at most `cap` s."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            start = StartLine(len(datasets))
            tasks = [
                asyncio.create_task(run_session(browser, url, i, d, start, step_timeout))
                for i, d in enumerate(datasets)
            ]
            done, pending = await asyncio.wait(tasks, timeout=cap)
            for t in pending:
                t.cancel()
            results = []
            for i, t in enumerate(tasks):
                if t in done:
                    results.append(t.result())
                else:
                    results.append(SessionResult(i, error=f"not finished within {cap:g} s"))
            return results
        finally:
            await browser.close()


def run_load_in_thread(url: str, datasets: list[Dataset], cap: float = 300.0,
                       step_timeout: float = 240.0) -> list[SessionResult]:
    """`run_load` in its own thread and event loop (usable next to Playwright's sync API)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run_load(url, datasets, cap, step_timeout)).result()


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(results: list[SessionResult]) -> str:
    lat = [r.latency for r in results if r.ok and r.latency is not None]
    lines = [f"sessions: {len(results)}, completed without error: {len(lat)}, "
             f"failed: {len(results) - len(lat)}"]
    if lat:
        lines.append(
            "latency upload -> caterpillar drawn (s): "
            f"min {min(lat):.1f}  median {statistics.median(lat):.1f}  "
            f"p90 {percentile(lat, 0.9):.1f}  max {max(lat):.1f}"
        )
        for phase in dict.fromkeys(k for r in results for k in r.phases):
            vals = [r.phases[phase] for r in results if r.ok and phase in r.phases]
            if vals:
                lines.append(f"  {phase:<14} median {statistics.median(vals):5.1f} s, "
                             f"max {max(vals):5.1f} s")
    for r in results:
        if not r.ok:
            lines.append(f"  session {r.index + 1}: {r.error}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--cap", type=float, default=300.0, help="seconds for the whole run")
    args = ap.parse_args()
    import os

    with tempfile.TemporaryDirectory(prefix="hlm-load-") as tmp, AppServer() as server:
        datasets = make_datasets(args.sessions, Path(tmp))
        print(f"server {server.url} (pid {server.pid}); {args.sessions} concurrent sessions, "
              f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
        cpu0 = cpu_seconds(server.pid)
        t0 = time.perf_counter()
        results = asyncio.run(run_load(server.url, datasets, cap=args.cap))
        wall = time.perf_counter() - t0
        print(summary(results))
        for r in sorted(results, key=lambda r: r.index):
            phases = " ".join(f"{k} {v:.1f}" for k, v in r.phases.items())
            lat = f"{r.latency:5.1f} s" if r.latency is not None else "  -   "
            print(f"  session {r.index + 1:2d}: {lat}  {'ok ' if r.ok else 'ERR'}  ({phases})")
        print(f"wall time {wall:.1f} s; server CPU {cpu_seconds(server.pid) - cpu0:.1f} s; "
              f"load average after: {os.getloadavg()[0]:.1f}")
        print(f"server peak memory (VmHWM, server + children): {server.peak_mb():,.0f} MB")
        log = server.log_tail(20000)
        if "Traceback" in log:
            print("server log has a traceback:\n" + log[-3000:])
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
