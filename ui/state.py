"""The one typed object that holds everything a browser session knows: `Session`.

Reach it with `session()`; it lives under a single `st.session_state` key (`KEY`), so one
browser session never sees another's data, and nothing is ever written to disk. Streamlit's
widget keys (`w_*`) stay string keys, because widgets need them; everything else is here.

Every field says (in a comment) what it holds, and its metadata says which kind it is:

- ``user``: what the user chose or loaded — the things a saved analysis must restore;
- ``cache``: derived from the user's fields, rebuilt on demand (a manifest leaves them out);
- ``message``: the last plain-language problem to show (never saved);
- ``view``: how this session shows pages (workshop notes, presenter view); kept when the data
  change.

New data reset everything that depends on the data in one place, `Session.new_data`: every
field not marked `keep` goes back to its default. A new field is one line (its metadata one of
USER, CACHE, MESSAGE, KEEP_USER, KEEP_VIEW); it is reset, saved or skipped by its kind without
touching any other code.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from typing import Any

import streamlit as st

from hlm_core.io import Table
from hlm_core.result import FitResult
from hlm_core.spec import ModelSpec
from hlm_core.structure import Structure

log = logging.getLogger("hlm_app")

KEY = "hlm_session"  # the only st.session_state key that is not a widget's
KINDS = ("user", "cache", "message", "view")


def _meta(kind: str, keep: bool = False) -> dict[str, Any]:
    return {"kind": kind, "keep": keep}


USER, CACHE, MESSAGE = _meta("user"), _meta("cache"), _meta("message")
KEEP_USER, KEEP_VIEW = _meta("user", keep=True), _meta("view", keep=True)


@dataclass
class Session:
    """Everything one browser session holds. Fields are plain values or hlm_core objects."""

    # ---- the data as loaded
    # hlm_core.io.Table as read (or the example)
    table: Table | None = field(default=None, metadata=USER)
    # (name, bytes) of a workbook with several sheets, to read another sheet
    raw: tuple[str, bytes] | None = field(default=None, metadata=USER)
    # name of the example data set loaded (hlm_core.examples), if any
    example: str | None = field(default=None, metadata=USER)
    # sha256 of the data file's bytes (for the report)
    file_sha: str | None = field(default=None, metadata=USER)
    # (file name, sha256) of the analysis file this session was opened from (report, workbook)
    analysis: tuple[str, str] | None = field(default=None, metadata=USER)
    # hlm_core.analysis_file.Analysis opened without its data, waiting for the data file
    pending: Any | None = field(default=None, metadata=KEEP_USER)
    # file_id of the upload already read (a rerun doesn't read it again)
    upload_id: str | None = field(default=None, metadata=KEEP_USER)

    # ---- the user's changes to the data (Data page)
    # {column: "categorical" | "numeric"} the user switched
    types: dict[str, str] = field(default_factory=dict, metadata=USER)
    # {column: [codes]} the user chose to treat as missing
    missing: dict[str, list] = field(default_factory=dict, metadata=USER)
    # {column: [text entries]} of mostly numeric columns the user chose to treat as missing
    # (the column becomes numbers)
    stray: dict[str, list[str]] = field(default_factory=dict, metadata=USER)
    # grouping columns chosen on the Data page, inner first
    levels: list[str] = field(default_factory=list, metadata=USER)

    # ---- the model (Model page, Compare page)
    # the model builder's choices, a plain dict (see ui.builder.default_choices)
    choices: dict[str, Any] | None = field(default=None, metadata=USER)
    # the current model (from the builder or typed)
    spec: ModelSpec | None = field(default=None, metadata=USER)
    # what the Formula box shows
    formula_text: str | None = field(default=None, metadata=USER)
    # True when the typed formula has parts the builder can't show
    custom: bool = field(default=False, metadata=USER)
    # [(name, spec)] the user saved for the Compare page
    saved: list[tuple[str, ModelSpec]] = field(default_factory=list, metadata=USER)
    # (data key, spec) of the fit the results pages show (its spec is the model fitted)
    fit_key: tuple | None = field(default=None, metadata=USER)
    # the Slopes page's pred.slope settings {fit_key, predictor, lo, hi, step, hold} (the
    # generated R code's pred.slope uses them)
    slopes: dict[str, Any] | None = field(default=None, metadata=USER)

    # (PlanResult, {input: source note}, SimResult | None): the Plan a study page's last answer
    # and simulation (report, export)
    plan: tuple[Any, dict[str, str], Any] | None = field(default=None, metadata=USER)

    # ---- derived from the above, rebuilt when missing or out of date
    # (data key, DataFrame): the working frame, built once per change
    frame: tuple[Any, Any] | None = field(default=None, metadata=CACHE)
    # (data key, column summary DataFrame)
    summary: tuple[Any, Any] | None = field(default=None, metadata=CACHE)
    # ((data key, levels), Structure | message): the last structure check
    structure: tuple[Any, Structure | str] | None = field(default=None, metadata=CACHE)
    # (fingerprint, {column: [codes]}): suspected missing-value codes
    codes: tuple[str, dict] | None = field(default=None, metadata=CACHE)
    # OrderedDict[(data key, spec)] -> FitResult, the newest few (ui.fits.MAX_FITS)
    fits: OrderedDict = field(default_factory=OrderedDict, metadata=CACHE)
    # {name: (key, value)}: the last result of a slow view computation (ui.fits.memo)
    memo: dict[str, tuple[Any, Any]] = field(default_factory=dict, metadata=CACHE)
    # OrderedDict[(data key, ML spec, saved)] -> Ladder | message
    ladders: OrderedDict = field(default_factory=OrderedDict, metadata=CACHE)
    # {(fit key, what): result}: refits the Diagnostics page ran on request
    diagnostics: dict = field(default_factory=dict, metadata=CACHE)
    # (fit key, {(what, format): bytes}): figure images made on request
    exports: tuple[Any, dict] | None = field(default=None, metadata=CACHE)
    # OrderedDict[(data key, spec, logLik, what...)] -> Intervals | BootDraws | tables | message:
    # 95% intervals computed for a fit (ui.intervals), the newest few
    intervals: OrderedDict = field(default_factory=OrderedDict, metadata=CACHE)

    # hlm_core.power_sim.PowerSimulation running (or done) on the Plan a study page
    plan_sim: Any | None = field(default=None, metadata=CACHE)
    # (name, bytes, sheet) of a file (or sheet) chosen but not read yet: the Data page reads it
    # in a worker process (ui.data.read_pending), with a progress bar and a Stop button
    pending_read: tuple[str, bytes, str | None] | None = field(default=None, metadata=CACHE)
    # name of the example data set chosen but not loaded yet: the Data page loads it in a
    # worker process too (ui.data.read_pending)
    pending_example: str | None = field(default=None, metadata=CACHE)
    # ("analysis" | "data", name, bytes) of an analysis file (or the data file it asked for)
    # chosen but not opened yet: the Data page opens it in a worker process too
    # (ui.analysis.open_pending)
    pending_open: tuple[str, str, bytes] | None = field(default=None, metadata=CACHE)

    # {kind: ui.jobs.Running}: this session's jobs running in worker processes ("fit", "read",
    # "ladder", ...): they go on across clicks and pages until their answer lands (ui.jobs)
    jobs: dict[str, Any] = field(default_factory=dict, metadata=CACHE)

    # ---- plain-language problems to show, and builder bookkeeping
    read_error: str | None = field(default=None, metadata=MESSAGE)  # the file can't be read
    type_error: str | None = field(default=None, metadata=MESSAGE)  # a column stays a category
    # (message, position, text) of the last bad formula
    formula_error: tuple[str, int | None, str] | None = field(default=None, metadata=MESSAGE)
    fit_error: str | None = field(default=None, metadata=MESSAGE)  # why the last fit failed
    # "This data file is not the one the analysis was saved with…": a warning, not an error
    data_note: str | None = field(default=None, metadata=MESSAGE)
    # "Fitting the model was stopped…": a job ended by its Stop button (ui.jobs)
    job_note: str | None = field(default=None, metadata=MESSAGE)
    # builder values a typed formula replaced, until the page redraws (ui.model)
    stale: dict[str, Any] | None = field(default=None, metadata=MESSAGE)
    # {controls key: (spec, sentence)} said after "Save this model"
    save_notes: dict[str, tuple[ModelSpec, str]] = field(default_factory=dict, metadata=MESSAGE)

    # ---- how pages are shown (kept when the data change)
    # workshop mode: plain-language notes on every page and the guided tour
    workshop: bool = field(default=False, metadata=KEEP_VIEW)
    # presenter view: larger fonts on the page and in charts
    large_font: bool = field(default=False, metadata=KEEP_VIEW)

    def new_data(self, table: Table, raw: tuple[str, bytes] | None = None) -> None:
        """Make `table` the session's data: everything not marked `keep` (all that depends on
        the data: choices, model, fits, caches, messages) goes back to its default. Jobs still
        running for the old data are stopped."""
        for running in self.jobs.values():
            running.task.cancel()
        fresh = Session()
        for f in fields(self):
            if not f.metadata["keep"]:
                setattr(self, f.name, getattr(fresh, f.name))
        self.table = table
        self.raw = raw

    def data_key(self) -> tuple | None:
        """Identifies the data as the model sees it: file contents + sheet + the user's
        changes (column types, missing-value codes)."""
        if self.table is None:
            return None
        types = tuple(sorted(self.types.items()))
        codes = tuple((c, tuple(v)) for c, v in sorted(self.missing.items()))
        if self.stray:
            codes += tuple(("text", c, tuple(v)) for c, v in sorted(self.stray.items()))
        return (self.table.fingerprint, types, codes)

    def current_fit(self) -> FitResult | None:
        """The fit the results pages show: the last one fitted, if it is for the current data."""
        key = self.fit_key
        if key is None or key[0] != self.data_key():
            return None
        return self.fits.get(key)


def kind_of(name: str) -> str:
    """The kind of a Session field ("user", "cache", "message" or "view")."""
    return next(f.metadata["kind"] for f in fields(Session) if f.name == name)


def field_names(kind: str) -> list[str]:
    """The Session fields of one kind, in declaration order (e.g. what a manifest saves)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    return [f.name for f in fields(Session) if f.metadata["kind"] == kind]


def session() -> Session:
    """This browser session's state (created on first use)."""
    s = st.session_state.get(KEY)
    if s is None:
        s = Session()
        st.session_state[KEY] = s
    return s
