"""The Model page's outcome-type choices ⇄ ModelSpec (ui/builder_glmm.py, no streamlit)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hlm_core.io import read_table
from ui import builder
from ui.builder_glmm import detected_family, family_after_outcome, outcome_values, spec_caption

PUPILS = Path(__file__).parent / "fixtures" / "glmm" / "pupils.csv"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return read_table(PUPILS).frame


def test_detected_family(frame):
    assert detected_family(frame, "result") == "binomial"
    assert detected_family(frame, "passed01") == "binomial"
    assert detected_family(frame, "absences") == "poisson"
    assert detected_family(frame, "ses") == "gaussian"
    assert outcome_values(frame, "result") == ["fail", "pass"]


def test_choices_to_spec_and_back(frame):
    c = builder.default_choices(frame, ["class"])
    assert c["family"] == "gaussian"
    c.update(outcome="result", family="binomial", success="fail", predictors=["ses"])
    c = builder.sanitize(c, frame)
    spec = builder.spec_from_choices(c)
    assert (spec.family, spec.success, spec.reml, spec.threshold) == ("binomial", "fail",
                                                                     False, None)
    back = builder.choices_from_spec(spec)
    assert back["family"] == "binomial" and back["success"] == "fail"
    assert "Success = result is fail" in spec_caption(spec)
    # a pass mark replaces the success value; a count model drops both
    c2 = builder.sanitize({**c, "outcome": "ses", "threshold": (">=", 0.5)}, frame)
    spec2 = builder.spec_from_choices(c2)
    assert spec2.threshold == (">=", 0.5) and spec2.success is None
    assert "success = ses >= 0.5" in spec_caption(spec2)
    c3 = builder.sanitize({**c, "outcome": "absences", "family": "poisson", "nagq": 99}, frame)
    spec3 = builder.spec_from_choices(c3)
    assert (spec3.family, spec3.success, spec3.nagq) == ("poisson", None, 25)


def test_linear_choices_give_the_same_spec_as_before(frame):
    c = builder.sanitize({**builder.default_choices(frame, ["class"]), "outcome": "ses"}, frame)
    spec = builder.spec_from_choices(c)
    assert spec.family == "gaussian" and spec.reml is True and spec.nagq == 1
    assert "result" not in builder.builder_options(c, frame)["outcome"]  # text: yes/no only
    c_bin = {**c, "family": "binomial"}
    assert "result" in builder.builder_options(c_bin, frame)["outcome"]


def test_family_follows_a_new_outcome(frame):
    c = {"outcome": "result", "family": "gaussian", "threshold": None}
    assert family_after_outcome(frame, c) == "binomial"
    c = {"outcome": "ses", "family": "binomial", "threshold": None}
    assert family_after_outcome(frame, c) == "gaussian"
    c = {"outcome": "ses", "family": "binomial", "threshold": (">=", 0.0)}
    assert family_after_outcome(frame, c) == "binomial"
    c = {"outcome": "absences", "family": "gaussian", "threshold": None}
    assert family_after_outcome(frame, c) == "gaussian"  # counts are only suggested
