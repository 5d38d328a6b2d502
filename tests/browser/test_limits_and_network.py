"""The upload limit is enforced with a clear message, and no request leaves the machine."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.browser.conftest import serve

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
