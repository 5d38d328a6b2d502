"""The upload limit is enforced with a clear message, no request leaves the machine, and an
upload never touches the disk."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from benchmarks.make_data import pupils_csv
from tests.browser.conftest import ROOT, app_page, serve

LOCAL = {"127.0.0.1", "localhost", ""}


def test_no_request_leaves_the_machine(browser, app_url):
    """Fonts, scripts, styles and data all come from our own server (no CDN)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    page.goto(app_url)
    page.get_by_role("button", name="Use example data").click()
    page.get_by_role("link", name="Model").first.click()
    page.get_by_role("button", name="Fit model").click()
    page.get_by_text("Fitted in").wait_for(timeout=60_000)
    page.get_by_role("link", name="Class effects").first.click()
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.get_by_role("link", name="Results").first.click()
    page.get_by_text("What the model found").wait_for()
    context.close()
    assert seen, "no requests were recorded"
    outside = [u for u in seen
               if urlparse(u).scheme not in ("data", "blob") and urlparse(u).hostname not in LOCAL]
    assert not outside, outside[:5]


@pytest.fixture(scope="module")
def small_limit_url(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("server-1mb"), "--server.maxUploadSize", "1") as url:
        yield url


def test_upload_over_the_limit_gets_a_clear_message(browser, small_limit_url, tmp_path):
    """The same limit as config.toml's maxUploadSize (500 MB), tried at 1 MB to keep it quick."""
    big = tmp_path / "big.csv"
    row = "1,2.5,class A\n"
    big.write_text("id,score,class\n" + row * (1_200_000 // len(row)))
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(small_limit_url)
    page.get_by_role("button", name="Use example data").wait_for()
    page.locator("input[type=file]").first.set_input_files(str(big))
    message = page.get_by_text("1.0MB or smaller")
    message.wait_for(timeout=30_000)
    assert "must be" in message.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    context.close()


def _server_pids(port: str) -> list[int]:
    """The streamlit server process(es) listening on `port` (from their command lines)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(args) and port.encode() in args:
                pids.append(int(entry.name))
    return pids


def test_an_upload_never_touches_the_disk(browser, tmp_path_factory, tmp_path):
    """Starlette's multipart parser spools an upload over 1 MB to a temporary file (unlinked at
    once, so only the server's open files show it, as '/tmp/#123 (deleted)'); the server keeps
    uploads in memory instead (ui/uploads.py). Its open files are watched while a 40 MB file
    is uploaded: without ui/uploads.py this finds the spooled file."""
    big = tmp_path / "mid.csv"
    big.write_bytes(pupils_csv(2_000_000))
    logs = tmp_path_factory.mktemp("server-spool")
    with serve(logs) as url:
        pids = _server_pids(url.rsplit(":", 1)[1])
        assert pids, "the server process was not found"
        seen: set[str] = set()
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                for pid in pids:
                    with contextlib.suppress(OSError):
                        for fd in Path(f"/proc/{pid}/fd").iterdir():
                            with contextlib.suppress(OSError):
                                seen.add(os.readlink(fd))
                time.sleep(0.002)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            for page in app_page(browser, url):
                page.locator("input[type=file]").first.set_input_files(str(big))
                page.get_by_test_id("stSidebar").get_by_text("2,000,000 rows").wait_for(
                    timeout=120_000)
        finally:
            done.set()
            watcher.join()
    assert any(t.startswith("socket:") for t in seen), "the watch saw none of the server's files"
    temp = ("/tmp", "/var/tmp", tempfile.gettempdir())
    ours = (str(ROOT), str(logs))  # the app's own files (a clone may live in /tmp), its log
    on_disk = [t for t in seen if t.startswith(temp) and not t.startswith(ours)]
    assert not on_disk, on_disk
