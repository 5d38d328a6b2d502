"""Hostile and unusual uploads for the corpus (issues 12 and 17): small files that used to crash
the reader, exhaust memory or time, or carry text meant to be run or rendered.

Called by make_corpus.main; every file stays small on disk (the bombs are small compressed or
declare far more than they hold). tests/corpus/hostile_cases.py says what the user must see.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import zipfile

import numpy as np
import pandas as pd


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _pupils(n: int = 60, seed: int = 41) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    klass = np.repeat([f"7{c}" for c in "ABCDEF"], n // 6)
    hours = np.round(rng.normal(5, 2, n).clip(0, 12), 1)
    effect = dict(zip([f"7{c}" for c in "ABCDEF"], rng.normal(0, 4, 6), strict=True))
    score = 50 + 3 * hours + np.array([effect[k] for k in klass]) + rng.normal(0, 6, n)
    return pd.DataFrame({"pupil": np.arange(1, n + 1), "class": klass, "hours": hours,
                         "score": np.round(score, 1)})


def _zip(parts: dict[str, bytes | str], level: int = 9) -> bytes:
    """A zip with fixed timestamps (reproducible bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, content in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, content, compresslevel=level)
    return out.getvalue()


_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def xlsx(sheet_xml: str | bytes, shared: str | bytes | None = None) -> bytes:
    """A minimal workbook around one worksheet's XML (and optional shared strings)."""
    shared_ct = (f'<Override PartName="/xl/sharedStrings.xml" '
                 f'ContentType="{_CT}.sharedStrings+xml"/>' if shared is not None else "")
    shared_rel = (f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" '
                  'Target="sharedStrings.xml"/>' if shared is not None else "")
    parts: dict[str, bytes | str] = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
            f"{shared_ct}</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<workbook {_NS} xmlns:r="{_REL}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f"{shared_rel}</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    if shared is not None:
        parts["xl/sharedStrings.xml"] = shared
    return _zip(parts)


def _cell(ref: str, value) -> str:
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def _col(j: int) -> str:
    name = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        name = chr(65 + r) + name
    return name


def sheet(rows: list[list], dimension: str | None = None) -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    body = "".join(
        f'<row r="{i}">' + "".join(_cell(f"{_col(j)}{i}", v) for j, v in enumerate(r)
                                   if v is not None) + "</row>"
        for i, r in enumerate(rows, start=1)
    )
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f"<worksheet {_NS}>{dim}<sheetData>{body}</sheetData></worksheet>")


# ------------------------------------------------------------------------------ 17.1, 12.5


def mixed_ids_xlsx() -> bytes:
    """Pupil IDs typed partly as numbers, partly as text with leading zeros (Excel keeps both)."""
    base = _pupils()
    rows: list[list] = [["pupil_id", "class", "hours", "score"]]
    for i, r in enumerate(base.itertuples(index=False)):
        pid = f"{r.pupil + 9:04d}" if i % 5 == 2 else r.pupil + 9
        rows.append([pid, r[1], float(r.hours), float(r.score)])
    return xlsx(sheet(rows))


def parquet_types() -> bytes:
    """A data platform's Parquet export: decimals, zoned timestamps, durations, times, dates,
    dictionary text, bytes, lists, structs and maps."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = _pupils()
    n = len(base)
    start = dt.datetime(2024, 3, 4, 9, 0)
    table = pa.table({
        "pupil": pa.array(base["pupil"].to_numpy(), pa.int32()),
        "class": pa.array(base["class"].tolist()).dictionary_encode(),
        "hours": pa.array([decimal.Decimal(f"{h:.1f}") for h in base["hours"]],
                          pa.decimal128(4, 1)),
        "score": pa.array([decimal.Decimal(f"{s:.1f}") for s in base["score"]],
                          pa.decimal128(5, 1)),
        "tested_at": pa.array([start + dt.timedelta(minutes=7 * i) for i in range(n)],
                              pa.timestamp("us", tz="Europe/London")),
        "time_taken": pa.array([(20 + i % 15) * 60_000 for i in range(n)], pa.duration("ms")),
        "start_time": pa.array([dt.time(9 + i % 3, 15) for i in range(n)], pa.time64("us")),
        "test_date": pa.array([dt.date(2024, 3, 4 + i % 5) for i in range(n)], pa.date32()),
        "note": pa.array([b"ok" for _ in range(n)], pa.binary()),
        "answers": pa.array([[1, 2, 3] for _ in range(n)], pa.list_(pa.int8())),
        "meta": pa.array([{"room": i % 4} for i in range(n)]),
        "tags": pa.array([[("k", i)] for i in range(n)], pa.map_(pa.string(), pa.int64())),
    })
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


# ------------------------------------------------------------------------------ 12.3, 12.5


def utf32(bom: bool) -> bytes:
    text = _csv(_pupils()).decode()
    return text.encode("utf-32" if bom else "utf-32-le")


def huge_values() -> bytes:
    """1e308 typed into a predictor (an export's 'no value' marker gone wrong)."""
    frame = _pupils()
    frame["hours"] = frame["hours"].astype(object)
    frame.loc[7, "hours"] = "1e308"
    return _csv(frame)


def nul_in_numbers() -> bytes:
    """A number column with one NUL byte after the first 64 KB: text with thousands of values."""
    rng = np.random.default_rng(43)
    n = 4400
    x = np.round(rng.normal(0, 1, n), 4)
    lines = ["class,x,score"] + [
        f"c{i % 60:02d},{x[i]},{50 + 3 * x[i] + rng.normal(0, 2):.2f}" for i in range(n)
    ]
    assert len("\n".join(lines[:4000])) > 65_536
    first, _, rest = lines[4000].partition(",")
    lines[4000] = f"{first},-1.\x00,{rest.partition(',')[2]}"
    return ("\n".join(lines) + "\n").encode("utf-8")


def items_in_classes(n: int, classes: int, items: int, seed: int) -> bytes:
    """Test items answered in classes: `n` rows, a text item code with `items` values."""
    rng = np.random.default_rng(seed)
    return _csv(pd.DataFrame({"class": [f"c{i % classes:03d}" for i in range(n)],
                              "item": [f"i{i % items:04d}" for i in range(n)],
                              "score": np.round(rng.normal(50, 10, n), 1)}))


def many_levels() -> bytes:
    """A text predictor with 2,000 different values (an item code used as a predictor)."""
    return items_in_classes(4000, 50, 2000, seed=44)


def item_by_class() -> bytes:
    """Fifty test items as uncorrelated random slopes over 250 classes: 12,500 random effects."""
    return items_in_classes(2500, 250, 50, seed=45)


# ------------------------------------------------------------------------------ 12.2, 17.8


def far_cell_xlsx() -> bytes:
    """A small table plus one stray cell at XFD1048576: the declared area is 17 billion cells."""
    rows: list[list] = [["class", "score"]] + [[f"7{c}", 50 + i] for i, c in enumerate("ABCD")]
    xml = sheet(rows, dimension="A1:XFD1048576")
    xml = xml.replace("</sheetData>",
                      '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')
    return xlsx(xml)


def wide_xlsx() -> bytes:
    """200 rows declared over all 16,384 columns (a sheet formatted to its last column)."""
    rows: list[list] = [["class", "score"]] + [[f"7{c}", 50 + i] for i, c in enumerate("ABCD")]
    return xlsx(sheet(rows, dimension="A1:XFD200"))


def long_cell_xlsx(chars: int = 20_000_000) -> bytes:
    """One shared-string cell of 20 million characters in a ~20 KB file (a 'zip bomb')."""
    rows: list[list] = [["class", "score"], ["7A", 50], ["7B", 51]]
    xml = sheet(rows).replace('<c r="A2" t="inlineStr"><is><t>7A</t></is></c>',
                              '<c r="A2" t="s"><v>0</v></c>')
    shared = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst {_NS} count="1" '
              f'uniqueCount="1"><si><t>{"A" * chars}</t></si></sst>')
    return xlsx(xml, shared=shared)


def too_many_rows_xlsx(n: int = 1_100_000) -> bytes:
    """More rows than Excel allows (1,048,576), each one cell, written without row numbers."""
    body = "<row><c><v>1</v></c></row>" * n
    xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet {_NS}>'
           f"<sheetData><row><c t=\"inlineStr\"><is><t>score</t></is></c></row>{body}"
           "</sheetData></worksheet>")
    return xlsx(xml)


def many_duplicate_names() -> bytes:
    """4,000 columns all headed 'q' (a survey export that lost its item numbers)."""
    header = ",".join(["class", "score"] + ["q"] * 4000)
    rows = [",".join([f"7{c}", str(50 + i)] + [str((i + j) % 5) for j in range(4000)])
            for i, c in enumerate("ABCDEF")]
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def too_many_columns() -> bytes:
    """6,000 columns (a whole item bank exported at once)."""
    header = ",".join(["class", "score"] + [f"i{j}" for j in range(5998)])
    rows = [",".join([f"7{c}", str(50 + i)] + ["1"] * 5998) for i, c in enumerate("AB")]
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def zipped_csv() -> bytes:
    """A CSV zipped by the school's system and saved under a .csv name."""
    return _zip({"scores.csv": _csv(_pupils())})


def look_alike_names() -> bytes:
    """'score' twice, once with a zero-width space; and the file's own 'score.2'."""
    frame = _pupils()
    frame["score\u200b"] = frame["score"] + 1
    frame["score.2"] = frame["score"] + 2
    frame["hours\u202e"] = frame["hours"]
    return _csv(frame)


# ------------------------------------------------------------------------------ 17.7


def dates_and_times_csv() -> bytes:
    """A test log: test date (day/month/year), start time of day, ISO timestamps."""
    frame = _pupils()
    days = [4 + i % 5 for i in range(len(frame))]
    frame["test_date"] = [f"{d:02d}/03/2024" for d in days]
    frame["start_time"] = [f"{9 + i % 3:02d}:{(i * 7) % 60:02d}" for i in range(len(frame))]
    frame["logged_at"] = [f"2024-03-{d:02d}T10:{i % 60:02d}:00" for i, d in enumerate(days)]
    frame.loc[5, "start_time"] = ""
    return _csv(frame)


# ------------------------------------------------------------------------------ 17.4


ESCAPE_ID = "\x1b]0;PWNED\x07Z\x1b[2J"  # sets the terminal's title, then clears the screen


def escape_codes_csv() -> bytes:
    """Terminal escape sequences in a class ID and a column name."""
    frame = _pupils(n=300, seed=46)
    frame["class"] = frame["class"].where(~frame.index.isin([5, 6, 7]), ESCAPE_ID)
    frame = frame.rename(columns={"hours": "hours\x1b[31m"})
    return _csv(frame)


def write_all(write) -> None:
    """Write every hostile corpus file through `write(name, bytes)`."""
    write("mixed_ids.xlsx", mixed_ids_xlsx())
    write("parquet_types.parquet", parquet_types())
    write("utf32_bom.csv", utf32(bom=True))
    write("utf32_no_bom.csv", utf32(bom=False))
    write("huge_values.csv", huge_values())
    write("nul_in_numbers.csv", nul_in_numbers())
    write("many_levels.csv", many_levels())
    write("item_by_class.csv", item_by_class())
    write("far_cell.xlsx", far_cell_xlsx())
    write("wide_sheet.xlsx", wide_xlsx())
    write("long_cell.xlsx", long_cell_xlsx())
    write("too_many_rows.xlsx", too_many_rows_xlsx())
    write("duplicate_names_4000.csv", many_duplicate_names())
    write("columns_6000.csv", too_many_columns())
    write("zipped.csv", zipped_csv())
    write("look_alike_names.csv", look_alike_names())
    write("dates_and_times.csv", dates_and_times_csv())
    write("escape_codes.csv", escape_codes_csv())
