"""Tables as files people open in a spreadsheet, made safe against formula injection.

A cell whose text starts with `=`, `+`, `-` or `@` (or a tab / carriage return, which some
spreadsheets strip before reading the rest) would be run as a formula by Excel or LibreOffice.
In CSV files such text cells get a leading single quote, which spreadsheets show as plain
text; in the workbook they are string cells with the quote-prefix style instead (nothing
visible added). Numbers are written untouched, so a negative estimate stays a number.

Also here: the Excel workbook with every table (`workbook`). Figures as PNG/SVG
(`figure_image`, via kaleido and a local Chrome/Chromium) are in `images`, the self-contained
HTML report (`html_report`) in `report_html`; both are re-exported from here.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd

from hlm_core.export_tables import (
    class_effects_table,
    model_fit_table,
    numeric_predictors,
    pred_slope_table,
)

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> object:
    """Prefix text that a spreadsheet would read as a formula with a single quote."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def _is_text_column(s: pd.Series) -> bool:
    dt = s.dtype
    return (
        pd.api.types.is_object_dtype(dt)
        or pd.api.types.is_string_dtype(dt)
        or isinstance(dt, pd.CategoricalDtype)
    )


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of `df` with every text cell and column name escaped; numeric columns untouched."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if not _is_text_column(s):
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        values = s.to_numpy(dtype=object, na_value=None)
        needs = np.fromiter(
            (isinstance(v, str) and v.startswith(DANGEROUS_PREFIXES) for v in values),
            dtype=bool,
            count=len(values),
        )
        if needs.any():
            values = values.copy()
            values[needs] = ["'" + v for v in values[needs]]
        out[col] = pd.Series(values, index=out.index, dtype=object)
    out.columns = [escape_cell(str(c)) for c in out.columns]
    return out


def safe_csv(df: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8 with a byte-order mark, so Excel shows accents right), no index column,
    with text cells escaped against formula injection."""
    return safe_frame(df).to_csv(index=False).encode("utf-8-sig")


# =============================================================================================
# The one-click exports: Excel workbook, figure images, self-contained HTML report.
#
# Why these live here and not on a page: every file a user takes away must carry the same
# numbers as the screen and the same escaping, whether made by the app, a test or a script.
# User text (column names, group labels, file names) reaches every one of them, so each writer
# escapes for its own format: a leading apostrophe in spreadsheets, html.escape in the report.

WORKBOOK_MAX_COL_WIDTH = 60


def _excel_value(value: object) -> object:
    """A cell value openpyxl writes as the user expects: numbers untouched (NaN/inf empty),
    text as it is (`_write_sheet` makes formula-looking text inert), anything else as text."""
    import math
    from datetime import date, datetime

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date)):
        return value
    return str(value)


_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def number_from_text(text: str) -> tuple[float, str] | None:
    """A number a table wrote as text ("-1.40", "-.51", "12") as (value, an Excel number format
    that shows the same digits: "0.00", ".00", "0"), or None for any other text."""
    if not _PLAIN_NUMBER.fullmatch(text):
        return None
    body = text.lstrip("+-")
    decimals = len(body.split(".", 1)[1]) if "." in body else 0
    lead = "" if body.startswith(".") else "0"
    return float(text), lead + ("." + "0" * decimals if decimals else "")


def _inert(cell) -> None:
    """Text a spreadsheet would run (=, +, -, @, tab, CR first) stays text: a string cell with
    Excel's quote-prefix style (what typing a leading apostrophe does), so nothing runs on
    opening or on editing the cell, and the person sees the text exactly as written."""
    cell.data_type = "s"
    cell.quotePrefix = True


def excel_sheet_name(name: str, taken: set[str] | None = None) -> str:
    """A valid, unique Excel sheet name: no []:*?/\\ characters, at most 31 characters."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in str(name)).strip("'") or "Sheet"
    clean = clean[:31]
    taken = taken if taken is not None else set()
    out, k = clean, 2
    while out.lower() in {t.lower() for t in taken}:
        suffix = f" ({k})"
        out = clean[: 31 - len(suffix)] + suffix
        k += 1
    return out


def _write_sheet(wb, title: str, df: pd.DataFrame, note: str | None = None, *,
                 numbers_from_text: bool = False) -> None:
    """One sheet: bold headers, numbers as numbers, formula-looking text inert (`_inert`).
    `numbers_from_text` turns numbers a table formatted as text (the APA table) back into
    numbers shown with the same digits."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    headers = [str(c) for c in df.columns]
    widths = [len(h) for h in headers]

    def put(values: list) -> None:
        ws.append(values)
        r = ws.max_row
        for j, v in enumerate(values):
            if not isinstance(v, str):
                continue
            number = number_from_text(v) if numbers_from_text and r > 1 else None
            cell = ws.cell(row=r, column=j + 1)
            if number is not None:
                cell.value, cell.number_format = number
            elif v.startswith(DANGEROUS_PREFIXES):
                _inert(cell)

    put(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    columns = [df[c].to_numpy(dtype=object) for c in df.columns]
    for i in range(len(df)):
        row = [_excel_value(col[i]) for col in columns]
        put(row)
        if i < 2000:  # widths from the first rows: enough to size, fast for 40,000 rows
            for j, v in enumerate(row):
                if v is not None:
                    n = len(f"{v:.6g}") if isinstance(v, float) else len(str(v))
                    widths[j] = max(widths[j], n)
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(WORKBOOK_MAX_COL_WIDTH, w + 2)
    ws.freeze_panes = "A2"
    if note:
        ws.append([])
        put([note])


def workbook(result, extra_tables: dict[str, pd.DataFrame] | None = None, *,
             about: dict[str, object] | None = None) -> bytes:
    """An Excel workbook (.xlsx bytes) with every table of the fit, one sheet each.

    Sheets: About (formula, method, data, versions; `about` adds rows), Fixed effects,
    Variance components, Model fit, Class effects (every group with 95% intervals), pred_slope
    (each group's predicted line for the first numeric predictor), APA table, then
    `extra_tables` (e.g. {"Comparisons": ladder table}). Numbers stay numbers (the APA table's
    formatted numbers too, shown with the same digits); text that a spreadsheet would run as a
    formula (=, +, -, @, tab, CR first) is stored as inert text with Excel's quote-prefix style,
    without a visible apostrophe; headers are bold, columns sized to their contents.
    """
    from openpyxl import Workbook

    from hlm_core.ci_output import ci_sheet_note, varcorr_with_ci
    from hlm_core.glmm import exported_fixed_note
    from hlm_core.result import fixed_for_export
    from hlm_core.writeup import apa_table

    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()

    def add(title: str, df: pd.DataFrame, note: str | None = None, **kw) -> None:
        name = excel_sheet_name(title, taken)
        taken.add(name)
        _write_sheet(wb, name, df, note, **kw)

    info = {
        "formula": result.formula,
        "estimation": result.method,
        "observations": int(result.nobs),
        "rows left out (missing values)": int(result.rows_dropped),
        **(about or {}),
    }
    add("About", pd.DataFrame({"Item": list(info), "Value": list(info.values())}))
    add("Fixed effects", fixed_for_export(result),
        exported_fixed_note(result.family) if result.is_glmm else None)
    add("Variance components", varcorr_with_ci(result), ci_sheet_note(result))
    add("Model fit", model_fit_table(result))
    add("Class effects", class_effects_table(result),
        "ranef = difference from the average (lme4 ranef), coef = the group's own value; "
        "95% intervals from the conditional SD.")
    ps = pred_slope_table(result)
    if ps is not None:
        add("pred_slope", ps[1], f"Each group's predicted line over the range of {ps[0]}; other "
            "predictors at their mean (numbers) or reference category.")
    apa = apa_table(result)
    add("APA table", apa, apa.attrs.get("note"), numbers_from_text=True)
    for title, df in (extra_tables or {}).items():
        if df is not None and len(df.columns):
            add(title, df)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# re-exported at the end (they use the tables above): callers import them from `export`
from hlm_core.images import (  # noqa: E402
    IMAGE_FORMATS,
    NO_BROWSER,
    export_style,
    figure_image,
    find_browser,
    image_export_available,
)
from hlm_core.report_html import (  # noqa: E402
    html_report,
    package_versions,
    report_figure_specs,
    report_figures,
)

__all__ = [
    "DANGEROUS_PREFIXES", "IMAGE_FORMATS", "NO_BROWSER", "WORKBOOK_MAX_COL_WIDTH",
    "class_effects_table", "escape_cell", "excel_sheet_name", "export_style", "figure_image",
    "find_browser", "html_report", "image_export_available", "model_fit_table",
    "numeric_predictors", "package_versions", "pred_slope_table", "report_figure_specs",
    "report_figures", "safe_csv", "safe_frame", "workbook",
]
