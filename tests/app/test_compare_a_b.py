"""Compare page (issue 10, point 9): test model A against model B directly (nested: the
likelihood-ratio test, as anova(); the not-nested case is in tests/test_compare_two.py), one
count of models in the expander and on the page, unique labels even when a saved model is
called "Null model", the ML ICC labelled as such, and the tutorial file's missing values
handled (every model on the same rows)."""

from __future__ import annotations

import pytest

from hlm_core.compare import compare_two
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from tests.app.apphelpers import button, fit_by_formula, go, new_app, state, texts, upload, widget
from tests.refdata import FIXTURES

FORMULA = "score ~ exam.prep.days + poverty + parent.ed + (exam.prep.days | class)"


@pytest.fixture
def at():
    at = upload(new_app(), "classroom.csv",
                (FIXTURES / "tutorial" / "classroom.csv").read_bytes())
    fit_by_formula(at, "score ~ poverty + (1 | class)")
    widget(at, "text_input", "Name for this model").input("Null model").run()
    button(at, "Save this model").click().run()
    fit_by_formula(at, FORMULA)
    go(at, "compare")
    button(at, "Fit the model ladder").click().run()
    assert not at.exception
    return at


def test_counts_labels_and_icc(at):
    lad_names = widget(at, "selectbox", "Model A").options
    assert len(lad_names) == len(set(lad_names)) and "Null model (2)" in lad_names
    count = next(e.label for e in at.expander if e.label.startswith("The models compared"))
    assert count == f"The models compared: {len(lad_names)}"
    metric = next(m for m in at.metric if m.label == "Models compared")
    assert metric.value == str(len(lad_names))
    assert any(m.label == "ICC (null model, ML)" for m in at.metric)
    assert "6 rows with a missing value" in texts(at)


def test_a_against_b_nested_and_not(at):
    names = widget(at, "selectbox", "Model A").options
    widget(at, "selectbox", "Model A").set_value("Null model").run()
    widget(at, "selectbox", "Model B").set_value(names[-2]).run()  # the user's model
    shown = texts(at).replace("\\", "")  # Markdown escapes removed: the text as shown
    assert "Null model is a simpler version of" in shown and "χ²(" in shown
    # the same test by hand, on the rows every model uses
    d = state(at).frame[1].dropna(subset=["parent.ed"])
    a = fit(d, parse_formula("score ~ 1 + (1 | class)").with_(reml=False))
    b = fit(d, parse_formula(FORMULA).with_(reml=False))
    want = compare_two(a, b, d, ("Null model", names[-2]))
    assert f"χ²({want.comparison.df}) = {want.comparison.chisq:.2f}" in shown
    # the saved model (poverty only, also called "Null model") against the ladder's null
    widget(at, "selectbox", "Model A").set_value("Null model (2)").run()
    widget(at, "selectbox", "Model B").set_value("Null model").run()
    assert "Null model is a simpler version of Null model (2)" in texts(at).replace("\\", "")
