"""The model being built, kept in step three ways: the builder's widgets ⇄ the choices ⇄ the
ModelSpec and the formula text. The widget callbacks, the typed formula and `set_spec` live
here; the pure choices ⇄ spec logic is ui.builder.

Streamlit forgets the state of widgets that are not on the page, so the choices are kept in the
session object and mirrored into the widgets (keys `W`, `W_FORMULA`, `W_CENTER` + predictor)
on every run of the Model page.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from hlm_core.effects import centering_summary
from hlm_core.errors import FormulaError
from hlm_core.formula import format_formula
from hlm_core.result import FitResult
from hlm_core.spec import ModelSpec
from ui import builder, builder_glmm
from ui.data import structure, working_frame
from ui.fits import memo
from ui.state import session

# widget keys of the builder (values mirrored from the session's choices every run)
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
    "family": "w_family",
    "success": "w_success",
    "nagq": "w_nagq",
}
W_THRESHOLD = {"on": "w_threshold_on", "op": "w_threshold_op", "value": "w_threshold_value"}
W_FORMULA = "w_formula"
W_CENTER = "w_center__"  # + predictor: the centring choice of one predictor


def default_choices(frame: pd.DataFrame) -> dict[str, Any]:
    """The builder's first choices for this session's data and grouping columns."""
    return builder.default_choices(frame, session().levels, structure)


def set_levels(levels: list[str]) -> None:
    """Grouping columns chosen on the Data page; the model builder starts from them."""
    s = session()
    s.levels = list(levels)
    if s.choices is not None and levels:
        c = dict(s.choices)
        c["group"], c["higher"], c["crossed"] = builder.split_levels(
            working_frame(), list(levels), structure)
        s.choices = c
        s.custom = False


def _show(spec: ModelSpec | None) -> str:
    return format_formula(spec) if spec else ""


def ensure_model_state(frame: pd.DataFrame) -> None:
    """Builder choices, spec and formula text exist and fit the current columns."""
    s = session()
    c = s.choices
    if c is None:
        c = default_choices(frame)
        s.custom = False
    c = builder.sanitize(c, frame)
    s.choices = c
    if s.spec is None or not s.custom:
        spec = builder.spec_from_choices(c)
        if spec != s.spec:
            s.spec = spec
            s.formula_text = _show(spec)
    if s.formula_text is None:
        s.formula_text = _show(s.spec)
    # mirror the choices into the widgets (their own state is lost on a page change)
    for name, key in W.items():
        _mirror(key, c.get(name))
    th = c.get("threshold")
    _mirror(W_THRESHOLD["on"], th is not None)
    if th is not None:
        _mirror(W_THRESHOLD["op"], th[0])
        _mirror(W_THRESHOLD["value"], th[1])
    for p in builder.builder_options(c, frame)["centering"]:
        _mirror(W_CENTER + p, c["centering"].get(p, "none"))
    _mirror(W_FORMULA, s.formula_text)


def _mirror(key: str, value: Any) -> None:
    """Give widget `key` the value `value`, only if it holds another one.

    Why: every value written to a widget's key goes to the browser as a value to put in the
    widget (Streamlit's set_value), on every run that writes it. Written only when the model
    changed, a run that changed nothing (the builder's first run ending, a fit coming back)
    sends the Formula box nothing that could replace what the user is typing there."""
    if key not in st.session_state or st.session_state[key] != value:
        st.session_state[key] = value


def on_builder_change(name: str) -> None:
    """Callback of every builder widget: the choices become the spec and the formula text.

    A click that reaches the server before the browser has redrawn the builder after a typed
    formula (Enter, then Fit model at once) carries the builder's old values; those are not the
    user's choice and must not undo the formula, so they are ignored until the page redraws.
    A value equal to the current choice changes nothing (the browser reporting a widget it
    has just been given): above all it never replaces a typed formula by the builder's."""
    s = session()
    stale = s.stale or {}
    value = st.session_state[W[name]]
    current = s.choices.get(name)
    if value == current:  # no change: it must not rewrite a typed formula as the builder's
        return
    if name in stale and value == stale[name]:
        st.session_state[W[name]] = current
        return
    c = dict(s.choices)
    c[name] = st.session_state[W[name]]
    if name == "outcome":  # a two-valued column is a yes/no outcome (the user can override)
        c["family"] = builder_glmm.family_after_outcome(working_frame(), c)
    _choices_changed(c, name)


def on_threshold_change() -> None:
    """Callback of the pass-mark widgets: a score becomes pass/fail (or back to a score)."""
    c = dict(session().choices)
    if st.session_state.get(W_THRESHOLD["on"]):
        op = st.session_state.get(W_THRESHOLD["op"]) or ">="
        value = st.session_state.get(W_THRESHOLD["value"])
        c["threshold"] = (op, float(value if value is not None else 0.0))
        c["family"] = "binomial"
    else:
        c["threshold"] = None
    _choices_changed(c, "threshold")


def _choices_changed(c: dict[str, Any], name: str) -> None:
    """New builder choices (after widget `name` changed) become the spec and the formula."""
    s = session()
    c = builder.sanitize(c, working_frame())
    s.choices = c
    s.formula_error = None
    spec = s.spec
    if name == "method" and s.custom and spec is not None:
        spec = spec.with_(reml=c["method"] == "REML")  # keep a typed formula, change REML/ML
    elif name in ("family", "success", "nagq", "threshold") and s.custom and spec is not None:
        spec = spec.with_(**builder_glmm.glmm_fields(c))  # keep a typed formula
    elif name == "centering" and s.custom and spec is not None:
        spec = spec.with_(centering=builder.centering_of(c))  # keep a typed formula
    else:
        spec = builder.spec_from_choices(c)
        s.custom = False
    s.spec = spec
    s.formula_text = _show(spec)


def builder_rendered() -> None:
    """The Model page has drawn the builder with the current choices: from now on a builder
    value that differs from them is the user's."""
    session().stale = None


def on_center_change(predictor: str) -> None:
    """Callback of a predictor's centring choice (none / grand / group)."""
    c = dict(session().choices)
    c["centering"] = dict(c.get("centering") or {})
    c["centering"][predictor] = st.session_state[W_CENTER + predictor]
    _choices_changed(c, "centering")


def _take_spec(spec: ModelSpec, frame: pd.DataFrame) -> None:
    """`spec` becomes the model; the builder shows the closest choices it can."""
    s = session()
    new = builder.sanitize(builder.choices_from_spec(spec), frame)
    s.choices = new
    s.spec = spec
    s.custom = builder.spec_from_choices(new) != spec
    s.formula_text = format_formula(spec)
    s.formula_error = None


def apply_formula(text: str) -> bool:
    """Typed formula -> spec and builder choices. False (error stored, with its position)
    when the text is not a valid formula or names a column the data doesn't have."""
    s = session()
    frame = working_frame()
    c = s.choices or default_choices(frame)
    before = {name: st.session_state[key] for name, key in W.items() if key in st.session_state}
    s.formula_text = text
    try:
        spec = builder.spec_from_text(text, frame, c)
    except FormulaError as exc:
        s.formula_error = (str(exc), exc.position, text)
        return False
    if spec.outcome != c.get("outcome"):  # a typed yes/no outcome is fitted as one
        c2 = {**c, "outcome": spec.outcome}
        c2["family"] = builder_glmm.family_after_outcome(frame, c2)
        spec = spec.with_(**builder_glmm.glmm_fields(c2))
    s.stale = before
    _take_spec(spec, frame)
    return True


def on_formula_enter() -> None:
    """Callback of the Formula box (Enter or leaving it)."""
    apply_formula(st.session_state[W_FORMULA])


def set_spec(spec: ModelSpec) -> None:
    """Make `spec` the Model page's model (builder choices and formula follow), as if typed."""
    _take_spec(spec, working_frame())


def crossing(frame: pd.DataFrame, a: str, b: str) -> tuple[str, str]:
    """ui.builder.crossing, once per data and pair of columns in this session."""
    return memo(f"crossing:{a}:{b}", (session().data_key(), a, b),
                lambda: builder.crossing(frame, a, b))


def centering_text(spec: ModelSpec, result: FitResult | None = None) -> str | None:
    """"ses centred within school; school mean of ses added as ses.mean" (None if nothing is
    centred). With a fit, only what the model really centred (categories never are)."""
    mf = result.model_frame if result is not None else None
    return centering_summary(spec, mf.variables if mf is not None else None)
