"""The tutorial's model comparison (issue 10, point 9, the core): test model A against model B
directly; when neither is a simpler version of the other there is no likelihood-ratio test but
AIC/BIC; a saved model is never tested against an unrelated ladder row; no two models share a
label. Numbers against lme4's anova() (tests/fixtures/exam_rs.json's `lrt`)."""

from __future__ import annotations

import pandas as pd
import pytest

from hlm_core.compare import compare_two, ladder, ladder_sentences, nested_in, unique_names
from hlm_core.figures import ladder_plot
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from tests.refdata import FIXTURES, load_reference


@pytest.fixture(scope="module")
def exam():
    return pd.read_csv(FIXTURES / "exam.csv")


def f(text):
    return parse_formula(text)


def test_nesting_rules():
    ri = f("normexam ~ standLRT + (1 | school)")
    rs = f("normexam ~ standLRT + (standLRT | school)")
    sex = f("normexam ~ sex + (1 | school)")
    assert nested_in(ri, rs) and not nested_in(rs, ri)
    assert not nested_in(sex, rs) and not nested_in(rs, sex)
    assert nested_in(f("normexam ~ 1 + (1 | school)"), sex)
    assert not nested_in(ri, f("normexam ~ standLRT + (1 | intake)"))
    assert not nested_in(ri, rs.with_(centering=(("standLRT", "group"),)))
    assert nested_in(ri, rs.with_(centering=(("standLRT", "grand"),)))  # only moves 0


def test_a_against_b_matches_lme4_anova(exam):
    ref = load_reference("exam_rs")
    ri = fit(exam, f("normexam ~ standLRT + (1 | school)"))
    rs = fit(exam, f(ref["formula"]))
    out = compare_two(rs, ri, exam, ("random slopes", "random intercepts"))  # B is smaller
    assert out.nested and out.smaller == "random intercepts"
    assert out.comparison.chisq == pytest.approx(ref["lrt"]["chisq"], abs=2e-3)
    assert out.comparison.df == ref["lrt"]["df"]
    assert out.table["model"].tolist() == ["random intercepts", "random slopes"]
    assert "random intercepts is a simpler version of random slopes" in out.sentences[0]


def test_not_nested_falls_back_to_aic_bic(exam):
    a = fit(exam, f("normexam ~ standLRT + (1 | school)"))
    b = fit(exam, f("normexam ~ sex + schgend + (1 | school)"))
    out = compare_two(a, b, exam, ("reading", "sex and school type"))
    assert not out.nested and out.comparison is None
    assert out.table["Chisq"].isna().all() and set(out.table["method"]) == {"ML"}
    text = " ".join(out.sentences)
    assert "not nested" in text and "AIC prefers reading" in text and "BIC prefers" in text


def test_saved_model_not_tested_against_an_unrelated_row_and_labels_unique(exam):
    spec = f("normexam ~ standLRT + (standLRT | school)")
    saved = [("Null model", f("normexam ~ sex + (1 | school)"))]  # same name, unrelated
    lad = ladder(exam, spec, extra=saved)
    names = lad.table["model"].tolist()
    assert len(set(names)) == len(names) and names[-1] == "Null model (2)"
    last = lad.table.iloc[-1]
    assert pd.isna(last["Chisq"]) and pd.isna(last["p_value"])  # sex is not in the slopes model
    assert "not a larger version of the model above it" in ladder_sentences(lad)[-3]
    fig = ladder_plot(lad.table)
    assert list(fig.data[0].x) == names  # every model its own point: no folding, no zig-zag
    assert unique_names(["a", "a", "a (2)"]) == ["a", "a (2)", "a (2) (2)"]


def test_ladder_on_the_tutorial_file_uses_the_same_rows_for_every_model():
    d = pd.read_csv(FIXTURES / "tutorial" / "classroom.csv")  # 6 pupils lack parent.ed
    lad = ladder(d, f("score ~ exam.prep.days + poverty + parent.ed + (exam.prep.days | class)"))
    assert {r.nobs for r in lad.results} == {494}
    assert lad.notes[0].startswith("6 rows with a missing value")
    null = fit(d.dropna(subset=["parent.ed"]), f("score ~ 1 + (1 | class)").with_(reml=False))
    assert lad.table["logLik"].iloc[0] == pytest.approx(null.loglik, abs=1e-6)
