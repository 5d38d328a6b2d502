"""The page options a saved analysis keeps: which widget holds each one (hlm_core's
analysis_options has their schema), read from the session to save, written back to open.

Why: the pages keep their choices in their widgets (`persist_state="session"`, so they survive
page switches); saving reads those widget values, opening writes them back before any page is
drawn, so each page shows the same choices. Options the file doesn't hold go back to the
page's default. A value that no longer fits (a predictor the model lacks) is dropped by the
widget itself, which then shows its default.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from hlm_core.analysis_options import SCHEMA, empty_options
from ui.state import session

# page -> option -> the widget key holding it
KEYS: dict[str, dict[str, str]] = {
    "class_effects": {
        "level": "w_effects_level", "show": "w_effects_mode", "find": "w_effects_search",
        "scale": "w_effects_scale", "hide_small": "w_effects_hide", "k": "w_effects_k",
        "groups_shown": "w_effects_subset", "how_many": "w_effects_topn",
        "fair_show_all": "w_fair_show", "fair_effect": "w_fair_term",
        "shrinkage_draw_all": "w_fair_shrink_all", "bootstrap_draws": "w_ranks_nsim",
        "bootstrap_seed": "w_ranks_seed",
    },
    "slopes": {
        "predictor": "w_slopes_predictor", "level": "w_slopes_level", "hold": "w_slopes_hold",
        "draw_all": "w_slopes_all",
    },
    "compare": {
        "saved_models_added": "w_compare_saved", "model_a": "w_compare_a",
        "model_b": "w_compare_b", "bootstrap_draws": "w_explained_nsim",
        "bootstrap_seed": "w_explained_seed",
    },
}
# page -> option -> key prefix: one widget per variable ({variable: value} in the file)
PER_VARIABLE: dict[str, dict[str, str]] = {
    "slopes": {"range": "w_slopes_range_", "step": "w_slopes_step_", "held": "w_slopes_hold_"},
}


def _held(value: Any) -> Any:
    """A held value: a category's level as saved (text, or a whole number such as class 3),
    a number predictor's value as a float."""
    return value if isinstance(value, (str, int)) else float(value)


# how a value read from JSON goes back into its widget: a slider's (from, to) is a tuple, a
# float widget needs a float even when the file says 1 (JSON keeps no difference)
_BACK = {("slopes", "range"): lambda v: (float(v[0]), float(v[1])),
         ("slopes", "step"): float, ("slopes", "held"): _held}


def _plain(value: Any) -> Any:
    """A widget's value as JSON holds it (numpy scalars and tuples become plain values)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def _keyed(prefix: str) -> dict[str, Any]:
    """{variable: value} of the widgets whose key is `prefix` + a variable name."""
    return {k[len(prefix):]: st.session_state[k] for k in list(st.session_state.keys())
            if isinstance(k, str) and k.startswith(prefix) and len(k) > len(prefix)}


def current_options() -> dict[str, dict[str, Any]]:
    """The session's page options for the manifest: the sidebar switches and every page
    option the user has set (widgets never shown are left out: they open at their default)."""
    s = session()
    out = empty_options()
    out["view"] = {"workshop": bool(s.workshop), "large_font": bool(s.large_font)}
    for page, keys in KEYS.items():
        for name, key in keys.items():
            if key in st.session_state and st.session_state[key] is not None:
                out[page][name] = _plain(st.session_state[key])
    for page, prefixes in PER_VARIABLE.items():
        for name, prefix in prefixes.items():
            values = {v: _plain(x) for v, x in _keyed(prefix).items() if x is not None}
            if values:
                out[page][name] = values
    # only what the schema can read back (a widget holding something odd is left out)
    return {page: {n: v for n, v in values.items() if SCHEMA[page][n](v) is None}
            for page, values in out.items()}


def restore_options(options: dict[str, dict[str, Any]]) -> None:
    """Make `options` (checked by hlm_core.analysis_options) the pages' choices. Called from
    the Open analysis callback, before any page draws its widgets."""
    s = session()
    view = options.get("view", {})
    s.workshop, s.large_font = bool(view.get("workshop")), bool(view.get("large_font"))
    for page, keys in KEYS.items():
        saved = options.get(page, {})
        for name, key in keys.items():
            st.session_state.pop(key, None)
            if name in saved:
                st.session_state[key] = saved[name]
    for page, prefixes in PER_VARIABLE.items():
        saved = options.get(page, {})
        for name, prefix in prefixes.items():
            for variable in _keyed(prefix):
                st.session_state.pop(prefix + variable, None)
            for variable, value in (saved.get(name) or {}).items():
                st.session_state[prefix + variable] = _BACK[page, name](value)
