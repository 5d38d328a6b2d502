"""What every page of the dashboard shares: session-state keys, loading data, the model builder's
state, the per-session fit cache, "nothing here yet" guidance and error display.

Pages stay thin: widgets, calls into hlm_core and this module, rendering. Everything a user
uploads or fits lives in `st.session_state` only (one browser session), never in a cache shared
between sessions, and never on disk.
"""

from __future__ import annotations

import difflib
import logging
from collections import OrderedDict
from itertools import combinations
from typing import Any

import pandas as pd
import streamlit as st

from hlm_core.design import is_factor, level_labels
from hlm_core.errors import FormulaError, HLMError
from hlm_core.examples import classroom
from hlm_core.export import safe_csv
from hlm_core.fit import fit
from hlm_core.formula import format_formula, parse_formula
from hlm_core.io import Table, detect_missing_codes, read_table
from hlm_core.result import FitResult
from hlm_core.spec import ModelSpec, RandomEffect, Term
from hlm_core.structure import Structure, describe_structure

log = logging.getLogger("hlm_app")

DATA_PAGE = "pages/data.py"
MODEL_PAGE = "pages/model.py"
RESULTS_PAGE = "pages/results.py"
EFFECTS_PAGE = "pages/class_effects.py"
SLOPES_PAGE = "pages/slopes.py"

UPLOAD_TYPES = ["csv", "tsv", "txt", "xlsx", "xlsm", "sav", "dta", "parquet"]
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
K_FITS = "hlm_fits"  # OrderedDict[(data_key, spec)] -> FitResult
K_FIT_KEY = "hlm_fit_key"  # key of the fit the results pages show
K_FIT_ERROR = "hlm_fit_error"
K_MEMO = "hlm_memo"  # {name: (key, value)}: the last result of a slow view computation

# widget keys of the builder (values mirrored from K_CHOICES every run, so they survive a
# page change: Streamlit forgets the state of widgets that are not on the page)
W = {
    "outcome": "w_outcome",
    "predictors": "w_predictors",
    "interactions": "w_interactions",
    "group": "w_group",
    "higher": "w_higher",
    "slopes": "w_slopes",
    "correlated": "w_correlated",
    "method": "w_method",
}
W_FORMULA = "w_formula"
W_UPLOAD = "w_upload"
PAIR = " × "
METHODS = {"REML": "REML (recommended)", "ML": "ML (for comparing models)"}

GROUP_HINTS = ("class", "school", "group", "cluster", "team", "district", "site", "teacher")
ID_HINTS = ("id", "student", "pupil", "row", "index")


# ============================================================================ page furniture


def page_header(title: str, intro: str | None = None) -> None:
    """Title, a one-line intro and the sidebar status every page shows."""
    st.title(title)
    if intro:
        st.caption(intro)
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
    ):
        st.session_state.pop(k, None)


def set_table(table: Table, raw: tuple[str, bytes] | None = None) -> None:
    """Make `table` the session's data; everything derived from older data is forgotten."""
    _reset_after_new_data()
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
    return True


def on_upload() -> None:
    """Callback of the "Upload data" widget: read the new file before the page is drawn."""
    upload = st.session_state.get(W_UPLOAD)
    if upload is None or st.session_state.get(K_UPLOAD_ID) == upload.file_id:
        return
    st.session_state[K_UPLOAD_ID] = upload.file_id
    load_upload(upload.name, upload.getvalue())


def load_example() -> None:
    frame = classroom(seed=EXAMPLE_SEED)
    set_table(
        Table(
            frame=frame,
            notes=[
                "Example data: 500 students in 7 classes, made up with a fixed seed "
                f"({EXAMPLE_SEED}), so everyone sees the same numbers."
            ],
            name="Example: classroom",
            fingerprint=f"example:classroom:{EXAMPLE_SEED}",
        )
    )
    st.session_state[K_LEVELS] = ["class"]


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
        c["group"], c["higher"] = levels[0], list(levels[1:])
        st.session_state[K_CHOICES] = c
        st.session_state[K_CUSTOM] = False


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
                "Type": "category" if is_factor(s) else "number",
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
        k = frame[col].nunique(dropna=True)
        if 2 <= k <= max(2, n // 2):
            hint = next((i for i, h in enumerate(GROUP_HINTS) if h in name), None)
            cands.append((hint if hint is not None else 99, not is_factor(frame[col]), col))
    cands.sort(key=lambda t: (t[0], t[1]))
    return [cands[0][2]] if cands and cands[0][0] < 99 else []


# ============================================================================ model builder


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if not is_factor(frame[c])]


def default_choices(frame: pd.DataFrame) -> dict[str, Any]:
    levels = list(st.session_state.get(K_LEVELS) or guess_levels(frame))
    group = levels[0] if levels else None
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
        "higher": levels[1:],
        "slopes": [],
        "correlated": True,
        "method": "REML",
    }


def builder_options(c: dict[str, Any], frame: pd.DataFrame) -> dict[str, list]:
    """The options each builder widget offers, given the other choices."""
    cols = list(frame.columns)
    numeric = numeric_columns(frame)
    outcome_opts = numeric + ([c["outcome"]] if c["outcome"] in cols and c["outcome"] not in
                              numeric else [])
    levels = [g for g in [c["group"], *c["higher"]] if g]
    pred_opts = [x for x in cols if x != c["outcome"] and x not in levels]
    preds = [p for p in c["predictors"] if p in pred_opts]
    return {
        "outcome": outcome_opts,
        "predictors": pred_opts,
        "interactions": [PAIR.join(p) for p in combinations(preds, 2)],
        "group": [x for x in cols if x != c["outcome"] and x not in preds],
        "higher": [x for x in cols if x not in (c["outcome"], c["group"]) and x not in preds],
        "slopes": preds,
        "correlated": [True, False],
        "method": list(METHODS),
    }


def sanitize(c: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    """Drop choices that are no longer possible (e.g. a predictor that became the outcome)."""
    c = dict(c)
    cols = set(frame.columns)
    if c["outcome"] not in cols:
        c["outcome"] = None
    if c["group"] not in cols or c["group"] == c["outcome"]:
        c["group"] = None
    c["higher"] = [h for h in c["higher"] if h in cols and h not in (c["outcome"], c["group"])]
    if c["group"] is None:
        c["higher"] = []
    opts = builder_options(c, frame)
    c["predictors"] = [p for p in c["predictors"] if p in opts["predictors"]]
    opts = builder_options(c, frame)
    c["interactions"] = [i for i in c["interactions"] if i in opts["interactions"]]
    c["slopes"] = [s for s in c["slopes"] if s in opts["slopes"]]
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
    fixed += [Term(tuple(i.split(PAIR))) for i in c["interactions"]]
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
    return ModelSpec(
        outcome=c["outcome"], fixed=tuple(fixed), random=random, reml=c["method"] == "REML"
    )


def choices_from_spec(spec: ModelSpec) -> dict[str, Any]:
    """The builder choices closest to `spec` (exact when the builder can express it)."""
    c: dict[str, Any] = {
        "outcome": spec.outcome,
        "predictors": [t.variables[0] for t in spec.fixed if t.order == 1],
        "interactions": [PAIR.join(t.variables) for t in spec.fixed if t.order == 2],
        "group": None,
        "higher": [],
        "slopes": [],
        "correlated": True,
        "method": "REML" if spec.reml else "ML",
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
    st.session_state[W_FORMULA] = st.session_state[K_FORMULA_TEXT]


def on_builder_change(name: str) -> None:
    """Callback of every builder widget: the choices become the spec and the formula text."""
    frame = working_frame()
    c = dict(st.session_state[K_CHOICES])
    c[name] = st.session_state[W[name]]
    c = sanitize(c, frame)
    st.session_state[K_CHOICES] = c
    st.session_state.pop(K_FORMULA_ERROR, None)
    spec = st.session_state.get(K_SPEC)
    if name == "method" and st.session_state.get(K_CUSTOM) and spec is not None:
        spec = spec.with_(reml=c["method"] == "REML")  # keep a typed formula, change REML/ML
    else:
        spec = spec_from_choices(c)
        st.session_state[K_CUSTOM] = False
    st.session_state[K_SPEC] = spec
    st.session_state[K_FORMULA_TEXT] = format_formula(spec) if spec else ""


def apply_formula(text: str) -> bool:
    """Typed formula -> spec and builder choices. False (error stored, with its position)
    when the text is not a valid formula or names a column the data doesn't have."""
    frame = working_frame()
    c = st.session_state.get(K_CHOICES) or default_choices(frame)
    st.session_state[K_FORMULA_TEXT] = text
    try:
        spec = parse_formula(text, reml=c["method"] == "REML")
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
        st.session_state[K_FORMULA_ERROR] = (str(exc), exc.position, text)
        return False
    new = sanitize(choices_from_spec(spec), frame)
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
