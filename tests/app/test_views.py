"""The dashboard's UI-free helpers: example data, figures, the results paragraph, CSV export."""

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from apphelpers import FIXTURES

from hlm_core.examples import classroom, list_examples
from hlm_core.export import safe_csv, safe_frame
from hlm_core.figure_intervals import band_steps
from hlm_core.figures import caterpillar, group_lines, groups_in_figure
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.report import describe_results
from hlm_core.wording import plural


def fake_effects(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    re_ = rng.normal(size=n)
    sd = rng.uniform(0.05, 0.5, n)
    out = pd.DataFrame({"level": [f"g{i}" for i in range(n)], "n": rng.integers(2, 50, n),
                        "term": "(Intercept)", "ranef": re_, "cond_sd": sd})
    out["ranef_low"], out["ranef_high"] = re_ - 1.96 * sd, re_ + 1.96 * sd
    out["coef"] = re_ + 3.0
    out["coef_low"], out["coef_high"] = out["coef"] - 1.96 * sd, out["coef"] + 1.96 * sd
    return out


def test_classroom_example_is_fixed_and_shaped_like_the_users_data():
    a, b = classroom(), classroom()
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["score", "exam.prep.days", "poverty", "parent.ed", "class"]
    assert len(a) == 500
    assert sorted(a["class"].unique()) == [f"Class {c}" for c in "ABCDEFG"]
    assert a["class"].value_counts().min() >= 45
    assert not classroom(seed=1).equals(a)
    assert "classroom" in list_examples()


def test_classroom_model_recovers_a_varying_slope():
    spec = parse_formula("score ~ exam.prep.days + poverty + parent.ed + "
                         "(exam.prep.days | class)")
    res = fit(classroom(), spec)
    est = res.fixef()
    assert 1.0 < est["exam.prep.days"] < 3.5 and est["poverty"] < 0
    vc = res.varcorr.set_index(["group", "term1", "term2"])["sdcor"]
    assert 0.3 < vc[("class", "exam.prep.days", "")] < 1.5
    assert not res.singular
    text = describe_results(res)
    assert "The effect of exam.prep.days varies between classes" in text
    assert "6 rows with missing values were left out" in text


def test_results_paragraph_for_a_null_model():
    frame = pd.read_csv(FIXTURES / "exam.csv")
    res = fit(frame, parse_formula("normexam ~ 1 + (1 | school)"))
    text = describe_results(res)
    assert "Values of normexam differ between schools" in text
    assert f"(ICC {res.icc:.2f})" in text
    assert "for most schools (95%) their own average lies between" in text


@pytest.mark.parametrize(("name", "out"), [("class", "classes"), ("school", "schools"),
                                           ("city", "cities"), (("class", "school"),
                                                                "classes (within schools)"),
                                           ("schoolNR", "schoolNR groups"),
                                           ("g 1", "'g 1' groups")])
def test_plural(name, out):
    assert plural(name) == out


@pytest.mark.parametrize("mode", ["own", "deviation"])
def test_caterpillar_few_groups_by_name(mode):
    t = fake_effects(7)
    fig = caterpillar(t, "(Intercept)", mode, search=["g3"])
    assert sorted(groups_in_figure(fig)) == sorted(t["level"])
    assert all(tr.type == "scatter" for tr in fig.data)
    assert all(tr.error_x.array is not None for tr in fig.data)
    assert list(fig.layout.yaxis.categoryarray) == list(
        t.sort_values("coef")["level"])  # sorted, lowest at the bottom
    assert fig.layout.shapes[0].x0 == pytest.approx(3.0 if mode == "own" else 0.0)
    assert any("g3" in a.text for a in fig.layout.annotations)


def test_caterpillar_20000_groups_is_one_svg_band_and_value_line_and_complete():
    t = fake_effects(20_000)
    fig = caterpillar(t, "(Intercept)")
    assert {tr.type for tr in fig.data} == {"scatter"}  # SVG: no software WebGL
    spec = json.loads(fig.to_json())
    assert len(groups_in_figure(spec)) == 20_000
    srt = t.sort_values("coef", kind="stable")
    ranks = np.arange(1, 20_001)

    def x(tr):  # the ranks, sent as a start and a step (x0, dx) or as numbers
        return np.asarray(tr.x, dtype=float) if tr.x is not None else tr.x0 + tr.dx * np.arange(
            len(tr.y))

    # the intervals as one band behind the values, drawn in steps of 10 neighbours (half a
    # pixel): it covers every group's whole interval, and each step is as low as the lowest
    # low and as high as the highest high of its groups, no more
    band = [tr for tr in fig.data if tr.legendgroup == "intervals"]
    assert fig.data[:2] == tuple(band) and band[1].fill == "tonexty"
    bx, blo, bhi = x(band[0]), np.asarray(band[0].y), np.asarray(band[1].y)
    assert len(bx) == 4000 and x(band[1]) == pytest.approx(bx)
    step = np.searchsorted(bx[1::2], ranks)  # the step each rank falls in
    assert (bx[0::2][step] < ranks).all() and (ranks < bx[1::2][step]).all()
    low, high = srt["coef_low"].to_numpy(), srt["coef_high"].to_numpy()
    assert (blo[0::2][step] <= low).all() and (bhi[0::2][step] >= high).all()
    assert blo[0::2] == pytest.approx(low.reshape(-1, 10).min(axis=1))
    assert bhi[0::2] == pytest.approx(high.reshape(-1, 10).max(axis=1))
    # every group on one line through the sorted values; hover names it, with its interval
    line = fig.data[2]
    assert list(line.text) == list(srt["level"]) and x(line) == pytest.approx(ranks)
    assert np.asarray(line.y) == pytest.approx(srt["coef"].to_numpy())
    custom = np.asarray(line.customdata, dtype=float)
    assert custom[:, 0] == pytest.approx(srt["n"].to_numpy())
    assert custom[:, 1] == pytest.approx(srt["coef_low"].to_numpy())
    assert custom[:, 2] == pytest.approx(srt["coef_high"].to_numpy())
    assert "%{text}" in line.hovertemplate and "95% interval" in line.hovertemplate
    # the groups clearly above / below the average drawn over it in their colours, exactly
    # where they lie: the runs' points are theirs and no other group's
    above = srt["coef_low"].to_numpy() > 3.0
    below = srt["coef_high"].to_numpy() < 3.0
    assert 0 < above.sum() < 20_000 and 0 < below.sum() < 20_000
    runs = {tr.name: tr for tr in fig.data[3:]}
    assert set(runs) == {"Clearly above the average", "Clearly below the average"}
    for name, mask in (("Clearly above the average", above),
                       ("Clearly below the average", below)):
        tr = runs[name]
        xs, ys = np.asarray(tr.x, dtype=float), np.asarray(tr.y, dtype=float)
        drawn = ~np.isnan(xs)
        assert xs[drawn] == pytest.approx(ranks[mask])
        assert ys[drawn] == pytest.approx(srt["coef"].to_numpy()[mask])
        # a gap exactly where the run of neighbours breaks
        assert int((~drawn).sum()) == int((np.diff(np.flatnonzero(mask)) > 1).sum())
        assert tr.hoverinfo == "skip"


def test_band_steps_cover_each_bin_of_neighbours():
    lo = np.array([1.0, 0.5, 2.0, 3.0, 2.5])
    hi = lo + np.array([1.0, 2.0, 1.0, 0.5, 2.0])
    x, low, high = band_steps(lo, hi, bins=2)  # 5 groups in 2 bins: ranks 1-3 and 4-5
    assert list(x) == [0.5, 3.5, 3.5, 5.5]
    assert list(low) == [0.5, 0.5, 2.5, 2.5] and list(high) == [3.0, 3.0, 4.5, 4.5]
    x, low, high = band_steps(lo, hi, bins=10)  # few groups: a step per group
    assert list(x) == [0.5, 1.5, 1.5, 2.5, 2.5, 3.5, 3.5, 4.5, 4.5, 5.5]
    assert list(low[0::2]) == list(lo) and list(high[0::2]) == list(hi)


def test_group_lines_one_trace_per_group_up_to_200_then_one_svg_trace():
    def lines(n):
        return pd.DataFrame({"x": np.tile([0.0, 1.0], n), "group": np.repeat(
            [f"g{i}" for i in range(n)], 2), "prediction": np.arange(2 * n, dtype=float)})

    few = group_lines(lines(7), "x", "y", "t")
    assert len(few.data) == 7 and [tr.name for tr in few.data] == [f"g{i}" for i in range(7)]
    assert all(tr.showlegend for tr in few.data)
    many = group_lines(lines(201), "x", "y", "t")
    assert len(many.data) == 1 and many.data[0].type == "scatter"  # SVG: no software WebGL
    assert len(groups_in_figure(many)) == 201
    assert len(groups_in_figure(json.loads(many.to_json()))) == 201
    # one gap between consecutive groups
    assert int(np.isnan(np.asarray(many.data[0].x, dtype=float)).sum()) == 200


def test_group_lines_order_fixes_colours():
    df = pd.DataFrame({"x": [0, 1, 0, 1.0], "group": ["b", "b", "a", "a"], "prediction": 0.0})
    one = group_lines(df, "x", "y", "t", order=["a", "b"])
    two = group_lines(df.iloc[::-1], "x", "y", "t", order=["a", "b"])
    colour = {tr.name: tr.line.color for tr in one.data}
    assert colour == {tr.name: tr.line.color for tr in two.data}
    assert [tr.name for tr in one.data] == ["a", "b"]


def test_safe_csv_escapes_text_not_numbers():
    df = pd.DataFrame({"=col": ["=1+1", "ok"], "n": [-3, 4],
                       "cat": pd.Categorical(["@a", "b"])})
    out = safe_frame(df)
    assert list(out.columns) == ["'=col", "n", "cat"]
    assert out["=col" if "=col" in out else "'=col"].tolist() == ["'=1+1", "ok"]
    assert out["n"].tolist() == [-3, 4]
    assert out["cat"].tolist() == ["'@a", "b"]
    assert safe_csv(df).startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8 right


def test_figures_are_plain_plotly():
    assert isinstance(caterpillar(fake_effects(3), "(Intercept)"), go.Figure)
