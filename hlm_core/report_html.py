"""The HTML report: one self-contained page with the model, its tables, figures and write-up,
and the package versions that made it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd

from hlm_core.ci_output import varcorr_with_ci
from hlm_core.export_tables import (
    class_effects_table,
    model_fit_table,
    numeric_predictors,
    pred_slope_table,
)
from hlm_core.images import export_style
from hlm_core.result import fixed_for_export


def package_versions() -> dict[str, str]:
    """Versions of what computed the numbers (for the report and the workbook); looked up once
    per process (they don't change while it runs), a fresh dict each call."""
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str]:
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


def report_figure_specs(result) -> list[tuple[str, Callable[[], object]]]:
    """The report's figures as (title, build) pairs: a caterpillar plot per random term of the
    first grouping level, and each group's predicted line for the first numeric predictor.

    The titles come without drawing anything, so a page can list the figures (and offer
    their images) on every visit and build one only when it is asked for."""
    from hlm_core.effects import ranef_table
    from hlm_core.figures import caterpillar, group_lines

    if not result.group_names:
        return []
    group = result.group_names[0]

    @functools.cache
    def effects() -> pd.DataFrame:  # one table for all the caterpillars, made on first use
        return ranef_table(result, group)

    def caterpillar_of(term: str) -> Callable[[], object]:
        return lambda: caterpillar(effects(), term, "own",
                                   value_title=f"Group's own value: {term}", group_title=group)

    def lines() -> object:
        predictor, table = pred_slope_table(result)
        block = next(b for b in result.model_frame.blocks if b.group == group)
        return group_lines(table, predictor, result.spec.outcome,
                           f"What the model predicts, per {group}", order=block.levels)

    specs: list[tuple[str, Callable[[], object]]] = []
    for term in result.random_terms(group):
        what = "Intercept" if term == "(Intercept)" else f"Effect of {term}"
        specs.append((f"{what} per {group}", caterpillar_of(term)))
    predictors = numeric_predictors(result)  # pred_slope_table's predictor, without its lines
    if predictors:
        specs.append((f"Predicted {result.spec.outcome} by {predictors[0]}, per {group}", lines))
    return specs


def report_figures(result, *, font_scale: float = 1.0) -> dict[str, object]:
    """The report's figures by title, all drawn (`report_figure_specs`), fonts scaled by
    `font_scale` for files."""
    figs = {title: build() for title, build in report_figure_specs(result)}
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
.table-wrap { max-width: 100%; overflow-x: auto; margin: .6rem 0 1rem; }
table { border-collapse: collapse; font-size: .92rem; }
th, td { border-bottom: 1px solid #e5e7eb; padding: .25rem .7rem; text-align: left;
         overflow-wrap: anywhere; }
td:not(.num) { min-width: 6rem; max-width: 28rem; } td.num { white-space: nowrap; }
th { background: #f1f5f9; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #4b5563; font-size: .9rem; } .warn { color: #9a3412; }
.figure { margin: 1rem 0 2rem; } summary { cursor: pointer; color: #1d4ed8; }
"""


def _h(text: object) -> str:
    import html

    return html.escape(str(text), quote=True)


_P_COLUMNS = {"p", "p_value", "p_boundary", "pr(>chisq)"}
_TWO_DECIMALS = {"aic", "bic", "loglik", "deviance", "chisq", "t", "t_value", "χ²"}


def cell_number(column: str, v: float, digits: int = 4) -> str:
    """A number in a report table as the pages show it: p as "< 0.001" or three decimals,
    Satterthwaite df to one decimal, whole numbers (a test's df, counts) without decimals,
    likelihoods and t to two decimals, shares as percentages, the rest to `digits` decimals;
    a value that would round to 0 keeps two significant digits; never e-notation."""
    import math

    if not math.isfinite(v):
        return ""
    col = str(column).lower()
    if col in _P_COLUMNS:
        return "< 0.001" if v < 0.001 else f"{v:.3f}"
    if col.startswith("var_explained"):
        return f"{100 * v:.1f}%"
    satterthwaite = column == "df"  # lmerTest's df; "Df" (a test's df) is a whole number
    if v == round(v) and abs(v) < 1e15 and not satterthwaite:
        return f"{round(v):,}" if col not in _TWO_DECIMALS else f"{v:.2f}"
    places = 1 if satterthwaite else 2 if col in _TWO_DECIMALS else digits
    text = f"{v:.{places}f}"
    if v != 0 and float(text) == 0:  # a small variance is not 0.0000
        places = min(20, 1 - math.floor(math.log10(abs(v))))
        text = f"{v:.{places}f}"
    return text


def _html_table(df: pd.DataFrame, digits: int = 4, max_rows: int | None = None) -> str:
    """An HTML table with every header and cell escaped, numbers right-aligned and formatted
    as on the pages (`cell_number`), inside a box that scrolls sideways when it is wider than
    the page (long formulas wrap first)."""
    shown = df if max_rows is None else df.head(max_rows)
    head = "".join(f"<th>{_h(c)}</th>" for c in shown.columns)
    rows = []
    for rec in shown.itertuples(index=False, name=None):
        cells = []
        for col, v in zip(shown.columns, rec, strict=True):
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, bool) or v is None:
                cells.append(f"<td>{_h('' if v is None else v)}</td>")
            elif isinstance(v, int | float):
                cells.append(f"<td class=\"num\">{cell_number(col, float(v), digits)}</td>")
            else:
                cells.append(f"<td>{_h('' if pd.isna(v) else v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if max_rows is not None and len(df) > max_rows:
        more = (f"<p class=\"note\">The first {max_rows:,} of {len(df):,} rows; the Excel "
                "workbook has all of them.</p>")
    return (f"<div class=\"table-wrap\"><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>{more}")


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
    analysis: tuple[str, str] | None = None,
) -> str:
    """A self-contained HTML report of the fit: opens offline, loads nothing from anywhere.

    Holds the model (formula, method, centring notes), the APA paragraph and table, the level
    equations and the mixed equation, the fixed effects, variance components, model fit and
    class effects tables, `figures` (title -> plotly figure; interactive, with plotly.js
    embedded once, inline), `extra_tables` (e.g. comparisons), `code` (title -> the
    reproducible code, hlm_core.codegen), the data file's sha256
    `frame_fingerprint`, the analysis file it was opened from (`analysis`: name, sha256),
    package `versions` and the date. Every user string is HTML-escaped;
    the figures' data travel as JSON that plotly escapes for script tags.
    """
    from datetime import UTC, datetime

    from hlm_core.writeup import level_equations

    created = created or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    versions = versions if versions is not None else package_versions()
    try:
        eq = level_equations(result, frame)
    except Exception:  # a design without equations (no model frame): the rest still reports
        eq = None
    parts = [
        *_report_head(result, data_name, created),
        *_model_section(result, eq),
        *_writeup_section(result, frame),
        *_equations_section(eq),
        *_tables_section(result, extra_tables),
        *_figures_section(figures),
        *_effects_section(result),
        *_reproducibility_section(code, data_name, frame_fingerprint, versions, created,
                                  analysis),
        "</body></html>",
    ]
    return "\n".join(parts)


def _report_head(result, data_name: str | None, created: str) -> list[str]:
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
    return parts


def _model_section(result, eq: dict | None) -> list[str]:
    """The formula, the notes (the fit's and the equations'), and the warnings."""
    parts: list[str] = []
    add = parts.append
    add("<h2>Model</h2>")
    add(f"<p>lme4 formula:</p><pre>{_h(result.formula)}</pre>")
    notes = list(result.notes)
    if eq is not None:
        for n in eq["notes"]:
            if n not in notes:
                notes.append(n)
    if notes:
        add("<ul>" + "".join(f"<li>{_h(n)}</li>" for n in notes) + "</ul>")
    for w in result.warnings:
        add(f"<p class=\"warn\">{_h(w)}</p>")
    return parts


def _writeup_section(result, frame: pd.DataFrame | None) -> list[str]:
    from hlm_core.writeup import apa_paragraph, apa_table

    parts: list[str] = []
    add = parts.append
    add("<h2>Write-up</h2>")
    add(f"<p>{_h(apa_paragraph(result, frame))}</p>")
    apa = apa_table(result)
    add(_html_table(apa))
    add(f"<p class=\"note\">{_h(apa.attrs.get('note', ''))}</p>")
    return parts


def _equations_section(eq: dict | None) -> list[str]:
    parts: list[str] = []
    add = parts.append
    if eq is not None:
        add("<h2>Level equations</h2>")
        levels = [("Level 1", eq["level1"]), ("Level 2", eq["level2"]), ("Level 3", eq["level3"])]
        for title, lines in levels:
            if lines:
                add(f"<p><b>{title}</b></p><pre>{_h(chr(10).join(lines))}</pre>")
        add(f"<p><b>Mixed model</b></p><pre>{_h(eq['mixed'])}</pre>")
        add(f"<p><b>Variance components</b></p><pre>{_h(chr(10).join(eq['variances']))}</pre>")
    return parts


def _tables_section(result, extra_tables: dict[str, pd.DataFrame] | None) -> list[str]:
    parts: list[str] = []
    add = parts.append
    add("<h2>Fixed effects</h2>")
    if result.is_glmm:
        from hlm_core.glmm import exported_fixed_note

        add(f"<p class=\"note\">Wald z tests (as lme4's summary); "
            f"{_h(exported_fixed_note(result.family))}</p>")
    else:
        add("<p class=\"note\">Satterthwaite df (as lmerTest); 95% confidence intervals with "
            "those df.</p>")
    add(_html_table(fixed_for_export(result)))
    add("<h2>Variance components</h2>")
    add(_html_table(varcorr_with_ci(result)))
    add("<h2>Model fit</h2>")
    add(_html_table(model_fit_table(result)))
    for title, df in (extra_tables or {}).items():
        if df is not None and len(df.columns):
            add(f"<h2>{_h(title)}</h2>")
            add(_html_table(df))
    return parts


def _figures_section(figures: dict[str, object] | None) -> list[str]:
    """Interactive figures, plotly.js embedded once (with the first)."""
    import plotly.io as pio

    parts: list[str] = []
    add = parts.append
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
    return parts


def _effects_section(result) -> list[str]:
    parts: list[str] = []
    add = parts.append
    add("<h2>Class effects</h2>")
    effects = class_effects_table(result)
    add("<p class=\"note\">Each group's difference from the average (ranef) and its own value "
        "(coef), with 95% intervals from the conditional SD.</p>")
    add(f"<details><summary>Show the table ({len(effects):,} rows)</summary>")
    add(_html_table(effects, max_rows=2000))
    add("</details>")
    return parts


def _reproducibility_section(
    code: dict[str, str] | None,
    data_name: str | None,
    frame_fingerprint: str,
    versions: dict[str, str],
    created: str,
    analysis: tuple[str, str] | None = None,
) -> list[str]:
    parts: list[str] = []
    add = parts.append
    add("<h2>Reproducibility</h2>")
    for title, text in (code or {}).items():
        add(f"<details><summary>{_h(title)}</summary><pre>{_h(text)}</pre></details>")
    add("<div class=\"table-wrap\"><table><tbody>")
    if data_name:
        add(f"<tr><th>data file</th><td>{_h(data_name)}</td></tr>")
    add(f"<tr><th>data fingerprint (sha256)</th><td><code>{_h(frame_fingerprint)}</code>"
        "</td></tr>")
    if analysis:
        add(f"<tr><th>analysis file</th><td>{_h(analysis[0])}</td></tr>")
        add(f"<tr><th>analysis file fingerprint (sha256)</th><td><code>{_h(analysis[1])}"
            "</code></td></tr>")
    for k, v in versions.items():
        add(f"<tr><th>{_h(k)}</th><td>{_h(v)}</td></tr>")
    add(f"<tr><th>date</th><td>{_h(created)}</td></tr>")
    add("</tbody></table></div>")
    return parts
