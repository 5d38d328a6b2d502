"""The Model page's builder as pure data transformations: choices ⇄ ModelSpec.

The builder's choices are a plain dict (see `default_choices`): outcome, predictors,
interactions (tuples of two predictors), grouping column, higher levels, crossed grouping
columns, random slopes, correlated slopes, REML/ML and per-predictor centring. Everything here
takes the data frame and the choices and returns new values — no streamlit, no session — so it
is tested directly (tests/test_builder.py); ui.model keeps the session and the widgets in step.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from itertools import combinations
from typing import Any

import pandas as pd

from hlm_core.columns import guess_outcome
from hlm_core.design import formula_name_hint, is_factor
from hlm_core.errors import FormulaError, HLMError
from hlm_core.formula import parse_formula
from hlm_core.spec import ModelSpec, RandomEffect, Term
from hlm_core.structure import Structure, describe_structure
from hlm_core.transforms import source_columns
from hlm_core.wording import plural
from ui.builder_glmm import GLMM_DEFAULTS, glmm_fields, glmm_options, sanitize_glmm

PAIR = " × "  # joins an interaction's predictors for display (choices keep them as tuples)
METHODS = {"REML": "REML (recommended)", "ML": "ML (for comparing models)"}
CENTERING = {"none": "Not centred", "grand": "Grand mean", "group": "Group mean"}

GROUP_HINTS = ("class", "school", "group", "cluster", "team", "district", "site", "teacher")
ID_HINTS = ("id", "student", "pupil", "row", "index")

StructureCheck = Callable[[pd.DataFrame, list[str]], "Structure | str"]


def check_structure(frame: pd.DataFrame, levels: list[str]) -> Structure | str:
    """hlm_core's structure check for `levels` (inner first), or the plain message why not."""
    try:
        return describe_structure(frame, list(levels))
    except HLMError as exc:
        return str(exc)


def is_date(s: pd.Series) -> bool:
    """Dates, and times of day or durations (read as time since midnight): neither numbers
    nor categories for the model, which refuses them and says how to make a number."""
    return pd.api.types.is_datetime64_any_dtype(s.dtype) or pd.api.types.is_timedelta64_dtype(
        s.dtype)


def column_type(s: pd.Series) -> str:
    """How the Data page's column summary names a column's type."""
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        return "time"
    if is_date(s):
        return "date"
    return "category" if is_factor(s) else "number"


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """The columns the builder offers as outcome or as a centrable number (not dates)."""
    return [c for c in frame.columns if column_type(frame[c]) == "number"]


def grouping_first(frame: pd.DataFrame, columns: list[str] | None = None) -> list[str]:
    """`columns` (default all) with the likely grouping columns first (a name such as class,
    school or teacher, or ID-like values: 2 to n/2 distinct whole numbers or labels), so the
    column a user needs is among the first choices of a long list (STAR's `tch`)."""
    cols = list(frame.columns if columns is None else columns)
    n = len(frame)

    def rank(c) -> int:
        name = str(c).lower()
        if any(h in name for h in GROUP_HINTS) or name in ("sch", "tch", "cls", "grp"):
            return 0
        s = frame[c]
        if is_date(s) or (pd.api.types.is_float_dtype(s.dtype) and not (
                _whole(s.head(100_000)) and _whole(s))):  # a score shows itself early
            return 2
        k = s.head(100_000).nunique(dropna=True)
        return 1 if 2 <= k <= max(2, n // 2) else 2

    return sorted(cols, key=rank)


def _whole(s: pd.Series) -> bool:
    """Every value present is a whole number."""
    return bool((s.dropna() % 1 == 0).all())


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


def split_levels(
    frame: pd.DataFrame, levels: list[str], structure: StructureCheck = check_structure
) -> tuple[str | None, list[str], list[str]]:
    """The Data page's grouping columns as the builder's (group, higher levels, crossed):
    two columns the structure check finds crossed (pupils' primary and secondary school)
    become crossed intercepts, `(1 | a) + (1 | b)`; otherwise they nest, inner first.
    `structure` is the check to use (the session passes its cached one)."""
    if not levels:
        return None, [], []
    found = structure(frame, levels) if len(levels) >= 2 else None
    if not isinstance(found, (str, type(None))):
        order = found.suggested_order()  # listed outer first: nest them the right way round
        if order:
            return order[0], order[1:], []
        if len(levels) == 2 and found.relations and found.relations[0].kind == "crossed":
            return levels[0], [], [levels[1]]
    return levels[0], list(levels[1:]), []


def default_choices(
    frame: pd.DataFrame, levels: list[str] | None = None,
    structure: StructureCheck = check_structure,
) -> dict[str, Any]:
    """The builder's first choices: the Data page's grouping columns (or a guessed one) and the
    first numeric column that is no grouping column or ID as the outcome."""
    levels = list(levels or guess_levels(frame))
    group, higher, crossed = split_levels(frame, levels, structure)
    # a score-like column first; none while the score column is text (the Data page offers to
    # fix it) rather than a predictor such as homework hours
    outcome = guess_outcome(frame[[c for c in frame.columns if not is_date(frame[c])]],
                            exclude=levels)
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
        **GLMM_DEFAULTS,
    }


def builder_options(c: dict[str, Any], frame: pd.DataFrame) -> dict[str, list]:
    """The options each builder widget offers, given the other choices."""
    cols = list(frame.columns)
    numeric = numeric_columns(frame)
    outcome_opts = list(numeric)
    if c.get("family") == "binomial":  # yes/no columns in words (pass/fail) too
        outcome_opts += [x for x in cols if x not in numeric and frame[x].nunique() == 2]
    outcome_opts += [c["outcome"]] if c["outcome"] in cols and c["outcome"] not in outcome_opts \
        else []
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
        "group": grouping_first(frame, [x for x in cols if x != c["outcome"] and x not in preds]),
        "higher": [x for x in cols if x not in (c["outcome"], c["group"]) and x not in preds
                   and x not in c.get("crossed", [])],
        "crossed": [x for x in cols if x not in (c["outcome"], c["group"]) and x not in preds
                    and x not in c["higher"]],
        "centering": [p for p in preds if p in numeric],
        "slopes": preds,
        "correlated": [True, False],
        "method": list(METHODS),
        **glmm_options(c, frame),
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
    return sanitize_glmm(c, frame)


def _random_effects(c: dict[str, Any]) -> tuple[RandomEffect, ...]:
    """The random part the choices describe (see spec_from_choices)."""
    if not c["group"]:
        return ()
    slopes = tuple(Term((s,)) for s in c["slopes"])
    levels = [c["group"], *c["higher"]]  # inner -> outer
    corr = bool(c["correlated"])
    if len(levels) == 1:
        random: tuple[RandomEffect, ...] = (
            RandomEffect((c["group"],), slopes=slopes, correlated=corr),
        )
    elif not slopes:
        random = (RandomEffect(tuple(reversed(levels)), kind="nested"),)
    else:
        res = [RandomEffect(tuple(levels), kind="interaction", slopes=slopes, correlated=corr)]
        for k in range(1, len(levels)):
            sub = tuple(levels[k:])
            res.append(RandomEffect(sub, kind="single" if len(sub) == 1 else "interaction"))
        random = tuple(res)
    return random + tuple(RandomEffect((x,)) for x in c.get("crossed", []))


def spec_from_choices(c: dict[str, Any]) -> ModelSpec | None:
    """The ModelSpec the builder's choices describe (None without an outcome).

    Two levels (class in school) without random slopes give `(1 | school/class)`; with random
    slopes, the slopes vary between the innermost groups: `(1 + x | class:school) + (1 | school)`.
    """
    if not c["outcome"]:
        return None
    fixed = [Term((p,)) for p in c["predictors"]]
    fixed += [Term(tuple(i)) for i in c["interactions"]]
    return ModelSpec(
        outcome=c["outcome"],
        fixed=tuple(fixed),
        random=_random_effects(c),
        **{"reml": c["method"] == "REML", **glmm_fields(c)},
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
        "family": spec.family,
        "success": spec.success,
        "threshold": spec.threshold,
        "nagq": spec.nagq,
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


def spec_from_text(text: str, frame: pd.DataFrame, choices: dict[str, Any]) -> ModelSpec:
    """A typed formula as a ModelSpec, with the builder's REML/ML and the centring of the
    predictors it keeps. FormulaError (with its position, and a hint when names need
    backticks) when the text is no valid formula or names a column the data don't have."""
    try:
        spec = parse_formula(text, reml=choices["method"] == "REML")
        kept = [(v, h) for v, h in (choices.get("centering") or {}).items()
                if h != "none" and v in spec.variables()[1:]]
        spec = spec.with_(centering=tuple(kept), **glmm_fields(choices))
        missing = [v for v in source_columns(spec.variables()) if v not in frame.columns]
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
        hint = formula_name_hint(text, frame.columns)
        if hint:  # e.g. Math score ~ Study hours: the names need backticks
            raise FormulaError(f"{exc} {hint}", position=exc.position, text=text) from exc
        raise
    return spec


def crossing(frame: pd.DataFrame, a: str, b: str) -> tuple[str, str]:
    """Whether grouping columns `a` and `b` are crossed, by hlm_core's structure check:
    ("crossed" | "a_in_b" | "b_in_a" | "error", the sentence to show)."""
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
