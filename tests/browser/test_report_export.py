"""Real-browser walk of the Report & export page: the workbook, the HTML report and a PNG are
downloaded through the real buttons and checked; the HTML report is then opened from disk with
every network request recorded (it must load nothing); workshop mode and the presenter view
are screenshotted."""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.browser.test_walkthrough import (
    open_page,
    screenshot,
    settle,
    show_report_figures,
    upload,
)

ROOT = Path(__file__).resolve().parents[2]
REF = json.loads((ROOT / "tests" / "fixtures" / "exam_rs.json").read_text())["reml"]
REF_ESTIMATE = {f["term"]: f["estimate"] for f in REF["fixed"]}
LINKING = ("src", "href", "action", "formaction", "data", "poster", "srcset", "xlink:href")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in LINKING:
                self.found.append((tag, name, value or ""))


def fit_exam(page, exam_csv_path) -> None:
    upload(page, exam_csv_path)
    open_page(page, "Model")
    box = page.get_by_role("textbox", name="Formula")
    box.fill("normexam ~ standLRT + (standLRT | school)")
    box.press("Enter")
    settle(page)
    page.get_by_role("button", name="Fit model").click()
    page.get_by_text("Fitted in").wait_for(timeout=60_000)
    settle(page)


def test_report_page_downloads_workbook_report_and_png(page, artifacts, exam_csv_path,
                                                       tmp_path):
    fit_exam(page, exam_csv_path)
    open_page(page, "Compare")
    page.get_by_role("button", name="Fit the model ladder").click()
    page.get_by_role("heading", name="The ladder").wait_for(timeout=60_000)
    settle(page)

    open_page(page, "Report & export")
    page.get_by_role("heading", name="APA write-up").wait_for()
    page.locator(".katex").first.wait_for()  # the level equations are typeset
    assert page.locator(".katex").count() >= 5
    screenshot(page, artifacts, "report-1-page")

    # ---- the Excel workbook, through the real button
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("button", name="Download Excel workbook").click()
    assert dl.value.suggested_filename == "multilevel_model.xlsx"
    book = load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes()))
    assert {"Fixed effects", "Variance components", "Model fit", "Class effects", "pred_slope",
            "APA table", "Comparisons"} <= set(book.sheetnames)
    est = {r[0]: r[1] for r in book["Fixed effects"].iter_rows(min_row=2, values_only=True)}
    assert est["standLRT"] == pytest.approx(REF_ESTIMATE["standLRT"], abs=1e-4)
    assert est["(Intercept)"] == pytest.approx(REF_ESTIMATE["(Intercept)"], abs=1e-4)
    effects = list(book["Class effects"].iter_rows(min_row=2, values_only=True))
    assert len({r[1] for r in effects if r[1] is not None and r[0] == "school"}) == 65
    assert len(list(book["Comparisons"].iter_rows(values_only=True))) >= 4

    # ---- the HTML report, through the real button
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("button", name="Download HTML report").click()
    assert dl.value.suggested_filename == "multilevel_model_report.html"
    report = tmp_path / "report.html"
    report.write_bytes(Path(dl.value.path()).read_bytes())
    html = report.read_text(encoding="utf-8")
    links = _Links()
    links.feed(html)
    assert links.found == [], links.found  # no element loads or links anything
    outside = re.sub(r"<script\b.*?</script>", "", html, flags=re.S | re.I)
    assert not re.search(r"https?://", outside)
    assert hashlib.sha256(exam_csv_path.read_bytes()).hexdigest() in html
    assert "Comparisons" in html and "Level 1" in html

    # opened from disk, it draws its figures and asks the network for nothing
    view = page.context.new_page()
    requests: list[str] = []
    view.on("request", lambda r: requests.append(r.url))
    view.goto(report.as_uri())
    view.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3",
        timeout=60_000)
    time.sleep(0.5)
    external = [u for u in requests if not u.startswith(("file:", "data:", "blob:"))]
    assert external == [], external
    view.set_viewport_size({"width": 1200, "height": 1000})
    view.screenshot(path=str(artifacts / "report-2-html.png"), full_page=True)
    view.close()

    # ---- a figure as PNG: one click draws and downloads it (issue 10, point 15), from the
    # lazy expander that lists the figures (nothing of it is sent until it is opened)
    assert page.get_by_role("button", name="Download PNG").count() == 0
    show_report_figures(page)
    assert page.get_by_text("this takes a few seconds").is_visible()
    assert page.get_by_role("button", name="Download PNG").count() == 3
    with page.expect_download(timeout=120_000) as dl:
        page.get_by_role("button", name="Download PNG").first.click()
    png = Path(dl.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert dl.value.suggested_filename.endswith(".png")

    # ---- workshop mode and the presenter view
    page.get_by_text("Workshop mode").click()
    settle(page)
    page.get_by_text("The write-up").first.wait_for()
    screenshot(page, artifacts, "report-3-workshop")
    page.get_by_text("Large font (presenter view)").click()
    settle(page, 1.0)
    size = page.evaluate("() => getComputedStyle(document.documentElement).fontSize")
    assert size == "21px"
    screenshot(page, artifacts, "report-4-presenter")
