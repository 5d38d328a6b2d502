"""Corpus cases for hostile and unusual uploads (issues 12 and 17); see tests/corpus/cases.py
for what each field means. The files are written by tests/corpus/hostile_files.py."""

from __future__ import annotations

from tests.corpus.cases import Case

HOSTILE: list[Case] = [
    # ---- 17.1: real data that crashed the reader
    Case("mixed-ids-xlsx", "mixed_ids.xlsx", "upload",
         "Excel IDs typed partly as numbers, partly as text with leading zeros ('0012')",
         notes=("Kept 'pupil_id' as text because the values have leading zeros",),
         kinds={"pupil_id": "text", "score": "number"},
         values={"pupil_id": ("10", "11", "0012", "13")}),
    Case("mixed-ids-fit", "mixed_ids.xlsx", "fit", "the mixed-ID workbook fitted",
         formula="score ~ hours + (1 | class)", nobs=60, groups={"class": 6}),
    Case("parquet-types", "parquet_types.parquet", "upload",
         "a data platform's Parquet export: decimals, zoned timestamps, durations, lists ...",
         notes=("Read exact decimals as ordinary numbers: 'hours', 'score'",
                "Read date-times as the clock time in their time zone (Europe/London)",
                "Read durations as numbers of minutes: 'time_taken'",
                "Left out 'answers': it holds lists of values"),
         kinds={"hours": "number", "score": "number", "tested_at": "date", "test_date": "date",
                "class": "text", "time_taken": "number"},
         values={"hours": (2.5, 5.5), "time_taken": (20.0, 21.0),
                 "test_date": ("2024-03-04", "2024-03-05")}),
    Case("parquet-decimal-fit", "parquet_types.parquet", "fit", "decimal columns in a model",
         formula="score ~ hours + (1 | class)", nobs=60, groups={"class": 6},
         terms=("(Intercept)", "hours")),
]
