"""Write the bad-input corpus in tests/corpus/files/ (run once; the outputs are committed).

    python tests/corpus/make_corpus.py

Each file is what a school analyst really sends us: exports from school information systems,
Excel in several languages, SPSS, survey platforms. Most are a few KB; the 1,000-column file and
the file with the huge header row are small in rows. `tests/corpus/cases.py` says what the user
does with each one and what they must see. The output is byte-for-byte reproducible (fixed
seeds, fixed timestamps inside the workbooks and SPSS/Stata files).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat

if __package__ in (None, ""):  # run as a script: make `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.corpus import analysis_files, hostile_files
from tests.fixtures.make_files import _workbook, tiny_png

OUT = Path(__file__).parent / "files"
SCHOOLS = ["Abbey", "Brook", "Castle", "Dale", "Elm", "Ford"]


# ------------------------------------------------------------------------------ data


def pupils(
    n_schools: int = 4,
    classes_per_school: int = 3,
    per_class: int = 10,
    seed: int = 1,
    class_sd: float = 4.0,
    reuse_class_ids: bool = False,
) -> pd.DataFrame:
    """Pupils in classes in schools: score (0-100) rises with study hours and SES."""
    rng = np.random.default_rng(seed)
    rows = []
    pid = 1000
    for s in range(n_schools):
        school = SCHOOLS[s]
        for c in range(classes_per_school):
            letter = "ABCDEFGH"[c]
            klass = f"7{letter}" if reuse_class_ids else f"{school[:2].upper()}7{letter}"
            class_effect = rng.normal(0, class_sd)
            for _ in range(per_class):
                pid += 1
                hours = float(np.clip(rng.normal(5, 2), 0, 12))
                ses = float(rng.normal(0, 1))
                score = 50 + 3 * hours + 4 * ses + class_effect + rng.normal(0, 8)
                rows.append(
                    {
                        "pupil_id": pid,
                        "class": klass,
                        "school": school,
                        "sex": rng.choice(["F", "M"]),
                        "hours": round(hours, 1),
                        "ses": round(ses, 2),
                        "score": round(float(np.clip(score, 0, 100)), 1),
                    }
                )
    return pd.DataFrame(rows)


def csv_bytes(frame: pd.DataFrame, sep: str = ",", decimal: str = ".", **kw) -> bytes:
    text = frame.to_csv(index=False, sep=sep, decimal=decimal, lineterminator="\n", **kw)
    return text.encode("utf-8")


def write(name: str, data: bytes) -> None:
    (OUT / name).write_bytes(data)


# ------------------------------------------------------------------------------ text files


def text_files() -> None:
    base = pupils()

    # the good file most model actions run on: an export from a school information system
    good = base.copy()
    good["minutes"] = (good["hours"] * 60).round(0).astype(int)  # the same thing as hours
    good["grade"] = pd.cut(good["score"], [-1, 40, 55, 70, 85, 101], labels=list("EDCBA"))
    good["year"] = 2024  # the same in every row
    good["retest"] = ""  # the second sitting has not happened yet: an empty column
    write("class_scores.csv", csv_bytes(good))

    write("empty.csv", b"")
    write("blank_lines.csv", b"\r\n\r\n   \r\n\r\n")
    write("header_only.csv", b"pupil_id,class,school,score\r\n")
    write("photo.csv", tiny_png())  # a class photo renamed to .csv
    write("scores_pdf.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    write("old_excel.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))  # BIFF8 header
    # school systems often "export to Excel" as an HTML table under an .xls name
    html = "<html><body><table><tr><th>pupil_id</th><th>class</th><th>score</th></tr>"
    html += "".join(
        f"<tr><td>{r.pupil_id}</td><td>{r._2}</td><td>{r.score}</td></tr>"
        for r in base.head(12).itertuples()
    )
    write("webpage_export.xls", (html + "</table></body></html>\n").encode("utf-8"))
    # a workbook saved under a .csv name (the bytes say what it is)
    wb = _workbook()
    _append_frame(wb.active, base.head(40))
    buffer = io.BytesIO()
    wb.save(buffer)
    write("workbook_named.csv", _fixed_zip(buffer.getvalue()))
    # a CSV someone renamed to .xlsx by hand
    write("renamed_csv.xlsx", csv_bytes(base.head(40)))
    write("export.json", base.head(5).to_json(orient="records").encode("utf-8"))

    # one column: separated by a character we do not guess (colons)
    write("one_column.csv", csv_bytes(base.head(30)[["pupil_id", "class", "score"]], sep=":"))

    # three sittings of the same test, all headed "score"
    dup = base.head(40)[["pupil_id", "class", "score"]].copy()
    dup.columns = ["pupil_id", "class", "score"]
    dup["score2"] = (dup["score"] + 2).round(1)
    dup["score3"] = (dup["score"] - 1).round(1)
    text = dup.to_csv(index=False, lineterminator="\n").replace(
        "score,score2,score3", "score,score,score"
    )
    write("duplicate_names.csv", text.encode("utf-8"))

    # a blank header over a column of values, and trailing separators (Excel's empty columns)
    blank = base.head(40)[["pupil_id", "class", "hours", "score"]].copy()
    lines = ["pupil_id,class,,score,,"]
    lines += [f"{r.pupil_id},{r._2},{r.hours},{r.score},," for r in blank.itertuples()]
    write("blank_names.csv", ("\n".join(lines) + "\n").encode("utf-8"))

    # French column names with accents (UTF-8)
    fr = base.rename(
        columns={
            "pupil_id": "élève",
            "class": "classe",
            "school": "école",
            "sex": "sexe",
            "hours": "heures_étude",
            "score": "note_finale",
        }
    )
    write("unicode_names.csv", csv_bytes(fr))

    # emoji in column names (a survey platform's export)
    emo = base.rename(columns={"school": "🏫 school", "score": "score 📈", "hours": "hours ⏱"})
    write("emoji_names.csv", csv_bytes(emo))

    # spaces inside and around names
    sp = base.rename(
        columns={
            "pupil_id": "Pupil ID",
            "class": "  Class ID ",
            "school": "School",
            "hours": "Study hours",
            "score": "Math score",
        }
    )
    write("spaces_in_names.csv", csv_bytes(sp))

    # quotes (and a backtick) in names
    q = base.rename(
        columns={
            "hours": "pupil's hours",
            "ses": '"home" index',
            "score": "teacher`s mark",
        }
    )
    write("quotes_in_names.csv", csv_bytes(q))

    # names that are formula syntax
    sym = base.rename(columns={"score": "score ~ x", "hours": "a+b", "class": "(1|g)"})
    sym["x*y"] = (sym["a+b"] * sym["ses"]).round(2)
    sym["log(hours)"] = np.log1p(sym["a+b"]).round(3)
    write("formula_symbols.csv", csv_bytes(sym))

    # names that try to run code (they must stay names)
    code = base.rename(
        columns={
            "score": "__import__('os').system('touch PWNED')",
            "hours": "{__import__('os')}",
            "class": '"); system("touch PWNED',
        }
    )
    write("code_in_names.csv", csv_bytes(code))

    # German export: semicolons, decimal commas, UTF-8 with a byte-order mark, CRLF
    de = base.rename(
        columns={
            "pupil_id": "Schüler",
            "class": "Klasse",
            "school": "Schule",
            "sex": "Geschlecht",
            "hours": "Lernstunden",
            "ses": "SES",
            "score": "Punkte",
        }
    )
    de_text = de.to_csv(index=False, sep=";", decimal=",", lineterminator="\r\n")
    write("semicolon_decimal_comma.csv", b"\xef\xbb\xbf" + de_text.encode("utf-8"))

    # Dutch export: tabs and decimal commas in a .txt
    nl = base.rename(
        columns={"pupil_id": "leerling", "class": "klas", "hours": "uren", "score": "cijfer"}
    )
    write("tab_decimal_comma.txt", csv_bytes(nl, sep="\t", decimal=","))

    # Latin-1 (ISO-8859-1): Spanish names and column names
    es = base.head(48).copy()
    es.insert(1, "nombre", [["José", "Begoña", "Iñaki", "Raúl"][i % 4] for i in range(48)])
    es = es.rename(columns={"class": "clase", "school": "escuela", "score": "puntuación"})
    write("latin1.csv", es.to_csv(index=False, lineterminator="\n").encode("latin-1"))

    # Windows-1252 (Excel's "CSV" on Western European Windows): € and curly apostrophes
    wn = base.head(48).copy()
    wn.insert(1, "surname", [["O’Brien", "D’Arcy", "Müller", "Łukasz"][i % 4] for i in range(48)])
    wn["surname"] = wn["surname"].str.replace("Łukasz", "Nuñez")  # Ł is not in cp1252
    wn["trip fee €"] = [12.5, 0, 7.25, 30][0:1] * 48
    body = wn.to_csv(index=False, lineterminator="\r\n")
    write("cp1252.csv", body.encode("cp1252"))

    # Excel's "Unicode text": UTF-16 LE with a byte-order mark, tabs, CRLF
    u16 = base.head(48).copy()
    u16.insert(1, "name", [["Zoë", "Ørjan", "Αλέξης", "Şule"][i % 4] for i in range(48)])
    text = u16.to_csv(index=False, sep="\t", lineterminator="\r\n")
    write("excel_unicode_text.txt", text.encode("utf-16"))

    # a value with a quote mark that is never closed: the rows after it are swallowed
    sq = base.head(20)[["pupil_id", "class", "score"]].copy()
    sq["comment"] = "ok"
    lines = ["pupil_id,class,score,comment"]
    for i, r in enumerate(sq.itertuples()):
        comment = '"absent on Monday' if i == 5 else r.comment
        lines.append(f"{r.pupil_id},{r._2},{r.score},{comment}")
    write("stray_quote.csv", ("\n".join(lines) + "\n").encode("utf-8"))

    # rows with more values than the header (an unquoted comma inside a comment)
    rr = base.head(30)[["pupil_id", "class", "score"]].copy()
    lines = ["pupil_id,class,score,comment"]
    for i, r in enumerate(rr.itertuples()):
        comment = "late, then ill" if i in (3, 17) else "fine"
        lines.append(f"{r.pupil_id},{r._2},{r.score},{comment}")
    write("ragged_rows.csv", ("\n".join(lines) + "\n").encode("utf-8"))

    # "absent" typed into the score column of three pupils
    ab = base.copy()
    ab["score"] = ab["score"].astype(object)
    ab.loc[[4, 40, 77], "score"] = "absent"
    write("outcome_with_absent.csv", csv_bytes(ab))

    # -999 for a missing score and 99 for a missing age (a survey export)
    mc = base.copy()
    rng = np.random.default_rng(11)
    mc["age"] = rng.integers(11, 14, len(mc))
    mc.loc[[3, 19, 58, 90], "score"] = -999
    mc.loc[[7, 33, 71], "age"] = 99
    mc.loc[[12], "score"] = 99  # a real score of 99: not a code
    write("missing_codes.csv", csv_bytes(mc))

    # 1,000 columns: a questionnaire with 997 items, 20 pupils
    rng = np.random.default_rng(12)
    n = 20
    wide = {
        "pupil_id": np.arange(1, n + 1),
        "class": np.repeat(["7A", "7B", "7C", "7D"], n // 4),
        "score": np.round(rng.normal(60, 10, n), 1),
    }
    items = rng.integers(1, 6, (n, 997))
    for j in range(997):
        wide[f"q{j + 1:04d}"] = items[:, j]
    write("survey_1000_columns.csv", csv_bytes(pd.DataFrame(wide)))

    # a huge header row: a survey platform writes each question's full text as its name
    rng = np.random.default_rng(13)
    n = 8
    long = {"pupil_id": np.arange(1, n + 1), "class": ["7A", "7B"] * (n // 2)}
    long["score"] = np.round(rng.normal(60, 10, n), 1)
    for j in range(300):
        question = (
            f"Q{j + 1}. Thinking about the last four weeks of school, how often, if at all, did "
            f"you feel that statement {j + 1} applied to you in lessons, at break times and "
            "when doing homework at home? (1 = never, 5 = always; leave blank if unsure)"
        )
        long[question] = rng.integers(1, 6, n)
    write("survey_long_header.csv", csv_bytes(pd.DataFrame(long)))


def model_files() -> None:
    # one school only
    write("one_school.csv", csv_bytes(pupils(n_schools=1, classes_per_school=4, seed=2)))
    # two schools
    write("two_schools.csv", csv_bytes(pupils(n_schools=2, classes_per_school=3, seed=3)))
    # a class with a single pupil (a new arrival in a class of her own)
    one = pupils(n_schools=2, classes_per_school=4, per_class=8, seed=4)
    one = pd.concat([one, one.head(1).assign(pupil_id=9999, **{"class": "AB7Z"})])
    write("class_of_one.csv", csv_bytes(one))
    # class labels 7A, 7B, 7C restart in every school
    write("reused_class_ids.csv", csv_bytes(pupils(n_schools=6, seed=5, reuse_class_ids=True)))
    # classes that do not differ at all: the class variance is estimated as zero
    write(
        "no_class_differences.csv",
        csv_bytes(pupils(n_schools=3, classes_per_school=3, per_class=8, seed=6, class_sd=0.0)),
    )
    # six subjects per class, each subject's effect free to vary between six classes: 21
    # covariance parameters from 120 rows; mixedlm's optimizer stops without converging
    rng = np.random.default_rng(7)
    k, g_n, per = 6, 6, 20
    g = np.repeat(np.arange(g_n), per)
    subj = np.tile(np.arange(k), g_n * per // k + 1)[: g_n * per]
    y = 50 + subj * 2 + rng.normal(0, 3, g_n)[g] + rng.normal(0, 5, g_n * per)
    subjects = np.array(["art", "biology", "chemistry", "drama", "english", "french"])
    six = pd.DataFrame(
        {"score": y.round(1), "subject": subjects[subj], "class": [f"7{'ABCDEF'[i]}" for i in g]}
    )
    write("six_subjects.csv", csv_bytes(six))
    # household income in Indonesian rupiah (hundreds of millions) with a random slope: the
    # scale breaks mixedlm's final factorization (lme4 warns "consider rescaling")
    rng = np.random.default_rng(1)
    g_n, per = 12, 15
    g = np.repeat(np.arange(g_n), per)
    x = rng.normal(5, 1, g_n * per)
    y = 50 + 2 * x + rng.normal(0, 1, g_n)[g] + rng.normal(0, 0.5, g_n)[g] * (x - 5)
    y = y + rng.normal(0, 5, g_n * per)
    income = pd.DataFrame(
        {
            "score": y.round(1),
            "income_idr": (x * 1e8).round(-3).astype(np.int64),
            "school": [SCHOOLS[i % 6] + str(i) for i in g],
        }
    )
    write("income_rupiah.csv", csv_bytes(income))


# ------------------------------------------------------------------------------ workbooks


def _save(wb: openpyxl.Workbook, name: str) -> None:
    buffer = io.BytesIO()
    wb.save(buffer)
    write(name, _fixed_zip(buffer.getvalue()))


def _fixed_zip(data: bytes) -> bytes:
    """The same zip with its timestamps fixed (entries, save time), so the bytes reproduce."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            content = src.read(item.filename)
            if item.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-01-01T00:00:00Z", content
                )
            dst.writestr(info, content)
    return out.getvalue()


def _append_frame(ws, frame: pd.DataFrame) -> None:
    ws.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        ws.append([v.item() if hasattr(v, "item") else v for v in row])


def excel_files() -> None:
    base = pupils(seed=21)

    # a merged title row (and a blank row) above the header
    wb = _workbook()
    ws = wb.active
    ws.title = "Results"
    ws.append(["Year 7 mathematics results, spring term 2024"])
    ws.merge_cells("A1:G1")
    ws.append([])
    _append_frame(ws, base)
    _save(wb, "merged_title.xlsx")

    # a two-row header: "Scores" merged over its two sittings
    wb = _workbook()
    ws = wb.active
    ws.title = "Results"
    ws.append(["pupil_id", "class", "school", "Scores", None])
    ws.append([None, None, None, "autumn", "spring"])
    ws.merge_cells("A1:A2")
    ws.merge_cells("B1:B2")
    ws.merge_cells("C1:C2")
    ws.merge_cells("D1:E1")
    for r in base.itertuples(index=False):
        ws.append([r.pupil_id, r[1], r.school, r.score, round(r.score + 3.0, 1)])
    _save(wb, "two_row_header.xlsx")

    # several sheets: a read-me first, then one sheet per year group
    wb = _workbook()
    ws = wb.active
    ws.title = "Read me"
    ws.append(["Assessment export"])
    ws.append(["One sheet per year group. Scores are percentages."])
    _append_frame(wb.create_sheet("Year 7"), base)
    _append_frame(wb.create_sheet("Year 8"), pupils(n_schools=3, seed=22))
    _save(wb, "several_sheets.xlsx")

    # no data anywhere
    wb = _workbook()
    wb.active.title = "Sheet1"
    wb.create_sheet("Sheet2")
    _save(wb, "empty_workbook.xlsx")

    # a header and nothing under it
    wb = _workbook()
    wb.active.append(["pupil_id", "class", "school", "score"])
    _save(wb, "header_only.xlsx")

    # dates: date of birth and test date as real Excel dates
    wb = _workbook()
    ws = wb.active
    ws.title = "Pupils"
    ws.append(["pupil_id", "class", "date_of_birth", "test_date", "score"])
    rng = np.random.default_rng(23)
    for r in base.itertuples(index=False):
        born = dt.datetime(2011, 9, 1) + dt.timedelta(days=int(rng.integers(0, 365)))
        tested = dt.datetime(2024, 3, 4) + dt.timedelta(days=int(rng.integers(0, 5)))
        ws.append([r.pupil_id, r[1], born, tested, r.score])
    for row in ws.iter_rows(min_row=2, min_col=3, max_col=4):
        for cell in row:
            cell.number_format = "dd/mm/yyyy"
    _save(wb, "dates.xlsx")

    # line breaks typed into header cells (Alt+Enter)
    wb = _workbook()
    ws = wb.active
    frame = base.rename(columns={"score": "Maths\nscore", "hours": "Study\nhours"})
    _append_frame(ws, frame)
    _save(wb, "header_line_breaks.xlsx")

    # formulas written by a script: no saved results, so the column arrives empty
    wb = _workbook()
    ws = wb.active
    ws.title = "Scores"
    ws.append(["pupil_id", "class", "paper1", "paper2", "total"])
    rng = np.random.default_rng(24)
    for i, r in enumerate(base.itertuples(index=False), start=2):
        ws.append([r.pupil_id, r[1], int(rng.integers(10, 50)), int(rng.integers(10, 50)),
                   f"=C{i}+D{i}"])
    _save(wb, "formulas_not_saved.xlsx")

    # formulas as Excel saves them (with cached results): the results are read
    write("formulas_saved.xlsx", formulas_saved(base))


def formulas_saved(base: pd.DataFrame) -> bytes:
    """An .xlsx as Excel writes it: formulas together with their cached results.

    openpyxl cannot write cached results, so the sheet XML is written by hand.
    """
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'

    def s(ref: str, text: str) -> str:
        return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'

    def n(ref: str, value: float) -> str:
        return f'<c r="{ref}"><v>{value}</v></c>'

    def f(ref: str, formula: str, cached: float) -> str:
        return f'<c r="{ref}"><f>{formula}</f><v>{cached}</v></c>'

    rng = np.random.default_rng(25)
    rows = [[s("A1", "pupil_id"), s("B1", "class"), s("C1", "paper1"), s("D1", "paper2"),
             s("E1", "total")]]
    for i, r in enumerate(base.itertuples(index=False), start=2):
        p1, p2 = int(rng.integers(10, 50)), int(rng.integers(10, 50))
        rows.append([n(f"A{i}", r.pupil_id), s(f"B{i}", r[1]), n(f"C{i}", p1), n(f"D{i}", p2),
                     f(f"E{i}", f"C{i}+D{i}", p1 + p2)])
    sheet_rows = "".join(f'<row r="{i}">{"".join(r)}</row>' for i, r in enumerate(rows, start=1))
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<workbook {ns} {rel_ns}><sheets><sheet name="Scores" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f"<worksheet {ns}><sheetData>{sheet_rows}</sheetData></worksheet>"
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for part, xml in parts.items():
            z.writestr(zipfile.ZipInfo(part, date_time=(2024, 1, 1, 0, 0, 0)), xml,
                       compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# ------------------------------------------------------------------------------ SPSS, Stata


def stats_files() -> None:
    base = pupils(n_schools=5, seed=31)
    frame = pd.DataFrame(
        {
            "pupil_id": base["pupil_id"].astype(float),
            "school": base["school"].map({s: i + 1 for i, s in enumerate(SCHOOLS)}).astype(float),
            "sex": base["sex"].map({"F": 1.0, "M": 2.0}),
            "hours": base["hours"],
            "score": base["score"],
            "wellbeing": np.random.default_rng(32).integers(0, 11, len(base)).astype(float),
        }
    )
    frame.loc[[5, 17], "score"] = 999.0  # SPSS user-missing code
    labels = {
        "school": {i + 1: s for i, s in enumerate(SCHOOLS[:5])},
        "sex": {1: "Female", 2: "Male"},
        "wellbeing": {0: "Not at all", 10: "Completely"},  # ends only: stays numeric
    }
    path = OUT / "labels.sav"
    pyreadstat.write_sav(
        frame,
        path,
        variable_value_labels=labels,
        column_labels=["Pupil", "School", "Sex", "Study hours", "Score", "Wellbeing"],
        missing_ranges={"score": [999.0]},
    )
    data = bytearray(path.read_bytes())
    assert data[:4] == b"$FL2"
    data[92:109] = b"01 Jan 2400:00:00"  # the header's creation date and time: fixed
    path.write_bytes(bytes(data))

    path = OUT / "labels.dta"
    frame.loc[[5, 17], "score"] = np.nan
    pyreadstat.write_dta(frame, path, variable_value_labels=labels)
    stamp = b"<timestamp>\x1101 Jan 2024 00:00</timestamp>"  # the save time: fixed
    data = re.sub(rb"<timestamp>.[^<]*</timestamp>", stamp, path.read_bytes())
    path.write_bytes(data)


def main(out: Path | None = None, quiet: bool = False) -> None:
    """Write every corpus file into `out` (default tests/corpus/files, emptied first)."""
    global OUT
    OUT = Path(out) if out is not None else Path(__file__).parent / "files"
    OUT.mkdir(exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    text_files()
    model_files()
    excel_files()
    stats_files()
    hostile_files.write_all(write)
    if out is None:  # the bad analysis files (.hlm.zip) live in tests/corpus/analysis/
        analysis_files.write_all()
    for path in sorted(OUT.iterdir()):
        size = path.stat().st_size
        assert size < 100_000, path
        if not quiet:
            print(f"{path.name:32} {size:>7,} bytes")


if __name__ == "__main__":
    main()
