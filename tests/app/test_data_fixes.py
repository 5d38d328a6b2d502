"""Data page fixes (issue 10): text typed into a score column is listed with counts and can be
treated as missing in place, after which the outcome dropdown offers the column (point 10);
grouping columns entered outer first are recognised as nested, never crossed, with a one-click
swap, and the needed column is among the first choices (point 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.app.apphelpers import go, new_app, state, texts, upload, widget
from tests.star_like import star_like
from ui.text import md_code


def teacher_csv() -> bytes:
    """A teacher's file: `;`, decimal commas, class names like 3B, a score column with blanks,
    "n/a", one "absent" and two "ill"."""
    rng = np.random.default_rng(8)
    lines = ["pupil;class;homework hours;Maths score"]
    for i in range(90):
        score = f"{rng.normal(60, 10):.1f}".replace(".", ",")
        score = {7: "absent", 11: "", 12: "", 20: "n/a", 30: "ill", 31: "ill"}.get(i, score)
        lines.append(f"{i + 1};{['3B', '3C', '4A', '4B', '5A', '5C'][i % 6]};{i % 6};{score}")
    return ("\n".join(lines) + "\n").encode()


def star_csv() -> bytes:
    return star_like(schools=30, pupils=15, extra_columns=12).to_csv(index=False).encode()


def test_text_in_scores_listed_and_fixed_in_place():
    at = upload(new_app(), "class.csv", teacher_csv())
    shown = texts(at)
    # each entry as code, with its count
    assert f"{md_code('absent')} (1)" in shown and f"{md_code('ill')} (2)" in shown
    # the outcome never defaults to a predictor-like column while the score is text
    go(at, "model")
    assert widget(at, "selectbox", "Outcome").value is None
    assert "Maths score" not in widget(at, "selectbox", "Outcome").options
    go(at, "data")
    box = next(c for c in at.checkbox if c.key == "w_stray_Maths score")
    box.check().run()
    frame = state(at).frame[1]
    assert pd.api.types.is_float_dtype(frame["Maths score"])
    assert int(frame["Maths score"].isna().sum()) == 3 + 2 + 1
    assert "is now a number column" in texts(at)
    go(at, "model")
    assert "Maths score" in widget(at, "selectbox", "Outcome").options


def test_outer_first_levels_are_nested_with_a_swap_and_tch_first_in_the_list():
    at = upload(new_app(), "star.csv", star_csv())
    levels = widget(at, "multiselect", "Grouping columns (smallest group first)")
    assert {"sch", "tch"} <= set(levels.options[:4])  # among the first choices
    levels.set_value(["sch", "tch"]).run()
    shown = texts(at)
    assert "crossed" not in shown.lower() and "Drop one of the two levels" not in shown
    assert "Swap them: tch first, then sch" in shown
    go(at, "model")  # the builder nests them the right way round already
    assert state(at).choices["group"] == "tch" and state(at).choices["higher"] == ["sch"]
    go(at, "data")
    swap = next(b for b in at.button if b.key == "w_levels_swap")
    swap.click().run()
    assert state(at).levels == ["tch", "sch"]
    assert widget(at, "multiselect", "Grouping columns (smallest group first)").value == [
        "tch", "sch"]
    assert "Each tch belongs to one sch" in texts(at) or "each tch sits in one sch" in texts(at)
