"""The steps of the bad-input corpus (tests/corpus) through the app, with AppTest: `run_case` is
what `tests.corpus.cases.app_check` runs (tests/app/test_corpus_app.py runs every case).

One fresh app per case: upload the corpus file through the real "Upload data" widget on the Data
page (and pick the case's sheet), then check the read notes and the table (``upload``), choose
the grouping columns (``describe``), tick "Treat these codes as missing" (``missing_codes``), or
type the formula and press Fit model (``fit``). After every step ``at.exception`` is empty; a
refusal is an st.error holding the case's plain message. For the cases in `STILL_USABLE` the
same session then loads the example data, fits it and opens the results pages.
"""

from __future__ import annotations

import mimetypes

from apphelpers import button, frame_by_key, go, new_app, state, upload, widget

import ui.widgets
from tests.corpus.cases import Case, kind_of, same
from ui.text import plain

LEVELS = "Grouping columns (smallest group first)"
EXAMPLE_FORMULA = "score ~ exam.prep.days + (1 | class)"

# Cases after which the same session loads the example data and fits it (at least one per
# kind, refused and accepted). The others stop after their own checks, to keep the file fast.
STILL_USABLE = {
    "binary",  # upload refused
    "several-sheets-pick",  # upload read (a sheet picked)
    "spaces-unquoted",  # formula refused before fitting
    "huge-scale",  # fit refused
    "no-convergence",  # fit with warnings
    "levels-reused",  # structure with warnings
    "levels-typo",  # structure: the typo can't be made
    "missing-codes",
}

# The Data page's column summary says "category" for text and categories alike.
SUMMARY_TYPE = {"number": "number", "date": "date", "text": "category", "category": "category"}


def page_text(at) -> str:
    """Every text element on the page: headings, markdown, captions, alerts, code."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "code", "info",
                 "warning", "success", "error"):
        parts.extend(plain(str(e.value)) for e in getattr(at, kind))
    return "\n".join(parts)


def no_traceback(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert "Traceback" not in page_text(at)


def alerts(at, kind: str) -> str:
    """The text of every element of `kind`, as the page shows it (user text in it is
    escaped Markdown)."""
    return "\n".join(plain(str(e.value)) for e in getattr(at, kind))


def contains_all(text: str, fragments, where: str) -> None:
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in the {where}:\n{text}"


def mime(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


# ------------------------------------------------------------------------------ the steps


def upload_case(at, case: Case):
    """Upload the case's file through "Upload data"; pick its sheet. Returns the app."""
    upload(at, case.file, case.path.read_bytes(), mime(case.file))
    no_traceback(at)
    if case.sheet and not at.error:
        sheet = widget(at, "selectbox", "Sheet")
        assert case.sheet in sheet.options
        sheet.set_value(case.sheet).run()
        no_traceback(at)
        assert widget(at, "selectbox", "Sheet").value == case.sheet
    return at


def check_upload(at, case: Case) -> None:
    if case.error:
        contains_all(alerts(at, "error"), [case.error], "errors on the Data page")
        # what was loaded before stays loaded
        assert state(at).table.name == "Example: classroom"
        assert "Example: classroom: 500 rows, 5 columns" in page_text(at)
        return
    assert not at.error, [e.value for e in at.error]
    contains_all(alerts(at, "caption"), case.notes, "captions on the Data page")
    table = state(at).table
    assert table.name == case.file
    frame = table.frame
    if case.shape is not None:
        assert frame.shape == case.shape
        assert f"{case.file}: {ui.widgets.rows_cols(frame)}" in page_text(at)
    preview = frame_by_key(at, "preview")  # what the user sees
    if case.columns is not None:
        assert tuple(preview.columns[: len(case.columns)]) == case.columns
    for col, want in case.values.items():
        got = preview[col].tolist()[: len(want)]
        assert all(same(g, w) for g, w in zip(got, want, strict=True)), (col, got, want)
    if case.kinds:
        summary = frame_by_key(at, "column_summary").set_index("Column")
        for col, kind in case.kinds.items():
            assert kind_of(frame[col]) == kind, col
            assert summary.loc[col, "Type"] == SUMMARY_TYPE[kind], col


def check_describe(at, case: Case) -> None:
    levels = widget(at, "multiselect", LEVELS)
    unknown = [lv for lv in case.levels if lv not in levels.options]
    if unknown:
        # a name the file doesn't have can't be chosen: the picker lists the file's columns only
        assert case.error and "There is no column called" in case.error
        assert all(lv.lower() in [o.lower() for o in levels.options] for lv in unknown)
        return
    levels.set_value(list(case.levels)).run()
    no_traceback(at)
    if case.error:
        contains_all(alerts(at, "error"), [case.error], "errors on the Data page")
        return
    assert not at.error, [e.value for e in at.error]
    contains_all(alerts(at, "markdown"), case.summary, "structure summary")
    contains_all(alerts(at, "warning"), case.warnings, "warnings on the Data page")


def tick_missing_codes(at, case: Case) -> None:
    listing = "; ".join(
        f"{col}: {', '.join(f'{v:g}' for v in vals)}" for col, vals in case.codes.items()
    )
    warnings = alerts(at, "warning")
    assert listing in warnings, warnings
    contains_all(warnings, case.notes, "warnings on the Data page")
    widget(at, "checkbox", "Treat these codes as missing").check().run()
    no_traceback(at)
    assert state(at).missing == {k: list(v) for k, v in case.codes.items()}


def fit_case(at, case: Case) -> None:
    go(at, "model")
    widget(at, "text_input", "Formula").input(case.formula).run()
    no_traceback(at)
    fit_button = button(at, "Fit model")
    if not at.error and not fit_button.disabled:
        fit_button.click().run()
        no_traceback(at)
    if case.error:
        # an st.error; for a formula without a grouping bar the Model page's guidance (an
        # st.info: the Fit button waits for a grouping variable)
        contains_all(alerts(at, "error") + "\n" + alerts(at, "info"), [case.error],
                     "messages on the Model page")
        return
    assert not at.error, [e.value for e in at.error]
    result = state(at).fits[state(at).fit_key]
    go(at, "results")
    assert not at.error, [e.value for e in at.error]
    contains_all(alerts(at, "warning"), case.warnings, "warnings on the Results page")
    if case.does == "fit":  # (a missing_codes case's notes are the Data page's warning)
        contains_all(alerts(at, "caption") + "\n" + alerts(at, "info"), case.notes,
                     "notes on the Results page")
    metrics = {plain(m.label): m.value for m in at.metric}  # labels are escaped Markdown
    if case.nobs is not None:
        assert metrics["Observations"] == f"{case.nobs:,}"
        assert result.nobs == case.nobs
    for g, n in case.groups.items():
        assert metrics[f"Groups: {ui.widgets.group_label(g)}"] == f"{n:,}"
    if case.terms:
        fixed = frame_by_key(at, "fixed_effects")
        assert tuple(fixed["Term"]) == case.terms


def still_usable(at) -> None:
    """The session goes on: the example data load, fit, and every results page opens."""
    go(at, "data")
    button(at, "Use example data").click().run()
    no_traceback(at)
    assert not at.error, [e.value for e in at.error]
    go(at, "model")
    widget(at, "text_input", "Formula").input(EXAMPLE_FORMULA).run()
    assert not at.error, [e.value for e in at.error]
    button(at, "Fit model").click().run()
    no_traceback(at)
    assert not at.error, [e.value for e in at.error]
    for page in ("results", "class_effects"):
        go(at, page)
        assert not at.error, [e.value for e in at.error]
    assert "500" in {m.label: m.value for m in go(at, "results").metric}["Observations"]


def run_case(case: Case) -> None:
    """What `tests.corpus.cases.app_check` does (wired to this module)."""
    at = new_app()
    if case.does == "upload" and case.error:
        button(at, "Use example data").click().run()  # data already loaded must stay
        no_traceback(at)
    upload_case(at, case)
    if case.does == "upload":
        check_upload(at, case)
    else:
        assert not at.error, [e.value for e in at.error]
        if case.does == "describe":
            check_describe(at, case)
        else:
            if case.does == "missing_codes":
                tick_missing_codes(at, case)
            fit_case(at, case)
    if case.id in STILL_USABLE:
        still_usable(at)
