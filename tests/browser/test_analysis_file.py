"""Save an analysis in the browser and open it in a fresh browser context (another session on
the same server): the same model, the same saved models and the same numbers on Results."""

from __future__ import annotations

import io
import json
import zipfile

from tests.browser.test_walkthrough import fit_formula, open_page, screenshot, settle, upload

FIRST = "normexam ~ standLRT + (1 | school)"
SECOND = "normexam ~ standLRT + sex + (standLRT | school)"


def _fixed_effects(page) -> list[str]:
    open_page(page, "Results")
    page.get_by_role("heading", name="Fixed effects").wait_for()
    cells = page.get_by_test_id("stDataFrame").first.locator('[role="gridcell"]')
    cells.first.wait_for(state="attached")
    return cells.all_inner_texts()


def _save_model(page, name: str) -> None:
    box = page.get_by_role("textbox", name="Name for this model").first
    box.fill(name)
    box.press("Enter")
    settle(page)
    page.get_by_role("button", name="Save this model").first.click()
    settle(page)


def test_save_and_open_an_analysis(browser, app_url, artifacts, exam_csv_path, tmp_path):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    page.goto(app_url)
    page.get_by_role("button", name="Use example data").wait_for()
    upload(page, exam_csv_path)
    fit_formula(page, FIRST)
    _save_model(page, "intercepts")
    fit_formula(page, SECOND)
    _save_model(page, "slopes")
    before = _fixed_effects(page)
    sidebar = page.get_by_test_id("stSidebar")
    with page.expect_download(timeout=60_000) as dl:
        sidebar.get_by_role("button", name="Save analysis").click()
    assert dl.value.suggested_filename == "exam.hlm.zip"
    path = tmp_path / "exam.hlm.zip"
    dl.value.save_as(path)
    z = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    assert z.namelist() == ["manifest.json", "data/exam.csv"]
    manifest = json.loads(z.read("manifest.json"))
    assert manifest["current_model"]["formula"] == SECOND
    assert [m["name"] for m in manifest["saved_models"]] == ["intercepts", "slopes"]
    ctx.close()

    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = fresh.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.get_by_role("button", name="Use example data").wait_for()
    opener = page.get_by_test_id("stFileUploader").filter(has_text="Open analysis")
    opener.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_test_id("stSidebar").get_by_text("Fitted — see Results.").wait_for()
    settle(page)
    screenshot(page, artifacts, "analysis-opened-data")
    after = _fixed_effects(page)
    assert after == before
    screenshot(page, artifacts, "analysis-opened-results")
    open_page(page, "Compare")
    assert page.get_by_text("intercepts").first.is_visible()
    fresh.close()
