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
        ("class:school", "classes (within schools)"),
        ("tch:sch", "tch groups (within sch groups)"),
        ("class:(school:district)", "classes (within schools within districts)"),
    ],
)
def test_plural(name, out):
    assert plural(name) == out


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
    """The report, the write-up and the structure summary name groups the same way."""
    assert report.plural is plural
    assert writeup.plural is plural
    assert structure._plural is plural
