"""The one rule for naming groups in sentences (issue 10.3): English nouns get their English
plural; any other column name is printed as the file has it, followed by "groups"."""

from __future__ import annotations

import pytest

from hlm_core import report, structure, writeup
from hlm_core.wording import is_noun, label, plural, sentence_start


@pytest.mark.parametrize(
    ("name", "out"),
    [
        ("class", "classes"),
        ("school", "schools"),
        ("child", "children"),
        ("person", "people"),
        ("city", "cities"),
        ("day", "days"),
        ("box", "box groups"),  # a plain word, but not a known unit: no guessing
        ("classroom", "classrooms"),
        ("School", "Schools"),
        ("CLASS", "CLASSES"),
        ("sch", "sch groups"),
        ("tch", "tch groups"),
        ("schoolNR", "schoolNR groups"),
        ("classNR", "classNR groups"),
        ("IDSCHOOL", "IDSCHOOL groups"),
        ("school_id", "school_id groups"),
        ("g 1", "'g 1' groups"),
        (("class", "school"), "classes (within schools)"),
        (("tch", "sch"), "tch groups (within sch groups)"),
        (("class", "school", "district"), "classes (within schools within districts)"),
        (("class",), "classes"),
        # one column whose name holds ':' is one name, never read as lme4's nesting
        ("class:school", "'class:school' groups"),
        ("class:2024", "'class:2024' groups"),
    ],
)
def test_plural(name, out):
    assert plural(name) == out


def test_a_colon_in_a_column_name_is_not_nesting():
    """Fitted: lme4 names `(1 | school/class)`'s inner factor 'class:school', and a column
    called 'class:school' the same; the fit's design tells them apart (group_columns)."""
    import numpy as np
    import pandas as pd

    from hlm_core.fit import fit
    from hlm_core.formula import parse_formula

    rng = np.random.default_rng(1)
    school = np.repeat([f"s{i}" for i in range(6)], 40)
    klass = np.tile(np.repeat(["a", "b"], 20), 6)
    y = rng.normal(size=240) + np.repeat(rng.normal(size=12), 20)
    frame = pd.DataFrame({"y": y, "school": school, "class": klass,
                          "class:school": [f"{c}{s}" for c, s in zip(klass, school, strict=True)]})
    nested = fit(frame, parse_formula("y ~ 1 + (1 | school/class)"))
    assert nested.group_columns("class:school") == ("class", "school")
    assert "12 classes (within schools) and 6 schools" in report.describe_results(nested)
    column = fit(frame, parse_formula("y ~ 1 + (1 | `class:school`)"))
    assert column.group_columns("class:school") == ("class:school",)
    text = report.describe_results(column)
    assert "12 'class:school' groups" in text and "within" not in text
    assert nested.group_words("class:school", 1) == "class (within schools)"


def test_never_a_made_up_plural():
    for name in ("sch", "tch", "schoolNR", "classNR", "IDSCHOOL", "hsb", "Schoolnr"):
        assert not is_noun(name)
        assert plural(name).endswith(" groups")
    assert plural("sch") != "sches" and plural("tch") != "tches"


def test_one_group_and_sentence_start():
    assert plural("class", 1) == label("class") == "class"
    assert plural("sch", 1) == label("sch") == "sch group"
    assert plural("row", 3) == "rows" and plural("row", 1) == "row"
    assert sentence_start("class") == "Class"
    assert sentence_start("tch") == "tch"  # never "Tch"
    assert sentence_start("schoolNR") == "schoolNR"  # never "Schoolnr"


def test_every_module_uses_the_one_rule():
    """The report, the write-up and the structure summary name groups the same way (the
    report through FitResult.group_words, tested above)."""
    assert writeup.plural is plural
    assert structure._plural is plural
