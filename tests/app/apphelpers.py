"""Helpers for the dashboard's AppTest suite: run app.py, drive widgets by their labels, read
back tables and plotly figures."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
APP = str(ROOT / "app.py")  # the router (a script run: the pages)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hlm_core.figures import decode_array, groups_in_figure  # noqa: E402
from ui.state import KEY, Session  # noqa: E402
from ui.text import plain  # noqa: E402

TIMEOUT = 60


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def state(at: AppTest) -> Session:
    """The session's typed state (ui.state.Session), as the last run left it."""
    return at.session_state[KEY]


def go(at: AppTest, page: str) -> AppTest:
    """Switch to `page` ("model" or "pages/model.py") and run it; fail on any exception."""
    path = page if page.endswith(".py") else f"pages/{page}.py"
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def widget(at: AppTest, kind: str, label: str):
    """The widget of type `kind` (e.g. "selectbox") with exactly this label, as shown (labels
    are Markdown: user text in them is escaped)."""
    found = [w for w in getattr(at, kind) if plain(w.label) == label]
    assert found, f"no {kind} labelled {label!r}; have {[w.label for w in getattr(at, kind)]}"
    return found[0]


def show_fair(at: AppTest) -> AppTest:
    """Switch on the Class effects page's fair comparisons (shrinkage, reliability, ranks),
    which wait behind a toggle so the caterpillar draws at once. The switch stays on for the
    session."""
    found = [w for w in at.toggle if plain(w.label).startswith("Show the fair comparisons")]
    assert found, f"no fair-comparisons toggle; have {[w.label for w in at.toggle]}"
    found[0].set_value(True).run()
    return at


def open_tab(at: AppTest, key: str, label: str) -> AppTest:
    """Open the tab `label` of the lazy tabs `key` (only the open tab's content runs), as a
    click on it does."""
    assert any(plain(t.label) == label for t in at.tabs), [t.label for t in at.tabs]
    at.session_state[key] = label
    return at.run()


def open_expander(at: AppTest, key: str) -> AppTest:
    """Open the lazy expander `key` (its content runs only when open), as a click on it does."""
    at.session_state[key] = True
    return at.run()


def page_downloads(at) -> list[str]:
    """The page's download buttons (not the sidebar's "Save analysis")."""
    return [b.label for b in at.get("download_button") if b.label != "Save analysis"]


def button(at: AppTest, label: str):
    return widget(at, "button", label)


TABLE_COLUMNS = {  # how each table on the pages is recognised (its first columns)
    "preview": None,
    "column_summary": ["Column", "Type", "Missing"],
    "fixed_effects": ["Term", "Estimate", "Std. error"],
    "variances": ["Group", "Effect", "Variance", "SD"],
    "correlations": ["Group", "Between", "And", "Correlation"],
    "model_fit": ["Statistic", "Value"],
    "effects_table": ["level", "n", "term", "ranef"],
    "ladder": ["Model", "Parameters", "logLik"],
    "variance_explained": ["Model", "Formula", "Students (level 1)"],
    "fair_table": ["level", "n", "own_estimate", "model_estimate"],
    "influence": None,
    "crosscheck": ["Quantity", "This app", "statsmodels"],
}


def frame_by_key(at: AppTest, key: str) -> pd.DataFrame:
    """A table on the page, by name (see TABLE_COLUMNS; "preview" = the first table)."""
    tables = [d.value for d in at.dataframe]
    want = TABLE_COLUMNS.get(key, key)
    if want is None:
        assert tables, "no tables on the page"
        return tables[0]
    for df in tables:
        if list(df.columns[: len(want)]) == list(want):
            return df
    raise AssertionError(f"no table {key!r}; have {[list(t.columns) for t in tables]}")


def figures(at: AppTest, key: str | None = None) -> list[dict]:
    """The plotly figures on the current page, as plotly JSON dicts (in page order); with
    `key`, only the charts whose widget key starts with it (e.g. "caterpillar")."""
    return [
        json.loads(el.proto.spec)
        for el in at.get("plotly_chart")
        if key is None or f"-{key}" in el.proto.id
    ]


def trace_array(trace: dict, key: str):
    return decode_array(trace.get(key))


def lines_by_group(fig: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each group's line (x, y) in a group-lines figure: a trace per group (few groups) or one
    trace with the lines separated by gaps (NaN; more than 12 groups)."""
    out = {}
    for tr in fig["data"]:
        xs, ys = trace_array(tr, "x").astype(float), trace_array(tr, "y").astype(float)
        names = trace_array(tr, "text")
        cuts = np.flatnonzero(np.isnan(xs))
        for a, b in zip(np.r_[0, cuts + 1], np.r_[cuts, len(xs)], strict=True):
            assert len({str(n) for n in names[a:b]}) == 1  # one group per line
            assert str(names[a]) not in out  # and one line per group
            out[str(names[a])] = (xs[a:b], ys[a:b])
    return out


def texts(at: AppTest) -> str:
    """All visible text of the page (markdown, captions, alerts, headings), for `in` checks."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "success", "error"):
        parts.extend(plain(str(e.value)) for e in getattr(at, kind))  # as the reader sees it
    return "\n".join(parts)


def upload(at: AppTest, name: str, data: bytes, mime: str = "text/csv") -> AppTest:
    """Upload through the real "Upload data" widget on the Data page."""
    go(at, "data")
    widget(at, "file_uploader", "Upload data").set_value((name, data, mime)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def xlsx_bytes(frames: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for sheet, frame in frames.items():
            frame.to_excel(writer, sheet_name=sheet, index=False)
    return buf.getvalue()


def fit_by_formula(at: AppTest, formula: str) -> AppTest:
    go(at, "model")
    widget(at, "text_input", "Formula").input(formula).run()
    assert not at.error, [e.value for e in at.error]
    button(at, "Fit model").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def count_jobs(monkeypatch) -> list:
    """The hlm_core functions the app runs in worker processes from now on (ui.jobs →
    hlm_core.jobs.Task), in order: how a test sees that something was (not) refitted."""
    import hlm_core.jobs

    calls: list = []
    real = hlm_core.jobs.Task

    def recording(fn, args=(), kwargs=None, **options):
        calls.append(fn)
        return real(fn, args, kwargs, **options)

    monkeypatch.setattr(hlm_core.jobs, "Task", recording)
    return calls


def reference(case: str) -> dict:
    return json.loads((FIXTURES / f"{case}.json").read_text())


__all__ = [
    "button",
    "count_jobs",
    "figures",
    "fit_by_formula",
    "frame_by_key",
    "go",
    "groups_in_figure",
    "new_app",
    "reference",
    "texts",
    "trace_array",
    "upload",
    "widget",
    "xlsx_bytes",
]
