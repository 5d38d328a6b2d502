"""Benchmark: the dashboard's pages after a 20,000-class fit (y ~ x + (x | class), 1,000,000 rows).

Measures, server side (Streamlit's AppTest, the same script runs a browser session gets):
  * Class effects page render after the fit (budget: <= 3 s), and a plot-option change on it
    (budget: <= 0.3 s; no refit), Slopes page render, Results page render.
With `--browser` it also walks the real app in Chromium: upload the CSV through the uploader,
fit by formula, open Class effects and wait until the caterpillar's 20,000 points are drawn.

Run by hand: `python benchmarks/bench_dashboard.py [--students N --classes G] [--browser]`.
A report, not a pass/fail test.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.make_data import classes_dataset  # noqa: E402
from hlm_core.fit import fit  # noqa: E402
from hlm_core.formula import parse_formula  # noqa: E402
from hlm_core.io import Table  # noqa: E402

FORMULA = "y ~ x + (x | class)"


def timed(label: str, fn, budget: float | None = None):
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    verdict = "" if budget is None else ("  ok" if dt <= budget else f"  OVER {budget:g} s")
    print(f"{label:<48} {dt:7.2f} s{verdict}")
    return out


def server_side(frame, result) -> None:
    from streamlit.testing.v1 import AppTest

    import ui_common as ui

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    table = Table(frame=frame, name="bench.csv", fingerprint="bench")
    at.session_state[ui.K_TABLE] = table
    at.session_state[ui.K_RAW] = None
    at.run()
    key = (("bench", (), ()), result.spec)
    at.session_state[ui.K_FITS] = OrderedDict({key: result})
    at.session_state[ui.K_FIT_KEY] = key

    def page(name):
        at.switch_page(f"pages/{name}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    timed("Results page (server)", lambda: page("results"))
    timed("Class effects page (server, first view)", lambda: page("class_effects"), 3.0)
    mode = next(r for r in at.radio if r.label == "Show")
    timed("Class effects: switch own/deviation (server)",
          lambda: mode.set_value("deviation").run(), 0.3)
    search = next(t for t in at.text_input if t.label == "Find a group")
    timed("Class effects: find a group (server)", lambda: search.input("c01234").run(), 0.3)
    timed("Slopes page (server)", lambda: page("slopes"), 3.0)


def browser_walk(frame) -> None:
    import os
    import socket
    import subprocess
    import urllib.request

    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.parquet"
        frame.to_parquet(path, index=False)
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.headless", "true", "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.3)
            args = ["--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run"]
            with sync_playwright() as p:
                b = p.chromium.launch(
                    executable_path=os.environ.get("HLM_CHROMIUM", "/usr/bin/chromium"), args=args
                )
                page = b.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(600_000)
                page.goto(url)
                page.get_by_role("button", name="Use example data").wait_for()
                t0 = time.perf_counter()

                def upload():
                    page.locator('input[type="file"]').set_input_files(str(path))
                    page.get_by_text("bench.parquet:").wait_for()

                timed("browser: upload + read", upload)
                nav = page.get_by_test_id("stSidebarNav")
                nav.get_by_role("link", name="Model", exact=True).click()
                box = page.get_by_role("textbox", name="Formula")
                box.fill(FORMULA)
                box.press("Enter")
                time.sleep(1)

                def do_fit():
                    page.get_by_role("button", name="Fit model").click()
                    page.get_by_text("Fitted in").wait_for()

                timed("browser: fit", do_fit)

                def drawn(title, n_plots):
                    nav.get_by_role("link", name=title, exact=True).click()
                    page.wait_for_function(
                        "n => { const d = [...document.querySelectorAll('.js-plotly-plot')];"
                        " return d.length === n && d.every(x => x._fullData && x._fullData.length);"
                        " }",
                        arg=n_plots,
                    )
                    # plotly draws right after; the page answers again once drawing is done
                    page.evaluate(
                        "() => new Promise(r => requestAnimationFrame(() => "
                        "requestAnimationFrame(r)))"
                    )

                timed("browser: open Class effects until drawn", lambda: drawn("Class effects", 2),
                      3.0)
                print(f"{'browser: upload -> caterpillar':<48} {time.perf_counter() - t0:7.2f} s")

                def toggle():
                    page.get_by_text("Deviation from average").click()
                    page.wait_for_function(
                        "() => { const d = document.querySelector('.js-plotly-plot');"
                        " return d.layout.shapes[0].y0 === 0; }"
                    )
                    page.evaluate(
                        "() => new Promise(r => requestAnimationFrame(() => "
                        "requestAnimationFrame(r)))"
                    )

                timed("browser: switch own/deviation until redrawn", toggle)
                timed("browser: open Slopes until drawn", lambda: drawn("Slopes", 2), 3.0)
                b.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=20_000)
    ap.add_argument("--browser", action="store_true", help="also walk the app in Chromium")
    # the browser walk uploads a parquet file (fast to read); CSV reading is timed in bench_core
    args = ap.parse_args()
    frame = timed("generate data", lambda: classes_dataset(args.students, args.classes))
    result = timed(f"fit {FORMULA}", lambda: fit(frame, parse_formula(FORMULA)))
    server_side(frame, result)
    if args.browser:
        browser_walk(frame)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak memory (this process)':<48} {peak:7.0f} MB")


if __name__ == "__main__":
    main()
