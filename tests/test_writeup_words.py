"""Write-up words a teacher can rely on (issue 10, point 6): the reference group named in every
sentence about a factor; a plain warning when too few groups carry a random slope and its
correlation; what the interval of group slopes implies (not "in some it goes the other way"
read off an SD); enough digits that an estimate is not printed as 0.09 beside SE 0.03; no
"None", "nan" or e-notation where a person reads."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.report import describe_results, num
from hlm_core.writeup import apa_paragraph, apa_table, fmt, fmt_df
from tests.refdata import FIXTURES

BAD = re.compile(r"\bNone\b|\bnan\b|\binf\b|\d[eE][-+]?\d")


@pytest.fixture(scope="module")
def exam():
    return pd.read_csv(FIXTURES / "exam.csv")


@pytest.fixture(scope="module")
def tutorial():
    d = pd.read_csv(FIXTURES / "tutorial" / "classroom.csv")
    return fit(d, parse_formula(
        "score ~ exam.prep.days + poverty + parent.ed + (exam.prep.days | class)"))


@pytest.fixture(scope="module")
def crossing():
    """40 groups whose slopes centre on 0.3 with SD 1: the interval of slopes spans 0."""
    rng = np.random.default_rng(10)
    g = np.repeat(np.arange(40), 30)
    x = rng.normal(size=g.size)
    u0, u1 = rng.normal(0, 1, 40), rng.normal(0, 1, 40)
    y = 1 + u0[g] + (0.3 + u1[g]) * x + rng.normal(0, 1, g.size)
    d = pd.DataFrame({"y": y, "x": x, "g": [f"G{i:02d}" for i in g]})
    return fit(d, parse_formula("y ~ x + (x | g)"))


def test_factor_sentences_name_the_reference_group(exam):
    res = fit(exam, parse_formula("normexam ~ standLRT + schgend + (1 | school)"))
    text = describe_results(res)
    for level in ("girls", "mixed"):
        sentence = next(s for s in re.split(r"(?<=\.) ", text) if f"schgend '{level}'" in s)
        assert "schgend 'boys'" in sentence, sentence  # boys: the first level, lme4's reference
    para = apa_paragraph(res)
    assert "schgendgirls (girls vs. boys), b =" in para
    assert "schgendmixed (mixed vs. boys), b =" in para


def test_too_few_groups_for_a_random_slope_is_said(tutorial, exam):
    for text in (describe_results(tutorial), apa_paragraph(tutorial)):
        assert "only 7 classes" in text and "very uncertain" in text, text
    many = fit(exam, parse_formula("normexam ~ standLRT + (standLRT | school)"))
    assert "very uncertain" not in describe_results(many) + apa_paragraph(many)


def test_slope_interval_says_what_it_implies(crossing):
    text = describe_results(crossing)
    assert "goes the other way" not in text
    coef = crossing.coef["g"]
    slopes = coef.loc[coef["term"] == "x", "value"].to_numpy()
    k = int((slopes < 0).sum())
    assert 0 < k < 40
    sentence = next(s for s in re.split(r"(?<=\.) ", text) if "effect of x varies" in s)
    assert "includes 0" in sentence
    assert f"{k} of the 40" in sentence and "below 0" in sentence, sentence


def test_apa_estimates_keep_digits_to_the_se(exam):
    res = fit(exam, parse_formula("normexam ~ standLRT + (1 | school)"))
    para = apa_paragraph(res)
    row = res.fixed.set_index("term").loc["standLRT"]
    decimals = 1 - math.floor(math.log10(row["std_error"]))  # SE with 2 significant digits
    assert decimals >= 3
    assert f"standLRT, b = {row['estimate']:.{decimals}f}, SE = {row['std_error']:.{decimals}f}" \
        in para
    apa = apa_table(res).set_index("Term")
    assert apa.loc["standLRT", "Estimate"] == f"{row['estimate']:.{decimals}f}"
    assert apa.loc["standLRT", "SE"] == f"{row['std_error']:.{decimals}f}"
    # the case: b = 0.093 with SE 0.03, never 0.09
    assert fmt(0.0931, se=0.03) == "0.093" and fmt(0.0931) == "0.09"


def test_df_one_decimal_and_no_e_notation_none_or_nan(tutorial, crossing, exam):
    assert fmt_df(18.812) == "18.8"
    assert fmt(3.2e-9) == "0.0000000032" and num(1.5e-5) == "0.000015"
    singular = fit(exam.head(300), parse_formula("normexam ~ standLRT + (standLRT | school)"))
    for res in (tutorial, crossing, singular):
        for text in (describe_results(res), apa_paragraph(res)):
            assert not BAD.search(text), BAD.search(text)
        for cell in apa_table(res).to_numpy().ravel():
            assert not BAD.search(str(cell)), cell
    para = apa_paragraph(tutorial)
    for df in tutorial.fixed["df"]:
        assert f"t({df:.1f})" in para
