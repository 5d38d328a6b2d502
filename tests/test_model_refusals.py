"""Every model a user can ask for that the data can't support ends in a plain message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hlm_core.errors import HLMError, ModelError
from hlm_core.fit import fit
from hlm_core.formula import parse_formula


def classes(n_classes: int = 12, per: int = 15, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_classes), per)
    x = rng.normal(size=g.size)
    y = 10 + 2 * x + rng.normal(0, 1, n_classes)[g] + rng.normal(size=g.size)
    return pd.DataFrame({"score": y, "hours": x, "class": [f"C{i}" for i in g],
                         "sex": rng.choice(["F", "M"], g.size)})


def fit_text(df: pd.DataFrame, text: str):
    return fit(df, parse_formula(text))


def test_unknown_column_suggests_the_close_name():
    with pytest.raises(ModelError, match=r"no column called 'houres'.*'hours'"):
        fit_text(classes(), "score ~ houres + (1 | class)")


def test_text_outcome_is_refused():
    with pytest.raises(ModelError, match="outcome 'sex' holds text"):
        fit_text(classes(), "sex ~ hours + (1 | class)")


def test_all_rows_missing_is_refused():
    df = classes()
    df["hours"] = np.nan
    with pytest.raises(ModelError, match=r"Every row has a missing value.*'hours'"):
        fit_text(df, "score ~ hours + (1 | class)")


def test_one_group_is_refused():
    df = classes()
    df["class"] = "C1"
    with pytest.raises(ModelError, match="at least 2 groups"):
        fit_text(df, "score ~ hours + (1 | class)")


def test_as_many_groups_as_rows_is_refused():
    df = classes()
    df["student"] = np.arange(len(df))
    with pytest.raises(ModelError, match="Every row is its own group"):
        fit_text(df, "score ~ hours + (1 | student)")


def test_too_many_random_effects_is_refused():
    df = classes(n_classes=40, per=2)
    with pytest.raises(ModelError, match="random effects but only"):
        fit_text(df, "score ~ hours + (hours | class)")


def test_constant_predictor_is_dropped_and_named():
    df = classes()
    df["year"] = 2024
    res = fit_text(df, "score ~ hours + year + (1 | class)")
    assert "year" not in list(res.fixed["term"])
    assert any("'year' has the same value in every row" in n for n in res.notes)


def test_collinear_predictor_is_dropped_and_named():
    df = classes()
    df["minutes"] = df["hours"] * 60
    res = fit_text(df, "score ~ hours + minutes + (1 | class)")
    assert list(res.fixed["term"]) == ["(Intercept)", "hours"]
    assert any("'minutes' is an exact combination of 'hours'" in n for n in res.notes)


def test_single_category_predictor_is_refused():
    df = classes()
    df["sex"] = "F"
    with pytest.raises(ModelError, match="only one category"):
        fit_text(df, "score ~ sex + (1 | class)")


def test_missing_values_are_counted_per_column():
    df = classes()
    df.loc[:4, "hours"] = np.nan
    df.loc[3:9, "score"] = np.nan
    res = fit_text(df, "score ~ hours + (1 | class)")
    assert res.rows_dropped == 10
    assert res.dropped_by_column == {"score": 7, "hours": 5}
    assert res.nobs == len(df) - 10
    assert "10 of 180 rows were left out" in res.notes[0]


def test_no_grouping_is_refused():
    from hlm_core.spec import ModelSpec, Term

    with pytest.raises(ModelError, match="no grouping variable"):
        fit(classes(), ModelSpec("score", (Term(("hours",)),)))


def test_few_groups_warns_in_plain_words():
    res = fit_text(classes(n_classes=4, per=30), "score ~ hours + (1 | class)")
    assert any("Only 4 groups in 'class'" in w for w in res.warnings)


def test_singular_fit_says_which_variance_is_zero():
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(30), 10)
    e = rng.normal(size=300)
    y = e - pd.Series(e).groupby(g).transform("mean").to_numpy()  # class means all equal
    df = pd.DataFrame({"y": y, "g": g})
    res = fit_text(df, "y ~ 1 + (1 | g)")
    assert res.singular
    assert any("as zero" in w and "singular" in w for w in res.warnings)


def test_all_refusals_are_hlm_errors():
    assert issubclass(ModelError, HLMError)


def test_singular_correlation_is_named_not_called_a_zero_variance():
    from hlm_core.io import read_table
    from tests.refdata import FIXTURES

    frame = read_table(FIXTURES / "bdf.csv").frame
    res = fit_text(frame, "langPOST ~ IQ.verb + Minority + (Minority | schoolNR)")
    assert res.singular
    assert any("correlation between (Intercept) and MinorityY" in w and "-1.00" in w
               for w in res.warnings)
    assert not any("as zero" in w for w in res.warnings)
