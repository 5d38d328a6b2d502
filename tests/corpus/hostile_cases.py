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
    # ---- 12.5: encodings and numbers that used to come out as garbage or numpy's warnings
    Case("utf-32-bom", "utf32_bom.csv", "upload", "a CSV saved as UTF-32 with a byte-order mark",
         notes=("Text encoding: UTF-32 with a byte-order mark",),
         columns=("pupil", "class", "hours", "score"), values={"score": (67.9, 74.3)}),
    Case("utf-32-no-bom", "utf32_no_bom.csv", "fit", "UTF-32 without a byte-order mark, fitted",
         formula="score ~ hours + (1 | class)", nobs=60, groups={"class": 6}),
    Case("huge-values", "huge_values.csv", "fit", "1e308 typed into a predictor",
         formula="score ~ hours + (1 | class)",
         error="'hours' has values too large to compute with (up to 1e+308). Check the column "
               "for mistyped entries"),
    # ---- 12.3: predictors that would build gigabyte design matrices
    Case("nul-in-numbers", "nul_in_numbers.csv", "fit",
         "a number column with one NUL byte after 64 KB, used as a predictor",
         formula="score ~ x + (1 | class)",
         error="If it should be a number, 1 entry is not a number: row 4,000 '-1.\\x00'"),
    Case("many-levels", "many_levels.csv", "fit", "a text predictor with 2,000 values",
         formula="score ~ item + (1 | class)",
         error="'item' has 2,000 different text values, too many for a predictor (the limit is "
               "200). If it identifies a group, use it as a grouping variable"),
    Case("item-by-class", "item_by_class.csv", "fit",
         "fifty items as uncorrelated random slopes over 250 classes",
         formula="score ~ 1 + (item || class)",
         error="The random part for 'class' has 12,500 random effects but only 2,500 rows "
               "(250 groups x 50: itemi0000, itemi0001, itemi0002, itemi0003, itemi0004 and 45 "
               "more), so it can't be estimated (lme4 refuses it too)"),
    # ---- 12.2: limits checked before anything is expanded
    Case("far-cell", "far_cell.xlsx", "upload",
         "a small table and one stray cell at XFD1048576 (2 KB; used to take 6.5 GB)",
         error="Sheet 'Sheet1' of far_cell.xlsx reaches column 16,384; this app reads at most "
               "5,000 columns. Delete stray cells far to the right of the table"),
    Case("wide-sheet", "wide_sheet.xlsx", "upload",
         "a sheet declaring 200 rows over all 16,384 columns",
         error="reaches column 16,384; this app reads at most 5,000 columns"),
    Case("long-cell", "long_cell.xlsx", "upload",
         "one cell of 20 million characters in a 20 KB workbook (a zip bomb)",
         error="long_cell.xlsx holds a cell with more than 1,000,000 characters"),
    Case("too-many-rows", "too_many_rows.xlsx", "upload",
         "1.1 million rows in a 70 KB workbook, more than Excel allows",
         error="beyond what Excel allows (1,048,576 x 16,384)"),
    Case("columns-6000", "columns_6000.csv", "upload", "a whole item bank: 6,000 columns",
         error="columns_6000.csv has 6,000 columns; this app reads at most 5,000. Export only "
               "the columns you need"),
    Case("duplicate-names-4000", "duplicate_names_4000.csv", "upload",
         "4,000 columns all headed 'q' (used to take minutes: renaming was quadratic)",
         notes=("The column name 'q' appears more than once; the repeats were renamed 'q.2', "
                "'q.3', 'q.4', 'q.5', 'q.6', 'q.7', 'q.8', 'q.9' and 3,991 more.",),
         shape=(6, 4002), columns=("class", "score", "q", "q.2")),
    # ---- 17.8: a zip archive under a .csv name
    Case("zipped-csv", "zipped.csv", "upload", "a zipped CSV saved under a .csv name",
         error="zipped.csv is a zip archive (holding 'scores.csv'), not a table. Unzip it first"),
    # ---- 17.6: look-alike and clashing names
    Case("look-alike-names", "look_alike_names.csv", "upload",
         "'score' and 'score' + zero-width space, the file's own 'score.2', a direction mark",
         notes=("Removed invisible characters (such as zero-width spaces) from column names, "
                "now 'score.3', 'hours.2'",
                "The column name 'score' appears more than once; the repeats were renamed "
                "'score.3'"),
         columns=("pupil", "class", "hours", "score", "score.3", "score.2", "hours.2")),
    # ---- 17.7: dates and times of day in a CSV
    Case("csv-dates", "dates_and_times.csv", "upload",
         "a test log: dates as day/month/year, start times of day, ISO timestamps",
         notes=("Read 'test_date', 'logged_at' as dates (written day/month/year, "
                "year-month-day). A date can't be a predictor or an outcome as it is: to use "
                "one, add a column of numbers made from it, such as days since the start of "
                "term",
                "Read 'start_time' as times of day (or durations). To use one in a model, add a "
                "column of numbers made from it, such as minutes since midnight"),
         kinds={"test_date": "date", "logged_at": "date", "class": "text", "score": "number"},
         values={"test_date": ("2024-03-04", "2024-03-05")}),
    Case("csv-time-predictor", "dates_and_times.csv", "fit",
         "the start time of day as a predictor (used to fail: 'the numbers did not work out')",
         formula="score ~ start_time + (1 | class)",
         error="'start_time' holds times of day or durations, which can't be used as a number "
               "directly. Make a numeric column from it (for example minutes since midnight)"),
    Case("csv-date-predictor", "dates_and_times.csv", "fit", "the test date as a predictor",
         formula="score ~ test_date + (1 | class)",
         error="'test_date' holds dates, which can't be used as a number directly"),
    # ---- 17.4: terminal escape codes in names and IDs (the CLI must print them harmlessly)
    Case("escape-codes", "escape_codes.csv", "fit",
         "an OSC/ESC sequence in a class ID and in a column name",
         formula="score ~ `hours[31m` + (1 | class)", nobs=300, groups={"class": 7},
         terms=("(Intercept)", "`hours[31m`"),
         values={"class": ("7A", "7A", "7A", "7A", "7A", "\x1b]0;PWNED\x07Z\x1b[2J")}),
]
