"""Reliability vs shrinkage, and the rank text (issue 10, point 7): the share of its own
difference the model keeps for a group equals its reliability λ for a random-intercept model,
and is smaller for the intercept of the tutorial's random-slope model (a class's line at 0
days is measured less well than its average, so it is pulled further than an average
reliability of .98 suggests); the rank text never calls an interval of 0 places a span."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hlm_core.fairness import kept_share, rank_uncertainty_text, reliability, shrinkage
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from tests.refdata import FIXTURES


@pytest.fixture(scope="module")
def tutorial():
    return pd.read_csv(FIXTURES / "tutorial" / "classroom.csv")


def test_kept_share_is_reliability_for_random_intercepts(tutorial):
    res = fit(tutorial, parse_formula("score ~ exam.prep.days + poverty + (1 | class)"))
    kept = kept_share(shrinkage(res))
    np.testing.assert_allclose(kept, reliability(res)["reliability"], rtol=1e-6)


def test_random_slopes_pull_the_intercept_harder_than_reliability_says(tutorial):
    res = fit(tutorial, parse_formula(
        "score ~ exam.prep.days + poverty + parent.ed + (exam.prep.days | class)"))
    lam = reliability(res)["reliability"].to_numpy()
    kept = kept_share(shrinkage(res))
    # own and model estimates are the same quantity (each class's line at 0 days): the model
    # keeps most of the difference, but less than the reliability of the class average says
    assert lam.mean() > 0.95 and 0.5 < np.nanmedian(kept) < lam.mean() - 0.05


def test_rank_text_says_what_the_width_means():
    certain = pd.DataFrame({"rank_low": [1, 2, 3], "rank_high": [1, 2, 3]})
    text = rank_uncertainty_text(certain, "class", "classes")
    assert "certain" in text and "0 places" not in text
    wide = pd.DataFrame({"rank_low": [1, 1, 2, 3], "rank_high": [3, 4, 4, 4]})
    text = rank_uncertainty_text(wide, "class", "classes")
    assert "covers 3 places" in text and "either order" in text
