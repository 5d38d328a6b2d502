"""describe_structure: group counts, nesting, reused ids, crossing and the warnings a user sees."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlm_core.errors import ModelError
from hlm_core.io import read_table
from hlm_core.structure import describe_structure

EXAM = Path(__file__).parent / "fixtures" / "exam.csv"


@pytest.fixture(scope="module")
def exam() -> pd.DataFrame:
    return read_table(EXAM).frame


def classes(n_schools: int = 6, per_school: int = 3, pupils: int = 4, reuse: bool = False):
    """Pupils in classes in schools; class ids 1..k restart per school when `reuse`."""
    rows = []
    for s in range(1, n_schools + 1):
        for c in range(1, per_school + 1):
            cls = c if reuse else f"S{s}C{c}"
            for p in range(pupils):
                rows.append({"school": s, "class": cls, "y": float(s + c + p)})
    return pd.DataFrame(rows)


def test_exam_schools(exam):
    s = describe_structure(exam, ["school"], unit="students")
    (level,) = s.levels
    assert (level.n_groups, level.size_min, level.size_max) == (65, 2, 198)
    assert level.size_median == 60
    assert level.singletons == 0 and level.n_missing == 0
    assert s.relations == []
    assert s.warnings == []
    assert s.summary_lines() == ["4,059 students in 65 schools; 2 to 198 per school (median 60)."]


def test_exam_student_numbers_restart_in_each_school(exam):
    s = describe_structure(exam, ["student", "school"])
    (rel,) = s.relations
    assert not rel.nested and rel.crossed
    assert rel.reused_ids > 0
    assert rel.kind == "reused"
    assert s.levels[0].n_groups > s.levels[0].n_labels  # counted per school
    assert any(w.startswith("Student IDs repeat across schools") for w in s.warnings)


def test_nested_with_unique_class_ids():
    s = describe_structure(classes(), ["class", "school"], unit="pupils")
    cls, school = s.levels
    assert (cls.n_groups, cls.n_labels, cls.size_min, cls.size_max) == (18, 18, 4, 4)
    assert school.n_groups == 6 and school.size_median == 12
    (rel,) = s.relations
    assert rel.nested and not rel.crossed
    assert rel.reused_ids == 0 and rel.kind == "nested"
    assert (rel.per_outer_min, rel.per_outer_max) == (3, 3)
    assert s.warnings == []
    assert s.summary_lines() == [
        "72 pupils in 18 classes; 4 to 4 per class (median 4).",
        "72 pupils in 6 schools; 12 to 12 per school (median 12).",
        "Each class belongs to one school; 3 to 3 classes per school (median 3).",
    ]


def test_class_ids_reused_across_schools():
    s = describe_structure(classes(reuse=True), ["class", "school"])
    cls = s.levels[0]
    assert cls.n_groups == 18  # school/class: class 1 of school 1 is not class 1 of school 2
    assert cls.n_labels == 3
    (rel,) = s.relations
    assert not rel.nested
    assert rel.reused_ids == 3
    assert rel.kind == "reused"
    assert (rel.example_id, rel.example_count) == ("1", 6)
    assert (
        "Class IDs repeat across schools (e.g. class 1 appears in 6 schools). "
        "They will be treated as different classes (school/class)."
    ) in s.warnings


def test_crossed_primary_and_secondary_schools():
    # 30 primary schools, 6 secondary schools; each primary sends pupils to two secondaries
    rows = []
    for p in range(30):
        for sec in (p % 6, (p + 1) % 6):
            for pupil in range(3):
                rows.append({"primary": f"P{p}", "secondary": f"S{sec}", "pupil": pupil})
    frame = pd.DataFrame(rows)
    s = describe_structure(frame, ["primary", "secondary"])
    (rel,) = s.relations
    assert not rel.nested and rel.crossed
    assert rel.reused_ids == 30
    assert rel.kind == "crossed"
    assert any("crossed" in w and "(1 | primary) + (1 | secondary)" in w for w in s.warnings)
    assert s.levels[1].n_groups == 6


def test_fewer_than_five_groups_warns():
    s = describe_structure(classes(n_schools=3), ["class", "school"])
    assert any(w.startswith("Only 3 schools") and "unreliable" in w for w in s.warnings)
    assert not any(w.startswith("Only") and "classes" in w for w in s.warnings)


def test_one_row_per_group_warns():
    s = describe_structure(classes(pupils=1), ["class", "school"])
    assert s.levels[0].singletons == 18
    assert any(w.startswith("Every class has only one row") for w in s.warnings)


def test_one_inner_group_per_outer_group_warns():
    s = describe_structure(classes(per_school=1), ["class", "school"])
    assert any("Every school holds just one class" in w for w in s.warnings)


def test_three_levels_and_labels_compare_alike():
    frame = classes()
    frame["district"] = np.where(frame["school"] <= 3, "North", "South")
    # the same school written as 1, 1.0 and "1" is one school
    frame["school"] = frame["school"].astype(object)
    frame.loc[0, "school"] = 1.0
    frame.loc[1, "school"] = "1"
    s = describe_structure(frame, ["class", "school", "district"])
    assert [lv.n_groups for lv in s.levels] == [18, 6, 2]
    assert [r.nested for r in s.relations] == [True, True]
    assert any(w.startswith("Only 2 districts") for w in s.warnings)


def test_missing_ids_are_counted_and_reported():
    frame = classes()
    frame["school"] = frame["school"].astype(float)
    frame.loc[[0, 5], "school"] = np.nan
    frame.loc[7, "class"] = None
    s = describe_structure(frame, ["class", "school"])
    cls, school = s.levels
    assert school.n_missing == 2 and cls.n_missing == 1
    assert school.n_groups == 6 and school.n_rows == 70
    assert cls.n_rows == 69  # class groups need both ids
    assert any(w.startswith("2 rows have no school id") for w in s.warnings)


def test_to_dict_is_json_friendly():
    s = describe_structure(classes(reuse=True), ["class", "school"])
    d = json.loads(json.dumps(s.to_dict()))
    assert d["levels"][0]["name"] == "class"
    assert d["relations"][0]["reused_ids"] == 3
    assert d["relations"][0]["crossed"] is True
    assert d["summary"] == s.summary_lines()
    assert d["warnings"] == s.warnings


def test_unknown_column_suggests_close_matches():
    frame = classes()
    with pytest.raises(ModelError) as err:
        describe_structure(frame, ["class", "shcool"])
    assert "'shcool'" in str(err.value) and "'school'" in str(err.value)
    with pytest.raises(ModelError, match=r"'School'.*'school'"):
        describe_structure(frame, ["School"])
    with pytest.raises(ModelError, match="columns are 'school', 'class', 'y'"):
        describe_structure(frame, ["zzz"])


def test_bad_level_lists():
    with pytest.raises(ModelError, match="at least one"):
        describe_structure(classes(), [])
    with pytest.raises(ModelError, match="twice"):
        describe_structure(classes(), ["school", "school"])
