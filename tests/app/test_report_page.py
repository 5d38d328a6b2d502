"""Report & export page: the write-up shows the fit's own numbers, the workbook and the HTML
report download with every table and nothing a spreadsheet or browser would run, figures export
as real PNG/SVG, and the code shown is exactly what hlm_core.codegen makes for the fitted model
with the Data page's switches."""

from __future__ import annotations

import hashlib
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from apphelpers import (
    FIXTURES,
    ROOT,
    button,
    fit_by_formula,
    go,
    new_app,
    open_expander,
    open_tab,
    reference,
    state,
    texts,
    upload,
    widget,
)
from downloads import download_button, download_bytes, record_downloads
from openpyxl import load_workbook

from hlm_core.codegen import CISettings, python_code, r_code
from hlm_core.codegen_tutorial import pred_slope_args
from hlm_core.writeup import apa_paragraph, apa_table, fmt, level_equations
from ui.text import plain

HOSTILE_LEVEL = '=HYPERLINK("http://evil.example/x","click")'
HOSTILE_COLUMN = "=1+1"
SCRIPT_COLUMN = "<script>alert(1)</script>"
IMG_LEVEL = "<img src=x onerror=alert(1)>"


@pytest.fixture
def downloads(monkeypatch):
    return record_downloads(monkeypatch)


def hostile_csv() -> bytes:
    rng = np.random.default_rng(3)
    n = 320
    levels = np.array([HOSTILE_LEVEL, "@SUM(A1)", "-3", "+7", IMG_LEVEL, "School F",
                       "School G", "School H"], dtype=object)
    g = rng.integers(0, len(levels), n)
    frame = pd.DataFrame({
        "score": rng.normal(size=n) + 0.4 * g,
        HOSTILE_COLUMN: rng.normal(size=n),
        SCRIPT_COLUMN: rng.normal(size=n),
        "school": levels[g],
    })
    frame.loc[frame["school"] == "-3", "score"] -= 2.0  # a negative estimate stays a number
    return frame.to_csv(index=False).encode("utf-8")


HOSTILE_FORMULA = f"score ~ `{HOSTILE_COLUMN}` + `{SCRIPT_COLUMN}` + (1 | school)"


def shown_fit(at):
    """The FitResult the pages show (from the session, as the pages read it)."""
    key = state(at).fit_key
    return state(at).fits[key]


def latex_bodies(at) -> list[str]:
    return [str(e.value).strip().strip("$").strip() for e in at.latex]


@pytest.fixture(scope="module")
def exam_rs(exam_csv_module):
    at = upload(new_app(), "exam.csv", exam_csv_module)
    fit_by_formula(at, "normexam ~ standLRT + (standLRT | school)")
    return go(at, "report")


@pytest.fixture(scope="module")
def exam_csv_module() -> bytes:
    return (FIXTURES / "exam.csv").read_bytes()


# ----------------------------------------------------------------------------- guidance


def test_report_page_without_data_or_fit_says_what_to_do():
    at = go(new_app(), "report")
    assert "No data yet" in texts(at) and not at.error
    button(go(at, "data"), "Use example data").click().run()
    go(at, "report")
    assert "No model fitted yet" in texts(at) and not at.error
    # no report downloads before a fit; only the sidebar's "Save analysis" (issue 16)
    assert [b.label for b in at.get("download_button")] == ["Save analysis"]


# ----------------------------------------------------------------------------- write-up


def test_level_equations_and_apa_paragraph_are_the_fits(exam_rs, downloads):
    at = exam_rs.run()  # rerun with the download recorder on
    result = shown_fit(at)
    eq = level_equations(result)
    bodies = latex_bodies(at)
    # level 1, both level-2 equations and the mixed model, as hlm_core writes them
    for line in eq["latex_level1"] + eq["latex_level2"]:
        assert line in bodies, (line, bodies)
    assert any(b.startswith(r"\begin{aligned} \text{normexam}_{ij} &= \gamma_{00}")
               or b == eq["latex_mixed"] for b in bodies)
    assert r"\beta_{1j} = \gamma_{10} + u_{1j}" in bodies
    # the lme4 formula beside them
    assert result.formula in [c.value for c in at.code]

    paragraph = apa_paragraph(result)
    assert paragraph in [c.value for c in at.code]  # copyable (st.code has a copy button)
    # ... and its numbers are lme4's (the reference fit), rounded as APA asks
    ref = {f["term"]: f for f in reference("exam_rs")["reml"]["fixed"]}
    b = ref["standLRT"]["estimate"]
    se = ref["standLRT"]["std_error"]
    # (decimals to the SE's second significant digit: b = 0.563, SE = 0.025)
    assert f"standLRT, b = {fmt(b, se=se)}, SE = {fmt(se, se=se)}" in paragraph
    assert "N = 4,059 students in J = 65 schools" in paragraph

    table = next(t.value for t in at.table if list(t.value.columns[:2]) == ["Part", "Term"])
    # st.table renders Markdown: its cells are escaped text; as shown they are the APA table
    shown = table.reset_index(drop=True).map(lambda v: plain(v) if isinstance(v, str) else v)
    pd.testing.assert_frame_equal(shown, apa_table(result))
    assert apa_table(result).attrs["note"] in texts(at)
    text = download_bytes(at, "dl_apa", downloads).decode("utf-8")
    assert text.startswith(paragraph) and "Fixed effects\tIntercept\t" in text


# ----------------------------------------------------------------------------- workbook


def test_workbook_has_every_table_and_escapes_hostile_cells(downloads):
    at = upload(new_app(), "hostile.csv", hostile_csv())
    fit_by_formula(at, HOSTILE_FORMULA)
    go(at, "report")
    result = shown_fit(at)
    data = download_bytes(at, "dl_workbook", downloads)
    assert data[:2] == b"PK"  # a zip container: xlsx
    book = load_workbook(io.BytesIO(data))
    assert {"Fixed effects", "Variance components", "Model fit", "Class effects",
            "pred_slope", "APA table"} <= set(book.sheetnames)

    # nothing anywhere is a formula; every text starting with = + - @ is inert text (a string
    # cell with the quote-prefix style), shown as written
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith(
                        ("=", "+", "-", "@", "\t", "\r")):
                    assert cell.data_type == "s" and cell.quotePrefix, (
                        ws.title, cell.coordinate, cell.value)

    effects = pd.DataFrame(book["Class effects"].values)
    effects.columns = effects.iloc[0]
    levels = set(effects["level"].iloc[1:].dropna())
    assert HOSTILE_LEVEL in levels and "-3" in levels and "+7" in levels
    assert "@SUM(A1)" in levels and IMG_LEVEL in levels
    # headers bold, numbers stay numbers (negative ones too)
    ws = book["Fixed effects"]
    assert all(c.font.bold for c in ws[1])
    est = {r[0]: r[1] for r in ws.iter_rows(min_row=2, values_only=True)}
    for term, value in zip(result.fixed["term"], result.fixed["estimate"], strict=True):
        assert isinstance(est[term], float) and est[term] == pytest.approx(value, rel=1e-12)
    ranef = next(r for r in book["Class effects"].iter_rows(min_row=2, values_only=True)
                 if r[1] == "-3")
    assert isinstance(ranef[4], float) and ranef[4] < 0
    # the hostile column name, as a header of the predicted lines
    assert HOSTILE_COLUMN in [c.value for c in book["pred_slope"][1]]
    assert book["Fixed effects"].column_dimensions["A"].width > 10


# ----------------------------------------------------------------------------- HTML report


class _Attrs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag in ("script", "style")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if not self._in_script:
            self.text.append(data)


def test_html_report_is_self_contained_and_escapes_user_text(downloads):
    raw = hostile_csv()
    at = upload(new_app(), "hostile.csv", raw)
    fit_by_formula(at, HOSTILE_FORMULA)
    go(at, "report")
    html = download_bytes(at, "dl_report", downloads).decode("utf-8")

    parser = _Attrs()
    parser.feed(html)
    # no element loads or links anything: no src/href/action/... to any host, no external CSS
    for tag, attrs in parser.tags:
        for name, value in attrs.items():
            if name in ("src", "href", "action", "formaction", "data", "poster", "srcset",
                        "background", "xlink:href"):
                pytest.fail(f"<{tag} {name}={value!r}> in the report")
        assert tag not in ("link", "iframe", "object", "embed", "img", "base"), tag
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", _outside_scripts(html))
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", html)
    scripts = [a for t, a in parser.tags if t == "script"]
    assert scripts and all("src" not in a for a in scripts)
    assert "Plotly.newPlot" in html and html.count("plotly.js v") >= 1  # plotly.js inline

    # user text is text: escaped in the HTML, never markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT_COLUMN not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and IMG_LEVEL not in html
    visible = "".join(parser.text)
    assert SCRIPT_COLUMN in visible and IMG_LEVEL in visible  # shown as the names they are

    # what makes it a report: write-up, equations, tables, fingerprint, versions, date
    result = shown_fit(at)
    assert apa_paragraph(result).split(" with the lme4")[0].replace("<", "&lt;") in html
    assert "Level 1" in visible and "Mixed model" in visible
    assert hashlib.sha256(raw).hexdigest() in html
    for pkg in ("hlm_core", "mixedlm", "numpy", "pandas", "python"):
        assert f"<th>{pkg}</th>" in html
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", html)
    assert "library(lmerTest)" in html and "from hlm_core.fit import fit" in html


def _outside_scripts(html: str) -> str:
    return re.sub(r"<script\b.*?</script>", "", html, flags=re.S | re.I)


# ----------------------------------------------------------------------------- figures


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium for kaleido")
def test_figures_export_as_png_and_svg(downloads, exam_csv_module):
    at = upload(new_app(), "exam.csv", exam_csv_module)
    fit_by_formula(at, "normexam ~ standLRT + (1 | school)")
    go(at, "report")
    # the list waits behind a lazy expander: nothing of it runs (no figure is drawn, no
    # button is sent) until it is opened (issue 11, point 3)
    assert not [b for b in at.get("download_button") if "dl_fig_" in b.proto.id]
    assert "this takes a few seconds" not in texts(at)
    assert not state(at).exports and "report_figure_specs" not in state(at).memo
    open_expander(at, "w_report_images_open")
    assert state(at).exports[1] == {}  # listed, not drawn: a figure waits for its button
    # one click: the buttons are downloads from the start, the image is drawn when clicked
    # (issue 10, point 15), and the page says it takes a few seconds
    assert [plain(b.label) for b in at.get("download_button") if "dl_fig_" in b.proto.id] == \
        ["Download PNG", "Download SVG"] * 2
    assert download_button(at, "dl_fig_0_png").label == "Download PNG"
    assert "this takes a few seconds" in texts(at)
    assert not any(b.key and b.key.startswith("make_fig") for b in at.button)
    png = download_bytes(at, "dl_fig_0_png", downloads)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    drawn = sorted(k for k in state(at).exports[1] if k[1] == "figure")
    assert drawn == [("Intercept per school", "figure")]  # only the figure asked for
    svg = download_bytes(at, "dl_fig_0_svg", downloads).decode("utf-8")
    assert svg.lstrip().startswith(("<svg", "<?xml")) and "</svg>" in svg


def test_without_a_browser_the_page_says_how_to_get_images(monkeypatch, exam_csv_module):
    import hlm_core.images as images  # where export's image functions live

    monkeypatch.setattr(images, "find_browser", lambda: None)
    at = upload(new_app(), "exam.csv", exam_csv_module)
    fit_by_formula(at, "normexam ~ standLRT + (1 | school)")
    go(at, "report")
    open_expander(at, "w_report_images_open")
    info = " ".join(str(i.value) for i in at.info)
    assert "Chrome or Chromium" in info and "camera button" in info
    assert not [b for b in at.button if b.label.startswith("Make ")]


# ----------------------------------------------------------------------------- code


def codes_csv() -> bytes:
    frame = pd.read_csv(FIXTURES / "exam.csv")
    frame.loc[[3, 10, 50], "standLRT"] = -999  # a survey export's code for "no answer"
    return frame.to_csv(index=False).encode("utf-8")


def test_code_shown_is_codegens_for_the_fit_with_the_data_page_switches(downloads):
    at = upload(new_app(), "exam codes.csv", codes_csv())
    widget(at, "checkbox", "Treat these codes as missing").check().run()
    cats = widget(at, "multiselect", "Categorical columns")
    cats.set_value([*cats.value, "school"]).run()
    fit_by_formula(at, "normexam ~ standLRT + sex + (standLRT | school)")
    go(at, "report")
    result = shown_fit(at)
    assert result.rows_dropped == 3
    kwargs = {"column_types": {"school": "categorical"}, "sheet": None,
              "missing_codes": {"standLRT": [-999.0]}, "ci": CISettings("profile")}
    # pred.slope as the Slopes page would draw it (not visited: the defaults)
    want_r = r_code(result.spec, "exam codes.csv", **kwargs,
                    pred_slope=pred_slope_args(result))
    want_py = python_code(result.spec, "exam codes.csv", **kwargs)
    # st.code drops the final newline; the downloads keep it
    def shown() -> dict[str, str]:
        return {c.language: c.value for c in at.code if c.language in ("r", "python")
                and c.value.startswith("# Reproduces")}

    # the code tabs are lazy: the R tab first, the Python script when its tab is opened
    assert shown()["r"] == want_r.rstrip("\n") and "python" not in shown()
    assert "%in% c(-999)] <- NA" in want_r and 'd$school <- factor(' in want_r
    assert download_bytes(at, "dl_code_r", downloads).decode() == want_r
    open_tab(at, "w_report_code", "Python (hlm_core)")
    assert shown()["python"] == want_py.rstrip("\n") and "r" not in shown()
    assert download_bytes(at, "dl_code_py", downloads).decode() == want_py


def test_code_for_example_data_reads_the_example_file(downloads):
    at = new_app()
    widget(at, "selectbox", "Example data set").set_value("hsb82").run()
    button(at, "Use example data").click().run()
    fit_by_formula(at, "mAch ~ meanses + sector + cses + meanses:cses + sector:cses + "
                       "(cses | school)")
    go(at, "report")
    result = shown_fit(at)
    r = next(c.value for c in at.code if c.language == "r" and c.value.startswith("#"))
    assert r == r_code(result.spec, "hsb82.csv", pred_slope=pred_slope_args(result),
                       ci=CISettings("profile")).rstrip("\n")
    data = download_bytes(at, "dl_example_report", downloads)
    assert data == (ROOT / "hlm_core" / "data" / "hsb82.csv").read_bytes()
    # the level equations put meanses and sector at level 2, as Raudenbush & Bryk write them
    bodies = latex_bodies(at)
    assert any(r"\gamma_{11}\,\text{meanses}_{j}" in b for b in bodies), bodies


def test_workbook_and_report_carry_the_model_ladder(downloads, exam_csv_module):
    at = upload(new_app(), "exam.csv", exam_csv_module)
    fit_by_formula(at, "normexam ~ standLRT + (standLRT | school)")
    go(at, "report")
    book = load_workbook(io.BytesIO(download_bytes(at, "dl_workbook", downloads)))
    assert "Comparisons" not in book.sheetnames  # no ladder fitted yet
    go(at, "compare")
    button(at, "Fit the model ladder").click().run(timeout=120)
    assert not at.exception
    ladders = [v for v in state(at).ladders.values() if hasattr(v, "table")]
    assert len(ladders) == 1
    ladder = ladders[0].table
    assert len(ladder) >= 3
    go(at, "report")
    book = load_workbook(io.BytesIO(download_bytes(at, "dl_workbook", downloads)))
    rows = list(book["Comparisons"].iter_rows(values_only=True))
    assert rows[0] == tuple(str(c) for c in ladder.columns)
    assert len(rows) == len(ladder) + 1
    html = download_bytes(at, "dl_report", downloads).decode("utf-8")
    assert "<h2>Comparisons</h2>" in html
