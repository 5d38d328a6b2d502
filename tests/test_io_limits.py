"""Limits before expansion (issue 12.2/12.5): each refusal names the limit and how to get under
it; the limits follow the HLM_* environment variables; odd encodings and Arrow types are read.

The full-size files of the outside audit (a 50 MB line, a 400 MB cell, 4M rows ...) are timed in
benchmarks/bench_hostile.py; here the same checks run on small files with lowered limits.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hlm_core import limits
from hlm_core.errors import ModelError, ReadError
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import read_table
from tests.corpus import hostile_files


def frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"class": [f"c{i % 6}" for i in range(n)],
                         "x": np.round(rng.normal(size=n), 3),
                         "score": np.round(rng.normal(50, 5, n), 2)})


def csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def test_limits_follow_the_environment(monkeypatch):
    assert limits.current().max_columns == 5_000
    monkeypatch.setenv("HLM_MAX_COLUMNS", "2")
    monkeypatch.setenv("HLM_MAX_CELLS", "1_000")
    assert limits.current().max_columns == 2 and limits.current().max_cells == 1000
    with pytest.raises(ReadError, match=r"has 3 columns; this app reads at most 2\. Export only"):
        read_table(csv(frame()), name="a.csv")
    monkeypatch.setenv("HLM_MAX_COLUMNS", "not a number")
    assert limits.current().max_columns == 5_000  # a mistyped setting keeps the default


def test_cells_are_counted_before_parsing(monkeypatch):
    monkeypatch.setenv("HLM_MAX_CELLS", "100")
    with pytest.raises(ReadError, match=r"about 61 rows x 3 columns = 183 cells; this app reads "
                                        r"at most 100\. Export fewer rows"):
        read_table(csv(frame()), name="a.csv")


def test_a_line_longer_than_the_limit_is_refused_before_parsing(monkeypatch):
    monkeypatch.setenv("HLM_MAX_LINE_BYTES", "10000")
    data = csv(frame()) + b"c1,1," + b"9" * 20_000 + b"\n"
    with pytest.raises(ReadError, match=r"has a line of 20,00\d characters; this app reads"):
        read_table(data, name="a.csv")


def test_a_ragged_row_wider_than_the_limit_is_refused(monkeypatch):
    monkeypatch.setenv("HLM_MAX_COLUMNS", "50")
    data = csv(frame()) + b"c1,1,2" + b",x" * 100 + b"\n"
    with pytest.raises(ReadError, match="columns; this app reads at most 50"):
        read_table(data, name="a.csv")


def test_workbook_limits(monkeypatch):
    rows = [["class", "score"]] + [[f"c{i}", i] for i in range(30)]
    book = hostile_files.xlsx(hostile_files.sheet(rows, dimension="A1:B31"))
    assert read_table(book, name="ok.xlsx").frame.shape == (30, 2)
    monkeypatch.setenv("HLM_MAX_CELLS", "40")
    with pytest.raises(ReadError, match=r"reaches 31 rows x 2 columns = 62 cells; this app reads"
                                        r" at most 40\. Delete stray cells"):
        read_table(book, name="ok.xlsx")
    # no declared size: the rows are counted as they stream in
    book = hostile_files.xlsx(hostile_files.sheet(rows))
    with pytest.raises(ReadError, match=r"has reached .* cells; this app reads at most 40"):
        read_table(book, name="nodim.xlsx")


def test_unpacked_size_and_long_cells(monkeypatch):
    book = hostile_files.long_cell_xlsx(chars=3_000)
    assert read_table(book, name="a.xlsx").frame["class"].iloc[0] == "A" * 3_000
    monkeypatch.setenv("HLM_MAX_CELL_CHARS", "1000")
    with pytest.raises(ReadError, match="holds a cell with more than 1,000 characters"):
        read_table(book, name="a.xlsx")
    monkeypatch.setenv("HLM_MAX_UNZIPPED_BYTES", "2000")
    with pytest.raises(ReadError, match=r"unpacks to 5.3 KB, more than the 2 KB this app reads"):
        read_table(book, name="a.xlsx")


@pytest.mark.parametrize("archive, words", [
    ({"word/document.xml": "<w/>", "[Content_Types].xml": "<t/>"}, "is a Word document"),
    ({"mimetype": "application/vnd.oasis.opendocument.spreadsheet"}, "is an OpenDocument"),
    ({"a.csv": "x,y\n1,2\n", "b.csv": "x\n", "c.txt": "", "d.csv": ""},
     "is a zip archive (holding 'a.csv', 'b.csv', 'c.txt' ...), not a table. Unzip it first"),
])
def test_zips_that_are_not_workbooks_are_named(archive, words):
    with pytest.raises(ReadError) as err:
        read_table(hostile_files._zip(archive), name="f.xlsx")
    assert words in str(err.value)


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-le", "utf-32-be", "utf-16-le",
                                      "utf-16-be"])
def test_wide_encodings_with_and_without_a_byte_order_mark(encoding):
    df = frame().assign(name=["Zoë", "Ørjan", "Αλέξης"] * 20)
    table = read_table(df.to_csv(index=False).encode(encoding), name="a.csv")
    assert list(table.frame.columns) == ["class", "x", "score", "name"]
    assert table.frame["name"].tolist()[:3] == ["Zoë", "Ørjan", "Αλέξης"]
    assert table.frame["score"].sum() == pytest.approx(df["score"].sum())


def test_parquet_types_are_read_or_left_out_in_words():
    n = 6
    table = pa.table({
        "big": pa.array([10**30] * n, pa.decimal256(40, 0)),
        "half": pa.array(np.ones(n, dtype=np.float16)),
        "when": pa.array([dt.datetime(2024, 1, 1, 12)] * n, pa.timestamp("ns", tz="UTC")),
        "far": pa.array([dt.datetime(3000, 1, 1)] * n, pa.timestamp("us")),
        "blob": pa.array([b"\xff\x00"] * n),
        "nested": pa.array([[[1]]] * n),
        "nothing": pa.nulls(n),
    })
    out = io.BytesIO()
    pq.write_table(table, out)
    got = read_table(out.getvalue(), name="t.parquet")
    f = got.frame
    assert f["big"].iloc[0] == pytest.approx(1e30)
    assert f["half"].dtype == float and f["far"].iloc[0].year == 3000
    assert f["when"].iloc[0] == pd.Timestamp("2024-01-01 12:00")
    assert "blob" not in f and "nested" not in f
    text = "\n".join(got.notes)
    assert "Left out 'blob': it holds raw bytes (binary data)" in text
    assert "Left out 'nested': it holds lists of values" in text


def test_parquet_with_no_usable_column():
    out = io.BytesIO()
    pq.write_table(pa.table({"a": pa.array([[1], [2]])}), out)
    with pytest.raises(ReadError, match="has no column of numbers, text or dates"):
        read_table(out.getvalue(), name="t.parquet")


def test_design_budget_follows_the_environment(monkeypatch):
    df = frame(600)
    spec = parse_formula("score ~ x + (x | class)")
    assert fit(df, spec).nobs == 600
    monkeypatch.setenv("HLM_MAX_DESIGN_BYTES", "19000")
    with pytest.raises(ModelError, match=r"would need about 19.4 KB of memory \(600 rows, 2 "
                                         r"fixed-effect columns, 12 random effects\), more than "
                                         r"the 19 KB allowed"):
        fit(df, spec)


def test_level_limit_follows_the_environment(monkeypatch):
    df = frame(600)
    monkeypatch.setenv("HLM_MAX_FACTOR_LEVELS", "5")
    with pytest.raises(ModelError, match="'class' has 6 different text values, too many for a "
                                         r"predictor \(the limit is 5\)"):
        fit(df, parse_formula("score ~ class + (1 | x)"))


def test_a_csv_cell_longer_than_the_limit(monkeypatch):
    monkeypatch.setenv("HLM_MAX_CELL_CHARS", "5000")
    ok = b"id,comment\n1," + b"x" * 4_000 + b"\n2,short\n"
    assert read_table(ok, name="c.csv").frame["comment"].str.len().max() == 4_000
    with pytest.raises(ReadError, match=r"holds a cell with more than 5,000 characters \(at "
                                        r"least 9,000\)"):
        read_table(b"id,comment\n1," + b"x" * 9_000 + b"\n2,short\n", name="c.csv")
