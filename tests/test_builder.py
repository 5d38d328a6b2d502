"""The Model page's builder logic (ui.builder) on its own, without streamlit: choices ⇄ spec,
what each widget offers, what stays possible after a change, typed formulas, crossed and
nested grouping columns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlm_core.errors import FormulaError
from hlm_core.formula import format_formula, parse_formula
from hlm_core.io import read_table
from ui import builder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def exam() -> pd.DataFrame:
    return read_table((ROOT / "tests" / "fixtures" / "exam.csv").read_bytes(),
                      name="exam.csv").frame


def choices(**kw) -> dict:
    c = {"outcome": "normexam", "predictors": [], "interactions": [], "group": "school",
         "higher": [], "crossed": [], "slopes": [], "correlated": True, "method": "REML",
         "centering": {}}
    c.update(kw)
    return c


def nested_frame() -> pd.DataFrame:
    """4 schools with 3 classes each (class ids reused across schools), 5 pupils a class."""
    rng = np.random.default_rng(1)
    rows = [(s, c, rng.normal()) for s in range(4) for c in range(3) for _ in range(5)]
    return pd.DataFrame(rows, columns=["school", "class", "score"]).assign(
        school=lambda d: d["school"].map("S{}".format), klass=lambda d: d["class"])


def crossed_frame() -> pd.DataFrame:
    """Each of 20 primary schools sends pupils to 2 of 10 secondary schools: crossed."""
    rng = np.random.default_rng(2)
    rows = [(f"P{p}", f"Q{q}", rng.normal()) for p in range(20)
            for q in (p % 10, (p + 3) % 10) for _ in range(3)]
    return pd.DataFrame(rows, columns=["primary", "secondary", "score"])


def test_builder_imports_no_streamlit():
    code = "import sys, ui.builder; assert 'streamlit' not in sys.modules, 'streamlit imported'"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_default_choices_guess_the_school_and_skip_ids(exam):
    c = builder.default_choices(exam)
    assert builder.guess_levels(exam) == ["school"]
    assert (c["group"], c["higher"], c["crossed"]) == ("school", [], [])
    assert c["outcome"] == "normexam"  # school is the level, student an ID
    assert format_formula(builder.spec_from_choices(c)) == "normexam ~ 1 + (1 | school)"
    # the Data page's levels win over the guess
    c = builder.default_choices(exam, ["student"])
    # the score-like column, never the school ID number (issue 10, point 10)
    assert c["group"] == "student" and c["outcome"] == "normexam"


def test_guess_levels_prefers_class_and_needs_repeats():
    frame = pd.DataFrame({"school_id": [1, 1, 1, 1, 2, 2, 2, 2], "class": list("aabbccdd"),
                          "y": np.arange(8.0)})
    assert builder.guess_levels(frame) == ["class"]
    # a column with (almost) a value per row groups nothing
    assert builder.guess_levels(frame.assign(**{"class": list("abcdefgh")})) == ["school_id"]
    assert builder.guess_levels(frame[["y"]]) == []


@pytest.mark.parametrize(
    ("kw", "formula"),
    [
        ({"predictors": ["standLRT", "sex"], "interactions": [("standLRT", "sex")]},
         "normexam ~ standLRT + sex + standLRT:sex + (1 | school)"),
        ({"predictors": ["standLRT"], "slopes": ["standLRT"]},
         "normexam ~ standLRT + (standLRT | school)"),
        ({"predictors": ["standLRT"], "slopes": ["standLRT"], "correlated": False},
         "normexam ~ standLRT + (standLRT || school)"),
        ({"group": "student", "higher": ["school"]}, "normexam ~ 1 + (1 | school/student)"),
        ({"group": "student", "higher": ["school"], "predictors": ["standLRT"],
          "slopes": ["standLRT"]},
         "normexam ~ standLRT + (standLRT | student:school) + (1 | school)"),
        ({"group": "school", "crossed": ["vr"]}, "normexam ~ 1 + (1 | school) + (1 | vr)"),
        ({"group": None}, "normexam ~ 1"),
    ],
)
def test_spec_from_choices_writes_lme4_formulas_and_round_trips(exam, kw, formula):
    c = builder.sanitize(choices(**kw), exam)
    spec = builder.spec_from_choices(c)
    assert format_formula(spec) == formula
    back = builder.sanitize(builder.choices_from_spec(spec), exam)
    assert back == c
    assert builder.spec_from_choices(back) == spec


def test_no_outcome_no_spec():
    assert builder.spec_from_choices(choices(outcome=None)) is None


def test_method_and_centring_reach_the_spec(exam):
    c = choices(predictors=["sex", "standLRT", "schavg"], method="ML",
                centering={"schavg": "grand", "standLRT": "group", "sex": "none"})
    spec = builder.spec_from_choices(builder.sanitize(c, exam))
    assert spec.reml is False
    # in predictor order, categories and "none" dropped
    assert spec.centering == (("standLRT", "group"), ("schavg", "grand"))
    assert builder.centering_of(c) == (("standLRT", "group"), ("schavg", "grand"))


def test_sanitize_drops_what_is_no_longer_possible(exam):
    c = choices(outcome="standLRT", predictors=["standLRT", "sex", "school"],
                interactions=[["standLRT", "sex"]], slopes=["standLRT", "sex"],
                higher=["school", "vr"], crossed=["vr", "type"],
                centering={"standLRT": "grand", "sex": "group"}, method="Bayes")
    out = builder.sanitize(c, exam)
    assert out["predictors"] == ["sex"]  # the outcome and the grouping column went
    assert out["interactions"] == [] and out["slopes"] == ["sex"]
    assert out["higher"] == ["vr"] and out["crossed"] == ["type"]
    assert out["centering"] == {}  # sex is a category: never centred
    assert out["method"] == "REML"
    assert c["predictors"] == ["standLRT", "sex", "school"]  # the input is left alone
    gone = builder.sanitize(choices(group="no such column", higher=["vr"], crossed=["type"]),
                            exam)
    assert (gone["group"], gone["higher"], gone["crossed"]) == (None, [], [])
    assert builder.sanitize(choices(outcome="missing"), exam)["outcome"] is None


def test_builder_options_follow_the_other_choices(exam):
    frame = exam.assign(when=pd.Timestamp("2024-01-01"),
                        start=pd.to_timedelta("08:30:00"))  # a time of day read from a CSV
    opts = builder.builder_options(choices(predictors=["standLRT", "sex", "vr"]), frame)
    # numbers, not dates, times or categories
    assert opts["outcome"] == ["school", "normexam", "schavg", "standLRT", "student"]
    assert "when" not in opts["predictors"] and "school" not in opts["predictors"]
    assert "start" not in opts["predictors"] and builder.column_type(frame["start"]) == "time"
    assert "normexam" not in opts["predictors"]
    assert opts["interactions"] == [("standLRT", "sex"), ("standLRT", "vr"), ("sex", "vr")]
    assert opts["centering"] == ["standLRT"]
    assert opts["slopes"] == ["standLRT", "sex", "vr"]
    assert "standLRT" not in opts["group"] and "school" in opts["group"]
    assert opts["method"] == ["REML", "ML"]
    assert builder.column_type(frame["when"]) == "date"
    assert builder.column_type(frame["sex"]) == "category"
    assert builder.column_type(frame["standLRT"]) == "number"


def test_interaction_label_keeps_pairs_apart():
    assert builder.interaction_label(("hours", "ses")) == "hours × ses"
    assert builder.interaction_label(("a × b", "c")) == "`a × b` × c"


def test_typed_formula_keeps_the_builders_method_and_centring(exam):
    c = choices(method="ML", predictors=["standLRT", "schavg"],
                centering={"standLRT": "group", "schavg": "grand"})
    spec = builder.spec_from_text("normexam ~ standLRT + sex + (1 | school)", exam, c)
    assert spec.reml is False
    assert spec.centering == (("standLRT", "group"),)  # schavg is not in the formula
    assert spec.with_(centering=()) == parse_formula(
        "normexam ~ standLRT + sex + (1 | school)", reml=False)


def test_typed_formula_errors_say_what_to_change(exam):
    with pytest.raises(FormulaError) as err:
        builder.spec_from_text("normexam ~ standlrt + (1 | school)", exam, choices())
    assert str(err.value) == (
        "There is no column called 'standlrt' in the data. Did you mean 'standLRT'?")
    assert err.value.position == len("normexam ~ ")
    with pytest.raises(FormulaError) as err:
        builder.spec_from_text("normexam ~ standLRT + (1 | school", exam, choices())
    assert err.value.position is not None
    spaced = pd.DataFrame({"Math score": [1.0, 2.0], "Study hours": [3.0, 4.0]})
    with pytest.raises(FormulaError) as err:
        builder.spec_from_text("Math score ~ Study hours", spaced, choices())
    assert "Column names with spaces or symbols go in backticks: `Math score`, `Study hours`." \
        in str(err.value)


def test_two_levels_nest_or_cross_by_the_data():
    nested = nested_frame()
    # class ids 0-2 repeat in every school: reused ids, still classes within schools
    assert builder.split_levels(nested, ["class", "school"]) == ("class", ["school"], [])
    nested["class"] = nested["school"] + "-" + nested["klass"].astype(str)
    assert builder.split_levels(nested, ["class", "school"]) == ("class", ["school"], [])
    assert builder.split_levels(nested, []) == (None, [], [])
    crossed = crossed_frame()
    assert builder.split_levels(crossed, ["primary", "secondary"]) == (
        "primary", [], ["secondary"])
    # the check can be replaced (the session passes its cached one)
    assert builder.split_levels(crossed, ["primary", "secondary"],
                                lambda f, lv: "no check") == ("primary", ["secondary"], [])


def test_crossing_explains_nested_and_crossed_columns():
    crossed = crossed_frame()
    kind, sentence = builder.crossing(crossed, "primary", "secondary")
    assert kind == "crossed"
    assert sentence == (
        "primary and secondary are crossed: 20 primary groups appear with more than one "
        "secondary (for example primary P0 with 2 secondary groups). Each gets its own random "
        "intercept.")  # not English nouns for units: "primary groups", never "primaries"
    nested = nested_frame()
    nested["class"] = nested["school"] + "-" + nested["klass"].astype(str)
    assert builder.crossing(nested, "class", "school")[0] == "a_in_b"
    kind, sentence = builder.crossing(nested, "school", "class")
    assert kind == "b_in_a"
    assert sentence.startswith("Each class belongs to one school, so they are nested")
