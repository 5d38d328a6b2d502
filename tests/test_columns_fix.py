"""Fixing data in place (issue 10, point 10): a teacher's score column with one "absent",
blanks and "n/a" is read as text; the non-number entries are listed with counts, converting
treats them as missing, and the outcome default is never a predictor-like column meanwhile."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from hlm_core.columns import guess_outcome, stray_entries, treat_as_missing
from hlm_core.errors import HLMError
from hlm_core.io import read_table
from tests.refdata import FIXTURES


@pytest.fixture(scope="module")
def teacher_file() -> bytes:
    """A spreadsheet typed by a teacher: `;` separated, decimal commas, class names like 3B,
    a score column with blanks, "n/a", "absent" and a typo'd "4O"."""
    rng = np.random.default_rng(8)
    lines = ["pupil;class;homework hours;Maths score"]
    for i in range(60):
        score = f"{rng.normal(60, 10):.1f}".replace(".", ",")
        if i == 7:
            score = "absent"
        elif i in (11, 12):
            score = ""
        elif i == 20:
            score = "n/a"
        elif i in (30, 31):
            score = "ill"
        lines.append(f"{i + 1};{['3B', '3C', '4A'][i % 3]};{i % 6};{score}")
    return ("\n".join(lines) + "\n").encode()


def test_stray_entries_listed_with_counts(teacher_file):
    frame = read_table(io.BytesIO(teacher_file), name="class.csv").frame
    assert not pd.api.types.is_numeric_dtype(frame["Maths score"])  # read as text
    stray = stray_entries(frame["Maths score"])
    assert stray.to_dict() == {"absent": 1, "ill": 2}  # blanks and n/a are already missing
    assert stray_entries(frame["class"]) is None  # ordinary text
    assert stray_entries(frame["homework hours"]) is None  # numbers


def test_treat_as_missing_converts_the_column(teacher_file):
    frame = read_table(io.BytesIO(teacher_file), name="class.csv").frame
    fixed, n = treat_as_missing(frame, "Maths score")
    assert n == 3
    s = fixed["Maths score"]
    assert pd.api.types.is_float_dtype(s) and int(s.isna().sum()) == 3 + 2 + 1
    first = float(teacher_file.decode().splitlines()[1].split(";")[3].replace(",", "."))
    assert s.iloc[0] == pytest.approx(first)
    assert frame["Maths score"].dtype != float  # the original frame is untouched
    with pytest.raises(HLMError, match="ill"):
        treat_as_missing(frame, "Maths score", ["absent"])
    with pytest.raises(HLMError):
        treat_as_missing(frame, "class")


def test_outcome_default_is_never_a_predictor_when_the_score_is_text(teacher_file):
    frame = read_table(io.BytesIO(teacher_file), name="class.csv").frame
    assert guess_outcome(frame, exclude=["class"]) is None  # not "homework hours"
    fixed, _ = treat_as_missing(frame, "Maths score")
    assert guess_outcome(fixed, exclude=["class"]) == "Maths score"
    tutorial = pd.read_csv(FIXTURES / "tutorial" / "classroom.csv")
    assert guess_outcome(tutorial, exclude=["class"]) == "score"
    plain = pd.DataFrame({"pupil_id": [1, 2], "hours": [1.0, 2.0], "y": [3.0, 4.0]})
    assert guess_outcome(plain) == "hours"  # no score-like name: the first number column
