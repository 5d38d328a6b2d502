"""Intervals for generalized models (binomial logit, Poisson log) against lme4.

References: tests/fixtures/glmm_ci/*.json, made by make_glmm_ci_reference.R from cases.csv in
that folder (R 4.2.2, lme4 1.1-31: `confint(gm, method = "profile", oldNames = FALSE,
parm = "theta_")` on glmer fits). Tolerances from issue 14: SD bounds within 0.5% relative,
correlation bounds within 1e-3. The bootstrap (bootMer-style) is checked for reproducibility
with a fixed seed on small data.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlm_core.bootstrap import boot_intervals, bootstrap
from hlm_core.ci_output import attach, compute_intervals
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.intervals import profile_intervals
from tests.test_intervals import lme4_names

GCI = Path(__file__).parent / "fixtures" / "glmm_ci"
CASES = pd.read_csv(GCI / "cases.csv")["case"].tolist()
SLOW = {"pois_slope"}  # its correlation's profile never leaves [-1, 1]: ~100 points (lme4: 60 s)
QUICK = [c for c in CASES if c not in SLOW]


def _fit(case: str):
    ref = json.loads((GCI / f"{case}.json").read_text())
    data = pd.read_csv(GCI / ref["file"])
    spec = parse_formula(ref["formula"], reml=False).with_(
        family=ref["family"], reml=False, nagq=int(ref["nagq"]))
    return ref, fit(data, spec)


@cache
def _profiled(case: str):
    ref, result = _fit(case)
    return case, ref, result, profile_intervals(result)


def _check_bounds(name, ref, iv):
    refs = {r["parm"]: r for r in ref["intervals"]}
    names = lme4_names(iv.table)
    assert sorted(names) == sorted(refs), name
    for n, row in zip(names, iv.table.itertuples(), strict=True):
        for side, ours in (("lower", row.ci_low), ("upper", row.ci_high)):
            theirs = refs[n][side]
            if n.startswith("cor_"):
                assert ours == pytest.approx(theirs, abs=1e-3), (name, n, side)
            else:
                assert ours == pytest.approx(theirs, rel=5e-3, abs=1e-9), (name, n, side)


@pytest.mark.parametrize("case", QUICK)
def test_profile_bounds_match_lme4(case):
    name, ref, result, iv = _profiled(case)
    _check_bounds(name, ref, iv)
    t = iv.table
    assert "sigma" not in lme4_names(t) and (t["group"] != "Residual").all()
    assert (t["ci_low"] <= t["sdcor"] + 1e-6).all() and (t["sdcor"] <= t["ci_high"] + 1e-6).all()
    low, high = iv.icc
    assert 0 <= low <= result.icc <= high < 1


@pytest.mark.skipif(not os.environ.get("HLM_SLOW_TESTS"),
                    reason="a minute or two: set HLM_SLOW_TESTS=1 to run")
def test_near_boundary_slope_and_free_correlation_match_lme4():
    name, ref, _result, iv = _profiled("pois_slope")
    _check_bounds(name, ref, iv)
    cor = iv.table[iv.table["term2"] != ""].iloc[0]
    assert (cor.ci_low, cor.ci_high) == (-1.0, 1.0) and "-1 and +1" in cor.edge
    slope = iv.table[iv.table["term1"] == "ses"].iloc[0]
    assert slope.ci_low == 0 and "the effect of ses not differing" in slope.edge


def test_singular_fit_lower_bound_is_zero_in_words():
    _, ref, result, iv = _profiled("bin_singular")
    assert ref["singular"] and result.singular
    row = iv.table.iloc[0]
    assert row.ci_low == 0 and "consistent with the average not differing" in row.edge
    assert iv.icc[0] == 0.0


def test_one_sd_icc_interval_is_the_sd_interval_carried_over():
    """Binomial: ICC = s^2 / (s^2 + pi^2/3), rising in the SD s."""
    _, _, _result, iv = _profiled("small_bin")
    lo, hi = iv.table.loc[0, ["ci_low", "ci_high"]]
    v = math.pi**2 / 3
    assert iv.icc == pytest.approx((lo**2 / (lo**2 + v), hi**2 / (hi**2 + v)), rel=1e-9)


def test_two_variance_icc_is_profiled_and_wider_than_nothing():
    _, _, result, iv = _profiled("bin_nested")
    low, high = iv.icc
    assert 0.05 < low < result.icc < high < 0.35


def test_bootstrap_same_seed_same_intervals_other_seed_other():
    _, result = _fit("small_bin")
    a = boot_intervals(result, bootstrap(result, nsim=20, seed=7))
    b = boot_intervals(result, bootstrap(result, nsim=20, seed=7))
    c = boot_intervals(result, bootstrap(result, nsim=20, seed=8))
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.icc == b.icc and a.icc != c.icc
    assert a.nsim == 20 and a.seed == 7 and "20 simulated data sets (seed 7)" in a.notes[0]
    row = a.table.iloc[0]
    assert 0 <= row.ci_low < row.sdcor < row.ci_high < 2
    assert 0 <= a.icc[0] < result.icc < a.icc[1] < 1


def test_bootstrap_draws_come_from_the_fitted_model():
    """A Poisson model's refits centre near its estimates; progress and cancel as for lmer."""
    _, result = _fit("small_pois")
    seen = []
    draws = bootstrap(result, nsim=30, seed=3, progress=seen.append)
    assert seen[-1] == 1.0 and len(seen) == 30 and draws.failed == 0
    assert draws.sdcor.shape == (30, 1) and (draws.sigma == 1).all()
    assert np.median(draws.sdcor[:, 0]) == pytest.approx(result.varcorr.sdcor[0], rel=0.25)
    calls = []
    with pytest.raises(InterruptedError):
        bootstrap(result, nsim=30, seed=3, should_stop=lambda: calls.append(1) or len(calls) > 2)


def _cli(*args: str):
    return subprocess.run([sys.executable, "-m", "hlm_core", *args], capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).resolve().parents[1])


def test_cli_profile_and_boot_json():
    ref = json.loads((GCI / "small_bin.json").read_text())
    args = ("fit", str(GCI / "small.csv"), "--formula", ref["formula"], "--family", "binomial",
            "--json")
    p = _cli(*args, "--ci", "profile")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    row = out["variance_components"][0]
    assert row["ci_low"] == pytest.approx(ref["intervals"][0]["lower"], rel=5e-3)
    assert row["ci_high"] == pytest.approx(ref["intervals"][0]["upper"], rel=5e-3)
    assert out["ci"]["method"] == "profile" and len(out["icc_ci"]) == 2
    assert out["icc_ci"][0] < out["icc"] < out["icc_ci"][1] and "ci_s" in out["timing"]
    b = json.loads(_cli(*args, "--ci", "boot", "--nsim", "20", "--seed", "5").stdout)
    b2 = json.loads(_cli(*args, "--ci", "boot", "--nsim", "20", "--seed", "5").stdout)
    assert b["ci"]["nsim"] == 20 and b["ci"]["seed"] == 5
    assert b["variance_components"] == b2["variance_components"] and b["icc_ci"] == b2["icc_ci"]
    text = _cli(*args[:-1], "--ci", "profile").stdout
    assert "95% intervals (likelihood profile)" in text and "Latent ICC (adjusted) = " in text


def test_outputs_carry_the_glmm_intervals():
    from openpyxl import load_workbook

    from hlm_core.codegen import CISettings, python_code, r_code
    from hlm_core.export import html_report, workbook
    from hlm_core.report import describe_results
    from hlm_core.writeup import apa_paragraph, apa_table

    _, _, result, iv = _profiled("small_pois")
    attach(result, iv)
    lo, hi = iv.table.loc[0, ["ci_low", "ci_high"]]
    icc = f"95% CI [{iv.icc[0]:.2f}, {iv.icc[1]:.2f}]".replace("0.", ".")
    assert icc in describe_results(result) and icc in apa_paragraph(result)
    assert f"SD = {result.varcorr.sdcor[0]:.2f}, 95% CI [{lo:.2f}, {hi:.2f}]" in \
        apa_paragraph(result)
    table = apa_table(result)
    assert table.iloc[-1]["95% CI"] == f"[{lo:.2f}, {hi:.2f}]"
    assert "likelihood profile" in table.attrs["note"]
    wb = load_workbook(io.BytesIO(workbook(result)))
    ws = wb["Variance components"]
    header = [c.value for c in ws[1]]
    assert header[-2:] == ["ci_low", "ci_high"]
    assert ws.cell(2, len(header) - 1).value == pytest.approx(lo)
    assert f"[{lo:.2f}, {hi:.2f}]" in html_report(result, "0" * 64, {}, {})
    spec = result.spec
    r = r_code(spec, "small.csv", ci=CISettings("profile"))
    assert 'confint(fit, parm = "theta_", method = "profile", oldNames = FALSE)' in r
    assert "glmer(" in r
    rb = r_code(spec, "small.csv", ci=CISettings("boot", 200, 9))
    assert "bootMer(fit, boot_stats, nsim = 200" in rb and "fit0 <- glmer(count ~ 1" in rb
    py = python_code(spec, "small.csv", ci=CISettings("boot", 30, 4))
    assert 'compute_intervals(result, "boot", nsim=30, seed=4)' in py


def test_compute_intervals_dispatches_generalized_fits():
    _, result = _fit("bin_singular")
    iv = compute_intervals(result, "profile")
    assert iv.method == "profile" and any("fixed effects" in n for n in iv.notes)
