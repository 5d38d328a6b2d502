"""Grouping levels entered outer first (issue 10, point 2): STAR's schools `sch` then teachers
`tch`. The check must see that each teacher sits in one school, say so, suggest the order
`tch`, `sch`, and never call the data crossed, tell the user to drop a level, or count
"337 sch" groups made of school/teacher paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hlm_core.structure import describe_structure
from tests.star_like import star_like


@pytest.fixture(scope="module")
def star():
    return star_like()


def test_outer_first_is_detected_and_the_swap_suggested(star):
    st = describe_structure(star, ["sch", "tch"])
    n_tch, n_sch = star["tch"].nunique(), star["sch"].nunique()
    rel = st.relations[0]
    assert rel.kind == "reversed" and rel.kind != "crossed"
    assert st.suggested_order() == ["tch", "sch"]
    text = " ".join(st.summary_lines() + st.warnings)
    assert "crossed" not in text.lower()
    assert "Drop one of the two levels" not in text
    assert "Swap them: tch first, then sch" in text and "(1 | sch/tch)" in text
    assert "Each tch belongs to one sch" in text
    counts = {lv.name: lv.n_groups for lv in st.levels}
    assert counts == {"sch": n_sch, "tch": n_tch}  # not the school/teacher paths
    assert st.to_dict()["suggested_order"] == ["tch", "sch"]


def test_right_order_is_plain_nesting(star):
    st = describe_structure(star, ["tch", "sch"])
    assert st.relations[0].kind == "nested" and st.suggested_order() is None
    assert not st.warnings


@pytest.mark.parametrize("order", [["primary", "secondary"], ["secondary", "primary"]])
def test_cross_classified_data_is_never_called_reversed(order):
    rng = np.random.default_rng(5)
    d = pd.DataFrame({"primary": rng.integers(0, 30, 3000),
                      "secondary": rng.integers(0, 20, 3000)})
    st = describe_structure(d, order)
    assert st.relations[0].kind != "reversed" and st.suggested_order() is None
