"""Parametric bootstrap (lme4's bootMer, percentile intervals): reproducible with a seed,
cancellable, boot's percentile interpolation, and the ICC interval's coverage on simulated
data with a known ICC."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlm_core.bootstrap import boot_intervals, bootstrap, explained_intervals, percentile
from hlm_core.fairness import expected_ranks, expected_ranks_boot
from hlm_core.fit import fit
from hlm_core.formula import parse_formula

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def exam():
    return pd.read_csv(FIX / "exam.csv")


@pytest.fixture(scope="module")
def exam_rs(exam):
    return fit(exam, parse_formula("normexam ~ standLRT + (standLRT | school)"))


def test_percentile_matches_boot_norm_inter():
    for case in json.loads((FIX / "ci" / "norm_inter.json").read_text()):
        assert percentile(np.array(case["t"])) == pytest.approx(case["out"], rel=1e-12)


def test_same_seed_same_intervals_other_seed_other(exam_rs):
    a = boot_intervals(exam_rs, bootstrap(exam_rs, nsim=40, seed=7))
    b = boot_intervals(exam_rs, bootstrap(exam_rs, nsim=40, seed=7))
    c = boot_intervals(exam_rs, bootstrap(exam_rs, nsim=40, seed=8))
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.icc == b.icc and a.icc != c.icc
    assert not np.allclose(a.table["ci_low"], c.table["ci_low"])
    assert a.nsim == 40 and a.seed == 7 and "40 simulated data sets (seed 7)" in a.notes[0]
    t = a.table
    assert (t["ci_low"] < t["sdcor"]).all() and (t["sdcor"] < t["ci_high"]).all()
    assert a.icc[0] < exam_rs.icc < a.icc[1]


def test_progress_and_cancel(exam_rs):
    seen = []
    bootstrap(exam_rs, nsim=5, seed=1, progress=seen.append)
    assert seen == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(InterruptedError):
        bootstrap(exam_rs, nsim=50, seed=1, should_stop=stop)
    assert len(calls) == 4


def test_boot_ranks_validate_the_plain_simulation(exam):
    """With 65 schools the variance is well estimated, so carrying its uncertainty changes
    the rank intervals little; the two methods must agree closely."""
    res = fit(exam, parse_formula("normexam ~ standLRT + (1 | school)"))
    draws = bootstrap(res, nsim=100, seed=3)
    boot = expected_ranks_boot(res, draws, per_draw=10)
    plain = expected_ranks(res, n_draws=1000)
    m = boot.merge(plain, on="level", suffixes=("_b", "_p"))
    assert np.corrcoef(m["expected_rank_b"], m["expected_rank_p"])[0, 1] > 0.99
    width_b = (m["rank_high_b"] - m["rank_low_b"]).mean()
    width_p = (m["rank_high_p"] - m["rank_low_p"]).mean()
    assert width_b == pytest.approx(width_p, rel=0.15)
    inside = (m["rank_low_b"] <= m["point_rank_b"]) & (m["point_rank_b"] <= m["rank_high_b"])
    assert inside.mean() > 0.95
    again = expected_ranks_boot(res, draws, per_draw=10)
    pd.testing.assert_frame_equal(boot, again)


def test_variance_explained_intervals(exam):
    null = fit(exam, parse_formula("normexam ~ 1 + (1 | school)", reml=False))
    model = fit(exam, parse_formula("normexam ~ standLRT + (1 | school)", reml=False))
    t = explained_intervals(null, model, nsim=60, seed=2)
    assert list(t["level"]) == ["level1", "school"]
    assert t.loc[0, "estimate"] == pytest.approx(1 - model.sigma**2 / null.sigma**2)
    assert ((t["ci_low"] < t["estimate"]) & (t["estimate"] < t["ci_high"])).all()
    # standLRT explains about a third of the pupil-level variance, clearly more than 0
    assert 0.25 < t.loc[0, "ci_low"] < t.loc[0, "ci_high"] < 0.42


def test_icc_interval_covers_the_true_icc_90_to_99_percent():
    """200 small data sets (20 classes of 8) with ICC = 0.2; 60 draws each."""
    true_icc, groups, size = 0.2, 20, 8
    tau = np.sqrt(true_icc / (1 - true_icc))
    rng = np.random.default_rng(14)
    codes = np.repeat(np.arange(groups), size)
    labels = [f"c{c:02d}" for c in codes]
    spec = parse_formula("y ~ 1 + (1 | class)")
    covered = 0
    for k in range(200):
        y = tau * rng.standard_normal(groups)[codes] + rng.standard_normal(codes.size)
        res = fit(pd.DataFrame({"y": y, "class": labels}), spec)
        low, high = percentile(bootstrap(res, nsim=60, seed=k).icc)
        covered += low <= true_icc <= high
    assert 0.90 <= covered / 200 <= 0.99
