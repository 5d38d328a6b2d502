"""Data page: uploads (csv, xlsx, a bad file), the example, types, missing values, structure."""

import numpy as np
import pandas as pd
from apphelpers import (
    FIXTURES,
    button,
    frame_by_key,
    go,
    new_app,
    state,
    texts,
    upload,
    widget,
    xlsx_bytes,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_csv_upload_shows_rows_columns_preview_and_summary(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    assert not at.error
    assert "exam.csv: 4,059 rows, 10 columns" in texts(at)
    preview = frame_by_key(at, "preview")
    assert list(preview.columns)[:3] == ["school", "normexam", "schgend"]
    summary = frame_by_key(at, "column_summary").set_index("Column")
    assert summary.loc["normexam", "Type"] == "number"
    assert summary.loc["sex", "Type"] == "category"
    assert summary.loc["school", "Distinct values"] == 65
    assert (summary["Missing"] == 0).all()
    assert state(at).table.name == "exam.csv"


def test_xlsx_upload_with_two_sheets_offers_a_sheet_picker(exam_csv):
    exam = pd.read_csv(FIXTURES / "exam.csv")
    notes = pd.DataFrame({"note": ["read me first"]})
    data = xlsx_bytes({"About": notes, "exam": exam})
    at = upload(new_app(), "exam.xlsx", data, XLSX)
    assert not at.error
    sheet = widget(at, "selectbox", "Sheet")
    assert sheet.options == ["About", "exam"]
    if sheet.value != "exam":
        sheet.set_value("exam").run()
    assert not at.exception
    assert "4,059 rows, 10 columns" in texts(at)
    assert widget(at, "selectbox", "Sheet").value == "exam"


def test_unreadable_file_shows_a_plain_error_and_the_app_stays_usable():
    at = upload(new_app(), "scores.csv", b"")
    assert len(at.error) == 1
    assert "empty" in at.error[0].value
    assert "Traceback" not in at.error[0].value
    button(at, "Use example data").click().run()
    assert not at.error
    assert "Example: classroom: 500 rows, 5 columns" in texts(at)


def test_example_data_and_its_structure():
    at = new_app()
    button(at, "Use example data").click().run()
    assert not at.exception and not at.error
    t = texts(at)
    assert "500 rows, 5 columns" in t
    assert widget(at, "multiselect", "Grouping columns (smallest group first)").value == ["class"]
    assert "7 classes" in t
    summary = frame_by_key(at, "column_summary").set_index("Column")
    assert summary.loc["parent.ed", "Missing"] == 6
    assert list(summary.index) == ["score", "exam.prep.days", "poverty", "parent.ed", "class"]


def test_switch_a_column_between_number_and_category(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    cats = widget(at, "multiselect", "Categorical columns")
    assert "school" not in cats.value
    cats.set_value([*cats.value, "school"]).run()
    summary = frame_by_key(at, "column_summary").set_index("Column")
    assert summary.loc["school", "Type"] == "category"
    # a text column can't become numbers: plain error, it stays a category
    cats = widget(at, "multiselect", "Categorical columns")
    cats.set_value([c for c in cats.value if c != "sex"]).run()
    assert not at.exception
    assert any("'sex' holds text" in e.value for e in at.error)
    summary = frame_by_key(at, "column_summary").set_index("Column")
    assert summary.loc["sex", "Type"] == "category"


def test_structure_check_for_nested_levels():
    rng = np.random.default_rng(1)
    rows = []
    for s in range(6):
        for c in range(1, 4):  # class ids 1-3 restart in every school
            for _ in range(5):
                rows.append({"school": f"S{s}", "class": c, "y": rng.normal()})
    data = pd.DataFrame(rows).to_csv(index=False).encode()
    at = upload(new_app(), "nested.csv", data)
    widget(at, "multiselect", "Grouping columns (smallest group first)").set_value(
        ["class", "school"]
    ).run()
    assert not at.exception
    t = texts(at)
    assert "18 classes" in t or "18 class" in t, t
    assert "6 schools" in t


def test_missing_value_codes_can_be_treated_as_missing():
    rng = np.random.default_rng(2)
    score = rng.normal(50, 10, 200).round(1)
    score[:5] = 999
    frame = pd.DataFrame({"score": score, "class": np.repeat([f"c{i}" for i in range(10)], 20)})
    at = upload(new_app(), "codes.csv", frame.to_csv(index=False).encode())
    assert any("999" in w.value for w in at.warning)
    widget(at, "checkbox", "Treat these codes as missing").check().run()
    summary = frame_by_key(at, "column_summary").set_index("Column")
    assert summary.loc["score", "Missing"] == 5
    go(at, "model")
    go(at, "data")  # the choice survives a page change
    assert widget(at, "checkbox", "Treat these codes as missing").value is True


def test_reading_decisions_are_shown_with_counts_as_plain_text():
    """Spaces trimmed in IDs (labels merged), cells read as missing, zero-padded codes kept as
    categories: each said on the Data page, with counts; a value with Markdown stays text."""
    csv = (
        b"pupil,school,score\n"
        b"**P1** ,01,5\n**P1**,01,6\nP2,02,.\nP2 ,02,N/A\nP3,03,\nP3,10,8\n"
    )
    at = upload(new_app(), "quirks.csv", csv)
    shown = texts(at)  # as the reader sees it
    assert "'pupil': spaces before or after 2 values were removed" in shown
    assert "2 labels that differed from another only by spaces" in shown
    assert "Read as missing: 1 '.', 1 'N/A' and 1 empty cell" in shown
    assert "'school' as text because the values have leading zeros" in shown
    assert "'**P1** ' is read as" in shown
    captions = "\n".join(str(c.value) for c in at.caption)
    assert "'\\*\\*P1\\*\\* ' is read as" in captions  # escaped: shows as typed, not bold
