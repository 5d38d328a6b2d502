"""The bad-input corpus: what a user does with each file in tests/corpus/files/ and what they
must see.

Each `Case` is one thing a teacher or analyst does with a real-looking file:

- ``upload``: read the file (the Data page's uploader; `read_table`).
- ``fit``: fit ``formula`` to the file (the Model page; `parse_formula` → `fit`).
- ``describe``: check the grouping ``levels``, inner first (the Data page's "How the rows group";
  `describe_structure`).
- ``missing_codes``: the file uses codes such as -999 for missing answers; the app offers to treat
  them as missing (`detect_missing_codes`), after which ``formula`` is fitted.

and then one of:

- ``error``: the fragment of the plain message that refuses it (an `HLMError`; never a
  traceback), which must say what to change;
- or the case succeeds, and ``notes`` / ``warnings`` / ``summary`` fragments must be shown, and
  ``shape`` / ``columns`` / ``values`` / ``kinds`` / ``nobs`` / ``groups`` / ``terms`` / ``codes``
  are the numbers the user must get (for files that are fine, e.g. semicolons with decimal
  commas, Latin-1 or UTF-16: the values read).

`tests/test_corpus.py` runs every case through hlm_core and through the command line
(`cli_args`); tests/app/test_corpus_app.py runs them through the app with AppTest, via
`app_check(case)` (see its docstring for the contract; the steps are in tests/app/corpus_app.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

FILES = Path(__file__).parent / "files"


@dataclass(frozen=True, eq=False)
class Case:
    id: str
    file: str
    does: str  # "upload" | "fit" | "describe" | "missing_codes"
    why: str  # the real situation behind the file
    formula: str | None = None
    levels: tuple[str, ...] = ()
    sheet: str | None = None
    error: str | None = None  # fragment of the refusal the user sees
    notes: tuple[str, ...] = ()  # upload: read notes; fit: fit notes; missing_codes: CLI note
    warnings: tuple[str, ...] = ()  # fit or structure warnings
    summary: tuple[str, ...] = ()  # describe: the structure sentences
    shape: tuple[int, int] | None = None
    columns: tuple[str, ...] | None = None  # the first columns, in order
    values: Mapping[str, Sequence] = field(default_factory=dict)  # first values of columns
    kinds: Mapping[str, str] = field(default_factory=dict)  # number | text | category | date
    nobs: int | None = None
    groups: Mapping[str, int] = field(default_factory=dict)
    terms: tuple[str, ...] = ()  # fixed-effect terms, in order
    codes: Mapping[str, Sequence[float]] = field(default_factory=dict)
    cli_levels: tuple[str, ...] = ("class",)  # what the CLI's `describe` checks for an upload

    @property
    def path(self) -> Path:
        return FILES / self.file


def kind_of(series) -> str:
    """The kind a read column should have: category, date, text or number."""
    import pandas as pd

    from hlm_core.design import is_factor

    if isinstance(series.dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "date"
    return "text" if is_factor(series) else "number"


def same(got, want) -> bool:
    """A read value equals the expected one (dates as ISO text, floats to 1e-9)."""
    import math

    import pandas as pd

    if isinstance(got, pd.Timestamp):
        return got.date().isoformat() == want
    if isinstance(want, float) and isinstance(got, (int, float)):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)
    return got == want


def user_message(exc: Exception, formula: str | None, columns) -> str:
    """The text the user must see for a refusal: the error, plus, for a formula that failed to
    parse, the hint naming columns that need backticks (the CLI adds it; the app should too)."""
    from hlm_core.design import formula_name_hint
    from hlm_core.errors import FormulaError

    text = str(exc)
    if isinstance(exc, FormulaError) and formula:
        hint = formula_name_hint(formula, columns)
        if hint:
            text = f"{text} {hint}"
    return text


def cli_args(case: Case) -> list[str]:
    """`python -m hlm_core ...` arguments that do what the case does.

    An upload is checked with `describe` on ``cli_levels`` (the CLI prints the read notes);
    ``missing_codes`` fits ``formula`` without applying the codes (the CLI only points them out).
    """
    sheet = ["--sheet", case.sheet] if case.sheet else []
    path = str(case.path)
    if case.does in ("fit", "missing_codes"):
        return ["fit", path, "--formula", case.formula or "", *sheet]
    if case.does == "describe":
        return ["describe", path, "--levels", *case.levels, *sheet]
    return ["describe", path, "--levels", *case.cli_levels, *sheet]


def app_check(case: Case) -> None:
    """Run `case` through the app (AppTest); an AssertionError says what the user saw instead.

    The contract (tests/app/corpus_app.py implements it with apphelpers.upload / go / widget):

    1. Start the app and upload ``case.path``'s bytes under ``case.file`` through the real
       "Upload data" widget on the Data page (its `on_upload` calls
       ui.data.load_upload(name, data)); pick ``case.sheet`` in "Sheet" if set.
       ``at.exception`` must stay empty after every step: no traceback, ever.
    2. ``upload`` with ``error``: an st.error on the Data page contains ``error``; the data loaded
       before (the example) stays loaded.
       ``upload`` without ``error``: each of ``notes`` is in a caption on the Data page, and the
       table has ``shape`` / ``columns`` / ``values``; ``kinds`` as read, and the column
       summary's Type ("category" for text and categories alike, "date", "number").
    3. ``describe``: choose ``levels`` in "Grouping columns (smallest group first)"; each of
       ``summary`` is in the markdown and each of ``warnings`` in an st.warning (or, with
       ``error``, the st.error holds it). A level the file doesn't have can't be chosen (the
       picker lists the file's columns only): then the picker must not offer it, but offer
       the column it misspells.
    4. ``fit`` / ``missing_codes``: type ``formula`` into the formula box on the Model page and
       press Fit model (for ``missing_codes`` first tick "Treat these codes as missing" on the
       Data page, after checking the st.warning lists ``codes`` and holds ``notes``). With
       ``error``: an st.error on the Model page contains ``error`` (for a formula that does not
       parse, the text `user_message` builds; for a formula without a grouping bar the Fit
       button waits and the page's st.info says it). Without: each of ``warnings`` is in an
       st.warning and each of ``notes`` in a caption or st.info on the Results page, and
       ``nobs`` / ``groups`` / ``terms`` match its metrics and fixed-effects table.
    5. For a sample of cases (tests/app/corpus_app.STILL_USABLE, at least one per kind, refused
       and accepted), the same session then loads the example data, fits it and opens the
       results pages.
    """
    import sys

    app_tests = str(Path(__file__).resolve().parents[1] / "app")
    if app_tests not in sys.path:
        sys.path.insert(0, app_tests)
    from corpus_app import run_case

    run_case(case)


# ------------------------------------------------------------------------------------------
# the cases

_UPLOAD = [
    # ---- files that must be refused, saying what to do instead
    Case("empty", "empty.csv", "upload", "a 0-byte file (the export crashed)",
         error="is empty (0 bytes). Check that the file was saved with its data"),
    Case("blank-lines", "blank_lines.csv", "upload", "only blank lines",
         error="holds only blank lines. Check that the file has data in it"),
    Case("binary", "photo.csv", "upload", "a class photo renamed to .csv",
         error="holds binary data (perhaps an image or another kind of file). Upload CSV"),
    Case("pdf", "scores_pdf.csv", "upload", "a PDF report saved under a .csv name",
         error="is a PDF document, not a data table. Export the data as CSV"),
    Case("old-xls", "old_excel.xls", "upload", "an Excel 97-2003 workbook",
         error="old-style Excel .xls file or a password-protected workbook. Save it as .xlsx"),
    Case("html-xls", "webpage_export.xls", "upload",
         "a school system's 'Export to Excel' that writes an HTML table under an .xls name",
         error="is a web page or XML document, not a data table. Open it in Excel and save it"),
    Case("json", "export.json", "upload", "a JSON export from a web platform",
         error="is a JSON document, not a data table. Export the data as CSV"),
    Case("header-only", "header_only.csv", "upload", "the header row and nothing else",
         error="has a header row but no data rows. Add the data below the header"),
    Case("header-only-xlsx", "header_only.xlsx", "upload", "a workbook with headers, no data",
         error="has a header row but no data rows. Add the data below the header"),
    Case("empty-workbook", "empty_workbook.xlsx", "upload", "a workbook with empty sheets",
         error="Every sheet in empty_workbook.xlsx is empty. Open the workbook, check that"),
    # ---- wrong extensions that are read anyway
    Case("csv-named-xlsx", "renamed_csv.xlsx", "upload", "a CSV renamed to .xlsx by hand",
         notes=("holds plain text despite its .xlsx name; it was read as text",),
         shape=(40, 7), values={"score": (62.2, 71.6), "class": ("AB7A", "AB7A")}),
    Case("xlsx-named-csv", "workbook_named.csv", "upload", "a workbook saved with a .csv name",
         notes=("holds an Excel workbook despite its name; it was read as one",),
         shape=(40, 7), values={"score": (62.2, 71.6)}),
    # ---- shapes and headers
    Case("one-column", "one_column.csv", "upload", "values separated by colons",
         notes=("Only one column was found — was the file separated by another character?",),
         shape=(30, 1), cli_levels=("pupil_id:class:score",)),
    Case("huge-header", "survey_long_header.csv", "upload",
         "a survey platform's export: 300 questions' full texts as column names (74 KB header)",
         shape=(8, 303), columns=("pupil_id", "class", "score"),
         values={"score": (78.3, 29.2)}),
    Case("1000-columns", "survey_1000_columns.csv", "upload",
         "a questionnaire with 997 items: 1,000 columns", shape=(20, 1000),
         columns=("pupil_id", "class", "score", "q0001")),
    Case("duplicate-names", "duplicate_names.csv", "upload", "three sittings all headed 'score'",
         notes=("The column name 'score' appears more than once; the repeats were renamed "
                "'score.2', 'score.3'",),
         columns=("pupil_id", "class", "score", "score.2", "score.3"),
         values={"score.2": (64.2, 73.6)}),
    Case("blank-names", "blank_names.csv", "upload",
         "a column without a name, and trailing separators",
         notes=("Blank column names were replaced by their position: 'column_3'",
                "Dropped 2 empty column(s) that had no name"),
         columns=("pupil_id", "class", "column_3", "score"), values={"column_3": (6.6, 5.9)}),
    Case("unicode-names", "unicode_names.csv", "upload", "French column names with accents",
         columns=("élève", "classe", "école", "sexe", "heures_étude", "ses", "note_finale"),
         values={"note_finale": (62.2, 71.6)}, cli_levels=("classe", "école")),
    Case("emoji-names", "emoji_names.csv", "upload", "emoji in column names",
         columns=("pupil_id", "class", "🏫 school", "sex", "hours ⏱", "ses", "score 📈"),
         values={"score 📈": (62.2, 71.6)}, cli_levels=("class", "🏫 school")),
    Case("spaces-in-names", "spaces_in_names.csv", "upload", "spaces inside and around names",
         notes=("Removed extra spaces from column names, now 'Class ID'",),
         columns=("Pupil ID", "Class ID", "School", "sex", "Study hours", "ses", "Math score"),
         cli_levels=("Class ID",)),
    Case("quotes-in-names", "quotes_in_names.csv", "upload", "quote marks and a backtick in names",
         notes=("Backticks (`) in column names were replaced by ' (formulas use backticks "
                "around names): 'teacher's mark'",),
         columns=("pupil_id", "class", "school", "sex", "pupil's hours", '"home" index',
                  "teacher's mark")),
    Case("formula-symbol-names", "formula_symbols.csv", "upload",
         "column names that are formula syntax",
         columns=("pupil_id", "(1|g)", "school", "sex", "a+b", "ses", "score ~ x", "x*y",
                  "log(hours)"),
         cli_levels=("(1|g)",)),
    Case("line-breaks-in-names", "header_line_breaks.xlsx", "upload",
         "header cells with line breaks typed with Alt+Enter",
         notes=("Removed line breaks and extra spaces from column names, now 'Study hours', "
                "'Maths score'",),
         columns=("pupil_id", "class", "school", "sex", "Study hours", "ses", "Maths score")),
    # ---- delimiters, decimal commas, encodings
    Case("semicolon-decimal-comma", "semicolon_decimal_comma.csv", "upload",
         "German Excel 'CSV UTF-8': semicolons, decimal commas, byte-order mark",
         notes=("Columns are separated by semicolons",
                "Read decimal commas as numbers (3,5 = 3.5) in 'Lernstunden', 'SES', 'Punkte'"),
         values={"Punkte": (62.2, 71.6), "Lernstunden": (6.6, 5.9), "SES": (0.33, -0.54),
                 "Schüler": (1001, 1002), "Klasse": ("AB7A", "AB7A")},
         kinds={"Punkte": "number", "Klasse": "text"}, cli_levels=("Klasse", "Schule")),
    Case("tab-decimal-comma", "tab_decimal_comma.txt", "upload",
         "a Dutch export: tabs and decimal commas in a .txt",
         notes=("Columns are separated by tabs", "Read decimal commas as numbers"),
         values={"cijfer": (62.2, 71.6), "uren": (6.6, 5.9)}, cli_levels=("klas",)),
    Case("latin-1", "latin1.csv", "upload", "ISO-8859-1 (Latin-1) with Spanish names",
         notes=("because the file is not UTF-8. Check that accented letters look right",),
         columns=("pupil_id", "nombre", "clase", "escuela"),
         values={"nombre": ("José", "Begoña", "Iñaki", "Raúl"), "puntuación": (62.2, 71.6)},
         cli_levels=("clase",)),
    Case("cp1252", "cp1252.csv", "upload",
         "Excel's plain 'CSV' on Western European Windows: € and curly apostrophes",
         notes=("Text encoding: Windows-1252 (Western European)",),
         values={"surname": ("O’Brien", "D’Arcy", "Müller", "Nuñez"),
                 "trip fee €": (12.5, 12.5)}),
    Case("utf-16", "excel_unicode_text.txt", "upload",
         "Excel's 'Unicode text': UTF-16 with a byte-order mark, tabs",
         notes=("Text encoding: UTF-16 (as Excel's 'Unicode text' export saves)",
                "Columns are separated by tabs"),
         values={"name": ("Zoë", "Ørjan", "Αλέξης", "Şule"), "score": (62.2, 71.6)}),
    # ---- broken rows
    Case("stray-quote", "stray_quote.csv", "upload",
         "a comment opening a quote mark that is never closed swallows the rows after it",
         notes=("run over several lines", "remove the stray quote mark and upload again"),
         shape=(6, 4)),
    Case("ragged-rows", "ragged_rows.csv", "upload", "an unquoted comma inside a comment",
         notes=("2 row(s) have more values than the header row",), shape=(30, 5)),
    Case("text-in-scores", "outcome_with_absent.csv", "upload",
         "'absent' typed into three pupils' score cells",
         notes=("'score' holds numbers except for 3 entries such as 'absent', so it was read as "
                "text. To use it as numbers, replace those entries with empty cells",),
         kinds={"score": "text"}),
    # ---- workbooks
    Case("merged-title", "merged_title.xlsx", "upload",
         "a merged title row and a blank row above the header",
         notes=("Skipped 2 row(s) above the header row (titles or notes)",),
         shape=(120, 7), values={"score": (81.8, 49.8), "class": ("AB7A", "AB7A")}),
    Case("two-row-header", "two_row_header.xlsx", "upload",
         "'Scores' merged over two columns whose names are in a second header row",
         notes=("looks like a second header row (text above numbers in 'Scores', 'column_5')",
                "delete the extra row, and upload again")),
    Case("several-sheets", "several_sheets.xlsx", "upload",
         "a read-me sheet, then one sheet per year group",
         notes=("Read sheet 'Year 7'. The workbook also has 'Read me', 'Year 8'",),
         shape=(120, 7)),
    Case("several-sheets-pick", "several_sheets.xlsx", "upload", "choosing the second year group",
         sheet="Year 8", shape=(90, 7)),
    Case("formulas-saved", "formulas_saved.xlsx", "upload",
         "formulas saved by Excel with their results", values={"total": (46, 54)},
         kinds={"total": "number"}),
    Case("formulas-not-saved", "formulas_not_saved.xlsx", "upload",
         "formulas written by a script, never calculated",
         notes=("'total' came out empty: the sheet has formulas whose results were never saved",)),
    Case("dates", "dates.xlsx", "upload", "dates of birth and test dates as Excel dates",
         kinds={"date_of_birth": "date", "test_date": "date"},
         values={"date_of_birth": ("2011-09-14", "2012-02-02")}),
    # ---- SPSS and Stata
    Case("spss-labels", "labels.sav", "upload",
         "SPSS with value labels (sex, school) and 999 as a user-missing score",
         notes=("Used value labels as categories: school (1 = Abbey",
                "sex (1 = Female, 2 = Male)",
                "Kept the numbers in 'wellbeing': only some values have labels",
                "user-missing were read as missing ('score': 999)"),
         kinds={"sex": "category", "school": "category", "wellbeing": "number"},
         values={"sex": ("Female", "Male"), "school": ("Abbey", "Abbey")},
         cli_levels=("school",)),
    Case("stata-labels", "labels.dta", "upload", "Stata with value labels",
         kinds={"sex": "category"}, values={"sex": ("Female", "Male")}, cli_levels=("school",)),
]

_FIT = [
    Case("fit-good", "class_scores.csv", "fit", "the ordinary model on a clean export",
         formula="score ~ hours + ses + sex + (1 | class)", nobs=120, groups={"class": 12},
         terms=("(Intercept)", "hours", "ses", "sexM")),
    Case("outcome-text", "class_scores.csv", "fit", "the letter grade chosen as the outcome",
         formula="grade ~ hours + (1 | class)",
         error="The outcome 'grade' holds text (for example 'C'), not numbers. Choose a numeric "
               "outcome"),
    Case("outcome-text-few", "outcome_with_absent.csv", "fit",
         "the score, with 'absent' in three cells, as the outcome",
         formula="score ~ hours + (1 | class)",
         error="holds text in 3 of 120 rows (for example 'absent'), so it was read as text, not "
               "numbers. Replace those entries with empty cells"),
    Case("outcome-all-missing", "class_scores.csv", "fit",
         "the retest column that nobody has sat yet",
         formula="retest ~ hours + (1 | class)",
         error="Every row has a missing value in 'retest': the column is empty. Choose another "
               "column"),
    Case("formula-column-empty", "formulas_not_saved.xlsx", "fit",
         "the total of formulas never calculated, as the outcome",
         formula="total ~ paper1 + (1 | class)",
         error="Every row has a missing value in 'total': the column is empty"),
    Case("formulas-saved-fit", "formulas_saved.xlsx", "fit", "the calculated total",
         formula="total ~ paper1 + (1 | class)", nobs=120, groups={"class": 12}),
    Case("predictor-constant", "class_scores.csv", "fit", "the school year, the same in every row",
         formula="score ~ hours + year + (1 | class)", terms=("(Intercept)", "hours"),
         notes=("'year' has the same value in every row used, so it can't be estimated and was "
                "left out of the model",)),
    Case("predictors-collinear", "class_scores.csv", "fit", "study time in hours and in minutes",
         formula="score ~ hours + minutes + (1 | class)", terms=("(Intercept)", "hours"),
         notes=("'minutes' is an exact combination of 'hours'",)),
    Case("one-group", "one_school.csv", "fit", "one school's data with school as the level",
         formula="score ~ hours + (1 | school)",
         error="All rows used belong to one school ('Abbey'). A multilevel model needs at least "
               "2 groups"),
    Case("one-group-constant", "class_scores.csv", "fit", "the constant year as the level",
         formula="score ~ hours + (1 | year)", error="All rows used belong to one year ('2024')"),
    Case("two-groups", "two_schools.csv", "fit", "two schools",
         formula="score ~ hours + (1 | school)", nobs=60, groups={"school": 2},
         warnings=("Only 2 groups in 'school': variance estimates from fewer than 5 groups are "
                   "very uncertain",)),
    Case("one-row-per-group", "class_scores.csv", "fit", "the pupil id chosen as the level",
         formula="score ~ hours + (1 | pupil_id)",
         error="Every row is its own group in 'pupil_id' (120 groups for 120 rows)"),
    Case("group-of-one", "class_of_one.csv", "fit", "a class with a single pupil",
         formula="score ~ hours + (1 | class)", nobs=65, groups={"class": 9}),
    Case("reused-ids-nested", "reused_class_ids.csv", "fit",
         "class labels 7A-7C restart in every school, nested properly",
         formula="score ~ hours + (1 | school/class)", nobs=180,
         groups={"class:school": 18, "school": 6}),
    Case("reused-ids-flat", "reused_class_ids.csv", "fit",
         "the same file with class alone: 18 classes collapse into 3 labels",
         formula="score ~ hours + (1 | class)", groups={"class": 3},
         warnings=("Only 3 groups in 'class'",)),
    Case("singular", "no_class_differences.csv", "fit", "classes that do not differ at all",
         formula="score ~ hours + ses + (1 | class)",
         warnings=("how much the average differs between class groups as zero (a 'singular "
                   "fit')",)),
    # No user-reachable option changes mixedlm's iteration limit, and it converges on badly
    # scaled predictors (or fails outright, see "huge-scale"). The closest real case: a factor
    # with six levels as a correlated random slope over six classes, 21 covariance parameters
    # from 120 rows, which uses up the optimizer's budget (~2 s). Numerical: on another BLAS
    # the optimizer might just converge; then this case needs a new data set.
    Case("no-convergence", "six_subjects.csv", "fit",
         "each subject's effect varying over six classes (21 covariance parameters, 120 rows)",
         formula="score ~ subject + (subject | class)",
         warnings=("did not settle on an answer (no convergence), so the numbers may be wrong",
                   "(a 'singular fit')")),
    Case("huge-scale", "income_rupiah.csv", "fit",
         "household income in rupiah (hundreds of millions) with a random slope",
         formula="score ~ income_idr + (income_idr | school)",
         error="'income_idr' has very large values (up to 7.55e+08): divide it by a power of "
               "ten"),
    Case("date-predictor", "dates.xlsx", "fit", "the date of birth as a predictor",
         formula="score ~ date_of_birth + (1 | class)",
         error="'date_of_birth' holds dates, which can't be used as a number directly. Make a "
               "numeric column from it"),
    Case("date-outcome", "dates.xlsx", "fit", "the test date as the outcome",
         formula="test_date ~ 1 + (1 | class)",
         error="The outcome 'test_date' holds dates, not numbers"),
    Case("two-row-header-fit", "two_row_header.xlsx", "fit",
         "the merged 'Scores' column read as text because of the second header row",
         formula="Scores ~ 1 + (1 | class)",
         error="holds text in 1 of 121 rows (for example 'autumn')"),
    Case("typo", "class_scores.csv", "fit", "a misspelt column",
         formula="score ~ hour + (1 | class)",
         error="There is no column called 'hour' in the data. Did you mean 'hours'?"),
    Case("function", "class_scores.csv", "fit", "log() typed into the formula",
         formula="score ~ log(hours) + (1 | class)", nobs=120, groups={"class": 12},
         terms=("(Intercept)", "log(hours)")),
    Case("function-unsupported", "class_scores.csv", "fit", "abs() typed into the formula",
         formula="score ~ abs(hours) + (1 | class)",
         error="'abs()' is not one of the functions the formula can compute"),
    Case("no-level", "class_scores.csv", "fit", "a formula without a grouping bar",
         formula="score ~ hours", error="The model has no grouping variable"),
    Case("sheet-pick-fit", "several_sheets.xlsx", "fit", "fitting the second year group's sheet",
         sheet="Year 8", formula="score ~ hours + (1 | class)", nobs=90, groups={"class": 9}),
    Case("spss-fit", "labels.sav", "fit", "a labelled SPSS factor as a predictor",
         formula="score ~ sex + hours + (1 | school)", nobs=148, groups={"school": 5},
         terms=("(Intercept)", "sexMale", "hours"),
         notes=("2 of 150 rows were left out because of missing values (score: 2)",)),
    Case("semicolon-fit", "semicolon_decimal_comma.csv", "fit", "the German export fitted",
         formula="Punkte ~ Lernstunden + SES + (1 | Klasse)", nobs=120, groups={"Klasse": 12},
         terms=("(Intercept)", "Lernstunden", "SES")),
    Case("latin-1-fit", "latin1.csv", "fit", "an accented column name from a Latin-1 file",
         formula="puntuación ~ hours + (1 | clase)", nobs=48, groups={"clase": 5}),
    Case("unicode-fit", "unicode_names.csv", "fit", "accented names need no backticks",
         formula="note_finale ~ heures_étude + (1 | école)", nobs=120, groups={"école": 4},
         terms=("(Intercept)", "heures_étude")),
    Case("emoji-fit", "emoji_names.csv", "fit", "emoji names in backticks",
         formula="`score 📈` ~ `hours ⏱` + (1 | `🏫 school`)", nobs=120,
         groups={"🏫 school": 4}, terms=("(Intercept)", "`hours ⏱`")),
    Case("emoji-unquoted", "emoji_names.csv", "fit", "emoji names typed without backticks",
         formula="score 📈 ~ hours ⏱ + (1 | 🏫 school)",
         error="the character '📈' cannot be used here. If it is part of a column name, put the "
               "whole name in backticks"),
    Case("spaces-fit", "spaces_in_names.csv", "fit", "names with spaces in backticks",
         formula="`Math score` ~ `Study hours` + (1 | `Class ID`)", nobs=120,
         groups={"Class ID": 12}, terms=("(Intercept)", "`Study hours`")),
    Case("spaces-unquoted", "spaces_in_names.csv", "fit", "names with spaces typed bare",
         formula="Math score ~ Study hours + (1 | Class ID)",
         error="Column names with spaces or symbols go in backticks: `Math score`, "
               "`Study hours`, `Class ID`"),
    Case("quotes-fit", "quotes_in_names.csv", "fit", "names with quote marks, in backticks",
         formula="`teacher's mark` ~ `pupil's hours` + `\"home\" index` + (1 | class)",
         nobs=120, terms=("(Intercept)", "`pupil's hours`", '`"home" index`')),
    Case("formula-symbols-fit", "formula_symbols.csv", "fit",
         "names that are formula syntax, in backticks, are just names",
         formula="`score ~ x` ~ `a+b` + `x*y` + `log(hours)` + (1 | `(1|g)`)", nobs=120,
         groups={"(1|g)": 12}, terms=("(Intercept)", "`a+b`", "`x*y`", "`log(hours)`")),
    Case("code-names-fit", "code_in_names.csv", "fit",
         "names that look like code are just names: nothing runs, no file PWNED appears",
         formula="`__import__('os').system('touch PWNED')` ~ `{__import__('os')}` "
                 "+ (1 | `\"); system(\"touch PWNED`)",
         nobs=120, groups={'"); system("touch PWNED': 12}),
    Case("wide-fit", "survey_1000_columns.csv", "fit", "one item of 997 as a predictor",
         formula="score ~ q0001 + (1 | class)", nobs=20, groups={"class": 4}),
]

_DESCRIBE = [
    Case("levels-nested", "class_scores.csv", "describe", "classes inside schools",
         levels=("class", "school"),
         summary=("120 rows in 12 classes; 10 to 10 per class (median 10).",
                  "Each class belongs to one school; 3 to 3 classes per school (median 3).")),
    Case("levels-reused", "reused_class_ids.csv", "describe",
         "class labels 7A-7C restart in every school",
         levels=("class", "school"),
         summary=("Class IDs are reused across schools",),
         warnings=("Class IDs repeat across schools (e.g. class 7A appears in 6 schools). They "
                   "will be treated as different classes (school/class).",)),
    Case("levels-one-row-per-group", "class_scores.csv", "describe",
         "the pupil id chosen as a level", levels=("pupil_id",),
         warnings=("Every pupil_id has only one row, so there is no variation within",)),
    Case("levels-typo", "class_scores.csv", "describe", "a level typed with a capital",
         levels=("Class",), error="There is no column called 'Class'. Did you mean 'class'?"),
    Case("levels-two-groups", "two_schools.csv", "describe", "two schools",
         levels=("class", "school"),
         warnings=("Only 2 schools: with fewer than 5 groups the variance between schools will "
                   "be unreliable",)),
    Case("levels-one-group", "one_school.csv", "describe", "one school",
         levels=("class", "school"), warnings=("Only 1 school:",)),
    Case("levels-missing-id", "two_row_header.xlsx", "describe",
         "the second header row has no class: one row without a class id",
         levels=("class",),
         warnings=("1 row has no class id; it will be left out of a model that uses class",)),
    Case("levels-group-of-one", "class_of_one.csv", "describe", "a class of one pupil",
         levels=("class",), summary=("65 rows in 9 classes; 1 to 8 per class (median 8).",)),
]

_CODES = [
    Case("missing-codes", "missing_codes.csv", "missing_codes",
         "-999 for a missing score and 99 for a missing age (a real score of 99 stays)",
         codes={"score": (-999.0,), "age": (99.0,)},
         formula="score ~ hours + age + (1 | class)", nobs=113,
         notes=("Some numbers look like codes for a missing answer (score: -999; age: 99)",)),
]

from tests.corpus.hostile_cases import HOSTILE  # noqa: E402 (needs Case, defined above)

CASES: list[Case] = _UPLOAD + _FIT + _DESCRIBE + _CODES + HOSTILE

assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
