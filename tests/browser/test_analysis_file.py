"""Save an analysis in the browser after the issue's full walk and open it in a fresh browser
context (another session on the same server): a column switched to a category, a
missing-value code, a centred predictor, two saved models and the pages' own choices. Every
page shows the same numbers and the same choices after opening."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd

from tests.browser.test_walkthrough import (
    DATA_UPLOAD,
    fit_formula,
    open_page,
    pick,
    screenshot,
    settle,
    show_effects_table,
)

INTERCEPTS = "normexam ~ standLRT + sex + band + (1 | school)"
SLOPES = "normexam ~ standLRT + band + (standLRT | school)"
SLOPES_CENTRED = SLOPES  # the formula text stays; the centring is a choice beside it
PAGES = ("Results", "Class effects", "Slopes", "Compare")


def _walk_csv(exam_csv_path, folder):
    """exam.csv with a number-coded band (1-3, switched to a category) and 99 for a missing
    standLRT in every 200th row (treated as missing)."""
    d = pd.read_csv(exam_csv_path, dtype={"school": str, "student": str})
    d["band"] = d["vr"].map({"bottom 25%": 1, "mid 50%": 2, "top 25%": 3})
    d.loc[d.index[::200], "standLRT"] = 99
    path = folder / "walk.csv"
    d.to_csv(path, index=False)
    return path


def _grids(page) -> list[list[str]]:
    """The cells of every table on the page, table by table."""
    page.get_by_test_id("stDataFrame").first.locator('[role="gridcell"]').first.wait_for(
        state="attached")
    settle(page)
    return [t.locator('[role="gridcell"]').all_inner_texts()
            for t in page.get_by_test_id("stDataFrame").all()]


def _save_model(page, name: str) -> None:
    box = page.get_by_role("textbox", name="Name for this model").first
    box.fill(name)
    box.press("Enter")
    settle(page)
    page.get_by_role("button", name="Save this model").first.click()
    settle(page)


def _fit_ladder(page) -> None:
    open_page(page, "Compare")
    page.get_by_role("button", name="Fit the model ladder").click()
    page.get_by_role("heading", name="Test model A against model B").wait_for(timeout=120_000)
    settle(page)


def _choices(page) -> dict[str, object]:
    """The page options as the pages show them."""
    shown: dict[str, object] = {}
    open_page(page, "Class effects")
    shown["k"] = page.get_by_role("spinbutton", name="k (smallest group shown)").input_value()
    shown["deviation"] = page.get_by_role("radio", name="Deviation from average").is_checked()
    shown["extremes"] = page.get_by_role("radio", name="Highest and lowest only").is_checked()
    open_page(page, "Slopes")
    shown["hold zero"] = page.get_by_role(
        "radio", name="0 (each group's coef(), as the R tutorial)").is_checked()
    shown["step"] = page.get_by_role(
        "spinbutton", name="Step in standLRT for the table").input_value()
    open_page(page, "Compare")
    shown["model A"] = page.get_by_role("combobox", name="Model A").input_value()
    return shown


def _numbers(page, artifacts, when: str) -> dict[str, list[list[str]]]:
    """Every table on every results page (screenshots of each as `when`)."""
    out = {}
    for title in PAGES:
        open_page(page, title)
        if title == "Class effects":
            show_effects_table(page)  # its table waits behind a lazy expander
        out[title] = _grids(page)
        screenshot(page, artifacts, f"analysis-{when}-{title.lower().replace(' ', '-')}")
    return out


def _radio(page, option: str) -> None:
    page.get_by_test_id("stRadio").get_by_text(option, exact=True).click()
    settle(page)


def test_save_and_open_an_analysis(browser, app_url, artifacts, exam_csv_path, tmp_path):
    walk = _walk_csv(exam_csv_path, tmp_path)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    page.goto(app_url)
    page.get_by_role("button", name="Use example data").wait_for()
    page.locator(DATA_UPLOAD).first.set_input_files(str(walk))
    page.get_by_text("walk.csv: 4,059 rows, 11 columns").wait_for(timeout=60_000)
    settle(page)
    # the reading choices: 99 is a missing standLRT, band is a category
    page.get_by_text("Treat these codes as missing").click()
    settle(page)
    pick(page, "Categorical columns", "band")

    # two saved models; the current one with standLRT centred within school
    fit_formula(page, INTERCEPTS)
    _save_model(page, "intercepts")
    open_page(page, "Model")
    box = page.get_by_role("textbox", name="Formula")
    box.fill(SLOPES)
    box.press("Enter")
    page.get_by_role("combobox", name="Centre standLRT").wait_for()
    settle(page)
    pick(page, "Centre standLRT", "Group mean (within school)")
    page.get_by_role("button", name="Fit model").click()
    page.get_by_text("Fitted in").wait_for(timeout=60_000)
    settle(page)
    _save_model(page, "centred slopes")

    # the pages' own choices
    open_page(page, "Class effects")
    k = page.get_by_role("spinbutton", name="k (smallest group shown)")
    k.fill("12")
    k.press("Enter")
    settle(page)
    _radio(page, "Deviation from average")
    _radio(page, "Highest and lowest only")
    open_page(page, "Slopes")
    _radio(page, "0 (each group's coef(), as the R tutorial)")
    step = page.get_by_role("spinbutton", name="Step in standLRT for the table")
    step.fill("0.5")
    step.press("Enter")
    settle(page)
    _fit_ladder(page)
    pick(page, "Model A", "intercepts")

    before, chosen = _numbers(page, artifacts, "before"), _choices(page)
    assert chosen == {"k": "12", "deviation": True, "extremes": True, "hold zero": True,
                      "step": "0.5", "model A": "intercepts"}, chosen
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_test_id("stSidebar").get_by_role("button", name="Save analysis").click()
    assert dl.value.suggested_filename == "walk.hlm.zip"
    path = tmp_path / "walk.hlm.zip"
    dl.value.save_as(path)
    z = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    assert z.namelist() == ["manifest.json", "data/walk.csv"]
    m = json.loads(z.read("manifest.json"))
    assert m["reading"]["column_types"] == {"band": "categorical"}
    assert m["reading"]["missing_codes"] == {"standLRT": [99.0]}
    assert m["current_model"] == {"formula": SLOPES_CENTRED, "method": "REML",
                                  "centring": {"standLRT": "group"}}
    assert [s["name"] for s in m["saved_models"]] == ["intercepts", "centred slopes"]
    assert m["options"]["class_effects"]["k"] == 12
    assert m["options"]["slopes"]["step"] == {"standLRT": 0.5}
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
    _fit_ladder(page)  # the ladder is fitted on request, as before saving
    after = _numbers(page, artifacts, "opened")
    for title in PAGES:
        assert after[title] == before[title], title
    assert _choices(page) == chosen
    fresh.close()
