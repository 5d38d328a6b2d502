"""hlm_core helpers behind the Compare, Diagnostics and fair-comparison views: the centred data
the Slopes page draws, the centring line, the ladder's reading, and the new figures."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from hlm_core.compare import ladder, ladder_sentences
from hlm_core.diagnostics import qq_points, residual_spread
from hlm_core.effects import centering_summary, model_scale_data
from hlm_core.figures import (
    groups_in_figure,
    ladder_plot,
    qq_plot,
    rank_plot,
    shrinkage_plot,
    spread_plot,
)
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import read_table
from tests.refdata import FIXTURES, load_reference


def test_model_scale_data_is_the_design_the_model_used():
    frame = read_table(FIXTURES / "bdf.csv").frame
    spec = parse_formula("langPOST ~ IQ.verb + ses + Minority + (IQ.verb | schoolNR)").with_(
        centering=(("IQ.verb", "group"), ("ses", "grand"), ("Minority", "grand"))
    )
    res = fit(frame, spec)
    data = model_scale_data(res, frame)
    mf = res.model_frame
    assert len(data) == res.nobs
    for name in ("IQ.verb", "IQ.verb.mean", "ses"):
        np.testing.assert_allclose(data[name].to_numpy(), mf.X[:, mf.fixed_names.index(name)])
    # a category is never centred: listed neither in the data change nor in the summary
    assert data["Minority"].equals(frame["Minority"].iloc[mf.rows])
    assert centering_summary(spec, mf.variables) == (
        "IQ.verb centred within schoolNR; schoolNR mean of IQ.verb added as IQ.verb.mean; "
        "ses centred at its overall mean"
    )
    assert "Minority" in centering_summary(spec)  # from the spec alone: as asked
    assert centering_summary(spec.with_(centering=())) is None


def test_ladder_sentences_read_the_lme4_numbers():
    frame = read_table(FIXTURES / "exam.csv").frame
    lad = ladder(frame, parse_formula("normexam ~ standLRT + (standLRT | school)"))
    text = ladder_sentences(lad)
    chisq = load_reference("exam_rs")["lrt"]["chisq"]
    assert text[1] == (
        f"Adding random slopes improved the fit: χ²(2) = {chisq:.2f}, p < .001 "
        "(boundary-corrected p < .001)."
    )
    assert text[0].startswith("Adding student-level predictors improved the fit: χ²(1) = ")
    assert text[2:] == ["AIC (lower is better) prefers: + random slopes.",
                        "BIC (lower is better) prefers: + random slopes."]
    fig = ladder_plot(lad.table).to_plotly_json()
    aic = fig["data"][0]
    assert list(aic["x"]) == lad.names
    ring = fig["data"][1]
    assert ring["x"] == [lad.names[int(np.argmin(lad.table["AIC"]))]]


def test_a_step_that_does_not_help_is_said_so():
    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(30), 20)
    noise = rng.normal(size=600)
    frame = pd.DataFrame({"g": g, "x": noise, "y": rng.normal(size=30)[g] + rng.normal(size=600)})
    lad = ladder(frame, parse_formula("y ~ x + (1 | g)"))
    p = lad.table["p_value"][1]
    assert p > 0.05
    assert ladder_sentences(lad)[0].startswith(
        "Adding student-level predictors did not clearly improve the fit: χ²(1) = "
    )


def many_groups(G: int = 20000, seed: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = rng.integers(1, 40, G)
    own = rng.normal(size=G)
    lam = n / (n + 5.0)
    sh = pd.DataFrame({"level": [f"g{i}" for i in range(G)], "n": n, "own_estimate": own,
                       "model_estimate": own * lam, "average": 0.0})
    er = pd.DataFrame({"level": sh["level"], "expected_rank": rng.uniform(1, G, G)})
    er["rank_low"] = np.maximum(1, er["expected_rank"] - 100)
    er["rank_high"] = np.minimum(G, er["expected_rank"] + 100)
    return sh, er


def test_shrinkage_and_rank_figures_scale_to_20000_groups():
    sh, er = many_groups()
    t0 = time.perf_counter()
    fig = shrinkage_plot(sh)
    ranks = rank_plot(er, n_ranked=20000)
    fig.to_plotly_json()
    ranks.to_plotly_json()
    assert time.perf_counter() - t0 < 5
    assert {tr.type for tr in fig.data} == {"scattergl"}
    assert len(set(groups_in_figure(fig))) == 20000
    assert len(groups_in_figure(ranks)) == 20000
    # a few groups: by name, model points sized by group size
    small = sh.head(6)
    f = shrinkage_plot(small)
    model = f.data[2]
    order = np.argsort(small["own_estimate"].to_numpy(), kind="stable")
    assert list(model.text) == list(small["level"].to_numpy()[order])
    sizes = np.asarray(model.marker.size)
    n_sorted = small["n"].to_numpy()[order]
    assert np.all(np.diff(sizes[np.argsort(n_sorted)]) >= 0)


def test_qq_and_spread_figures():
    frame = read_table(FIXTURES / "exam.csv").frame
    res = fit(frame, parse_formula("normexam ~ standLRT + (1 | school)"))
    values = np.random.default_rng(0).standard_t(5, size=10000)
    qq = qq_points(values)
    fig = qq_plot(qq, "t(5)", max_points=500)
    pts = fig.data[0]
    assert len(pts.x) == 500 and pts.y[0] == qq["sample"].min() and pts.y[-1] == qq["sample"].max()
    line = fig.data[1]  # through the quartiles, as R's qqline
    q1, q3 = np.quantile(values, [0.25, 0.75])
    slope = (line.y[1] - line.y[0]) / (line.x[1] - line.x[0])
    assert slope == pytest.approx((q3 - q1) / (2 * 0.6744897501960817))
    spread = residual_spread(res)
    sp = spread_plot(spread, res.sigma, group_title="school")
    assert sp.layout.xaxis.type == "log"  # school sizes from 2 to 198
    assert len(sp.data[0].x) == 65
    assert sp.layout.shapes[0].y0 == pytest.approx(res.sigma)
