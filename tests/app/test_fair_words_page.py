"""Class effects page (issue 10, point 7): reliability beside the shrinkage chart is explained
(the average vs the intercept, with the share kept), and the rank text says what the width of
the intervals means."""

from __future__ import annotations

from tests.app.apphelpers import fit_by_formula, go, new_app, show_fair, texts, upload
from tests.refdata import FIXTURES

FORMULA = "score ~ exam.prep.days + poverty + parent.ed + (exam.prep.days | class)"


def test_reliability_and_shrinkage_reconciled_and_ranks_explained():
    at = upload(new_app(), "classroom.csv",
                (FIXTURES / "tutorial" / "classroom.csv").read_bytes())
    fit_by_formula(at, FORMULA)
    show_fair(go(at, "class_effects"))
    shown = texts(at)
    assert "Reliability and the shrinkage chart measure different things" in shown
    assert "pulls it further than the reliability of the average suggests" in shown
    assert "spans" not in shown
    assert "95% interval covers" in shown or "certain at 95%" in shown
    fair = next(d.value for d in at.dataframe if "kept" in d.value.columns)
    assert fair["kept"].median() < fair["reliability"].mean() - 0.05
