"""Class effects (caterpillar) and Slopes pages: one point / one line per group, numbers that
match lme4, options that change the view without refitting."""

import numpy as np
import pandas as pd
import pytest
from apphelpers import (
    figures,
    fit_by_formula,
    frame_by_key,
    go,
    groups_in_figure,
    lines_by_group,
    new_app,
    open_expander,
    page_downloads,
    reference,
    texts,
    trace_array,
    upload,
    widget,
)


@pytest.fixture
def exam_ri_app(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    return fit_by_formula(at, "normexam ~ standLRT + (1 | school)")


@pytest.fixture
def exam_rs_app(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    return fit_by_formula(at, "normexam ~ standLRT + (standLRT | school)")


def points(fig: dict, axis: str) -> dict[str, tuple[float, float, float]]:
    """group -> (value, low, high) over all traces of a caterpillar figure."""
    out = {}
    for tr in fig["data"]:
        vals = trace_array(tr, axis).astype(float)
        err = tr[f"error_{axis}"]
        plus = trace_array(err, "array").astype(float)
        minus = trace_array(err, "arrayminus").astype(float)
        names = trace_array(tr, "text")
        for name, v, p, m in zip(names, vals, plus, minus, strict=True):
            out[str(name)] = (v, v - m, v + p)
    return out


def ref_blups(case: str, term_index: int = 0):
    ref = reference(case)["reml"]
    r = ref["ranef"][0]
    fixed = {f["term"]: f["estimate"] for f in ref["fixed"]}
    return r["levels"], np.array(r["values"][term_index]), np.array(r["cond_sd"][term_index]), fixed


def show_all_groups(at):
    """Untick the (default) hiding of groups with fewer than 5 students."""
    widget(at, "checkbox", "Hide groups with fewer than k students").uncheck().run()
    assert not at.exception
    return at


def test_caterpillar_one_point_per_school_with_intervals(exam_ri_app):
    at = go(exam_ri_app, "class_effects")
    # by default the one school with fewer than 5 students is hidden (privacy)
    assert "1 school with fewer than 5 students hidden" in texts(at)
    assert len(groups_in_figure(figures(at, "caterpillar")[0])) == 64
    show_all_groups(at)
    figs = figures(at, "caterpillar")
    assert len(figs) == 1  # one random term: the intercept
    fig = figs[0]
    groups = groups_in_figure(fig)
    assert len(groups) == 65 and len(set(groups)) == 65
    levels, blup, sd, fixed = ref_blups("exam_ri")
    axis = "y" if len(groups) > 50 else "x"
    pts = points(fig, axis)
    # default view: each school's own intercept (fixed + BLUP) with a 95% interval
    for lv, b, s in zip(levels, blup, sd, strict=True):
        v, lo, hi = pts[lv]
        assert v == pytest.approx(fixed["(Intercept)"] + b, abs=1e-3)
        assert hi - lo == pytest.approx(2 * 1.959964 * s, abs=2e-3)
    # sorted from lowest to highest, drawn by rank
    order = sorted(pts, key=lambda g: pts[g][0])
    ranks = {}
    for tr in fig["data"]:
        for name, x in zip(trace_array(tr, "text"), trace_array(tr, "x"), strict=True):
            ranks[str(name)] = float(x)
    assert [ranks[g] for g in order] == sorted(ranks.values())
    # the reference line sits at the overall intercept
    shapes = fig["layout"]["shapes"]
    assert shapes and shapes[0]["y0"] == pytest.approx(fixed["(Intercept)"], abs=1e-4)
    # schools whose interval excludes the average are highlighted in their own traces
    names = [tr["name"] for tr in fig["data"]]
    assert "Clearly above the average" in names and "Clearly below the average" in names
    # the table waits behind its expander (a big table is slow to draw on every visit)
    assert not any(list(d.value.columns[:2]) == ["level", "n"] for d in at.dataframe)
    table = frame_by_key(open_expander(at, "w_effects_table_open"), "effects_table")
    assert len(table) == 65
    assert "Download class effects (CSV)" in page_downloads(at)


def test_caterpillar_deviation_view_search_and_extremes(exam_ri_app):
    at = show_all_groups(go(exam_ri_app, "class_effects"))
    widget(at, "radio", "Show").set_value("deviation").run()
    fig = figures(at, "caterpillar")[0]
    pts = points(fig, "y")
    levels, blup, _sd, _fixed = ref_blups("exam_ri")
    for lv, b in zip(levels, blup, strict=True):
        assert pts[lv][0] == pytest.approx(b, abs=1e-3)
    assert fig["layout"]["shapes"][0]["y0"] == 0
    # search marks the group and filters the table
    widget(at, "text_input", "Find a group").input("53").run()
    assert "1 group(s) match '53'" in texts(at)
    anns = [a.get("text", "") for a in
            figures(at, "caterpillar")[0]["layout"].get("annotations", [])]
    assert any("53" in a for a in anns)
    assert frame_by_key(open_expander(at, "w_effects_table_open"),
                        "effects_table")["level"].tolist() == ["53"]
    # highest and lowest N only
    widget(at, "radio", "Groups shown").set_value("extremes").run()
    widget(at, "number_input", "How many at each end").set_value(5).run()
    groups = groups_in_figure(figures(at, "caterpillar")[0])
    assert len(groups) == 10
    top = sorted(zip(blup, levels, strict=True))
    assert set(groups) == {g for _b, g in top[:5] + top[-5:]}
    # options persist across pages, and nothing refits
    go(at, "results")
    go(at, "class_effects")
    assert widget(at, "radio", "Show").value == "deviation"


def test_one_panel_per_random_term(exam_rs_app):
    at = show_all_groups(go(exam_rs_app, "class_effects"))
    figs = figures(at, "caterpillar")
    assert len(figs) == 2
    heads = [s.value for s in at.subheader]
    assert any(h.startswith("Intercept per school") for h in heads)
    assert "Effect of standLRT per school" in heads
    for fig in figs:
        assert len(set(groups_in_figure(fig))) == 65


def test_slopes_one_line_per_school_matching_lme4(exam_rs_app):
    at = go(exam_rs_app, "slopes")
    assert not at.error
    figs = figures(at)
    assert len(figs) == 2
    model_fig, raw_fig = figs
    # 65 grey lines: one SVG trace, the lines separated by gaps (a trace each above 12 groups
    # cost the server and the browser ~5x the work for the same picture)
    assert len(model_fig["data"]) == 1
    assert len(set(groups_in_figure(model_fig))) == 65
    lines = lines_by_group(model_fig)
    assert len(lines) == 65
    ref = reference("exam_rs")["reml"]
    fixed = {f["term"]: f["estimate"] for f in ref["fixed"]}
    r = ref["ranef"][0]
    b0 = dict(zip(r["levels"], r["values"][0], strict=True))
    b1 = dict(zip(r["levels"], r["values"][1], strict=True))
    for g, (xs, ys) in lines.items():
        assert len(xs) == 2
        want = fixed["(Intercept)"] + b0[g] + (fixed["standLRT"] + b1[g]) * xs
        assert ys == pytest.approx(want, abs=1e-3)
    # raw per-school OLS lines beside it
    raw_groups = groups_in_figure(raw_fig)
    assert 60 <= len(raw_groups) <= 65 and len(set(raw_groups)) == len(raw_groups)
    assert page_downloads(at) == ["Download predicted lines (CSV)"]


def test_slopes_range_changes_the_lines(exam_rs_app):
    at = go(exam_rs_app, "slopes")
    widget(at, "slider", "Range of standLRT").set_value((-1.0, 1.0)).run()
    lines = lines_by_group(figures(at)[0])
    assert len(lines) == 65
    for xs, _ys in lines.values():
        assert xs.tolist() == pytest.approx([-1.0, 1.0])


def test_three_level_model_has_a_level_picker():
    rng = np.random.default_rng(3)
    rows = []
    for s in range(8):
        us = rng.normal(0, 2)
        for c in range(1, 5):  # class ids restart in each school
            uc = rng.normal(0, 1.5)
            for _ in range(12):
                x = rng.normal()
                rows.append({"school": f"S{s}", "class": f"{c}", "x": x,
                             "y": 10 + us + uc + 2 * x + rng.normal()})
    data = pd.DataFrame(rows).to_csv(index=False).encode()
    at = upload(new_app(), "three.csv", data)
    fit_by_formula(at, "y ~ x + (1 | school/class)")
    go(at, "class_effects")
    level = widget(at, "selectbox", "Level")
    assert level.options == ["class (within school)", "school"]
    assert len(groups_in_figure(figures(at, "caterpillar")[0])) == 32
    level.set_value("school").run()
    assert len(groups_in_figure(figures(at, "caterpillar")[0])) == 8
    go(at, "slopes")
    assert not at.error
    figs = figures(at)  # the innermost level first: one line per class in each school
    assert len(lines_by_group(figs[0])) == 32 and len(lines_by_group(figs[1])) == 32
    widget(at, "selectbox", "Level").set_value("school").run()
    figs = figures(at)
    assert len(figs[0]["data"]) == 8 and len(figs[1]["data"]) == 8  # few: a trace each
    assert len(lines_by_group(figs[0])) == 8
