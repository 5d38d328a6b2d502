"""Benchmark: every click of the dashboard against an empty Streamlit app, in Chromium.

Issue 11's table, measured in one run: an empty two-page Streamlit app's page switch (the
yardstick), then, on the real app, upload → Data page, opening the Model page, typing the formula
(filled in at once and Enter: the user's typing time is not the app's), Fit model, and the first
visit of every page after the fit. Each time is taken in the page itself, from the click until
the server has finished the run (its "script finished" message, read off the websocket), every
chart on the page is drawn (plus two animation frames) and the browser's last long task has
ended. The bytes the server sent for each click are counted too (what a page sends is what the
browser must parse and draw), with the server's CPU time (its read and fit workers included) and
the browser page's.

Upload -> caterpillar (1,000,000 rows) is the sum of the app's time for each click on a user's
way there: upload, open Model, type the formula, Fit model, open Class effects (the walk goes
there straight after the fit). The bench's own waits between steps (500 ms of a quiet page each)
are not counted; its wall clock over the same steps is printed beside it.

Data sets (generated with fixed seeds, written to a temporary folder outside the repository):
  * `star`: shaped like the STAR kindergarten file (5,871 pupils, 325 classes, 79 schools),
    `math ~ cltype + ses + sx + (1 | sch/tch)`;
  * `classroom`: the 500-row classroom example, its random-slope model;
  * `1m`: 1,000,000 students in 20,000 classes, `y ~ x + (x | class)`.
Targets: up to 10,000 rows, every first visit <= 2.5x and Fit model <= 3x the empty page
switch; at 1,000,000 rows every first visit <= 3 s and upload -> caterpillar <= 10 s.

Run by hand: `python benchmarks/bench_pages.py [--data star classroom 1m] [--xlsx] [--repeat N]`
(`--repeat 3`: three walks, each row the median of the three, against the median of three
empty page switches).
A report: it prints PASS/MISS per target and exits 0 either way.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.browser_trace import CATEGORIES, summarise  # noqa: E402
from benchmarks.common import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    ERROR_SELECTOR,
    AppServer,
    cpu_seconds,
)
from benchmarks.make_data import STAR_FORMULA, classes_dataset, star_like_dataset  # noqa: E402

SMALL_PAGE = 2.5  # x the empty page switch, first visit of a page (<= 10,000 rows)
SMALL_FIT = 3.0  # x the empty page switch, Fit model (<= 10,000 rows)
BIG_PAGE = 3.0  # s, first visit of a page at 1,000,000 rows
BIG_UPLOAD_TO_CATERPILLAR = 10.0  # s
PAGES = ["Results", "Class effects", "Slopes", "Compare", "Diagnostics", "Report & export"]
OPEN_MODEL = "open Model page"
TYPE_FORMULA = "type formula + Enter (builder follows)"
CATERPILLAR_ROW = "upload -> caterpillar drawn"
# a user's path from the upload to the caterpillar: the app's time for each click, summed (the
# time a user takes to type or decide is not the app's, nor the bench's waits between steps)
TO_CATERPILLAR = ("upload -> Data page shows the file", OPEN_MODEL, TYPE_FORMULA, "Fit model",
                  "first visit: Class effects")

# Counts the bytes of every websocket message and notes when the server says a script run has
# finished successfully: ForwardMsg field 6 (script_finished) = 0 (FINISHED_SUCCESSFULLY). The
# protobuf is read just far enough to find that top-level field.
WATCH_JS = """
(() => {
  const Native = window.WebSocket;
  window.__hlm = {finished: [], sent: [], bytes: 0, click: null, bytesAtClick: 0, busy: []};
  try {  // the browser's long tasks (> 50 ms on its main thread): drawing, parsing, layout
    new PerformanceObserver(list => list.getEntries().forEach(
      e => window.__hlm.busy.push([e.startTime, e.duration]))).observe({entryTypes: ['longtask']});
  } catch (e) {}
  function finishedStatus(buf) {
    const b = new Uint8Array(buf); let i = 0;
    const varint = () => { let x = 0, s = 0, c;
      do { c = b[i++]; x += (c & 0x7f) * 2 ** s; s += 7; } while (c & 0x80 && i < b.length);
      return x; };
    while (i < b.length) {
      const tag = varint(), field = Math.floor(tag / 8), wt = tag & 7;
      if (wt === 0) { const v = varint(); if (field === 6) return v; }
      else if (wt === 2) { const n = varint(); i += n; }
      else if (wt === 1) { i += 8; } else if (wt === 5) { i += 4; } else { return null; }
    }
    return null;
  }
  function Watched(...args) {
    const ws = new Native(...args);
    const send = ws.send.bind(ws);
    ws.send = data => { window.__hlm.sent.push(performance.now()); return send(data); };
    ws.addEventListener('message', ev => {
      if (!(ev.data instanceof ArrayBuffer)) return;
      window.__hlm.bytes += ev.data.byteLength;
      if (finishedStatus(ev.data) === 0) window.__hlm.finished.push(performance.now());
    });
    return ws;
  }
  Watched.prototype = Native.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Watched[k] = Native[k];
  window.WebSocket = Watched;
})();
"""
ARM_JS = """() => { window.__hlm.click = performance.now();
  window.__hlm.bytesAtClick = window.__hlm.bytes; }"""
# resolves with [seconds from the click until the run finished, every chart is drawn (+2
# frames) and the browser's last long task after that has ended, bytes received since the
# click, seconds until the run finished, seconds until the browser sent the request, the
# browser's long tasks in seconds]
DONE_JS = """(text) => new Promise(resolve => {
  (function check() {
    const h = window.__hlm;
    const done = h.finished.some(t => t > h.click);
    const main = document.querySelector('[data-testid="stMain"]') || document;
    const plots = [...main.querySelectorAll('.js-plotly-plot')];
    const drawn = plots.every(x => x._fullData && x._fullData.length);
    const shown = !text || main.innerText.includes(text);
    if (done && drawn && shown) {
      const fin = h.finished.find(t => t > h.click);
      const sent = h.sent.find(t => t > h.click) || h.click;
      requestAnimationFrame(() => requestAnimationFrame(() => {
        const drawnAt = performance.now();
        // then wait until the browser has been idle for QUIET ms: charts can keep redrawing
        // (resizing to their column) after they first appear, and that work delays the next
        // click; the page is done when the last of it ends
        (function quiet() {
          const mine = h.busy.filter(b => b[0] >= h.click);
          const end = Math.max(drawnAt, ...mine.map(b => b[0] + b[1]));
          if (performance.now() - end < QUIET) { setTimeout(quiet, 50); return; }
          resolve([(end - h.click) / 1000, h.bytes - h.bytesAtClick, (fin - h.click) / 1000,
                   (sent - h.click) / 1000, mine.reduce((a, b) => a + b[1], 0) / 1000]);
        })();
      }));
      return;
    }
    setTimeout(check, 10);
  })(); })""".replace("QUIET", "500")

# the page has drawn its charts and the browser has had no long task for a second
SETTLED_JS = """() => { const h = window.__hlm;
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  const end = Math.max(0, ...h.busy.map(b => b[0] + b[1]));
  return plots.every(x => x._fullData && x._fullData.length) && performance.now() - end > 1000;
}"""

EMPTY_PAGE = """import streamlit as st

st.title({title!r})
st.write("A page with a title and a sentence, the yardstick for a page switch.")
"""
EMPTY_APP = """import streamlit as st

st.navigation([st.Page("page_a.py", title="Page A", default=True),
               st.Page("page_b.py", title="Page B")]).run()
"""


def _browser(p):
    b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = b.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(300_000)
    page.add_init_script(WATCH_JS)
    return b, page


class BrowserCPU:
    """The CPU time of the page's renderer process (script, style, layout, painting; Chrome's
    own counter, via DevTools): unlike wall time it doesn't grow when other jobs load the
    machine, so it shows what a page costs the browser."""

    def __init__(self, page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
        self.at = 0.0

    def _now(self) -> float:
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        return next(m["value"] for m in metrics if m["name"] == "ProcessTime")

    def start(self) -> None:
        self.at = self._now()

    def stop(self) -> float:
        return self._now() - self.at


def load_average() -> str:
    """The machine's 1-, 5- and 15-minute load averages (wall times grow with them)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _click(page, target, text: str | None = None) -> tuple[float, int, float, float]:
    page.evaluate(ARM_JS)
    target.click()
    return tuple(page.evaluate(DONE_JS, text))


def empty_switch(p, repeats: int = 3) -> tuple[float, float]:
    """The median time of an empty two-page app's page switch (first visit of page B), and
    the median CPU time the browser's page spent on it."""
    times, cpus = [], []
    with tempfile.TemporaryDirectory(prefix="hlm-empty-app-") as tmp:
        d = Path(tmp)
        (d / "app.py").write_text(EMPTY_APP)
        for name, title in (("page_a", "Page A"), ("page_b", "Page B")):
            (d / f"{name}.py").write_text(EMPTY_PAGE.format(title=title))
        for _ in range(repeats):
            with AppServer(main=d / "app.py") as server:
                b, page = _browser(p)
                page.goto(server.url)
                page.get_by_text("Page A").first.wait_for()
                page.wait_for_function("() => window.__hlm.finished.length > 0")
                nav = page.get_by_test_id("stSidebarNav")
                meter = BrowserCPU(page)
                meter.start()
                times.append(_click(page, nav.get_by_role("link", name="Page B"), "yardstick")[0])
                cpus.append(meter.stop())
                b.close()
    times.sort()
    cpus.sort()
    return times[len(times) // 2], cpus[len(cpus) // 2]


class Sampler:
    """With a folder: py-spy samples the server (all threads, idle included) during each step,
    one collapsed-stack file per step (`py-spy` must be installed; a profiling aid only)."""

    def __init__(self, folder: Path | None, pid: int) -> None:
        self.folder, self.pid, self.proc = folder, pid, None

    def start(self, what: str) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        out = self.folder / ("".join(c if c.isalnum() else "_" for c in what) + ".txt")
        self.proc = subprocess.Popen(
            ["py-spy", "record", "--idle", "--threads", "--format", "raw", "--rate", "200",
             "-o", str(out), "-p", str(self.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # py-spy attaches

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=60)
            self.proc = None


def app_walk(p, path: Path, formula: str, profile: Path | None = None,
             pages: list[str] | None = None, trace: Path | None = None,
             again: bool = False) -> list[tuple]:
    """Upload `path`, fit `formula`, open every result page once (with `again`, a second
    time too). Returns [(what, seconds, bytes, server CPU seconds, seconds until the run
    finished, seconds until the browser asked, browser busy seconds)]. With `trace`, a
    Chrome trace of each step goes there and its summary is printed."""
    rows = []
    with AppServer() as server:
        b, page = _browser(p)
        if trace is not None:
            trace.mkdir(parents=True, exist_ok=True)
        errors = page.locator(ERROR_SELECTOR)
        page.goto(server.url)
        page.get_by_role("button", name="Use example data").wait_for()
        page.wait_for_function("() => window.__hlm.finished.length > 0")
        # a user picks the file after the page has settled: the app loads the chart library
        # in that idle time (widgets.preload_components), not in the upload's
        page.wait_for_function(SETTLED_JS, polling=100)
        nav = page.get_by_test_id("stSidebarNav")

        sampler = Sampler(profile, server.pid)
        meter = BrowserCPU(page)

        def step(what, action, text=None):
            sampler.start(what)
            traced = trace and trace / ("".join(c if c.isalnum() else "_" for c in what)
                                        + ".json")
            if traced:
                b.start_tracing(page=page, path=str(traced), categories=CATEGORIES)
            cpu = cpu_seconds(server.pid)
            meter.start()
            page.evaluate(ARM_JS)
            action()
            seconds, sent, finished, asked, busy = page.evaluate(DONE_JS, text)
            browser_cpu = meter.stop()
            sampler.stop()
            if traced:
                b.stop_tracing()
            rows.append((what, seconds, sent, cpu_seconds(server.pid) - cpu, finished, asked,
                         busy, browser_cpu))
            if errors.count():
                print(f"  WARNING: the app shows an error after {what}: "
                      f"{errors.first.inner_text()[:200]}")
            print(f"  {what:<44} {seconds:7.2f} s  {sent / 1e3:9.0f} kB  (asked after "
                  f"{asked:.2f} s, run finished after {finished:.2f} s, browser busy "
                  f"{busy:.2f} s, page CPU {browser_cpu:.2f} s)", flush=True)
            if traced:
                print(summarise(traced), flush=True)

        uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first
        step("upload -> Data page shows the file", lambda: uploader.set_input_files(str(path)),
             f"{path.name}:")
        t_upload = time.perf_counter() - rows[-1][1]
        step(OPEN_MODEL, lambda: nav.get_by_role("link", name="Model", exact=True).click(),
             "Formula")
        box = page.get_by_role("textbox", name="Formula")

        def type_formula() -> None:  # typed at once: the user's typing time is not the app's
            box.fill(formula)
            box.press("Enter")

        step(TYPE_FORMULA, type_formula, None)
        fit_button = page.get_by_role("button", name="Fit model")
        step("Fit model", fit_button.click, "Fitted in")
        for title in pages or PAGES:
            step(f"first visit: {title}",
                 lambda t=title: nav.get_by_role("link", name=t, exact=True).click())
            if title == "Class effects":
                path_rows = [r for r in rows if r[0] in TO_CATERPILLAR]
                rows.append((f"{CATERPILLAR_ROW} ({len(path_rows)} steps)",
                             sum(r[1] for r in path_rows), sum(r[2] for r in path_rows),
                             sum(r[3] for r in path_rows), 0.0, 0.0,
                             sum(r[6] for r in path_rows), sum(r[7] for r in path_rows)))
                print(f"  (the bench's own wall clock from the upload to here, with its waits "
                      f"for a quiet page between steps: {time.perf_counter() - t_upload:.2f} s)")
        for title in (pages or PAGES) if again else []:
            step(f"second visit: {title}",
                 lambda t=title: nav.get_by_role("link", name=t, exact=True).click())
        b.close()
    return rows


def median_rows(walks: list[list[tuple]]) -> list[tuple]:
    """Each row's median, column by column, over several walks (the same clicks in the same
    order): one noisy sample on a shared machine then doesn't decide a PASS or a MISS."""
    out = []
    for same in zip(*walks, strict=True):
        columns = list(zip(*same, strict=True))
        out.append((same[0][0], *(sorted(c)[len(c) // 2] for c in columns[1:])))
    return out


def print_table(name: str, rows: list[tuple], empty: float, big: bool) -> None:
    print(f"\n{name} (empty two-page app's page switch: {empty:.2f} s)\n")
    print("| click | time | x empty page | asked / run finished | browser busy | page CPU | sent "
          "| server CPU | target |")
    print("|---|---|---|---|---|---|---|---|---|")
    for what, seconds, sent, cpu, finished, asked, busy, page_cpu in rows:
        if big:
            budget = BIG_UPLOAD_TO_CATERPILLAR if "caterpillar" in what else (
                BIG_PAGE if what.startswith("first visit") else None)
            target = "" if budget is None else (
                f"<= {budget:g} s {'PASS' if seconds <= budget else 'MISS'}")
        else:
            limit = SMALL_FIT if what == "Fit model" else (
                SMALL_PAGE if what.startswith("first visit") else None)
            target = "" if limit is None else (
                f"<= {limit:g}x {'PASS' if seconds <= limit * empty else 'MISS'}")
        ratio = seconds / empty
        print(f"| {what} | {seconds:.2f} s | {ratio:.1f} | {asked:.2f} / {finished:.2f} s | "
              f"{busy:.2f} s | {page_cpu:.2f} s | {sent / 1e3:,.0f} kB | {cpu:.2f} s | {target} |")


def data_file(kind: str, folder: Path, xlsx: bool) -> tuple[Path, str, bool]:
    from hlm_core.examples import EXAMPLES

    if kind == "star":
        frame, formula = star_like_dataset(), STAR_FORMULA
    elif kind == "classroom":
        ex = EXAMPLES["classroom"]
        frame, formula = ex.make(), ex.formulas[-1]
    else:
        frame, formula = classes_dataset(1_000_000, 20_000, ids=True), "y ~ x + (x | class)"
    path = folder / f"{kind}.{'xlsx' if xlsx and kind != '1m' else 'csv'}"
    if path.suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path, formula, kind == "1m"


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", default=["star", "classroom", "1m"],
                    choices=["star", "classroom", "1m"])
    ap.add_argument("--xlsx", action="store_true", help="upload the small files as .xlsx")
    ap.add_argument("--profile", type=Path, help="folder for py-spy samples of each step")
    ap.add_argument("--pages", nargs="+", help=f"pages to open, in order (default {PAGES})")
    ap.add_argument("--trace", type=Path,
                    help="folder for a Chrome trace of each step (and a printed summary)")
    ap.add_argument("--again", action="store_true", help="then visit every page a second time")
    ap.add_argument("--repeat", type=int, default=1,
                    help="walk each data set N times (a fresh server and browser each) and "
                    "print the median of each column; the yardstick then takes the median of "
                    "max(3, N) fresh switches, the same method")
    args = ap.parse_args()
    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="hlm-bench-") as tmp:
        empty, empty_cpu = empty_switch(p, max(3, args.repeat))
        print(f"empty two-page Streamlit app, page switch: {empty:.2f} s, page CPU "
              f"{empty_cpu:.2f} s (medians of {max(3, args.repeat)}); load average "
              f"{load_average()}")
        for kind in args.data:
            path, formula, big = data_file(kind, Path(tmp), args.xlsx)
            # on the big file the walk goes from Fit model straight to the caterpillar, as a
            # user after it does (upload -> caterpillar), then to the other pages
            pages = args.pages or (["Class effects"] + [t for t in PAGES if t != "Class effects"]
                                   if big else PAGES)
            walks = []
            for k in range(args.repeat):
                print(f"\n--- {kind}: {path.name}, {formula}"
                      + (f" (walk {k + 1} of {args.repeat})" if args.repeat > 1 else ""),
                      flush=True)
                walks.append(app_walk(p, path, formula, args.profile and args.profile / kind,
                                      pages, args.trace and args.trace / kind, args.again))
            rows = median_rows(walks)
            print_table(f"{kind} ({path.name})" + (
                f", medians of {args.repeat} walks" if args.repeat > 1 else ""), rows, empty, big)
            print(f"load average after {kind}: {load_average()}")


if __name__ == "__main__":
    main()
