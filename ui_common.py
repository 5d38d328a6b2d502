"""What every page of the dashboard shares: session-state keys, loading data, the model builder's
state, the per-session fit cache, "nothing here yet" guidance and error display.

Pages stay thin: widgets, calls into hlm_core and this module, rendering. Everything a user
uploads or fits lives in `st.session_state` only (one browser session), never in a cache shared
between sessions, and never on disk.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
from collections import OrderedDict
from itertools import combinations
from typing import Any

import pandas as pd
import streamlit as st

from hlm_core.compare import ladder
from hlm_core.design import formula_name_hint, is_factor, level_labels
from hlm_core.effects import centering_summary
from hlm_core.errors import FormulaError, HLMError
from hlm_core.examples import classroom, example_bytes, example_info
from hlm_core.export import safe_csv
from hlm_core.fit import fit
from hlm_core.formula import format_formula, parse_formula
from hlm_core.glossary import term_help, topic_text
from hlm_core.io import Table, detect_missing_codes, read_table
from hlm_core.report import plural
from hlm_core.result import FitResult
from hlm_core.spec import ModelSpec, RandomEffect, Term
from hlm_core.structure import Structure, describe_structure

log = logging.getLogger("hlm_app")

DATA_PAGE = "pages/data.py"
MODEL_PAGE = "pages/model.py"
RESULTS_PAGE = "pages/results.py"
EFFECTS_PAGE = "pages/class_effects.py"
SLOPES_PAGE = "pages/slopes.py"
COMPARE_PAGE = "pages/compare.py"
DIAGNOSTICS_PAGE = "pages/diagnostics.py"

REPORT_PAGE = "pages/report.py"

# workshop mode, presenter view, examples and exports (see the last section of this file)
K_WORKSHOP = "hlm_workshop"  # True: pages show plain-language notes and the guided tour
K_LARGE = "hlm_large_font"  # True: presenter view (larger fonts on the page and in charts)
K_EXAMPLE = "hlm_example"  # name of the example data set loaded (hlm_core.examples), if any
K_FILE_SHA = "hlm_file_sha256"  # sha256 of the uploaded file's bytes (for the report)
K_EXPORTS = "hlm_exports"  # (fit key, {(what, format): bytes}) figure images made on request
W_WORKSHOP = "w_workshop"
W_LARGE = "w_large_font"
W_EXAMPLE = "w_example"
PRESENTER_SCALE = 1.4  # chart fonts in the presenter view

# What the uploader accepts: every format hlm_core reads, and the ones it refuses with advice
# (an old .xls, .ods or .numbers: "save it as .xlsx"; a JSON export). The browser rejects other
# extensions with its own terse message before the file reaches the app.
UPLOAD_TYPES = [
    "csv", "tsv", "tab", "txt", "dat", "xlsx", "xlsm", "sav", "zsav", "dta", "parquet", "pq",
    "xls", "xlsb", "ods", "numbers", "json",
]
EXAMPLE_SEED = 2024
MAX_FITS = 6  # fits kept per session (the newest; the one on show is never dropped)

# ---- session-state keys (one place, so pages never disagree)
K_TABLE = "hlm_table"  # hlm_core.io.Table as read (or the example)
K_RAW = "hlm_raw"  # (name, bytes) of a workbook with several sheets, to read another sheet
K_UPLOAD_ID = "hlm_upload_id"  # file_id of the upload already read
K_READ_ERROR = "hlm_read_error"  # plain message from the last failed read
K_TYPES = "hlm_types"  # {column: "categorical" | "numeric"} the user switched
K_MISSING = "hlm_missing_codes"  # {column: [codes]} the user chose to treat as missing
K_TYPE_ERROR = "hlm_type_error"
K_FRAME = "hlm_frame"  # (data_key, frame) the working frame, built once per change
K_SUMMARY = "hlm_summary"  # (data_key, column summary)
K_STRUCTURE = "hlm_structure"  # (data_key, levels, Structure | message)
K_CODES = "hlm_codes_found"  # (fingerprint, {column: [codes]}) suspected missing-value codes
K_LEVELS = "hlm_levels"  # grouping columns chosen on the Data page, inner first
K_CHOICES = "hlm_choices"  # the model builder's choices (a dict, see default_choices)
K_SPEC = "hlm_spec"  # the current ModelSpec (from the builder or typed)
K_FORMULA_TEXT = "hlm_formula_text"  # what the Formula box shows
K_FORMULA_ERROR = "hlm_formula_error"  # (message, position, text) of the last bad formula
K_CUSTOM = "hlm_custom"  # True when the typed formula has parts the builder can't show
K_STALE = "hlm_builder_stale"  # builder values a typed formula replaced, until the page redraws
K_FITS = "hlm_fits"  # OrderedDict[(data_key, spec)] -> FitResult
K_FIT_KEY = "hlm_fit_key"  # key of the fit the results pages show
K_FIT_ERROR = "hlm_fit_error"
K_MEMO = "hlm_memo"  # {name: (key, value)}: the last result of a slow view computation
K_SAVED = "hlm_saved_models"  # [(name, ModelSpec)] the user saved for the Compare page
K_LADDER = "hlm_ladder"  # OrderedDict[(data_key, spec, saved)] -> Ladder | error message
K_DIAG = "hlm_diagnostics"  # {(fit key, what)}: refits the Diagnostics page ran on request

# widget keys of the builder (values mirrored from K_CHOICES every run, so they survive a
# page change: Streamlit forgets the state of widgets that are not on the page)
W = {
    "outcome": "w_outcome",
    "predictors": "w_predictors",
    "interactions": "w_interactions",
    "group": "w_group",
    "higher": "w_higher",
    "crossed": "w_crossed",
    "slopes": "w_slopes",
    "correlated": "w_correlated",
    "method": "w_method",
}
W_FORMULA = "w_formula"
W_CENTER = "w_center__"  # + predictor: the centring choice of one predictor
W_UPLOAD = "w_upload"
PAIR = " × "  # joins an interaction's predictors for display (choices keep them as tuples)
METHODS = {"REML": "REML (recommended)", "ML": "ML (for comparing models)"}
CENTERING = {"none": "Not centred", "grand": "Grand mean", "group": "Group mean"}

GROUP_HINTS = ("class", "school", "group", "cluster", "team", "district", "site", "teacher")
ID_HINTS = ("id", "student", "pupil", "row", "index")


# ============================================================================ page furniture


def page_header(title: str, intro: str | None = None) -> None:
    """Title, a one-line intro and the sidebar status every page shows; in the sidebar also
    the workshop-mode and presenter-view toggles (the guided tour step shows under the intro)."""
    if large_font_on():
        inject_presenter_css()
    st.title(title)
    if intro:
        st.caption(intro)
    tour_step(title)
    view_options()
    with st.sidebar:
        table = st.session_state.get(K_TABLE)
        if table is None:
            st.caption("No data loaded yet.")
        else:
            frame = working_frame()
            st.caption(f"**Data:** {table.name}  \n{rows_cols(frame)}")
            spec = st.session_state.get(K_SPEC)
            if spec is not None:
                st.caption(f"**Model:** `{format_formula(spec)}`")
                centred = centering_text(spec)
                if centred:
                    st.caption(f"**Centring:** {centred}")
            if current_fit() is not None:
                st.caption("**Fitted** — see Results.")


def rows_cols(frame: pd.DataFrame) -> str:
    r, c = frame.shape
    return f"{r:,} row{'s' * (r != 1)}, {c:,} column{'s' * (c != 1)}"


def need_data() -> bool:
    """True (after showing what to do) when no data is loaded yet."""
    if st.session_state.get(K_TABLE) is not None:
        return False
    st.info("No data yet. Upload a file or try the example data on the Data page first.")
    st.page_link(DATA_PAGE, label="Go to Data", icon=":material/upload_file:")
    return True


def need_fit() -> FitResult | None:
    """The fitted model to show, or None after saying what to do next (never an error)."""
    if need_data():
        return None
    result = current_fit()
    if result is not None:
        return result
    if st.session_state.get(K_FIT_KEY) is not None:
        st.info(
            "The data changed since the model was fitted. Fit the model again on the Model page "
            "to see results for the data as they are now."
        )
    else:
        st.info("No model fitted yet. Choose the model on the Model page and press Fit model.")
    st.page_link(MODEL_PAGE, label="Go to Model", icon=":material/tune:")
    return None


def show_error(message: str) -> None:
    """A problem the user can fix, in plain words (never a traceback)."""
    st.error(message, icon=":material/error:")


def download_csv(df: pd.DataFrame, file_name: str, label: str, key: str) -> None:
    """A CSV download of `df`, escaped against spreadsheet formula injection. The file is made
    only when the button is pressed (a 40,000-row table takes ~0.3 s to write), so reruns for
    plot options stay fast."""
    st.download_button(
        label,
        data=lambda: safe_csv(df),
        file_name=file_name,
        mime="text/csv",
        key=key,
        icon=":material/download:",
        on_click="ignore",
    )


def group_label(group: str) -> str:
    """'class:school' -> 'class (within school)' for pickers; plain names unchanged."""
    if ":" not in group:
        return group
    parts = [p.strip("()") for p in group.split(":")]
    return f"{parts[0]} (within {' within '.join(parts[1:])})"


# ============================================================================ data


def _reset_after_new_data() -> None:
    for k in (
        K_TYPES,
        K_MISSING,
        K_FRAME,
        K_SUMMARY,
        K_STRUCTURE,
        K_LEVELS,
        K_CHOICES,
        K_SPEC,
        K_FORMULA_TEXT,
        K_FORMULA_ERROR,
        K_CUSTOM,
        K_FITS,
        K_FIT_KEY,
        K_FIT_ERROR,
        K_TYPE_ERROR,
        K_READ_ERROR,
        K_CODES,
        K_MEMO,
        K_SAVED,
        K_LADDER,
        K_DIAG,
    ):
        st.session_state.pop(k, None)


def set_table(table: Table, raw: tuple[str, bytes] | None = None) -> None:
    """Make `table` the session's data; everything derived from older data is forgotten."""
    _reset_after_new_data()
    for k in (K_EXAMPLE, K_FILE_SHA, K_EXPORTS):
        st.session_state.pop(k, None)
    st.session_state[K_TABLE] = table
    st.session_state[K_RAW] = raw


def load_upload(name: str, data: bytes, sheet: str | None = None) -> bool:
    """What the Data page does with an uploaded file. False (message stored) if unreadable."""
    try:
        table = read_table(data, name=name, sheet=sheet)
    except HLMError as exc:
        st.session_state[K_READ_ERROR] = str(exc)
        return False
    except Exception:
        log.exception("reading %s failed", name)
        st.session_state[K_READ_ERROR] = (
            f"{name} could not be read as a table. Save it as CSV or Excel (.xlsx) and try again."
        )
        return False
    raw = (name, data) if len(table.sheets) > 1 else None
    set_table(table, raw)
    st.session_state[K_FILE_SHA] = hashlib.sha256(data).hexdigest()
    return True


def on_upload() -> None:
    """Callback of the "Upload data" widget: read the new file before the page is drawn."""
    upload = st.session_state.get(W_UPLOAD)
    if upload is None or st.session_state.get(K_UPLOAD_ID) == upload.file_id:
        return
    st.session_state[K_UPLOAD_ID] = upload.file_id
    load_upload(upload.name, upload.getvalue())


def load_example(name: str | None = None) -> None:
    """Load an example data set (the one chosen on the Data page by default): the generated
    classroom data or one of the real data sets bundled with hlm_core (read like an upload)."""
    name = name or st.session_state.get(W_EXAMPLE) or "classroom"
    info = example_info(name)
    data = example_bytes(name)
    if data is None:
        frame = classroom(seed=EXAMPLE_SEED)
        table = Table(
            frame=frame,
            notes=[
                "Example data: 500 students in 7 classes, made up with a fixed seed "
                f"({EXAMPLE_SEED}), so everyone sees the same numbers."
            ],
            name=f"Example: {name}",
            fingerprint=f"example:{name}:{EXAMPLE_SEED}",
        )
    else:
        table = read_table(data, name=info.file)
        table.name = f"Example: {name}"
        table.notes = [f"Example data: {info.description}. Source: {info.source}", *table.notes]
    set_table(table)
    st.session_state[K_EXAMPLE] = name
    st.session_state[K_FILE_SHA] = hashlib.sha256(example_file(name)).hexdigest()
    st.session_state[K_LEVELS] = list(info.levels)


def choose_sheet(sheet: str) -> bool:
    raw = st.session_state.get(K_RAW)
    if raw is None:
        return False
    return load_upload(raw[0], raw[1], sheet=sheet)


def data_key() -> tuple | None:
    """Identifies the data as the model sees it: file contents + sheet + the user's changes."""
    table = st.session_state.get(K_TABLE)
    if table is None:
        return None
    types = tuple(sorted(st.session_state.get(K_TYPES, {}).items()))
    codes = tuple(
        (c, tuple(v)) for c, v in sorted(st.session_state.get(K_MISSING, {}).items())
    )
    return (table.fingerprint, types, codes)


def to_categorical(s: pd.Series) -> pd.Series:
    return level_labels(s).astype("category")


def to_numeric(s: pd.Series, name: str) -> pd.Series:
    """Numbers from a text column, or HLMError naming a value that is not a number."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    text = s.astype("string").str.strip()
    out = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    bad = out.isna() & s.notna() & text.ne("")
    if bad.any():
        example = text[bad].iloc[0]
        raise HLMError(
            f"'{name}' holds text such as '{example}', so it can't be treated as numbers. "
            "It stays a category."
        )
    return out.astype(float)


def working_frame() -> pd.DataFrame:
    """The data the model sees: as read, with the user's type switches and missing codes.
    Built once per change (cached in this session only)."""
    key = data_key()
    cached = st.session_state.get(K_FRAME)
    if cached is not None and cached[0] == key:
        return cached[1]
    table: Table = st.session_state[K_TABLE]
    frame = table.frame
    codes = st.session_state.get(K_MISSING) or {}
    types = st.session_state.get(K_TYPES) or {}
    if codes or types:
        frame = frame.copy()
    for col, values in codes.items():
        frame[col] = frame[col].mask(frame[col].isin(list(values)))
    for col, kind in types.items():
        if kind == "categorical":
            frame[col] = to_categorical(frame[col])
        else:
            frame[col] = to_numeric(frame[col], col)
    st.session_state[K_FRAME] = (key, frame)
    return frame


def set_categorical(columns: list[str]) -> None:
    """Treat exactly `columns` as categories and the rest as numbers (where they are numbers)."""
    table: Table = st.session_state[K_TABLE]
    base = table.frame
    types: dict[str, str] = {}
    st.session_state.pop(K_TYPE_ERROR, None)
    for col in base.columns:
        was_cat = is_factor(base[col])
        want_cat = col in columns
        if was_cat and not want_cat:
            try:
                to_numeric(base[col], col)
            except HLMError as exc:
                st.session_state[K_TYPE_ERROR] = str(exc)
                continue
            types[col] = "numeric"
        elif want_cat and not was_cat:
            types[col] = "categorical"
    st.session_state[K_TYPES] = types


def suspected_missing_codes() -> dict[str, list[float]]:
    """Numeric columns that seem to use 99/-999-style codes for missing answers (cached)."""
    table: Table = st.session_state[K_TABLE]
    cached = st.session_state.get(K_CODES)
    if cached is None or cached[0] != table.fingerprint:
        try:
            found = detect_missing_codes(table.frame)
        except Exception:
            log.exception("detect_missing_codes failed")
            found = {}
        cached = (table.fingerprint, found)
        st.session_state[K_CODES] = cached
    return cached[1]


def set_missing_codes(on: bool) -> None:
    st.session_state[K_MISSING] = dict(suspected_missing_codes()) if on else {}


def set_levels(levels: list[str]) -> None:
    """Grouping columns chosen on the Data page; the model builder starts from them."""
    st.session_state[K_LEVELS] = list(levels)
    c = st.session_state.get(K_CHOICES)
    if c is not None and levels:
        c = dict(c)
        c["group"], c["higher"], c["crossed"] = split_levels(working_frame(), list(levels))
        st.session_state[K_CHOICES] = c
        st.session_state[K_CUSTOM] = False


def split_levels(frame: pd.DataFrame, levels: list[str]) -> tuple[str | None, list[str], list[str]]:
    """The Data page's grouping columns as the builder's (group, higher levels, crossed):
    two columns the structure check finds crossed (pupils' primary and secondary school)
    become crossed intercepts, `(1 | a) + (1 | b)`; otherwise they nest, inner first."""
    if not levels:
        return None, [], []
    if len(levels) == 2:
        found = structure(frame, levels)
        if not isinstance(found, str) and found.relations and found.relations[0].kind == "crossed":
            return levels[0], [], [levels[1]]
    return levels[0], list(levels[1:]), []


def structure(frame: pd.DataFrame, levels: list[str]) -> Structure | str:
    """hlm_core's structure check for `levels` (inner first), or the plain message why not."""
    key = (data_key(), tuple(levels))
    cached = st.session_state.get(K_STRUCTURE)
    if cached is not None and cached[0] == key:
        return cached[1]
    try:
        out: Structure | str = describe_structure(frame, list(levels))
    except HLMError as exc:
        out = str(exc)
    st.session_state[K_STRUCTURE] = (key, out)
    return out


def column_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per column: type, missing values, distinct values, an example (cached)."""
    key = data_key()
    cached = st.session_state.get(K_SUMMARY)
    if cached is not None and cached[0] == key:
        return cached[1]
    rows = []
    n = len(frame)
    for col in frame.columns:
        s = frame[col]
        missing = int(s.isna().sum())
        non_null = s.dropna()
        rows.append(
            {
                "Column": str(col),
                "Type": column_type(s),
                "Missing": missing,
                "Missing %": 100.0 * missing / n if n else 0.0,
                "Distinct values": int(non_null.nunique()),
                "Example": str(non_null.iloc[0]) if len(non_null) else "",
            }
        )
    out = pd.DataFrame(rows)
    st.session_state[K_SUMMARY] = (key, out)
    return out


def guess_levels(frame: pd.DataFrame) -> list[str]:
    """A likely grouping column (class, school, ...) to start the builder with."""
    n = len(frame)
    cands = []
    for col in frame.columns:
        name = str(col).lower()
        hint = next((i for i, h in enumerate(GROUP_HINTS) if h in name), None)
        if hint is None:  # never chosen: don't count a million values (~0.3 s a column)
            continue
        k = frame[col].nunique(dropna=True)
        if 2 <= k <= max(2, n // 2):
            cands.append((hint, not is_factor(frame[col]), col))
    cands.sort(key=lambda t: (t[0], t[1]))
    return [cands[0][2]] if cands and cands[0][0] < 99 else []


# ============================================================================ model builder


def is_date(s: pd.Series) -> bool:
    """Dates (and times): neither numbers nor categories for the model, which refuses them."""
    return pd.api.types.is_datetime64_any_dtype(s.dtype)


def column_type(s: pd.Series) -> str:
    """How the Data page's column summary names a column's type."""
    if is_date(s):
        return "date"
    return "category" if is_factor(s) else "number"


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """The columns the builder offers as outcome or as a centrable number (not dates)."""
    return [c for c in frame.columns if column_type(frame[c]) == "number"]


def default_choices(frame: pd.DataFrame) -> dict[str, Any]:
    levels = list(st.session_state.get(K_LEVELS) or guess_levels(frame))
    group, higher, crossed = split_levels(frame, levels)
    outcome = next(
        (
            c
            for c in numeric_columns(frame)
            if c not in levels and not any(h == str(c).lower() for h in ID_HINTS)
        ),
        None,
    )
    return {
        "outcome": outcome,
        "predictors": [],
        "interactions": [],
        "group": group,
        "higher": higher,
        "crossed": crossed,
        "slopes": [],
        "correlated": True,
        "method": "REML",
        "centering": {},
    }


def builder_options(c: dict[str, Any], frame: pd.DataFrame) -> dict[str, list]:
    """The options each builder widget offers, given the other choices."""
    cols = list(frame.columns)
    numeric = numeric_columns(frame)
    outcome_opts = numeric + ([c["outcome"]] if c["outcome"] in cols and c["outcome"] not in
                              numeric else [])
    levels = [g for g in [c["group"], *c["higher"], *c.get("crossed", [])] if g]
    # dates can group rows (a test session) but are no predictor: the fit refuses them
    pred_opts = [
        x for x in cols if x != c["outcome"] and x not in levels and not is_date(frame[x])
    ]
    preds = [p for p in c["predictors"] if p in pred_opts]
    return {
        "outcome": outcome_opts,
        "predictors": pred_opts,
        "interactions": list(combinations(preds, 2)),
        "group": [x for x in cols if x != c["outcome"] and x not in preds],
        "higher": [x for x in cols if x not in (c["outcome"], c["group"]) and x not in preds
                   and x not in c.get("crossed", [])],
        "crossed": [x for x in cols if x not in (c["outcome"], c["group"]) and x not in preds
                    and x not in c["higher"]],
        "centering": [p for p in preds if p in numeric],
        "slopes": preds,
        "correlated": [True, False],
        "method": list(METHODS),
    }


def interaction_label(pair: tuple[str, ...]) -> str:
    """How the Interactions picker shows a pair of predictors: "hours × ses". A name that holds
    " × " itself goes in backticks, so no two pairs look the same (names never hold backticks)."""
    return PAIR.join(f"`{v}`" if PAIR.strip() in str(v) else str(v) for v in pair)


def sanitize(c: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    """Drop choices that are no longer possible (e.g. a predictor that became the outcome)."""
    c = dict(c)
    cols = set(frame.columns)
    if c["outcome"] not in cols:
        c["outcome"] = None
    if c["group"] not in cols or c["group"] == c["outcome"]:
        c["group"] = None
    c["higher"] = [h for h in c["higher"] if h in cols and h not in (c["outcome"], c["group"])]
    c["crossed"] = [
        x for x in c.get("crossed", [])
        if x in cols and x not in (c["outcome"], c["group"]) and x not in c["higher"]
    ]
    if c["group"] is None:
        c["higher"] = []
        c["crossed"] = []
    opts = builder_options(c, frame)
    c["predictors"] = [p for p in c["predictors"] if p in opts["predictors"]]
    opts = builder_options(c, frame)
    c["interactions"] = [tuple(i) for i in c["interactions"] if tuple(i) in opts["interactions"]]
    c["slopes"] = [s for s in c["slopes"] if s in opts["slopes"]]
    c["centering"] = {
        p: how for p, how in (c.get("centering") or {}).items()
        if p in opts["centering"] and how in CENTERING and how != "none"
    }
    if c["method"] not in METHODS:
        c["method"] = "REML"
    return c


def spec_from_choices(c: dict[str, Any]) -> ModelSpec | None:
    """The ModelSpec the builder's choices describe (None without an outcome).

    Two levels (class in school) without random slopes give `(1 | school/class)`; with random
    slopes, the slopes vary between the innermost groups: `(1 + x | class:school) + (1 | school)`.
    """
    if not c["outcome"]:
        return None
    fixed = [Term((p,)) for p in c["predictors"]]
    fixed += [Term(tuple(i)) for i in c["interactions"]]
    random: tuple[RandomEffect, ...] = ()
    if c["group"]:
        slopes = tuple(Term((s,)) for s in c["slopes"])
        levels = [c["group"], *c["higher"]]  # inner -> outer
        corr = bool(c["correlated"])
        if len(levels) == 1:
            random = (RandomEffect((c["group"],), slopes=slopes, correlated=corr),)
        elif not slopes:
            random = (RandomEffect(tuple(reversed(levels)), kind="nested"),)
        else:
            res = [RandomEffect(tuple(levels), kind="interaction", slopes=slopes, correlated=corr)]
            for k in range(1, len(levels)):
                sub = tuple(levels[k:])
                res.append(RandomEffect(sub, kind="single" if len(sub) == 1 else "interaction"))
            random = tuple(res)
        random += tuple(RandomEffect((x,)) for x in c.get("crossed", []))
    return ModelSpec(
        outcome=c["outcome"],
        fixed=tuple(fixed),
        random=random,
        reml=c["method"] == "REML",
        centering=centering_of(c),
    )


def centering_of(c: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The builder's centring choices as ModelSpec.centering, in predictor order."""
    how = c.get("centering") or {}
    return tuple((p, how[p]) for p in c["predictors"] if how.get(p, "none") != "none")


def choices_from_spec(spec: ModelSpec) -> dict[str, Any]:
    """The builder choices closest to `spec` (exact when the builder can express it)."""
    c: dict[str, Any] = {
        "outcome": spec.outcome,
        "predictors": [t.variables[0] for t in spec.fixed if t.order == 1],
        "interactions": [tuple(t.variables) for t in spec.fixed if t.order == 2],
        "group": None,
        "higher": [],
        "crossed": [],
        "slopes": [],
        "correlated": True,
        "method": "REML" if spec.reml else "ML",
        "centering": dict(spec.centering),
    }
    if spec.random:
        first = spec.random[0]
        if first.kind == "nested":
            levels = list(reversed(first.grouping))
        else:
            levels = list(first.grouping)
        c["group"], c["higher"] = levels[0], levels[1:]
        c["slopes"] = [t.variables[0] for t in first.slopes if t.order == 1]
        c["correlated"] = first.correlated
        # further intercept-only bars on a column of their own: crossed grouping factors
        c["crossed"] = [
            r.grouping[0] for r in spec.random[1:]
            if r.kind == "single" and r.intercept and not r.slopes and r.grouping[0] not in levels
        ]
    return c


def ensure_model_state(frame: pd.DataFrame) -> None:
    """Builder choices, spec and formula text exist and fit the current columns."""
    c = st.session_state.get(K_CHOICES)
    if c is None:
        c = default_choices(frame)
        st.session_state[K_CUSTOM] = False
    c = sanitize(c, frame)
    st.session_state[K_CHOICES] = c
    if st.session_state.get(K_SPEC) is None or not st.session_state.get(K_CUSTOM):
        spec = spec_from_choices(c)
        if spec != st.session_state.get(K_SPEC):
            st.session_state[K_SPEC] = spec
            st.session_state[K_FORMULA_TEXT] = format_formula(spec) if spec else ""
    if K_FORMULA_TEXT not in st.session_state:
        spec = st.session_state.get(K_SPEC)
        st.session_state[K_FORMULA_TEXT] = format_formula(spec) if spec else ""
    # mirror the choices into the widgets (their own state is lost on a page change)
    for name, key in W.items():
        st.session_state[key] = c[name]
    for p in builder_options(c, frame)["centering"]:
        st.session_state[W_CENTER + p] = c["centering"].get(p, "none")
    st.session_state[W_FORMULA] = st.session_state[K_FORMULA_TEXT]


def on_builder_change(name: str) -> None:
    """Callback of every builder widget: the choices become the spec and the formula text.

    A click that reaches the server before the browser has redrawn the builder after a typed
    formula (Enter, then Fit model at once) carries the builder's old values; those are not the
    user's choice and must not undo the formula, so they are ignored until the page redraws."""
    stale = st.session_state.get(K_STALE) or {}
    value = st.session_state[W[name]]
    current = st.session_state[K_CHOICES].get(name)
    if name in stale and value == stale[name] and value != current:
        st.session_state[W[name]] = current
        return
    c = dict(st.session_state[K_CHOICES])
    c[name] = st.session_state[W[name]]
    _choices_changed(c, name)


def _choices_changed(c: dict[str, Any], name: str) -> None:
    """New builder choices (after widget `name` changed) become the spec and the formula."""
    frame = working_frame()
    c = sanitize(c, frame)
    st.session_state[K_CHOICES] = c
    st.session_state.pop(K_FORMULA_ERROR, None)
    spec = st.session_state.get(K_SPEC)
    if name == "method" and st.session_state.get(K_CUSTOM) and spec is not None:
        spec = spec.with_(reml=c["method"] == "REML")  # keep a typed formula, change REML/ML
    elif name == "centering" and st.session_state.get(K_CUSTOM) and spec is not None:
        spec = spec.with_(centering=centering_of(c))  # keep a typed formula, change centring
    else:
        spec = spec_from_choices(c)
        st.session_state[K_CUSTOM] = False
    st.session_state[K_SPEC] = spec
    st.session_state[K_FORMULA_TEXT] = format_formula(spec) if spec else ""


def builder_rendered() -> None:
    """The Model page has drawn the builder with the current choices: from now on a builder
    value that differs from them is the user's."""
    st.session_state.pop(K_STALE, None)


def on_center_change(predictor: str) -> None:
    """Callback of a predictor's centring choice (none / grand / group)."""
    c = dict(st.session_state[K_CHOICES])
    c["centering"] = dict(c.get("centering") or {})
    c["centering"][predictor] = st.session_state[W_CENTER + predictor]
    _choices_changed(c, "centering")


def apply_formula(text: str) -> bool:
    """Typed formula -> spec and builder choices. False (error stored, with its position)
    when the text is not a valid formula or names a column the data doesn't have."""
    frame = working_frame()
    c = st.session_state.get(K_CHOICES) or default_choices(frame)
    before = {name: st.session_state[key] for name, key in W.items() if key in st.session_state}
    st.session_state[K_FORMULA_TEXT] = text
    try:
        spec = parse_formula(text, reml=c["method"] == "REML")
        kept = [(v, h) for v, h in (c.get("centering") or {}).items()
                if h != "none" and v in spec.variables()[1:]]
        spec = spec.with_(centering=tuple(kept))
        missing = [v for v in spec.variables() if v not in frame.columns]
        if missing:
            v = missing[0]
            close = difflib.get_close_matches(v, [str(x) for x in frame.columns], n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(repr(x) for x in close)}?" if close else ""
            raise FormulaError(
                f"There is no column called '{v}' in the data.{hint}",
                position=text.find(v) if v in text else None,
                text=text,
            )
    except FormulaError as exc:
        message = str(exc)
        hint = formula_name_hint(text, frame.columns)
        if hint:  # e.g. Math score ~ Study hours: the names need backticks
            message = f"{message} {hint}"
        st.session_state[K_FORMULA_ERROR] = (message, exc.position, text)
        return False
    new = sanitize(choices_from_spec(spec), frame)
    st.session_state[K_STALE] = before
    st.session_state[K_CHOICES] = new
    st.session_state[K_SPEC] = spec
    st.session_state[K_CUSTOM] = spec_from_choices(new) != spec
    st.session_state[K_FORMULA_TEXT] = format_formula(spec)
    st.session_state.pop(K_FORMULA_ERROR, None)
    return True


def on_formula_enter() -> None:
    apply_formula(st.session_state[W_FORMULA])


# ============================================================================ fitting


def fit_key(spec: ModelSpec) -> tuple:
    return (data_key(), spec)


def fit_model(spec: ModelSpec) -> FitResult | None:
    """Fit `spec` to the working data, or reuse this session's earlier fit of the same
    (data, spec). Shows a spinner while fitting and a plain message when it can't be done."""
    key = fit_key(spec)
    fits: OrderedDict = st.session_state.setdefault(K_FITS, OrderedDict())
    st.session_state.pop(K_FIT_ERROR, None)
    if key in fits:
        fits.move_to_end(key)
        st.session_state[K_FIT_KEY] = key
        return fits[key]
    frame = working_frame()
    try:
        with st.spinner("Fitting the model…", show_time=True):
            result = fit(frame, spec)
    except HLMError as exc:
        st.session_state[K_FIT_ERROR] = str(exc)
        return None
    except Exception:
        log.exception("fit failed for %s", format_formula(spec))
        st.session_state[K_FIT_ERROR] = (
            "The model could not be fitted. Try a simpler model (fewer random slopes or "
            "predictors) or check the data for odd values."
        )
        return None
    fits[key] = result
    st.session_state[K_FIT_KEY] = key
    while len(fits) > MAX_FITS:
        fits.popitem(last=False)
    return result


def memo(name: str, key: Any, compute):
    """`compute()` once per `key` (e.g. the fit and the chosen options), remembered in this
    session only, the last key per `name` — so moving a slider doesn't redo slow work."""
    store = st.session_state.setdefault(K_MEMO, {})
    hit = store.get(name)
    if hit is not None and hit[0] == key:
        return hit[1]
    value = compute()
    store[name] = (key, value)
    return value


def current_fit() -> FitResult | None:
    """The fit the results pages show: the last one fitted, if it is for the current data."""
    key = st.session_state.get(K_FIT_KEY)
    if key is None or key[0] != data_key():
        return None
    return st.session_state.get(K_FITS, {}).get(key)


def fit_is_stale() -> bool:
    """True when the Model page now describes a different model than the one shown."""
    key = st.session_state.get(K_FIT_KEY)
    spec = st.session_state.get(K_SPEC)
    return key is not None and spec is not None and key[1] != spec


def fit_rows(result: FitResult) -> pd.DataFrame:
    """The rows of the working data the fit used (after dropping missing values)."""
    frame = working_frame()
    mf = result.model_frame
    if mf is None or len(mf.rows) == len(frame):
        return frame
    return frame.iloc[mf.rows]


def combined_labels(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """Group labels of a combined level such as class:school, built as hlm_core's design does."""
    out = level_labels(frame[columns[0]]).astype(str)
    for c in columns[1:]:
        out = out + ":" + level_labels(frame[c]).astype(str)
    return out


def rows_dropped_text(result: FitResult) -> str | None:
    if not result.rows_dropped:
        return None
    detail = ", ".join(f"{c}: {k:,}" for c, k in result.dropped_by_column.items())
    return (
        f"{result.rows_dropped:,} of {result.rows_total:,} rows were left out because of "
        f"missing values ({detail})."
    )


# ============================================================================ centring, saved
# models, the model ladder and the Diagnostics page's refits


def centering_text(spec: ModelSpec, result: FitResult | None = None) -> str | None:
    """"ses centred within school; school mean of ses added as ses.mean" (None if nothing is
    centred). With a fit, only what the model really centred (categories never are)."""
    mf = result.model_frame if result is not None else None
    return centering_summary(spec, mf.variables if mf is not None else None)


def show_centering(result: FitResult) -> None:
    """The centring line every results table carries, so no one reads a centred slope as raw."""
    text = centering_text(result.spec, result)
    if text:
        st.caption(f":material/align_horizontal_center: **Centring:** {text}.")


def set_spec(spec: ModelSpec) -> None:
    """Make `spec` the Model page's model (builder choices and formula follow), as if typed."""
    frame = working_frame()
    new = sanitize(choices_from_spec(spec), frame)
    st.session_state[K_CHOICES] = new
    st.session_state[K_SPEC] = spec
    st.session_state[K_CUSTOM] = spec_from_choices(new) != spec
    st.session_state[K_FORMULA_TEXT] = format_formula(spec)
    st.session_state.pop(K_FORMULA_ERROR, None)


def saved_models() -> list[tuple[str, ModelSpec]]:
    return list(st.session_state.get(K_SAVED) or [])


def save_model(name: str, spec: ModelSpec) -> str:
    """Keep (name, spec) for the Compare page; the same name again replaces it. Returns the
    sentence to show."""
    name = name.strip() or f"Saved model {len(saved_models()) + 1}"
    kept = [(n, s) for n, s in saved_models() if n != name]
    kept.append((name, spec))
    st.session_state[K_SAVED] = kept
    return f"Saved as '{name}': fit it next to the model ladder on the Compare page."


def save_model_controls(spec: ModelSpec, key: str) -> None:
    """A name box and a "Save this model" button (for the Compare page's ladder)."""
    done = [n for n, s in saved_models() if s == spec]
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    with c1:
        name = st.text_input(
            "Name for this model",
            value=done[0] if done else f"Model {len(saved_models()) + 1}",
            key=f"{key}_name",
            help="Saved models can be compared with the model ladder on the Compare page.",
        )
    with c2:
        if st.button("Save this model", key=f"{key}_save", icon=":material/bookmark_add:"):
            st.session_state[f"{key}_msg"] = (spec, save_model(name, spec))
    done = [n for n, s in saved_models() if s == spec]
    said = st.session_state.get(f"{key}_msg")
    if said and said[0] == spec and done:
        st.caption(f":material/bookmark: {said[1]}")
    elif done:
        st.caption(f":material/bookmark: Saved as '{done[0]}'.")


MAX_LADDERS = 4


def ladder_key(spec: ModelSpec, extra: list[tuple[str, ModelSpec]]) -> tuple:
    return (data_key(), spec.with_(reml=False), tuple(extra))


def cached_ladder(spec: ModelSpec, extra: list[tuple[str, ModelSpec]]):
    """The ladder (or the message why it failed) fitted for this data, model and saved
    models, if it was fitted in this session."""
    return st.session_state.get(K_LADDER, {}).get(ladder_key(spec, extra))


def fit_ladder(spec: ModelSpec, extra: list[tuple[str, ModelSpec]]):
    """Fit the model ladder (null → … → `spec`, then `extra`) by ML, once per (data, model,
    saved models) in this session. Returns the Ladder or a plain message."""
    key = ladder_key(spec, extra)
    store: OrderedDict = st.session_state.setdefault(K_LADDER, OrderedDict())
    if key in store:
        return store[key]
    frame = working_frame()
    try:
        with st.spinner("Fitting the model ladder by ML…", show_time=True):
            out = ladder(frame, spec, extra=list(extra) or None)
    except HLMError as exc:
        out = str(exc)
    except Exception:
        log.exception("ladder failed for %s", format_formula(spec))
        out = (
            "The model ladder could not be fitted. Try a simpler model, or compare the models "
            "one at a time."
        )
    store[key] = out
    while len(store) > MAX_LADDERS:
        store.popitem(last=False)
    return out


def diag_get(what: str):
    """A Diagnostics refit result stored for the fit on show (None if not run yet)."""
    key = st.session_state.get(K_FIT_KEY)
    return st.session_state.get(K_DIAG, {}).get((key, what))


def diag_run(what: str, compute):
    """Run a slow Diagnostics refit once for the fit on show and keep it in this session."""
    key = st.session_state.get(K_FIT_KEY)
    store = st.session_state.setdefault(K_DIAG, {})
    if (key, what) not in store:
        for k in [k for k in store if k[0] != key]:
            del store[k]  # only the fit on show keeps its refits
        store[(key, what)] = compute()
    return store[(key, what)]


def diag_forget(what: str) -> None:
    """Drop a Diagnostics refit result stored for the fit on show."""
    key = st.session_state.get(K_FIT_KEY)
    st.session_state.get(K_DIAG, {}).pop((key, what), None)


def use_fit(result: FitResult) -> None:
    """Show `result` (e.g. the other optimizer's better fit) as the fit of its model."""
    key = fit_key(result.spec)
    fits: OrderedDict = st.session_state.setdefault(K_FITS, OrderedDict())
    fits[key] = result
    fits.move_to_end(key)
    st.session_state[K_FIT_KEY] = key


def crossing(frame: pd.DataFrame, a: str, b: str) -> tuple[str, str]:
    """Whether grouping columns `a` and `b` are crossed, by hlm_core's structure check:
    ("crossed" | "a_in_b" | "b_in_a" | "error", the sentence to show)."""

    def compute() -> tuple[str, str]:
        try:
            ab = describe_structure(frame, [a, b]).relations[0]
            ba = describe_structure(frame, [b, a]).relations[0]
        except HLMError as exc:
            return "error", str(exc)
        if ab.nested:
            return "a_in_b", (
                f"Each {a} belongs to one {b}, so they are nested, not crossed: add {b} under "
                "Higher levels instead."
            )
        if ba.nested:
            return "b_in_a", (
                f"Each {b} belongs to one {a}, so they are nested, not crossed: choose {b} as "
                f"the grouping variable and {a} under Higher levels instead."
            )
        return "crossed", (
            f"{a} and {b} are crossed: {ab.reused_ids:,} {plural(a)} appear with more than one "
            f"{b} (for example {a} {ab.example_id} with {ab.example_count} {plural(b)}). Each "
            "gets its own random intercept."
        )

    return memo(f"crossing:{a}:{b}", (data_key(), a, b), compute)


# ============================================================================ workshop mode,
# presenter view, example tour, exports
#
# Workshop mode and the presenter view are per-session switches in the sidebar of every page
# (page_header draws them). Their values live under K_WORKSHOP / K_LARGE and are mirrored into
# the toggles on every run, so they survive page changes.


def _mirror(widget_key: str, state_key: str) -> None:
    st.session_state[state_key] = bool(st.session_state.get(widget_key))


def workshop_on() -> bool:
    return bool(st.session_state.get(K_WORKSHOP))


def large_font_on() -> bool:
    return bool(st.session_state.get(K_LARGE))


def view_options() -> None:
    """The sidebar toggles: workshop mode and the presenter (large-font) view."""
    with st.sidebar:
        st.session_state[W_WORKSHOP] = workshop_on()
        st.session_state[W_LARGE] = large_font_on()
        st.toggle(
            "Workshop mode",
            key=W_WORKSHOP,
            on_change=_mirror,
            args=(W_WORKSHOP, K_WORKSHOP),
            help="Short plain-language explanations on every page, and the guided tour of the "
            "example data.",
        )
        st.toggle(
            "Large font (presenter view)",
            key=W_LARGE,
            on_change=_mirror,
            args=(W_LARGE, K_LARGE),
            help="Bigger text on the page and in the charts, for a projector.",
        )


PRESENTER_CSS = """<style id="hlm-presenter-view">
html { font-size: 21px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stCaptionContainer"], [data-testid="stAlertContentInfo"] { font-size: 1.1rem; }
[data-testid="stMetricValue"] { font-size: 2.6rem; }
[data-testid="stDataFrame"], [data-testid="stTable"] { font-size: 1.05rem; }
[data-testid="stCode"] code { font-size: 1rem; }
.katex { font-size: 1.15em !important; }
</style>"""


def inject_presenter_css() -> None:
    """Larger fonts for the whole page (Streamlit sizes text in rem, so the root size scales
    it). A <style>-only st.html takes no space on the page."""
    st.html(PRESENTER_CSS)


def workshop_note(topic: str) -> None:
    """A short plain-language explanation of `topic` (hlm_core.glossary.TOPICS), shown only in
    workshop mode."""
    if not workshop_on():
        return
    try:
        text = topic_text(topic)
    except KeyError:
        log.warning("no workshop note for %r", topic)
        return
    st.info(text, icon=":material/school:")


def help_text(term: str) -> str | None:
    """Hover help for a statistical term (hlm_core.glossary.TERMS), for a widget's `help=`."""
    try:
        return term_help(term)
    except KeyError:
        log.warning("no glossary entry for %r", term)
        return None


def tour_step(page_title: str) -> None:
    """In workshop mode with an example loaded: this page's step of the example's guided tour."""
    name = st.session_state.get(K_EXAMPLE)
    if not workshop_on() or not name or st.session_state.get(K_TABLE) is None:
        return
    step = example_info(name).tour.get(page_title)
    if step:
        st.success(f"**Guided tour ({example_info(name).title}):** {step}",
                   icon=":material/tour:")


def figure_style(fig):
    """The figure as this session shows it: larger fonts in the presenter view."""
    if not large_font_on():
        return fig
    import plotly.graph_objects as go

    from hlm_core.figures import scale_fonts

    # a copy: a figure kept between runs (ui.memo) must not grow on every rerun
    return scale_fonts(go.Figure(fig), PRESENTER_SCALE)


def chart(fig, *, key: str, **kwargs) -> None:
    """st.plotly_chart with the session's view options (presenter fonts) and no plotly logo."""
    kwargs.setdefault("config", {"displaylogo": False})
    st.plotly_chart(figure_style(fig), key=key, **kwargs)


def example_file(name: str) -> bytes:
    """The example's data as the CSV file the reproducible code reads (bundled file, or the
    generated classroom data written as CSV)."""
    data = example_bytes(name)
    if data is not None:
        return data
    return safe_csv(classroom(seed=EXAMPLE_SEED))


def data_file_name() -> str:
    """The file name the reproducible code reads: the upload's name, or the example's file."""
    name = st.session_state.get(K_EXAMPLE)
    if name:
        return example_info(name).file_name
    table = st.session_state.get(K_TABLE)
    return table.name if table is not None else "data.csv"


def data_fingerprint() -> str:
    """sha256 of the data file (the upload's bytes, or the example file)."""
    sha = st.session_state.get(K_FILE_SHA)
    if sha:
        return sha
    table = st.session_state.get(K_TABLE)
    return table.fingerprint if table is not None else ""


def codegen_args() -> dict[str, Any]:
    """What the reproducible code needs to redo the Data page's work: the file name, the sheet,
    and the column-type switches and missing-value codes the user applied (as the fit used)."""
    table = st.session_state.get(K_TABLE)
    return {
        "file_name": data_file_name(),
        "column_types": dict(st.session_state.get(K_TYPES) or {}) or None,
        "sheet": table.sheet if table is not None else None,
        "missing_codes": {c: list(v) for c, v in (st.session_state.get(K_MISSING) or {}).items()}
        or None,
    }


def comparison_table(spec: ModelSpec | None = None) -> pd.DataFrame | None:
    """The model ladder's table the Compare page made for the current data, if any, for the
    exports: the ladder up to `spec` when there is one, else the latest."""
    store = st.session_state.get(K_LADDER)
    if not store:
        return None
    key = data_key()
    found = None
    for k, v in store.items():
        if isinstance(k, tuple) and k and k[0] == key and hasattr(v, "table"):
            if found is None or len(k) < 2 or k[1] == spec or found[0] != spec:
                found = (k[1] if len(k) > 1 else None, v)
    return found[1].table if found is not None else None


def export_cache(result_key: Any) -> dict:
    """This session's store of figure images made on request, for the fit shown (older fits'
    images are dropped)."""
    cached = st.session_state.get(K_EXPORTS)
    if cached is None or cached[0] != result_key:
        cached = (result_key, {})
        st.session_state[K_EXPORTS] = cached
    return cached[1]
