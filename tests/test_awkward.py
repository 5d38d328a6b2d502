"""The awkward-files audit as a test: small files made with a fixed seed
(tests/fixtures/awkward/make_awkward.py) fitted by lme4 1.1-31 + lmerTest and by hlm_core, every
number compared — fixed effects, SEs, Satterthwaite df, VarCorr, logLik, the columns lme4 drops
and the warnings it gives (which we must give too, in plain words). Each case is one row of
tests/fixtures/awkward/cases.csv; the references were made by make_reference.R next to it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlm_core.errors import HLMError
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import read_table
from tests.refdata import assert_estimates_match

AWKWARD = Path(__file__).parent / "fixtures" / "awkward"
CASES = pd.read_csv(AWKWARD / "cases.csv", dtype=str, keep_default_na=False)
# Where we deliberately differ from lme4, and how (lme4 fits a duplicated random term silently,
# splitting one variance in two at an arbitrary ratio; we refuse it with a message instead).
REFUSED_ON_PURPOSE = {"dup_term": "appears twice"}

# lmerTest's Satterthwaite df on raw Julian dates (~2.46e6) are lost to rounding in its numerical
# derivatives (the slope's df moves from 70.4 to 77.0 between centred and raw dates, which
# cannot change it); there the slope's df is checked against lmerTest on the centred dates.
DF_FROM = {"julian_ri": ("julian_centred", {"julian": "julian_c"})}

# A random intercept next to every level of a category, (1 + track || school), is not
# identified: many VarCorr values give the same likelihood, and lme4 and we stop at different
# ones. Everything else (logLik, fixed effects, SEs, df) must still agree.
VARCORR_NOT_UNIQUE = {"factor_dbar_int"}

_frames: dict[str, pd.DataFrame] = {}


def _frame(file: str) -> pd.DataFrame:
    if file not in _frames:
        _frames[file] = read_table(AWKWARD / file).frame
    return _frames[file]


def _reference(case: str) -> dict:
    return json.loads((AWKWARD / f"{case}.json").read_text())


def _fit(case: str, method: str):
    ref = _reference(case)
    return fit(_frame(ref["file"]), parse_formula(ref["formula"], reml=method == "reml"))


PAIRS = [(c, m) for c in CASES["case"] for m in ("reml", "ml")]


def _said(res, *words: str) -> bool:
    text = " ".join(res.warnings + res.notes).lower()
    return all(w.lower() in text for w in words)


@pytest.mark.parametrize(("case", "method"), PAIRS)
def test_awkward_file_matches_lme4(case, method):
    ref = _reference(case)[method]
    if case in REFUSED_ON_PURPOSE:
        with pytest.raises(HLMError, match=REFUSED_ON_PURPOSE[case]):
            _fit(case, method)
        return
    if "error" in ref:  # lme4 refuses: so do we, in words
        with pytest.raises(HLMError) as err:
            _fit(case, method)
        assert "Traceback" not in str(err.value)
        return
    res = _fit(case, method)
    messages = " ".join(ref["messages"])
    assert res.nobs == ref["nobs"]
    assert res.ngroups == ref["ngroups"]
    # the columns lme4 drops (rank deficient), and only those, each named in a note
    assert res.model_frame.dropped_fixed == ref["dropped"]
    for name in ref["dropped"]:
        assert any(name in n and "left out" in n for n in res.notes), res.notes
    # warnings lme4 gives, we give (in plain words); and not the scale one when lme4 doesn't
    assert _said(res, "very different scales") == ("very different scales" in messages)
    if "nearly unidentifiable" in messages:
        assert _said(res, "nearly unidentifiable")
    vc = pd.DataFrame(ref["varcorr"]).fillna("")
    assert list(res.varcorr["group"]) == list(vc["group"])
    assert list(res.varcorr["term1"]) == list(vc["term1"])
    assert list(res.varcorr["term2"]) == list(vc["term2"])
    assert res.df_loglik == ref["df_loglik"]
    assert list(res.fixed["term"]) == [f["term"] for f in ref["fixed"]]
    if "failed to converge" in messages:
        return  # lme4 stopped short of its optimum: its numbers are not a reference
    if res.loglik > ref["loglik"] + 2e-3:
        return  # lme4 stopped at a lower optimum (it happens at a boundary): not a reference
    assert res.singular == ref["singular"]
    want = pd.DataFrame(ref["fixed"])
    got = res.fixed
    assert_estimates_match(got, want)
    if case in DF_FROM:
        other, renamed = DF_FROM[case]
        df = {f["term"]: f["df"] for f in _reference(other)[method]["fixed"]}
        for term, slope in renamed.items():
            assert got.set_index("term").loc[term, "df"] == pytest.approx(df[slope], rel=2e-2)
    else:
        np.testing.assert_allclose(got["df"], want["df"], rtol=2e-2)
    if case not in VARCORR_NOT_UNIQUE:
        np.testing.assert_allclose(res.varcorr["sdcor"], vc["sdcor"], rtol=2e-3, atol=2e-3)
    assert res.loglik == pytest.approx(ref["loglik"], abs=2e-3)
    assert res.aic == pytest.approx(ref["AIC"], abs=4e-3)


def test_every_case_has_a_reference():
    """The cases file and the references agree (a case without a JSON would be skipped silently)."""
    for case in CASES["case"]:
        assert (AWKWARD / f"{case}.json").exists(), case


def test_rank_check_keeps_what_r_qr_keeps():
    """qr_keep against R 4.2's `qr(X, tol = 1e-7, LAPACK = FALSE)` (pivot[1:rank], 0-based),
    the rule lme4's chkRank.drop.cols uses; R's answers were taken on these same matrices."""
    from hlm_core.checks import qr_keep

    rng = np.random.default_rng(1)
    n = 50
    one, x = np.ones(n), rng.normal(size=n)
    year = rng.choice([2019.0, 2020.0, 2021.0], n)
    assert qr_keep(np.column_stack([one, year])) == [0, 1]  # R: 0 1
    assert qr_keep(np.column_stack([one, x, x + 10])) == [0, 1]  # R: 0 1
    assert qr_keep(np.column_stack([one, x, year, x * year])) == [0, 1, 2, 3]  # R: 0 1 2 3
    assert qr_keep(np.column_stack([one, x, 2 * x, year, x])) == [0, 1, 3]  # R: 0 1 3
    day = 1e5 + rng.integers(-40, 40, n)
    assert qr_keep(np.column_stack([one, day, x])) == [0, 1, 2]  # R: 0 1 2
    # few rows (the emulation runs on the rows themselves, not on R of a QR)
    x6 = np.array([0.3, -1.2, 2.5, 0.7, -0.4, 1.1])
    assert qr_keep(np.column_stack([np.ones(6), x6, x6 + 10, x6**2])) == [0, 1, 3]  # R: 0 1 3


def test_random_intercept_twice_through_nesting_is_refused():
    frame = _frame("small3.csv")
    with pytest.raises(HLMError, match="random intercept for 'school' appears twice"):
        fit(frame, parse_formula("y ~ x + (1 | school/cls) + (1 | school)"))
