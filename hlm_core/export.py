"""Tables as files people open in a spreadsheet, made safe against formula injection.

A cell whose text starts with `=`, `+`, `-` or `@` (or a tab / carriage return, which some
spreadsheets strip before reading the rest) would be run as a formula by Excel or LibreOffice.
Such text cells get a leading single quote, which spreadsheets show as plain text. Numbers are
written untouched, so a negative estimate stays a number.

Also here: the Excel workbook with every table (`workbook`), figures as PNG/SVG (`figure_image`,
via kaleido and a local Chrome/Chromium) and the self-contained HTML report (`html_report`).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

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
    text escaped against formula injection, anything else as text."""
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
    return escape_cell(str(value))


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


def _write_sheet(wb, title: str, df: pd.DataFrame, note: str | None = None) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    headers = [escape_cell(str(c)) for c in df.columns]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = [len(h) for h in headers]
    columns = [df[c].to_numpy(dtype=object) for c in df.columns]
    for i in range(len(df)):
        row = [_excel_value(col[i]) for col in columns]
        ws.append(row)
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
        ws.append([escape_cell(note)])


def model_fit_table(result) -> pd.DataFrame:
    """The Results page's model-fit table with numbers as numbers (for files)."""
    rows: list[tuple[str, object]] = [
        ("log-likelihood", result.loglik),
        ("AIC", result.aic),
        ("BIC", result.bic),
        ("REML criterion" if result.reml else "deviance", result.deviance),
        ("parameters", int(result.df_loglik)),
        ("observations", int(result.nobs)),
        *[(f"groups: {g}", int(n)) for g, n in result.ngroups.items()],
        ("ICC" + (" (adjusted)" if result.icc_adjusted else ""), result.icc),
        ("R² marginal", result.r2_marginal),
        ("R² conditional", result.r2_conditional),
        ("residual SD", result.sigma),
        ("estimation", result.method),
        ("converged", "yes" if result.converged else "no"),
        ("singular", "yes" if result.singular else "no"),
    ]
    return pd.DataFrame(rows, columns=["Statistic", "Value"])


def numeric_predictors(result) -> list[str]:
    """Numeric predictors of the fit, those with a random slope first (as the Slopes page)."""
    mf = result.model_frame
    if mf is None:
        return []
    numeric = [v for v, info in mf.variables.items() if info.kind == "numeric"]
    slopes = [v for r in result.spec.random for t in r.slopes for v in t.variables if v in numeric]
    return list(dict.fromkeys(slopes + numeric))


def class_effects_table(result) -> pd.DataFrame:
    """Every grouping level's effects with intervals (ranef_table), stacked with a group column."""
    from hlm_core.effects import ranef_table

    parts = []
    for g in result.group_names:
        t = ranef_table(result, g)
        t.insert(0, "group", g)
        parts.append(t)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def pred_slope_table(result) -> tuple[str, pd.DataFrame] | None:
    """(predictor, pred_slope over the data range) for the first numeric predictor, or None."""
    from hlm_core.effects import pred_slope

    preds = numeric_predictors(result)
    if not preds:
        return None
    return preds[0], pred_slope(result, preds[0], n=2, group=result.group_names[0])


def workbook(result, extra_tables: dict[str, pd.DataFrame] | None = None, *,
             about: dict[str, object] | None = None) -> bytes:
    """An Excel workbook (.xlsx bytes) with every table of the fit, one sheet each.

    Sheets: About (formula, method, data, versions; `about` adds rows), Fixed effects,
    Variance components, Model fit, Class effects (every group with 95% intervals), pred_slope
    (each group's predicted line for the first numeric predictor), APA table, then
    `extra_tables` (e.g. {"Comparisons": ladder table}). Text cells and headers that a
    spreadsheet would run as a formula (=, +, -, @, tab, CR) get a leading apostrophe; numbers
    stay numbers; headers are bold, columns sized to their contents.
    """
    from openpyxl import Workbook

    from hlm_core.writeup import apa_table

    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()

    def add(title: str, df: pd.DataFrame, note: str | None = None) -> None:
        name = excel_sheet_name(title, taken)
        taken.add(name)
        _write_sheet(wb, name, df, note)

    info = {
        "formula": result.formula,
        "estimation": result.method,
        "observations": int(result.nobs),
        "rows left out (missing values)": int(result.rows_dropped),
        **(about or {}),
    }
    add("About", pd.DataFrame({"Item": list(info), "Value": list(info.values())}))
    add("Fixed effects", result.fixed)
    add("Variance components", result.varcorr)
    add("Model fit", model_fit_table(result))
    add("Class effects", class_effects_table(result),
        "ranef = difference from the average (lme4 ranef), coef = the group's own value; "
        "95% intervals from the conditional SD.")
    ps = pred_slope_table(result)
    if ps is not None:
        add("pred_slope", ps[1], f"Each group's predicted line over the range of {ps[0]}; other "
            "predictors at their mean (numbers) or reference category.")
    apa = apa_table(result)
    add("APA table", apa, apa.attrs.get("note"))
    for title, df in (extra_tables or {}).items():
        if df is not None and len(df.columns):
            add(title, df)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------- figure images

IMAGE_FORMATS = ("png", "svg")
NO_BROWSER = (
    "PNG and SVG export needs Chrome or Chromium installed on the computer running the "
    "dashboard (on Debian/Ubuntu: apt-get install chromium). Meanwhile, the camera button in "
    "each chart's toolbar saves a PNG in your browser."
)


def find_browser() -> str | None:
    """The Chrome/Chromium kaleido would drive (BROWSER_PATH first), or None."""
    import os

    env = os.environ.get("BROWSER_PATH")
    if env:
        return env if os.path.exists(env) else None
    try:
        from choreographer.browsers.chromium import Chromium

        return Chromium.find_browser(skip_local=False)
    except Exception:  # no kaleido/choreographer, or an odd system: say "none"
        return None


def image_export_available() -> bool:
    return find_browser() is not None


def export_style(fig, scale: float = 1.0):
    """A copy of `fig` styled for files: white background, fonts scaled by `scale`."""
    import plotly.graph_objects as go

    out = go.Figure(fig)
    out.update_layout(template="plotly_white", paper_bgcolor="white", plot_bgcolor="white")
    if scale != 1.0:
        from hlm_core.figures import scale_fonts

        scale_fonts(out, scale)
    return out


def figure_image(fig, fmt: str = "png", *, width: int = 1000, scale: float = 2.0) -> bytes:
    """The figure as PNG or SVG bytes, drawn by kaleido in a local Chrome/Chromium.

    Raises HLMError (saying what to install, and that the chart's camera button saves a PNG)
    when no browser is found. Takes about 2 s (a browser starts for each call).
    """
    from hlm_core.errors import HLMError

    fmt = fmt.lower()
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"fmt must be one of {IMAGE_FORMATS}")
    if find_browser() is None:  # the same search kaleido makes (BROWSER_PATH, then PATH)
        raise HLMError(NO_BROWSER)
    try:
        import kaleido  # noqa: F401  (plotly's to_image needs it)
    except ImportError as exc:
        raise HLMError(
            "PNG and SVG export needs the kaleido package (pip install kaleido==1.5.0). "
            "Meanwhile, the camera button in each chart's toolbar saves a PNG in your browser."
        ) from exc
    styled = export_style(fig)
    height = int(styled.layout.height or 500)
    try:
        return styled.to_image(format=fmt, width=width, height=height,
                               scale=scale if fmt == "png" else 1)
    except Exception as exc:
        name = type(exc).__name__
        if "ChromeNotFound" in name or "BrowserFailed" in name or "BrowserDeps" in name:
            raise HLMError(NO_BROWSER) from exc
        raise


# ---------------------------------------------------------------------------- HTML report


def package_versions() -> dict[str, str]:
    """Versions of what computed the numbers (for the report and the workbook)."""
    import platform
    from importlib import metadata

    import hlm_core

    out = {"hlm_core": getattr(hlm_core, "__version__", "unknown")}
    for pkg in ("mixedlm", "numpy", "pandas", "scipy", "statsmodels", "plotly"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    out["python"] = platform.python_version()
    return out


def report_figures(result, *, font_scale: float = 1.0) -> dict[str, object]:
    """The figures a report shows: a caterpillar plot per random term of the first grouping
    level, and each group's predicted line for the first numeric predictor."""
    from hlm_core.effects import ranef_table
    from hlm_core.figures import caterpillar, group_lines

    figs: dict[str, object] = {}
    if not result.group_names:
        return figs
    group = result.group_names[0]
    table = ranef_table(result, group)
    for term in result.random_terms(group):
        what = "Intercept" if term == "(Intercept)" else f"Effect of {term}"
        figs[f"{what} per {group}"] = caterpillar(
            table, term, "own", value_title=f"Group's own value: {term}", group_title=group
        )
    ps = pred_slope_table(result)
    if ps is not None:
        predictor, lines = ps
        mf = result.model_frame
        block = next(b for b in mf.blocks if b.group == group)
        figs[f"Predicted {result.spec.outcome} by {predictor}, per {group}"] = group_lines(
            lines, predictor, result.spec.outcome,
            f"What the model predicts, per {group}", order=block.levels,
        )
    if font_scale != 1.0:
        figs = {k: export_style(f, font_scale) for k, f in figs.items()}
    return figs


_REPORT_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2937;
       max-width: 1100px; margin: 2rem auto; padding: 0 1.5rem; line-height: 1.5; }
h1 { font-size: 1.8rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem;
     border-bottom: 1px solid #e5e7eb; padding-bottom: .2rem; }
.meta { color: #6b7280; } code, pre { font-family: ui-monospace, Menlo, Consolas, monospace; }
pre { background: #f8fafc; border: 1px solid #e5e7eb; padding: .8rem; white-space: pre-wrap;
      border-radius: 6px; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .92rem; }
th, td { border-bottom: 1px solid #e5e7eb; padding: .25rem .7rem; text-align: left; }
th { background: #f1f5f9; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #4b5563; font-size: .9rem; } .warn { color: #9a3412; }
.figure { margin: 1rem 0 2rem; } summary { cursor: pointer; color: #1d4ed8; }
"""


def _h(text: object) -> str:
    import html

    return html.escape(str(text), quote=True)


def _html_table(df: pd.DataFrame, digits: int = 4, max_rows: int | None = None) -> str:
    """An HTML table with every header and cell escaped; numbers right-aligned."""
    import math

    shown = df if max_rows is None else df.head(max_rows)
    head = "".join(f"<th>{_h(c)}</th>" for c in shown.columns)
    rows = []
    for rec in shown.itertuples(index=False, name=None):
        cells = []
        for v in rec:
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, bool) or v is None:
                cells.append(f"<td>{_h('' if v is None else v)}</td>")
            elif isinstance(v, int):
                cells.append(f"<td class=\"num\">{v:,}</td>")
            elif isinstance(v, float):
                if not math.isfinite(v):
                    text = ""
                elif v != 0 and abs(v) < 10 ** -digits:
                    text = f"{v:.2e}"  # a tiny p value is not 0.0000
                else:
                    text = f"{v:.{digits}f}"
                cells.append(f"<td class=\"num\">{text}</td>")
            else:
                cells.append(f"<td>{_h('' if pd.isna(v) else v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if max_rows is not None and len(df) > max_rows:
        more = (f"<p class=\"note\">The first {max_rows:,} of {len(df):,} rows; the Excel "
                "workbook has all of them.</p>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def html_report(
    result,
    frame_fingerprint: str,
    figures: dict[str, object] | None,
    versions: dict[str, str] | None,
    *,
    data_name: str | None = None,
    frame: pd.DataFrame | None = None,
    created: str | None = None,
    extra_tables: dict[str, pd.DataFrame] | None = None,
    code: dict[str, str] | None = None,
) -> str:
    """A self-contained HTML report of the fit: opens offline, loads nothing from anywhere.

    Holds the model (formula, method, centring notes), the APA paragraph and table, the level
    equations and the mixed equation, the fixed effects, variance components, model fit and
    class effects tables, `figures` (title -> plotly figure; interactive, with plotly.js
    embedded once, inline), `extra_tables` (e.g. comparisons), `code` (title -> the
    reproducible code, hlm_core.codegen), the data file's sha256
    `frame_fingerprint`, package `versions` and the date. Every user string is HTML-escaped;
    the figures' data travel as JSON that plotly escapes for script tags.
    """
    from datetime import UTC, datetime

    import plotly.io as pio

    from hlm_core.writeup import apa_paragraph, apa_table, level_equations

    created = created or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    versions = versions if versions is not None else package_versions()
    parts: list[str] = []
    add = parts.append
    add("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
    add("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    add(f"<title>Multilevel model: {_h(result.spec.outcome)}</title>")
    add(f"<style>{_REPORT_CSS}</style></head><body>")
    add(f"<h1>Multilevel model for {_h(result.spec.outcome)}</h1>")
    what = f"Data: {_h(data_name)} · " if data_name else ""
    add(f"<p class=\"meta\">{what}{result.nobs:,} rows · {_h(result.method)} · "
        f"created {_h(created)}</p>")

    add("<h2>Model</h2>")
    add(f"<p>lme4 formula:</p><pre>{_h(result.formula)}</pre>")
    notes = list(result.notes)
    try:
        eq = level_equations(result, frame)
    except Exception:  # a design without equations (no model frame): the rest still reports
        eq = None
    if eq is not None:
        for n in eq["notes"]:
            if n not in notes:
                notes.append(n)
    if notes:
        add("<ul>" + "".join(f"<li>{_h(n)}</li>" for n in notes) + "</ul>")
    for w in result.warnings:
        add(f"<p class=\"warn\">{_h(w)}</p>")

    add("<h2>Write-up</h2>")
    add(f"<p>{_h(apa_paragraph(result, frame))}</p>")
    apa = apa_table(result)
    add(_html_table(apa))
    add(f"<p class=\"note\">{_h(apa.attrs.get('note', ''))}</p>")

    if eq is not None:
        add("<h2>Level equations</h2>")
        levels = [("Level 1", eq["level1"]), ("Level 2", eq["level2"]), ("Level 3", eq["level3"])]
        for title, lines in levels:
            if lines:
                add(f"<p><b>{title}</b></p><pre>{_h(chr(10).join(lines))}</pre>")
        add(f"<p><b>Mixed model</b></p><pre>{_h(eq['mixed'])}</pre>")
        add(f"<p><b>Variance components</b></p><pre>{_h(chr(10).join(eq['variances']))}</pre>")

    add("<h2>Fixed effects</h2>")
    add("<p class=\"note\">Satterthwaite df (as lmerTest); 95% confidence intervals with "
        "those df.</p>")
    add(_html_table(result.fixed))
    add("<h2>Variance components</h2>")
    add(_html_table(result.varcorr))
    add("<h2>Model fit</h2>")
    add(_html_table(model_fit_table(result)))
    for title, df in (extra_tables or {}).items():
        if df is not None and len(df.columns):
            add(f"<h2>{_h(title)}</h2>")
            add(_html_table(df))

    if figures:
        add("<h2>Figures</h2>")
        first = True
        for title, fig in figures.items():
            styled = export_style(fig)
            add(f"<div class=\"figure\"><h3>{_h(title)}</h3>")
            add(pio.to_html(
                styled,
                include_plotlyjs=True if first else False,
                include_mathjax=False,
                full_html=False,
                config={"displaylogo": False, "showSendToCloud": False,
                        "responsive": True},
            ))
            add("</div>")
            first = False

    add("<h2>Class effects</h2>")
    effects = class_effects_table(result)
    add("<p class=\"note\">Each group's difference from the average (ranef) and its own value "
        "(coef), with 95% intervals from the conditional SD.</p>")
    add(f"<details><summary>Show the table ({len(effects):,} rows)</summary>")
    add(_html_table(effects, max_rows=2000))
    add("</details>")

    add("<h2>Reproducibility</h2>")
    for title, text in (code or {}).items():
        add(f"<details><summary>{_h(title)}</summary><pre>{_h(text)}</pre></details>")
    add("<table><tbody>")
    if data_name:
        add(f"<tr><th>data file</th><td>{_h(data_name)}</td></tr>")
    add(f"<tr><th>data fingerprint (sha256)</th><td><code>{_h(frame_fingerprint)}</code>"
        "</td></tr>")
    for k, v in versions.items():
        add(f"<tr><th>{_h(k)}</th><td>{_h(v)}</td></tr>")
    add(f"<tr><th>date</th><td>{_h(created)}</td></tr>")
    add("</tbody></table>")
    add("</body></html>")
    return "\n".join(parts)
