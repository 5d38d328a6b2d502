"""Browser suite: the real app (`streamlit run app.py`) driven by Playwright in Debian's Chromium.

Skipped, with the reason, when /usr/bin/chromium or the playwright package is missing (CI installs
both; never run `playwright install`). Screenshots go to $HLM_ARTIFACTS (default
test-artifacts/screens); the folder is printed at the start of the session.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from browser_flags import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None


def pytest_collection_modifyitems(config, items):
    reason = None
    if sync_playwright is None:
        reason = "the playwright Python package is not installed"
    elif not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if reason:
        skip = pytest.mark.skip(reason=f"browser tests skipped: {reason}")
        for item in items:
            if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
                item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SCREENS = Path(os.environ.get("HLM_ARTIFACTS", ROOT / "test-artifacts" / "screens"))
_used: list[Path] = []


@pytest.fixture(scope="session")
def artifacts() -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    _used.append(SCREENS)
    print(f"\nbrowser screenshots: {SCREENS}")
    return SCREENS


def pytest_terminal_summary(terminalreporter):
    if _used:
        terminalreporter.write_line(f"browser screenshots saved in {_used[0]}")


@contextlib.contextmanager
def serve(log_dir: Path, *extra: str, env: dict[str, str] | None = None):
    """Run `streamlit run app.py` (plus `extra` options, and `env` on top of this process's
    environment) on a free port; wait for /_stcore/health; yield the URL; stop the server
    after."""
    port = _free_port()
    log_path = log_dir / f"streamlit-{port}.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.port", str(port),
            "--server.address", "127.0.0.1",
            "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
            *extra,
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail(f"streamlit did not start; log:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        text = log_path.read_text()
        if "Traceback" in text:
            print(f"\nstreamlit server log had a traceback:\n{text[-3000:]}")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory) -> str:
    """The app, started once for the whole browser session."""
    with serve(tmp_path_factory.mktemp("server")) as url:
        yield url


_shared: dict = {}


@pytest.fixture(scope="session")
def playwright_driver():
    with sync_playwright() as p:
        yield p
        b = _shared.pop("browser", None)
        if b is not None and b.is_connected():
            b.close()


def launch(driver):
    """A new Chromium with the project's flags (browser_flags.py)."""
    return driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def shared_browser(driver):
    """One Chromium shared by the tests, started again if an earlier test left it dead, so that
    one crashed browser fails one test, not every browser test after it."""
    b = _shared.get("browser")
    if b is None or not b.is_connected():
        b = _shared["browser"] = launch(driver)
    return b


@pytest.fixture
def browser(playwright_driver):
    return shared_browser(playwright_driver)


def app_page(browser, url: str):
    """A fresh tab (its own context) on the app at `url`, once the Data page is up; yields the
    page and closes its context after."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.goto(url)
    pg.get_by_role("button", name="Use example data").wait_for()
    yield pg
    context.close()


@pytest.fixture
def page(browser, app_url):
    yield from app_page(browser, app_url)


@pytest.fixture(scope="session")
def exam_xlsx_path(tmp_path_factory) -> Path:
    import pandas as pd

    path = tmp_path_factory.mktemp("upload") / "exam.xlsx"
    pd.read_csv(ROOT / "tests" / "fixtures" / "exam.csv").to_excel(path, index=False)
    return path


@pytest.fixture(scope="session")
def exam_csv_path() -> Path:
    return ROOT / "tests" / "fixtures" / "exam.csv"


# ---- a loopback "outside host": records every request that reaches it


class _Canary(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self):
        _Canary.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="session")
def canary():
    """"127.0.0.1:PORT" of a server standing in for an outside host (another origin than the
    app's); `canary_hits` lists the paths requested from it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", _free_port()), _Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def canary_hits(canary) -> list[str]:
    _Canary.hits.clear()
    return _Canary.hits

