"""The Excel workbook keeps numbers as numbers and makes formula-looking text inert without
characters a person sees (issue 10, point 12). Read back with openpyxl, as a spreadsheet would
load it: numeric cells are numbers, `=HYPERLINK(...)` in a class ID is plain text (a shared
string with Excel's quote-prefix style, never a formula), labels starting with "+"/"-" show
exactly as written."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from hlm_core.export import workbook
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.writeup import apa_table
from tests.refdata import FIXTURES

LINK = '=HYPERLINK("http://example.invalid/x","click me")'
LABELS = {1: LINK, 2: "-3", 3: "+7", 4: "@SUM(A1)", 5: "Class 5", 6: "007", 7: "\tTab"}


@pytest.fixture(scope="module")
def book_and_result():
    d = pd.read_csv(FIXTURES / "tutorial" / "classroom.csv")
    d["class"] = d["class"].map(LABELS)
    res = fit(d, parse_formula("score ~ exam.prep.days + poverty + (1 | class)"))
    ladder = pd.DataFrame({"model": ["Null model", "+ random slopes", "- poverty"],
                           "AIC": [3300.5, -12.25, 3290.0], "Df": [3, 5, 4]})
    data = workbook(res, {"Comparisons": ladder})
    return data, load_workbook(io.BytesIO(data)), res


def test_no_cell_is_a_formula_and_no_visible_apostrophes(book_and_result):
    data, book, _ = book_and_result
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    assert not c.value.startswith("'"), (ws.title, c.coordinate, c.value)
                    if c.value.startswith(("=", "+", "-", "@", "\t", "\r")):
                        assert c.data_type == "s" and c.quotePrefix, (ws.title, c.coordinate)
    with zipfile.ZipFile(io.BytesIO(data)) as z:  # the file itself holds no formula element
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name)


def test_class_ids_are_inert_text_as_typed(book_and_result):
    _, book, _ = book_and_result
    ws = book["Class effects"]
    header = [c.value for c in ws[1]]
    col = header.index("level")
    cells = {r[col].value: r[col] for r in ws.iter_rows(min_row=2) if r[col].value is not None}
    assert set(LABELS.values()) <= set(cells)  # "007" stays "007", "-3" stays "-3"
    link = cells[LINK]
    assert link.data_type == "s" and link.quotePrefix and link.hyperlink is None
    assert cells["007"].data_type == "s"


def test_apa_table_numbers_are_numbers_shown_with_the_same_digits(book_and_result):
    _, book, res = book_and_result
    apa = apa_table(res)
    ws = book["APA table"]
    header = [c.value for c in ws[1]]
    assert header == list(apa.columns)
    checked = 0
    for i, row in enumerate(ws.iter_rows(min_row=2, max_row=len(apa) + 1)):
        for j, c in enumerate(row):
            text = str(apa.iat[i, j])
            try:
                number = float(text)
            except ValueError:
                assert c.value in (text, None if text == "" else text)
                continue
            assert isinstance(c.value, float | int), (header[j], text, c.value)
            assert c.value == pytest.approx(number)
            # the number format shows the digits the table had: -3.52 as 0.00, -.51 as .00
            decimals = len(text.split(".")[1]) if "." in text else 0
            lead = "0" if not text.lstrip("+-").startswith(".") else ""
            assert c.number_format == lead + ("." + "0" * decimals if decimals else ""), text
            checked += 1
    negative = [c.value for r in ws.iter_rows(min_row=2) for c in r
                if isinstance(c.value, float) and c.value < 0]
    assert checked >= 10 and negative  # e.g. poverty's estimate and its t


def test_comparison_labels_and_numbers(book_and_result):
    _, book, _ = book_and_result
    rows = list(book["Comparisons"].iter_rows(min_row=2))
    assert [r[0].value for r in rows] == ["Null model", "+ random slopes", "- poverty"]
    assert rows[1][0].quotePrefix and rows[1][0].data_type == "s"
    assert not rows[0][0].quotePrefix  # plain text needs nothing
    assert rows[1][1].value == -12.25 and rows[1][1].data_type == "n"
    assert all(isinstance(r[2].value, int) for r in rows)
    assert np.isfinite(rows[0][1].value)
