"""The page options an analysis file keeps, and their schema (manifest version 2).

Why: opening an analysis should show every page as it was left — the presenter view, the
Class effects page's scale, k for small groups and fair-comparison choices, the Slopes page's
predictor, range and groups, the Compare page's models — not only the model. The options are
plain values grouped by page; each one is checked here before anything in a session changes,
so an unknown option, a missing section or a value of the wrong type gives one plain message.
Values that are well formed but no longer fit the data (a predictor the model lacks) are the
page's to drop: its widget falls back to its default.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hlm_core.errors import HLMError

__all__ = ["SCHEMA", "check_options", "empty_options", "options_from_v1"]

MAX_TEXT = 500
MAX_ENTRIES = 500

Check = Callable[[Any], str | None]  # None when the value is fine, else what it must be


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "true or false"


def _text(v: Any) -> str | None:
    return None if isinstance(v, str) and len(v) <= MAX_TEXT else (
        f"text (at most {MAX_TEXT} characters)")


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int_in(lo: int, hi: int) -> Check:
    def check(v: Any) -> str | None:
        ok = isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi
        return None if ok else f"a whole number from {lo:,} to {hi:,}"
    return check


def _one_of(*choices: str) -> Check:
    def check(v: Any) -> str | None:
        return None if v in choices and isinstance(v, str) else (
            "one of " + ", ".join(repr(c) for c in choices))
    return check


def _positive(v: Any) -> str | None:
    return None if _number(v) and v > 0 else "a number above 0"


def _range(v: Any) -> str | None:
    ok = isinstance(v, list) and len(v) == 2 and all(_number(x) for x in v) and v[0] <= v[1]
    return None if ok else "a pair of numbers [from, to], from not above to"


def _number_or_text(v: Any) -> str | None:
    return None if _number(v) or _text(v) is None else "a number or text"


def _texts(v: Any) -> str | None:
    ok = isinstance(v, list) and len(v) <= MAX_ENTRIES and all(_text(x) is None for x in v)
    return None if ok else "a list of texts"


def _per_variable(check: Check) -> Check:
    """{variable name: value}, as the Slopes page keeps one range and step per predictor."""
    def per(v: Any) -> str | None:
        if not isinstance(v, dict) or len(v) > MAX_ENTRIES:
            return "an object {variable: value}"
        for name, x in v.items():
            if _text(name) is not None or check(x) is not None:
                return f"an object {{variable: {check(x) or 'value'}}}"
        return None
    return per


_SEED = _int_in(0, 2**31 - 1)
_DRAWS = _int_in(1, 100_000)

# page -> option -> check. "view" holds the sidebar switches and is always complete.
SCHEMA: dict[str, dict[str, Check]] = {
    "view": {"workshop": _bool, "large_font": _bool},
    "class_effects": {
        "level": _text, "show": _one_of("own", "deviation"), "find": _text,
        "scale": _one_of("link", "response"), "hide_small": _bool,
        "k": _int_in(2, 1000), "groups_shown": _one_of("all", "extremes"),
        "how_many": _int_in(1, 10_000_000), "fair_show_all": _bool, "fair_effect": _text,
        "shrinkage_draw_all": _bool, "bootstrap_draws": _DRAWS, "bootstrap_seed": _SEED,
    },
    "slopes": {
        "predictor": _text, "level": _text, "hold": _one_of("mean", "zero", "typed"),
        "draw_all": _bool, "range": _per_variable(_range), "step": _per_variable(_positive),
        "held": _per_variable(_number_or_text),
    },
    "compare": {
        "saved_models_added": _texts, "model_a": _text, "model_b": _text,
        "bootstrap_draws": _DRAWS, "bootstrap_seed": _SEED,
    },
}
REQUIRED = {"view": ("workshop", "large_font")}  # the other options: only those the user set


def empty_options() -> dict[str, dict[str, Any]]:
    """Every page's section, nothing chosen, presenter view and workshop mode off."""
    out: dict[str, dict[str, Any]] = {page: {} for page in SCHEMA}
    out["view"] = {"workshop": False, "large_font": False}
    return out


def check_options(options: Any) -> dict[str, dict[str, Any]]:
    """The manifest's `options`, checked against SCHEMA; a plain HLMError names the first
    problem (unknown page or option, missing section or switch, wrong type)."""
    where = "manifest.json"
    if not isinstance(options, dict):
        raise HLMError(f"The page options must be an object in {where}.")
    for page in options:
        if page not in SCHEMA:
            raise HLMError(f"The page options name an unknown page {page!r} in {where}; "
                           "this app keeps options for " + ", ".join(SCHEMA) + ".")
    out: dict[str, dict[str, Any]] = {}
    for page, checks in SCHEMA.items():
        if page not in options:
            raise HLMError(f"The page options are missing the section '{page}' in {where}.")
        section = options[page]
        if not isinstance(section, dict):
            raise HLMError(f"The page options' section '{page}' must be an object in {where}.")
        for name in REQUIRED.get(page, ()):
            if name not in section:
                raise HLMError(f"The page options are missing '{page}.{name}' in {where}.")
        for name, value in section.items():
            if name not in checks:
                raise HLMError(f"The page options have an unknown option '{page}.{name}' in "
                               f"{where}.")
            want = checks[name](value)
            if want is not None:
                raise HLMError(f"The page option '{page}.{name}' must be {want} in {where}.")
        out[page] = dict(section)
    return out


def options_from_v1(options: Any) -> dict[str, dict[str, Any]]:
    """A version-1 file kept only the two sidebar switches (not checked then): take them when
    they are true/false, start every page from its defaults."""
    out = empty_options()
    if isinstance(options, dict):
        for name in ("workshop", "large_font"):
            if isinstance(options.get(name), bool):
                out["view"][name] = options[name]
    return out
