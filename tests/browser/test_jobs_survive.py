"""A click elsewhere doesn't stop a job (issue 12.4): a read and a fit started on one page go on
while the user opens another page, whose sidebar shows them running (with Stop), and their
answers arrive on that page by themselves — no second click."""

from __future__ import annotations

import time

import pytest

from benchmarks.make_data import pupils_csv, quoted_pupils_csv
from tests.browser.conftest import app_page, serve

ROWS = 2_000_000  # quoted class names: a read and a fit of a few seconds
FORMULA = "score ~ hours + (hours | class)"
DATA_UPLOAD = '[data-testid="stFileUploader"] input[type="file"]'


def open_page(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=title, exact=True).first.wait_for()


def type_formula(page, formula: str) -> None:
    """Type the formula until the sidebar shows it (the builder's first run may reset the box
    under the typing: then type it again)."""
    sidebar = page.get_by_test_id("stSidebar")
    for attempt in range(3):
        box = page.get_by_role("textbox", name="Formula")
        box.fill(formula)
        box.press("Enter")
        try:
            sidebar.get_by_text(formula).wait_for(timeout=20_000)
            return
        except Exception:
            if attempt == 2:
                raise


@pytest.fixture(scope="module")
def own_url(tmp_path_factory):
    """A server of its own: on the shared one, jobs that earlier tests' closed tabs left running
    can hold the job slots, so the read would wait its turn ("Waiting for the server") instead
    of showing the state this test looks for."""
    with serve(tmp_path_factory.mktemp("server-survive")) as u:
        yield u


@pytest.fixture
def page(browser, own_url):
    yield from app_page(browser, own_url)


def test_a_read_and_a_fit_go_on_while_the_user_opens_other_pages(page, tmp_path, artifacts):
    page.set_default_timeout(60_000)
    sidebar = page.get_by_test_id("stSidebar")
    main = page.get_by_test_id("stMainBlockContainer")
    big = tmp_path / "big.csv"
    big.write_bytes(quoted_pupils_csv(ROWS))

    # a read: started on the Data page, the user goes to the Model page at once
    page.locator(DATA_UPLOAD).first.set_input_files(str(big))
    main.get_by_text("Reading big.csv…").wait_for(timeout=120_000)
    open_page(page, "Model")
    # the data arrive on the Model page by themselves: its builder appears
    page.get_by_role("textbox", name="Formula").wait_for(timeout=180_000)
    assert f"{ROWS:,} rows" in sidebar.inner_text()
    assert "big.csv" in sidebar.inner_text()

    # a fit: started on the Model page, the user opens Results while it runs
    type_formula(page, FORMULA)
    page.get_by_role("button", name="Fit model").click()
    main.get_by_text("Fitting the model…").wait_for(timeout=120_000)
    open_page(page, "Results")
    status = sidebar.get_by_text("Fitting the model…")
    status.wait_for()  # still running, shown in the sidebar of the page the user is on
    assert sidebar.get_by_role("button", name="Stop").is_visible()
    sidebar.screenshot(path=str(artifacts / "job_running_in_sidebar.png"))
    # the fit arrives on the Results page by itself
    page.get_by_text("What the model found").wait_for(timeout=240_000)
    status.wait_for(state="detached")
    assert "Fitted" in sidebar.inner_text()
    assert FORMULA in sidebar.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_closed_tabs_job_ends_and_frees_the_servers_slot(browser, tmp_path_factory, tmp_path):
    """Streamlit has no hook for a tab's end: without one, a closed tab's read held the only job
    slot (HLM_MAX_JOBS=1 here) until it was done. With HLM_ORPHAN_SECONDS=1 it is ended about
    two seconds after the tab goes, and the next user's read runs."""
    logs = tmp_path_factory.mktemp("server-orphan")
    big = tmp_path / "huge.csv"  # a read of several seconds in the worker: 8M rows, quoted
    big.write_bytes(quoted_pupils_csv(8_000_000))
    small = tmp_path / "small.csv"
    small.write_bytes(pupils_csv(2_000))
    with serve(logs, env={"HLM_MAX_JOBS": "1", "HLM_ORPHAN_SECONDS": "1"}) as url:
        pages = app_page(browser, url)
        first = next(pages)
        first.locator(DATA_UPLOAD).first.set_input_files(str(big))
        first.get_by_test_id("stMainBlockContainer").get_by_text("Reading huge.csv…").wait_for(
            timeout=120_000)
        first.goto("about:blank")  # the tab is left (its page unloads) while its read runs
        pages.close()
        log = next(logs.glob("streamlit-*.log"))
        deadline = time.monotonic() + 30
        while "Reading huge.csv was ended" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        assert "its browser tab has been closed for 1 s" in log.read_text()
        for second in app_page(browser, url):  # another user's read gets the slot
            second.locator(DATA_UPLOAD).first.set_input_files(str(small))
            second.get_by_test_id("stSidebar").get_by_text("2,000 rows").wait_for(
                timeout=60_000)
