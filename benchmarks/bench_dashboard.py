"""Benchmark: the dashboard's pages after a 20,000-class fit (y ~ x + (x | class), 1,000,000 rows).

Measures, server side (Streamlit's AppTest, the same script runs a browser session gets):
  * Class effects page render after the fit (budget: <= 3 s), and a plot-option change on it
    (budget: <= 0.3 s; no refit), Slopes page render, Results page render.
With `--browser` it also walks the real app in Chromium: upload the data through the uploader,
fit by formula, open Class effects and wait until the caterpillar's 20,000 points are drawn.

Run by hand: `python benchmarks/bench_dashboard.py [--students N --classes G] [--browser]`.
A report, not a pass/fail test. `benchmarks/bench_1m.py` runs these steps on a CSV upload.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    CATERPILLARS,
    CHROMIUM,
    CHROMIUM_ARGS,
    CLICK_ARM_JS,
    DRAWN_AFTER_CLICK_JS,
    ERROR_SELECTOR,
    FORMULA,
    FRESH,
    IDLE_JS,
    NEXT_FRAMES_JS,
    SLOPES,
    AppServer,
    cpu_seconds,
    report,
    self_peak_mb,
    timed,
)
from benchmarks.make_data import classes_dataset  # noqa: E402
from hlm_core.fairness import DEFAULT_MIN_GROUP  # noqa: E402
from hlm_core.fit import fit  # noqa: E402
from hlm_core.formula import parse_formula  # noqa: E402
from hlm_core.io import Table  # noqa: E402

OPTION_BUDGET = 0.3  # s of server time for a plot-option rerun (no refit)
PAGE_BUDGET = 3.0  # s for a results page after the fit
# the number of distinct groups (point labels) in the first plotly figure matching `sel`
POINTS_JS = """
sel => { const d = document.querySelector(sel);
  const names = new Set();
  (d.data || []).forEach(tr => { if (Array.isArray(tr.text))
    tr.text.forEach(t => { if (t !== null) names.add(t); }); });
  return names.size; }
"""


def server_side(frame, result, results: dict | None = None) -> None:
    """Time the result pages' reruns in AppTest, with this fit already in the session."""
    from streamlit.testing.v1 import AppTest

    from ui.state import KEY, Session

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    table = Table(frame=frame, name="bench.csv", fingerprint="bench")
    state = Session()
    state.new_data(table)
    at.session_state[KEY] = state
    at.run()
    key = (("bench", (), ()), result.spec)
    state.fits = OrderedDict({key: result})
    state.fit_key = key

    def page(name):
        at.switch_page(f"pages/{name}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    def option(label: str, fn, budget: float = OPTION_BUDGET):
        """A rerun after a widget change: wall time (budgeted) and CPU time (which a busy
        machine inflates less)."""
        cpu = time.process_time()
        timed(label, fn, budget, results)
        report("  (CPU time of that rerun)", time.process_time() - cpu)
        assert not at.exception, [e.value for e in at.exception]

    timed("server: Results page", lambda: page("results"), results=results)
    timed("server: Class effects page (first view)", lambda: page("class_effects"), PAGE_BUDGET,
          results)
    mode = next(r for r in at.radio if r.label == "Show")
    option("server: plot option own -> deviation (no refit)",
           lambda: mode.set_value("deviation").run())
    subset = next(r for r in at.radio if r.label == "Groups shown")
    option("server: plot option all -> extremes (no refit)",
           lambda: subset.set_value("extremes").run())
    search = next(t for t in at.text_input if t.label == "Find a group")
    option("server: find a group", lambda: search.input("c01234").run())
    timed("server: Slopes page", lambda: page("slopes"), PAGE_BUDGET, results)
    assert not at.exception, [e.value for e in at.exception]


def browser_walk(path: Path, n_groups: int, results: dict | None = None,
                 formula: str = FORMULA) -> float:
    """Upload `path` through the real uploader of a fresh `streamlit run app.py`, type
    `formula`, Fit, open Class effects until the caterpillar (with `n_groups` points) is drawn;
    then change a plot option and open Slopes. Returns the server's peak memory (MB)."""
    from playwright.sync_api import sync_playwright

    with AppServer() as server, sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = b.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(180_000)
        errors = page.locator(ERROR_SELECTOR)

        def wait(target, what: str):
            """`target`, or stop at once if the app shows an error instead."""
            target.or_(errors).first.wait_for()
            if errors.count():
                raise RuntimeError(f"the app shows an error at {what}: "
                                   f"{errors.first.inner_text()[:300]}")

        page.goto(server.url)
        wait(page.get_by_role("button", name="Use example data"), "start")
        nav = page.get_by_test_id("stSidebarNav")
        sidebar = page.get_by_test_id("stSidebar")
        t0 = time.perf_counter()

        def upload():
            page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(
                str(path)
            )
            wait(page.get_by_text(f"{path.name}:"), "upload")

        timed("browser: upload + read until the Data page shows it", upload, results=results)

        def model():
            nav.get_by_role("link", name="Model", exact=True).click()
            box = page.get_by_role("textbox", name="Formula")
            wait(box, "the Model page")
            box.fill(formula)
            box.press("Enter")
            wait(sidebar.get_by_text(formula, exact=True), "the typed model")
            # until this run has drawn the Fit model button (so the builder above it too):
            # pressing it earlier can fit the builder's previous model (its widgets send
            # their old values)
            fit = page.get_by_role("button", name="Fit model")
            page.locator(FRESH).filter(has=fit).wait_for()

        timed("browser: Model page, type the formula", model, results=results)

        def do_fit():
            page.get_by_role("button", name="Fit model").click()
            wait(page.get_by_text("Fitted in"), "the fit")
            if not sidebar.get_by_text(formula, exact=True).count():
                raise RuntimeError("the model fitted is not the one typed")

        timed("browser: Fit model until 'Fitted'", do_fit, results=results)

        def drawn(title, selector, n_plots) -> tuple[float, float]:
            """Click `title` in the navigation; (python clock at the click, seconds from the
            click until the figures are drawn, timed in the page)."""
            page.evaluate(CLICK_ARM_JS)
            t_click = time.perf_counter()
            nav.get_by_role("link", name=title, exact=True).click()
            wait(page.locator(selector).first, title)
            return t_click, page.evaluate(DRAWN_AFTER_CLICK_JS, [selector, n_plots])

        t_click, seconds = drawn("Class effects", CATERPILLARS, 2)
        report("browser: open Class effects until drawn", seconds, 3.0, results)
        report("browser: upload -> caterpillar drawn", t_click - t0 + seconds, 10.0, results)
        shown = page.evaluate(POINTS_JS, CATERPILLARS)
        print(f"  caterpillar points drawn: {shown:,} (expected {n_groups:,}: the groups of "
              "5 or more students; smaller ones are hidden by default)")
        if shown != n_groups:
            print("  WARNING: the caterpillar does not show every group")

        def toggle():
            page.get_by_text("Deviation from average").click()
            page.wait_for_function(
                "sel => { const d = document.querySelector(sel);"
                " return d.layout.shapes[0].y0 === 0; }",
                arg=CATERPILLARS,
            )
            page.evaluate(NEXT_FRAMES_JS)

        page.wait_for_function(IDLE_JS)  # the page's run has finished before the change
        cpu = cpu_seconds(server.pid)
        timed("browser: plot option own -> deviation until redrawn", toggle, results=results)
        report("  server CPU time for that rerun", cpu_seconds(server.pid) - cpu,
               results=results)
        report("browser: open Slopes until drawn", drawn("Slopes", SLOPES, 2)[1],
               results=results)
        if errors.count():
            print(f"  WARNING: the app shows an error: {errors.first.inner_text()[:300]}")
        b.close()
        return server.peak_mb()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=20_000)
    ap.add_argument("--browser", action="store_true", help="also walk the app in Chromium")
    # the browser walk uploads a parquet file (fast to read); bench_1m.py uploads a CSV
    args = ap.parse_args()
    frame = timed("generate data", lambda: classes_dataset(args.students, args.classes))
    result = timed(f"fit {FORMULA}", lambda: fit(frame, parse_formula(FORMULA)))
    server_side(frame, result)
    if args.browser:
        with tempfile.TemporaryDirectory(prefix="hlm-bench-") as tmp:
            path = Path(tmp) / "bench.parquet"
            frame.to_parquet(path, index=False)
            sizes = result.model_frame.group_sizes["class"]
            peak = browser_walk(path, int((sizes >= DEFAULT_MIN_GROUP).sum()))
        report("peak memory (server, VmHWM)", peak, unit="MB")
    report("peak memory (this process)", self_peak_mb(), unit="MB")


if __name__ == "__main__":
    main()
