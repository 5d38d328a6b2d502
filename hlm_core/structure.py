"""How the rows nest in the chosen grouping columns: the check a user sees before modelling.

`describe_structure(frame, levels)` takes the grouping columns listed INNER → OUTER (e.g.
`["class", "school", "district"]`) and reports, per level, how many groups there are and how big
they are, and, per adjacent pair, whether the inner groups sit inside one outer group each. The
warnings are the structural problems that make a multilevel model unreliable or unidentifiable,
in plain words.

Grouping values are compared as labels: 1, 1.0 and "1" are the same group; NaN and blank text
are missing. A level's groups are counted the way a nested model (`school/class`) sees them:
the full path of labels from that level outwards, so class "1" of school A and class "1" of
school B are two classes.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from hlm_core.errors import ModelError
from hlm_core.wording import plural as _plural
from hlm_core.wording import sentence_start

__all__ = ["LevelInfo", "Relation", "Structure", "describe_structure"]

MIN_GROUPS = 5  # below this, a variance between groups is little more than a guess


@dataclass
class LevelInfo:
    """One grouping level: its groups (as the nested model sees them) and their sizes in rows."""

    name: str
    n_groups: int  # groups, counting the full path (school A / class 1 ≠ school B / class 1)
    size_min: int
    size_median: float
    size_max: int
    singletons: int  # groups with a single row
    n_missing: int  # rows with no id at this level
    n_labels: int = 0  # distinct ids in the column itself (fewer than n_groups if ids repeat)
    n_rows: int = 0  # rows with a complete id path at this level (the rows the groups hold)


@dataclass
class Relation:
    """How an inner level sits in the next level out.

    `nested` is True when every inner id appears under exactly one outer id. Otherwise
    `reused_ids` inner ids appear under several outer ids, and `kind` says how that looks:
    "reused" (labels such as class 1, 2, 3 restarting in every school: still nested, the ids are
    combined with the outer ones) or "crossed" (the same units meet many outer groups, as pupils
    of one primary school go on to several secondary schools). "reversed": the levels were
    listed in the wrong order, each *outer* id lies in one *inner* id (teachers listed after
    their schools): nested, the other way round (`Structure.suggested_order`).
    """

    inner: str
    outer: str
    nested: bool
    reused_ids: int
    kind: Literal["nested", "reused", "crossed", "reversed"] = "nested"
    example_id: str | None = None  # the inner id found under the most outer groups
    example_count: int = 0  # ... and under how many
    per_outer_min: int = 0  # inner groups per outer group
    per_outer_median: float = 0.0
    per_outer_max: int = 0

    @property
    def crossed(self) -> bool:
        return not self.nested


@dataclass
class Structure:
    """The grouping structure of a data set for a chosen list of levels (inner → outer)."""

    n_rows: int
    levels: list[LevelInfo]
    relations: list[Relation]
    warnings: list[str] = field(default_factory=list)
    unit: str = "rows"

    def summary_lines(self) -> list[str]:
        """Plain sentences for the structure panel, e.g. "4,059 rows in 65 schools; ..."."""
        lines = [_level_sentence(level, self.unit) for level in self.levels]
        lines += [_relation_sentence(rel) for rel in self.relations]
        return lines

    def suggested_order(self) -> list[str] | None:
        """The levels inner → outer when they were listed the wrong way round (a "reversed"
        relation): most distinct IDs first. None when the order given is right."""
        if not any(rel.kind == "reversed" for rel in self.relations):
            return None
        order = sorted(self.levels, key=lambda lv: -lv.n_labels)
        return [lv.name for lv in order]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: plain ints, floats, strings and lists only."""
        return {
            "suggested_order": self.suggested_order(),
            "n_rows": int(self.n_rows),
            "unit": self.unit,
            "levels": [_plain(asdict(level)) for level in self.levels],
            "relations": [_plain(asdict(rel)) | {"crossed": rel.crossed} for rel in self.relations],
            "warnings": list(self.warnings),
            "summary": self.summary_lines(),
        }


def describe_structure(frame: pd.DataFrame, levels: list[str], unit: str = "rows") -> Structure:
    """Describe how the rows of `frame` group in `levels`, listed inner → outer.

    `unit` names what a row is ("students") in the summary sentences. Raises `ModelError` for an
    unknown or repeated column, naming it and suggesting close matches.
    """
    if isinstance(levels, str):
        levels = [levels]
    levels = list(levels)
    if not levels:
        raise ModelError("Choose at least one grouping column (for example the school id).")
    for name in levels:
        _check_column(frame, name)
    repeated = sorted({n for n in levels if levels.count(n) > 1})
    if repeated:
        raise ModelError(
            f"The grouping column '{repeated[0]}' is listed twice. Use each "
            "column once, from the smallest group (e.g. class) to the largest."
        )

    ids = {name: _ids(frame[name]) for name in levels}
    paths = [_path_codes([ids[n][0] for n in levels[i:]]) for i in range(len(levels))]
    n_rows = len(frame)
    infos = [_level_info(name, *ids[name], paths[i]) for i, name in enumerate(levels)]
    relations = [
        _relation(levels[i], levels[i + 1], ids[levels[i]], ids[levels[i + 1]][0],
                  paths[i], paths[i + 1])
        for i in range(len(levels) - 1)
    ]
    if any(rel.kind == "reversed" for rel in relations):
        # listed outer first: a level's groups are its own IDs, not paths through a smaller one
        infos = [_level_info(name, *ids[name], ids[name][0]) for name in levels]
    structure = Structure(n_rows=n_rows, levels=infos, relations=relations, unit=unit)
    structure.warnings = _warnings(structure, levels)
    return structure


# ---------------------------------------------------------------------------------------------
# labels and counting


def _check_column(frame: pd.DataFrame, name: str) -> None:
    if name in frame.columns:
        return
    columns = [str(c) for c in frame.columns]
    same_case = [c for c in columns if c.lower() == str(name).lower()]
    close = same_case or difflib.get_close_matches(str(name), columns, n=3, cutoff=0.6)
    if close:
        hint = "Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    else:
        shown = ", ".join(f"'{c}'" for c in columns[:12])
        more = f" and {len(columns) - 12} more" if len(columns) > 12 else ""
        hint = f"The columns are {shown}{more}."
    raise ModelError(f"There is no column called '{name}'. {hint}")


def _ids(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group id as a code into text labels (1, 1.0 and "1" alike; -1 where the id
    is missing). Only the distinct values are turned into text, so ten million rows in
    200,000 classes cost a factorisation, not ten million Python calls."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniq = np.asarray(uniques, dtype=object)
    numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
        values.dtype)
    if numeric:
        arr = np.asarray(uniq, dtype=float)
        if np.all(np.mod(arr, 1) == 0) and np.all(np.abs(arr) < 2**53):
            texts = [str(int(v)) for v in arr]
        else:
            texts = [_label(float(v)) for v in arr]
    elif isinstance(values.dtype, pd.StringDtype):
        texts = [v.strip() or None for v in uniq]  # _label of a text, without its type checks
    else:
        texts = [_label(v) for v in uniq]
    # distinct raw values may share a label (" 1" and "1") or have none (blank text)
    label_codes, labels = pd.factorize(pd.Series(texts, dtype=object), use_na_sentinel=True)
    label_codes = np.append(label_codes, -1)  # the missing-value sentinel maps to missing
    return label_codes[codes], np.asarray(labels, dtype=object)


def _label(value: Any) -> str | None:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    text = str(value).strip()
    return text or None


def _compact(key: np.ndarray) -> np.ndarray:
    """Renumber non-negative keys 0..k-1 (k = distinct keys), keeping -1 for missing."""
    out = np.full(key.shape, -1, dtype=np.int64)
    ok = key >= 0
    out[ok] = np.unique(key[ok], return_inverse=True)[1]
    return out


def _path_codes(parts: list[np.ndarray]) -> np.ndarray:
    """One code per row for the labels from a level outwards (-1 if any is missing)."""
    key = parts[0].astype(np.int64)
    for other in parts[1:]:
        width = int(other.max()) + 1 if other.size else 1
        missing = (key < 0) | (other < 0)
        key = _compact(np.where(missing, -1, key * width + other))
    return key


def _per_group_distinct(group: np.ndarray, member: np.ndarray) -> np.ndarray:
    """For codes `group` and `member` (both >= 0), how many distinct members each group
    holds (0 for a code with no rows)."""
    width = int(member.max()) + 1 if member.size else 1
    pairs = np.unique(group * width + member)
    return np.bincount(pairs // width, minlength=int(group.max()) + 1 if group.size else 0)


def _level_info(name: str, own: np.ndarray, labels: np.ndarray, path: np.ndarray) -> LevelInfo:
    present = path[path >= 0]
    n_missing = int((own < 0).sum())
    if not present.size:
        return LevelInfo(name, 0, 0, 0.0, 0, 0, n_missing)
    sizes = np.bincount(present)
    sizes = sizes[sizes > 0]
    return LevelInfo(
        name=name,
        n_groups=len(sizes),
        size_min=int(sizes.min()),
        size_median=float(np.median(sizes)),
        size_max=int(sizes.max()),
        singletons=int((sizes == 1).sum()),
        n_missing=n_missing,
        n_labels=len(labels),  # every label comes from some row
        n_rows=int(sizes.sum()),
    )


def _relation(
    inner: str,
    outer: str,
    inner_ids: tuple[np.ndarray, np.ndarray],
    outer_ids: np.ndarray,
    inner_path: np.ndarray,
    outer_path: np.ndarray,
) -> Relation:
    # a complete inner path means the inner id and every outer id are present
    rows = inner_path >= 0
    if not rows.any():
        return Relation(inner, outer, nested=True, reused_ids=0)
    labels = inner_ids[1]
    i, o = inner_ids[0][rows], outer_ids[rows]
    ip, op = inner_path[rows], outer_path[rows]
    outers_per_inner = _per_group_distinct(i, o)
    reused = np.flatnonzero(outers_per_inner > 1)
    per_outer = _per_group_distinct(op, ip)
    per_outer = per_outer[per_outer > 0]
    rel = Relation(
        inner=inner,
        outer=outer,
        nested=not reused.size,
        reused_ids=len(reused),
        per_outer_min=int(per_outer.min()),
        per_outer_median=float(np.median(per_outer)),
        per_outer_max=int(per_outer.max()),
    )
    inners_per_outer = _per_group_distinct(o, i)
    inners_per_outer = inners_per_outer[inners_per_outer > 0]
    if reused.size and (inners_per_outer == 1).all() and (
            len(np.unique(o)) > len(np.unique(i))):
        rel.kind = "reversed"  # each outer id in one inner id: listed outer first
        return rel
    if reused.size:
        top = int(outers_per_inner[reused].max())
        # the id under the most outer groups; ties go to the first id in text order
        rel.example_id = min(str(labels[k]) for k in reused[outers_per_inner[reused] == top])
        rel.example_count = top
        # Reused labels restart in every outer group: the commonest id (class 1) turns up in
        # most outer groups, and the whole set of ids is barely larger than one outer group's
        # set. Crossed units (pupils of one primary school spread over a few of many secondary
        # schools) meet a small share of the outer groups, and there are far more ids than any
        # one outer group holds. The data cannot prove either reading; this picks the wording.
        n_outer = len(np.unique(o))
        labels_per_outer = _per_group_distinct(o, i)
        widespread = n_outer >= 3 and rel.example_count >= 0.5 * n_outer
        compact = len(np.unique(i)) <= 2 * labels_per_outer.max()
        rel.kind = "reused" if widespread or compact else "crossed"
    return rel


# ---------------------------------------------------------------------------------------------
# sentences


def _warnings(structure: Structure, levels: list[str]) -> list[str]:
    out: list[str] = []
    for rel in structure.relations:
        inner_c, outer_p = sentence_start(rel.inner), _plural(rel.outer)
        if rel.kind == "reversed":
            out.append(
                f"The grouping columns are listed largest first: each {rel.outer} sits inside "
                f"one {rel.inner}, so {rel.outer} is the smaller group. Swap them: "
                f"{rel.outer} first, then {rel.inner} (the model is then "
                f"(1 | {rel.inner}/{rel.outer}))."
            )
            continue
        if not rel.nested:
            text = (
                f"{inner_c} IDs repeat across {outer_p} (e.g. {rel.inner} {rel.example_id} "
                f"appears in {rel.example_count} {outer_p}). They will be treated as different "
                f"{_plural(rel.inner)} ({rel.outer}/{rel.inner})."
            )
            if rel.kind == "crossed":
                text += (
                    f" This looks like a crossed design: if {rel.inner} {rel.example_id} is the "
                    f"same {rel.inner} in each {rel.outer}, model the two as crossed effects, "
                    f"(1 | {rel.inner}) + (1 | {rel.outer}), instead of listing them as levels."
                )
            out.append(text)
        if rel.per_outer_max == 1 and structure.levels[levels.index(rel.outer)].n_groups > 0:
            out.append(
                f"Every {rel.outer} holds just one {rel.inner}, so the model cannot tell "
                f"{rel.inner} from {rel.outer}. Drop one of the two levels."
            )
    for level in structure.levels:
        plural = _plural(level.name)
        if 0 < level.n_groups < MIN_GROUPS:
            out.append(
                f"Only {level.n_groups} {_plural(level.name, level.n_groups)}: with fewer than "
                f"{MIN_GROUPS} groups the variance between {plural} will be unreliable. "
                f"Consider {level.name} as a fixed effect (a predictor) instead."
            )
        if level.n_groups and level.singletons == level.n_groups:
            out.append(
                f"Every {level.name} has only one row, so there is no variation within "
                f"{plural}: the model cannot separate {level.name} from the residual. Drop "
                f"{level.name} as a level, or check that it is the right column."
            )
        elif level.n_groups and level.singletons >= 0.5 * level.n_groups:
            out.append(
                f"{level.singletons:,} of {level.n_groups:,} {plural} have only one row; "
                f"their {level.name} effects rest on a single value each, so the {level.name} "
                "variance will be poorly estimated."
            )
        if level.n_groups == 0:
            out.append(f"'{level.name}' has no values: every row is missing its {level.name} id.")
        elif level.n_missing:
            out.append(
                f"{level.n_missing:,} {_plural('row', level.n_missing)} "
                f"{'has' if level.n_missing == 1 else 'have'} no {level.name} id; "
                f"{'it' if level.n_missing == 1 else 'they'} will be left out of a model that "
                f"uses {level.name}."
            )
    return out


def _level_sentence(level: LevelInfo, unit: str) -> str:
    if level.n_groups == 0:
        return f"No {level.name} ids: the column is empty."
    median = _num(level.size_median)
    return (
        f"{level.n_rows:,} {unit} in {level.n_groups:,} {_plural(level.name, level.n_groups)}; "
        f"{level.size_min:,} to {level.size_max:,} per {level.name} (median {median})."
    )


def _relation_sentence(rel: Relation) -> str:
    spread = (
        f"{rel.per_outer_min:,} to {rel.per_outer_max:,} {_plural(rel.inner)} per {rel.outer} "
        f"(median {_num(rel.per_outer_median)})"
    )
    if rel.kind == "nested":
        return f"Each {rel.inner} belongs to one {rel.outer}; {spread}."
    if rel.kind == "reused":
        return f"{sentence_start(rel.inner)} IDs are reused across {_plural(rel.outer)}; {spread}."
    if rel.kind == "reversed":
        return (f"Each {rel.outer} belongs to one {rel.inner}: {rel.outer} is nested in "
                f"{rel.inner} (listed the other way round).")
    return (
        f"{sentence_start(rel.inner)} and {rel.outer} are crossed: {rel.reused_ids:,} "
        f"{_plural(rel.inner, rel.reused_ids)} appear with more than one {rel.outer}."
    )


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,.1f}"


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, np.integer):
            v = int(v)
        elif isinstance(v, np.floating):
            v = float(v)
        out[k] = v
    return out
