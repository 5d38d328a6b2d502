"""read_table: every upload format, from a path, from bytes and from an upload object.

The small files come from tests/fixtures/make_files.py; each holds the same four pupils, so the
tests assert real values (3.5 read from "3,5", "Male" from code 1, accents from cp1252 ...).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlm_core.errors import HLMError, ModelError, ReadError
from hlm_core.io import Table, apply_missing_codes, detect_missing_codes, read_table

FIXTURES = Path(__file__).parent / "fixtures"
FILES = FIXTURES / "files"

NAMES = ["Zoë", "José", "Jürgen", "Élodie"]
SCORES = [3.5, 4.25, -1.0, 2.0]


class FakeUpload:
    """Stands in for Streamlit's UploadedFile: a name plus getvalue()."""

    def __init__(self, path: Path):
        self.name = path.name
        self._data = path.read_bytes()

    def getvalue(self) -> bytes:
        return self._data


def read(filename: str, how: str, **kwargs) -> Table:
    path = FILES / filename
    if how == "path":
        return read_table(path, **kwargs)
    if how == "str":
        return read_table(str(path), **kwargs)
    if how == "bytes":
        return read_table(path.read_bytes(), name=filename, **kwargs)
    if how == "upload":
        return read_table(FakeUpload(path), **kwargs)
    if how == "bytesio":
        return read_table(io.BytesIO(path.read_bytes()), name=filename, **kwargs)
    raise AssertionError(how)


HOW = ["path", "bytes", "upload"]


def has_note(table: Table, *words: str) -> bool:
    return any(all(w.lower() in n.lower() for w in words) for n in table.notes)


# --------------------------------------------------------------------------------- text files


@pytest.mark.parametrize("how", [*HOW, "str", "bytesio"])
def test_comma_csv_with_quoted_fields(how):
    t = read("comma.csv", how)
    f = t.frame
    assert list(f.columns) == ["pupil", "school", "sex", "score", "name", "comment"]
    assert f["pupil"].tolist() == [1, 2, 3, 4]
    assert pd.api.types.is_integer_dtype(f["pupil"])
    assert f["score"].tolist() == SCORES
    assert f["name"].tolist() == NAMES
    assert f["comment"].iloc[0] == "likes maths, art"
    assert f["comment"].iloc[1] == 'said "hi"'
    assert pd.isna(f["comment"].iloc[2])
    assert t.name == "comma.csv"
    assert t.sheets == [] and t.sheet is None
    assert has_note(t, "separated by commas")
    assert has_note(t, "categories", "school", "sex")


@pytest.mark.parametrize("how", HOW)
def test_semicolon_csv_with_decimal_commas(how):
    t = read("european.csv", how)
    score = t.frame["score"]
    assert pd.api.types.is_float_dtype(score)
    assert score.iloc[0] == 3.5
    assert score.tolist() == SCORES
    assert t.frame["name"].tolist() == NAMES
    assert has_note(t, "semicolons")
    assert has_note(t, "decimal commas", "score")


@pytest.mark.parametrize("how", HOW)
def test_tab_separated(how):
    t = read("tabs.tsv", how)
    assert t.frame.shape == (4, 5)
    assert t.frame["score"].tolist() == SCORES
    assert t.frame["name"].iloc[2] == "Jürgen"
    assert has_note(t, "tabs")


@pytest.mark.parametrize("how", HOW)
def test_cp1252_accents(how):
    t = read("cp1252.csv", how)
    assert t.frame["name"].tolist() == NAMES
    assert has_note(t, "Windows-1252")


@pytest.mark.parametrize("how", HOW)
def test_utf8_bom(how):
    t = read("bom.csv", how)
    assert t.frame.columns[0] == "pupil"  # no "\ufeff" glued to the first name
    assert t.frame["name"].tolist() == NAMES
    assert has_note(t, "byte-order mark")


@pytest.mark.parametrize("how", HOW)
def test_utf16_unicode_text(how):
    t = read("unicode.txt", how)
    assert list(t.frame.columns) == ["pupil", "school", "sex", "score", "name"]
    assert t.frame["name"].tolist() == NAMES
    assert t.frame["score"].tolist() == SCORES
    assert has_note(t, "UTF-16")
    assert has_note(t, "tabs")


@pytest.mark.parametrize("how", HOW)
def test_duplicate_and_blank_headers(how):
    t = read("dup_headers.csv", how)
    f = t.frame
    assert list(f.columns) == ["pupil", "score", "column_3", "score.2", "score.3"]
    assert len(f) == 2  # the all-empty row is gone
    assert f["pupil"].tolist() == [1, 2]
    assert pd.api.types.is_integer_dtype(f["pupil"])  # not turned into floats by the empty row
    assert f["score.2"].tolist() == [11, 21]
    assert f["column_3"].tolist() == ["x", "y"]
    assert has_note(t, "'score'", "'score.2'", "'score.3'")
    assert has_note(t, "column_3")
    assert has_note(t, "Dropped 1 row")
    assert has_note(t, "empty column")  # the trailing separator


@pytest.mark.parametrize("how", HOW)
def test_single_column_is_allowed_with_a_note(how):
    t = read("one_column.csv", how)
    assert t.frame.shape == (2, 1)
    assert has_note(t, "only one column was found", "another character")


def test_exam_csv():
    t = read_table(FIXTURES / "exam.csv")
    assert t.frame.shape == (4059, 10)
    assert t.frame["normexam"].iloc[0] == 0.2613242
    assert t.frame["school"].nunique() == 65
    assert has_note(t, "categories", "schgend")


def test_missing_tokens_leading_zeros_and_ragged_rows():
    t = read_table(b"id,x,y\n007,1,NA\n010,2,.\n011,3,4\n", name="codes.csv")
    assert t.frame["id"].tolist() == ["007", "010", "011"]
    assert t.frame["y"].isna().sum() == 2 and t.frame["y"].iloc[2] == 4
    assert has_note(t, "leading zeros")
    assert has_note(t, "'NA'", "'.'", "missing")

    t = read_table(b"a,b\n1,2\n3,4,5\n", name="ragged.csv")
    assert t.frame["column_3"].iloc[1] == 5
    assert has_note(t, "more values than the header")


def test_unknown_extension_is_sniffed_as_text():
    t = read_table(b"a|b\n1|2\n3|4\n", name="export.dat2")
    assert t.frame["b"].tolist() == [2, 4]
    assert has_note(t, "vertical bars")
    assert has_note(t, "no known file extension")


def test_bytes_without_a_name():
    t = read_table(b"a;b\n1,5;2\n")
    assert t.frame["a"].iloc[0] == 1.5
    assert t.name == "data"


def test_sheet_argument_on_csv_is_ignored_with_a_note():
    t = read("comma.csv", "bytes", sheet="Data")
    assert t.sheet is None
    assert has_note(t, "sheet choice")


# --------------------------------------------------------------------------------- workbooks


@pytest.mark.parametrize("how", HOW)
def test_xlsx_skips_an_empty_first_sheet(how):
    t = read("empty_first.xlsx", how)
    assert t.sheets == ["Sheet1", "Data"]
    assert t.sheet == "Data"
    f = t.frame
    assert f["score"].tolist() == SCORES
    assert pd.api.types.is_datetime64_any_dtype(f["tested"])
    assert f["tested"].iloc[0] == pd.Timestamp(2023, 3, 13)
    assert has_note(t, "Read sheet 'Data'")


@pytest.mark.parametrize("how", HOW)
def test_xlsx_skips_a_notes_sheet_and_a_title_row(how):
    t = read("notes_first.xlsx", how)
    assert t.sheets == ["Notes", "Data", "Schools"]
    assert t.sheet == "Data"
    assert list(t.frame.columns) == ["pupil", "school", "score"]
    assert t.frame["score"].iloc[0] == 3.5
    assert has_note(t, "Skipped 1 row")


@pytest.mark.parametrize("how", HOW)
def test_xlsx_sheet_choice(how):
    t = read("notes_first.xlsx", how, sheet="Schools")
    assert t.sheet == "Schools"
    assert t.frame.to_dict("list") == {
        "school": ["A", "B"],
        "district": ["North", "South"],
        "size": [120, 80],
    }


def test_xlsx_unknown_sheet_lists_the_sheets():
    with pytest.raises(ReadError) as err:
        read("notes_first.xlsx", "bytes", sheet="Pupils")
    text = str(err.value)
    assert "'Pupils'" in text
    assert "'Notes', 'Data', 'Schools'" in text


def test_xlsx_chosen_sheet_empty():
    with pytest.raises(ReadError, match=r"Sheet1.*empty"):
        read("empty_first.xlsx", "bytes", sheet="Sheet1")


@pytest.mark.parametrize("how", HOW)
def test_xlsx_formulas_give_cached_values_and_dates_stay_dates(how):
    t = read("formulas.xlsx", how)
    f = t.frame
    assert t.sheet == "Scores"
    assert f["double"].tolist() == [7.0, 4.5, 8.0]
    assert f["band"].tolist() == ["high", "low", "high"]
    assert pd.api.types.is_datetime64_any_dtype(f["tested"])
    assert f["tested"].tolist() == [pd.Timestamp(2023, 3, d) for d in (15, 16, 17)]


def test_fingerprint_depends_on_bytes_and_sheet():
    a = read("notes_first.xlsx", "path")
    b = read("notes_first.xlsx", "bytes")
    c = read("notes_first.xlsx", "bytes", sheet="Data")
    d = read("notes_first.xlsx", "bytes", sheet="Schools")
    assert len(a.fingerprint) == 64
    assert a.fingerprint == b.fingerprint == c.fingerprint
    assert d.fingerprint != a.fingerprint
    assert read("comma.csv", "path").fingerprint != read("tabs.tsv", "path").fingerprint


def test_workbook_named_csv_is_read_as_a_workbook():
    data = (FILES / "empty_first.xlsx").read_bytes()
    t = read_table(data, name="data.csv")
    assert t.sheet == "Data"
    assert has_note(t, "Excel workbook despite its name")


# ------------------------------------------------------------------------- SPSS, Stata, Parquet


@pytest.mark.parametrize("filename", ["labels.sav", "labels.dta"])
@pytest.mark.parametrize("how", HOW)
def test_value_labels_become_categories(filename, how):
    t = read(filename, how)
    f = t.frame
    assert isinstance(f["sex"].dtype, pd.CategoricalDtype)
    assert f["sex"].tolist() == ["Male", "Female", "Male", "Female"]
    assert list(f["sex"].cat.categories) == ["Male", "Female"]
    assert f["score"].tolist() == SCORES
    assert f["school"].tolist() == ["A", "A", "B", "B"]
    # labelled only at the ends of the scale: the numbers are kept
    assert f["wellbeing"].tolist() == [0.0, 7.0, 10.0, 4.0]
    assert has_note(t, "value labels", "1 = Male")
    assert has_note(t, "wellbeing", "only some values")


def test_spss_and_stata_never_touch_the_disk(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("read_table wrote a temporary file")

    for fn in ("NamedTemporaryFile", "mkstemp", "TemporaryDirectory", "mkdtemp"):
        monkeypatch.setattr(tempfile, fn, refuse)
    for filename in ("labels.sav", "labels.dta", "data.parquet", "formulas.xlsx"):
        assert len(read(filename, "bytes").frame) >= 3


@pytest.mark.parametrize("how", HOW)
def test_parquet(how):
    t = read("data.parquet", how)
    f = t.frame
    assert f["pupil"].tolist() == [1, 2, 3, 4]
    assert f["score"].tolist() == SCORES
    assert f["school"].astype(str).tolist() == ["A", "A", "B", "B"]
    assert pd.api.types.is_datetime64_any_dtype(f["tested"])
    assert f["tested"].iloc[0] == pd.Timestamp(2023, 3, 13)


# --------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("filename", "words"),
    [
        ("empty.csv", "empty (0 bytes)"),
        ("header_only.csv", "no data rows"),
        ("image.csv", "binary data"),
        ("all_empty.xlsx", "Every sheet"),
    ],
)
@pytest.mark.parametrize("how", HOW)
def test_refusals(filename, words, how):
    with pytest.raises(ReadError) as err:
        read(filename, how)
    assert words in str(err.value)
    assert filename in str(err.value)
    assert isinstance(err.value, HLMError)


@pytest.mark.parametrize("name", ["data.xlsx", "data.sav", "data.dta", "data.parquet"])
def test_garbage_under_a_binary_name(name):
    with pytest.raises(ReadError, match=r"could not be (read|opened)"):
        read_table(b"this is not the format its name says" * 10, name=name)


def test_unknown_binary_lists_supported_formats():
    png = (FILES / "image.csv").read_bytes()
    with pytest.raises(ReadError, match="SPSS"):
        read_table(png, name="picture.png")


def test_old_excel_refused_with_advice():
    with pytest.raises(ReadError, match="xlsx"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, name="old.xls")
    with pytest.raises(ReadError, match="xlsx"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, name="old.csv")


def test_missing_path():
    with pytest.raises(ReadError, match="no file"):
        read_table(FILES / "does_not_exist.csv")


def test_blank_lines_only():
    with pytest.raises(ReadError, match="blank"):
        read_table(b"\n\n  \n", name="blank.csv")


# ------------------------------------------------------------------------- missing-value codes


def make_coded() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "score": [55.0, 62, 71, 999, 48, 999, 80, 99],  # 999 far out; 99 inside reach
            "age": [12, 13, -9, 12, 14, -9, 13, 12],  # -9 far below 12-14
            "once": [1.0, 2, 3, 4, 5, 6, 7, 999],  # appears once only: not a code
            "wide": [-500.0, 200, 999, 999, 300, 400, 0, 50],  # 999 inside the spread
            "name": list("abcdefgh"),
        }
    )


def test_detect_missing_codes():
    codes = detect_missing_codes(make_coded())
    assert codes == {"score": [999.0], "age": [-9.0]}


def test_apply_missing_codes():
    frame = make_coded()
    out = apply_missing_codes(frame, {"score": [999.0], "age": [-9.0]})
    assert out["score"].isna().sum() == 2
    assert out["score"].iloc[7] == 99
    assert out["age"].isna().sum() == 2
    assert frame["score"].iloc[3] == 999  # the input is not changed
    assert np.isnan(out["age"].iloc[2])
    with pytest.raises(ModelError, match="nope"):
        apply_missing_codes(frame, {"nope": [99.0]})


def test_formulas_without_saved_results_are_explained():
    # openpyxl writes formulas without cached results, as some export scripts do
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["a", "b", "total"])
    wb.active.append([1, 2, "=A2+B2"])
    wb.active.append([3, 4, "=A3+B3"])
    buffer = io.BytesIO()
    wb.save(buffer)
    t = read_table(buffer.getvalue(), name="script.xlsx")
    assert t.frame["total"].isna().all()
    assert has_note(t, "'total'", "formulas", "never saved")


def test_text_saved_under_an_xls_name_is_read():
    t = read_table(b"a\tb\n1\t2\n", name="report.xls")
    assert t.frame["b"].tolist() == [2]
    assert has_note(t, "plain text despite")
