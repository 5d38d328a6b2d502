"""Report & export page: the fitted model written up (HLM level equations beside the mixed
formula, an APA paragraph and table to copy), one-click files (Excel workbook, self-contained
HTML report, each figure as PNG or SVG) and code that reruns the model in R or Python."""

import re
from datetime import UTC, datetime

import streamlit as st

from hlm_core.codegen import CISettings, python_code, r_code
from hlm_core.codegen_tutorial import pred_slope_args
from hlm_core.errors import HLMError
from hlm_core.export import (
    NO_BROWSER,
    figure_image,
    html_report,
    image_export_available,
    package_versions,
    report_figure_specs,
    report_figures,
    workbook,
)
from hlm_core.plan_views import plan_table, powerupr_call
from hlm_core.writeup import apa_paragraph, apa_table, level_equations
from ui import data, fits, guidance, intervals, nav, widgets
from ui.state import log, session
from ui.text import md

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIME = {"png": "image/png", "svg": "image/svg+xml"}

widgets.page_header(
    "Report & export",
    "The fitted model written up for a report, every table and figure as a file, and code that "
    "reruns the analysis in R or Python.",
)
result = nav.need_fit()
if result is None:
    st.stop()
widgets.readable_code_colours()  # the formula and the R and Python scripts

fit_key = session().fit_key
frame = data.working_frame()
if intervals.profile(result, key="profile_report") is None:  # quick ones are computed here
    st.caption(":material/straighten: The 95% intervals of the variance components and the "
               "ICC join the write-up and the files once computed on the Results page.")
st.markdown(f"**Model:** {widgets.md_code(result.formula)} · {result.method} · "
            f"{result.nobs:,} rows")
if fits.fit_is_stale():
    st.warning(
        "The Model page now describes a different model. Everything here is for the model "
        "above; press Fit model on the Model page to update it.",
        icon=":material/history:",
    )
guidance.workshop_note("report")


def _split_top(text: str, sep: str) -> list[str]:
    """`text` split at `sep` outside braces (a column name inside \\text{} may hold ' + ')."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _visible(tex: str) -> int:
    """Roughly how many characters a LaTeX piece shows (subscripts count little)."""
    t = re.sub(r"\\text\{((?:[^{}\\]|\\.)*)\}", r"\1", tex)
    t = re.sub(r"_\{[^{}]*\}", "", t)
    t = re.sub(r"\\[a-zA-Z]+", "x", t)
    return len(re.sub(r"[{}\\,]", "", t))


def wrap_latex(line: str, width: int) -> str:
    """A long equation `lhs = a + b + ...` broken into aligned lines of about `width`
    characters, so it fits its column instead of being cut off."""
    sides = _split_top(line, " = ")
    if len(sides) != 2 or _visible(line) <= width:
        return line
    lhs, rhs = sides
    rows: list[list[str]] = [[]]
    used = _visible(lhs) + 3
    for term in _split_top(rhs, " + "):
        w = _visible(term) + 3
        if rows[-1] and used + w > width:
            rows.append([])
            used = _visible(lhs) + 3
        rows[-1].append(term)
        used += w
    body = r" \\ &\quad + ".join(" + ".join(r) for r in rows)
    return rf"\begin{{aligned}} {lhs} &= {body} \end{{aligned}}"


def slug(text: str) -> str:
    """A file name part from a title that may hold column names (anything a file holds)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()[:60] or "figure"


def _figure_images() -> None:
    """Each report figure's title with a PNG and an SVG download; the figure is drawn, and its
    image made, when a button is pressed (both kept for this session's fit)."""
    if not image_export_available():
        st.info(NO_BROWSER, icon=":material/photo_camera:")
        return
    st.caption(
        ":material/hourglass_top: PNG for slides and documents, SVG for print. One click draws "
        "the image and downloads it: **this takes a few seconds**, while the button shows "
        "that it is working. An image made once is kept for this session."
    )
    specs = fits.memo("report_figure_specs", fit_key, lambda: report_figure_specs(result))
    cache = fits.export_cache(fit_key)

    def image_bytes(title: str, build, fmt: str) -> bytes:
        # runs when the button is pressed, outside the page's run: no st.* calls here
        made = cache.get((title, fmt))
        if made is None:
            try:
                fig = cache.get((title, "figure"))
                if fig is None:
                    fig = cache[(title, "figure")] = build()
                made = figure_image(fig, fmt)
            except Exception:
                log.exception("figure export failed for %s", title)
                raise
            cache[(title, fmt)] = made
        return made

    for i, (title, build) in enumerate(specs):
        cols = st.columns([4, 3, 3], vertical_alignment="center")
        cols[0].markdown(widgets.md_text(title))
        for fmt, col in zip(("png", "svg"), cols[1:], strict=True):
            with col:
                st.download_button(
                    f"Download {fmt.upper()}",
                    data=lambda t=title, b=build, x=fmt: image_bytes(t, b, x),
                    file_name=f"{i + 1}_{slug(title)}.{fmt}",
                    mime=MIME[fmt],
                    key=f"dl_fig_{i}_{fmt}",
                    icon=":material/download:",
                    on_click="ignore",
                    help="Draws the image and downloads it in one click (a few seconds).",
                )


# ---------------------------------------------------------------- equations
try:
    eq = fits.memo("report_equations", fit_key, lambda: level_equations(result, frame))
except Exception:  # never lose the rest of the page over the equations
    log.exception("level equations failed for %s", result.formula)
    eq = None

st.subheader(
    "The model as level equations and as one formula",
    help="Level equations (Raudenbush & Bryk, as HLM writes them) and the mixed formula "
    "(as lme4 writes it) describe the same model.",
)
if eq is None:
    st.info("The level equations could not be written for this model; the formula is below.")
    st.code(result.formula, language="r")
else:
    if guidance.large_font_on():  # presenter view: one column, the equations wrap earlier
        left = right = st.container()
        widths = (50, 50)
    else:
        left, right = st.columns([3, 2], gap="large")
        widths = (44, 80)
    units = eq["levels"]
    with left:
        for k, key in enumerate(("latex_level1", "latex_level2", "latex_level3")):
            if not eq[key]:
                continue
            unit = units[k] if k < len(units) else ""
            st.markdown(f"**Level {k + 1}**" + (f" ({md(unit)})" if unit else ""))
            for line in eq[key]:
                st.latex(wrap_latex(line, widths[0]))
    with right:
        st.markdown("**lme4 formula**")
        st.code(result.formula, language="r", wrap_lines=True)
        st.markdown("**Variance components**", help=guidance.help_text("variance component"))
        if eq["latex_variances"]:
            rows = [line.replace(" = ", " &= ", 1) for line in eq["latex_variances"]]
            st.latex(r"\begin{aligned} " + r" \\ ".join(rows) + r" \end{aligned}")
    st.markdown("**Mixed model** (the level equations combined into one)")
    st.latex(wrap_latex(eq["latex_mixed"], widths[1]))
    for note in eq["notes"]:
        st.caption(f":material/info: {md(note, None)}")
    if any(info.center != "none" for info in result.model_frame.variables.values()):
        guidance.workshop_note("centring")

# ---------------------------------------------------------------- APA write-up
st.subheader("APA write-up", help="Numbers rounded as APA 7 asks; df by Satterthwaite "
             "(lmerTest). " + (guidance.help_text("Satterthwaite df") or ""))
paragraph = fits.memo("report_apa", fit_key, lambda: apa_paragraph(result, frame))
st.caption("Copy with the button at the top right of the box.")
st.code(paragraph, language=None, wrap_lines=True)

table = apa_table(result)
note = table.attrs.get("note", "")
# st.table renders Markdown in every cell and header: term names are user text
st.table(
    table.rename(columns=lambda c: md(c, None)).map(
        lambda v: md(v, None) if isinstance(v, str) else v),
    hide_index=True, border="horizontal",
)
st.caption(md(note, None))
tsv = "\n".join(["\t".join(table.columns)] + ["\t".join(map(str, r)) for r in table.to_numpy()])
with st.expander("The table as text (pastes into Word or Excel as a table)"):
    st.code(tsv + "\n\n" + note, language=None, wrap_lines=True)
st.download_button(
    "Download write-up (text)",
    data=(paragraph + "\n\n" + tsv + "\n\n" + note + "\n").encode("utf-8"),
    file_name="apa_writeup.txt",
    mime="text/plain",
    key="dl_apa",
    icon=":material/download:",
    on_click="ignore",
)

args = data.codegen_args()
file_name = args.pop("file_name")
slopes = session().slopes or {}
if slopes.get("fit_key") != session().fit_key:
    slopes = {}  # the Slopes page's settings were for another fit
try:  # pred.slope in the R code: the range, step and held values the Slopes page used
    ps = pred_slope_args(result, slopes.get("predictor"), hold=slopes.get("hold", "mean"),
                         lo=slopes.get("lo"), hi=slopes.get("hi"), step=slopes.get("step"))
except HLMError:
    ps = None
study_plan = session().plan  # (PlanResult, sources, SimResult) from the Plan a study page
code_r = r_code(result.spec, file_name, **args, pred_slope=ps,
                plan_call=powerupr_call(study_plan[0]) if study_plan else None,
                ci=CISettings("profile"))
code_py = python_code(result.spec, file_name, **args, ci=CISettings("profile"))

# ---------------------------------------------------------------- downloads
st.subheader("Downloads")
guidance.workshop_note("export")
comparisons = fits.comparison_table(result.spec)
extra = {"Comparisons": comparisons} if comparisons is not None else {}
if study_plan is not None:
    extra["Study plan"] = plan_table(*study_plan)
data_name = data.data_file_name()
fingerprint = data.data_fingerprint()
versions = package_versions()
opened_from = session().analysis  # (name, sha256) of the analysis file opened, if any
created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
about = {
    "data file": data_name,
    "data fingerprint (sha256)": fingerprint,
    **({"analysis file": opened_from[0], "analysis file fingerprint (sha256)": opened_from[1]}
       if opened_from else {}),
    "created": created,
    **{f"version: {k}": v for k, v in versions.items()},
}


def make_workbook() -> bytes:
    # runs when the button is pressed, outside the page's run: no st.* calls here
    try:
        return workbook(result, extra, about=about)
    except Exception:
        log.exception("workbook failed for %s", result.formula)
        raise


def make_report() -> bytes:
    try:
        return html_report(
            result, fingerprint, report_figures(result), versions,
            data_name=data_name, frame=frame, created=created, extra_tables=extra,
            code={"R code (lme4 + lmerTest)": code_r, "Python code (hlm_core)": code_py},
            analysis=opened_from,
        ).encode("utf-8")
    except Exception:
        log.exception("HTML report failed for %s", result.formula)
        raise


c1, c2 = st.columns(2)
with c1:
    st.download_button(
        "Download Excel workbook",
        data=make_workbook,
        file_name="multilevel_model.xlsx",
        mime=XLSX,
        key="dl_workbook",
        icon=":material/table_view:",
        on_click="ignore",
        type="primary",
    )
    st.caption(
        "Every table on its own sheet: fixed effects, variance components, model fit, class "
        "effects with intervals, predicted lines (pred_slope), the APA table"
        + (", the model comparisons" if extra else "")
        + ". Cells starting with =, +, - or @ are stored as plain text."
    )
with c2:
    st.download_button(
        "Download HTML report",
        data=make_report,
        file_name="multilevel_model_report.html",
        mime="text/html",
        key="dl_report",
        icon=":material/description:",
        on_click="ignore",
        type="primary",
    )
    st.caption(
        "One file that opens in any browser, also offline: tables, interactive figures, the "
        "write-up, the data file's fingerprint (sha256) and the package versions."
    )

# ---------------------------------------------------------------- figures as images
# A lazy expander: the list, its buttons and the browser check run only when it is open, and
# a figure is drawn only when one of its buttons is pressed (the report's figures took most of
# this page's first visit when they were all drawn just to list their titles).
images_box = st.expander("Figures as images (PNG for slides, SVG for print)",
                         key="w_report_images_open", on_change="rerun")
if images_box.open:
    with images_box:
        _figure_images()

# ---------------------------------------------------------------- reproducible code
st.subheader("Reproducible code")
st.caption(
    f"The code reads **{md(file_name)}** and does what the app did: the same missing-value codes "
    "and column types, the same rows, centring and model. Put the file next to the script or "
    "change the path at the top."
)
example = session().example
if example:
    st.download_button(
        f"Download {md(file_name)} (the example data)",
        data=lambda: data.example_file(example),
        file_name=file_name,
        mime="text/csv",
        key="dl_example_report",
        icon=":material/download:",
        on_click="ignore",
    )
# lazy tabs: only the open script is sent and highlighted (the browser's highlighter takes a
# noticeable share of this page's first visit per long script)
tabs = st.tabs(["R (lme4 + lmerTest)", "Python (hlm_core)"], key="w_report_code",
               on_change="rerun")
scripts = [(code_r, "r", "R script", "model.R", "text/plain", "dl_code_r"),
           (code_py, "python", "Python script", "model.py", "text/x-python", "dl_code_py")]
for tab, (code, language, what, file_name, mime, key) in zip(tabs, scripts, strict=True):
    if tab.open:
        with tab:
            st.code(code, language=language, wrap_lines=True)
            st.download_button(f"Download {what}", data=code.encode("utf-8"),
                               file_name=file_name, mime=mime, key=key,
                               icon=":material/download:", on_click="ignore")
