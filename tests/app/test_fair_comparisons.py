"""Fair class comparisons on the Class effects page: shrinkage, reliability, expected ranks,
and the "hide groups with fewer than k students" option (on by default at k = 5) applied to
every teacher-facing view: caterpillar, shrinkage, ranks, tables and downloads."""

import numpy as np
import pandas as pd
import pytest
from apphelpers import (
    figures,
    fit_by_formula,
    frame_by_key,
    go,
    groups_in_figure,
    new_app,
    open_expander,
    show_fair,
    texts,
    trace_array,
    upload,
    widget,
)

import ui.widgets
from hlm_core.fairness import reliability, shrinkage
from hlm_core.fit import fit
from hlm_core.formula import parse_formula

SIZES = {"A": 2, "B": 3, "C": 4, "D": 4, "E": 5, "F": 6, "G": 8, "H": 10, "I": 15, "J": 20,
         "K": 25, "L": 30}
SMALL = {g for g, n in SIZES.items() if n < 5}  # A, B, C, D


@pytest.fixture(scope="module")
def classes() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = []
    for g, n in SIZES.items():
        u = rng.normal(0, 3)
        for _ in range(n):
            x = rng.normal()
            rows.append({"class": g, "x": x, "y": 50 + u + 2 * x + rng.normal(0, 4)})
    return pd.DataFrame(rows)


@pytest.fixture
def app(classes, monkeypatch):
    downloads = {}

    def record(df, file_name, label, key):
        downloads[file_name] = df

    monkeypatch.setattr(ui.widgets, "download_csv", record)
    at = upload(new_app(), "classes.csv", classes.to_csv(index=False).encode())
    fit_by_formula(at, "y ~ x + (1 | class)")
    go(at, "class_effects")
    # the fair comparisons wait for the user (the caterpillar alone draws first)
    assert len(figures(at)) == 1 and "fair_comparison_class.csv" not in downloads
    show_fair(at)
    open_expander(at, "w_effects_table_open")  # the effects table, lazy behind its expander
    at.downloads = downloads
    return at


def shown_groups(at) -> dict[str, set[str]]:
    return {
        "caterpillar": set(groups_in_figure(figures(at, "caterpillar")[0])),
        "shrinkage": set(groups_in_figure(figures(at, "shrinkage")[0])),
        "ranks": set(groups_in_figure(figures(at, "ranks")[0])),
        "effects table": set(frame_by_key(at, "effects_table")["level"].astype(str)),
        "fair table": set(frame_by_key(at, "fair_table")["level"].astype(str)),
        "effects download": set(at.downloads["class_effects_class.csv"]["level"].astype(str)),
        "fair download": set(at.downloads["fair_comparison_class.csv"]["level"].astype(str)),
    }


def test_small_groups_hidden_by_default_everywhere(app):
    at = app
    assert widget(at, "checkbox", "Hide groups with fewer than k students").value is True
    assert widget(at, "number_input", "k (smallest group shown)").value == 5
    assert "4 classes with fewer than 5 students hidden (privacy)" in texts(at)
    for view, groups in shown_groups(at).items():
        assert groups == set(SIZES) - SMALL, view
    # k = 4 hides only the groups of 2 and 3 students
    widget(at, "number_input", "k (smallest group shown)").set_value(4).run()
    assert "2 classes with fewer than 4 students hidden" in texts(at)
    for view, groups in shown_groups(at).items():
        assert groups == set(SIZES) - {"A", "B"}, view
    # off: every group
    widget(at, "checkbox", "Hide groups with fewer than k students").uncheck().run()
    for view, groups in shown_groups(at).items():
        assert groups == set(SIZES), view
    assert "hidden" not in texts(at)


def test_shrinkage_reliability_and_ranks_show_hlm_core_numbers(app, classes):
    at = app
    widget(at, "checkbox", "Hide groups with fewer than k students").uncheck().run()
    res = fit(classes, parse_formula("y ~ x + (1 | class)"))
    sh = shrinkage(res, "(Intercept)", "class").set_index("level")
    rel = reliability(res, "class").set_index("level")
    # the shrinkage figure: an open circle at each class's own estimate, a filled one (area ~ n)
    # at the model's, joined by a segment
    fig = figures(at, "shrinkage")[0]
    own_tr, model_tr = (t for t in fig["data"] if t.get("text") is not None)
    axis = "x"  # few groups: listed by name down the side, the value across
    own = dict(zip(trace_array(own_tr, "text"), trace_array(own_tr, axis).astype(float),
                   strict=True))
    model = dict(zip(trace_array(model_tr, "text"), trace_array(model_tr, axis).astype(float),
                     strict=True))
    sizes = dict(zip(trace_array(model_tr, "text"),
                     trace_array(model_tr["marker"], "size").astype(float), strict=True))
    for g in SIZES:
        assert own[g] == pytest.approx(sh.loc[g, "own_estimate"])
        assert model[g] == pytest.approx(sh.loc[g, "model_estimate"])
    assert sizes["L"] > sizes["F"] > sizes["A"]  # bigger class, bigger point
    # small classes are pulled furthest toward the average
    pull = {g: abs(own[g] - model[g]) / abs(own[g] - sh.loc[g, "average"]) for g in SIZES}
    assert pull["A"] > pull["L"]
    # reliability: HLM's lambda per class and its average
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["Average reliability"]) == pytest.approx(rel["reliability"].mean(),
                                                                  abs=1e-3)
    table = frame_by_key(at, "fair_table").set_index("level")
    for g in SIZES:
        assert table.loc[g, "reliability"] == pytest.approx(rel.loc[g, "reliability"])
        assert table.loc[g, "n"] == SIZES[g]
        assert table.loc[g, "rank_low"] <= table.loc[g, "expected_rank"] <= table.loc[
            g, "rank_high"]
    assert table["expected_rank"].mean() == pytest.approx((len(SIZES) + 1) / 2)
    # the rank plot: one point per class, best expected rank first, with its interval
    # (traces by colour: whole interval in the top half, in the bottom half, or either)
    rank_fig = figures(at, "ranks")[0]
    shown = {}
    for tr in rank_fig["data"]:
        for name, x, hi, lo in zip(trace_array(tr, "text"), trace_array(tr, "x").astype(float),
                                   trace_array(tr["error_x"], "array").astype(float),
                                   trace_array(tr["error_x"], "arrayminus").astype(float),
                                   strict=True):
            shown[str(name)] = (x, x - lo, x + hi, tr["name"])
    assert sorted(shown) == sorted(SIZES)
    for g, (x, lo, hi, colour) in shown.items():
        assert x == pytest.approx(table.loc[g, "expected_rank"])
        assert (lo, hi) == pytest.approx((table.loc[g, "rank_low"], table.loc[g, "rank_high"]))
        if hi < 6.5:
            assert colour == "Clearly in the top half"
        elif lo > 6.5:
            assert colour == "Clearly in the bottom half"
        else:
            assert colour == "Could be in either half"
    # listed best first
    order = rank_fig["layout"]["yaxis"]["categoryarray"][::-1]
    assert [table.loc[g, "expected_rank"] for g in order] == sorted(table["expected_rank"])


def test_ranks_stay_among_all_groups_when_some_are_hidden(app):
    at = app  # default: 4 small classes hidden
    assert "Ranks are among all 12, hidden ones included" in texts(at)
    table = frame_by_key(at, "fair_table")
    assert len(table) == 8
    assert table["rank_high"].max() <= 12


def test_many_groups_wait_for_the_user_before_drawing_fair_comparisons():
    """The shrinkage, reliability and rank views (seconds to draw without a graphics card at
    2,100 groups) are behind a toggle, so the caterpillar shows at once."""
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(2100), 6)
    y = rng.normal(0, 1, 2100)[g] + rng.normal(size=g.size)
    data = pd.DataFrame({"score": y, "class": [f"k{i}" for i in g]}).to_csv(index=False)
    at = upload(new_app(), "many.csv", data.encode())
    fit_by_formula(at, "score ~ 1 + (1 | class)")
    go(at, "class_effects")
    show = widget(at, "toggle", "Show the fair comparisons for all 2,100 classes")
    assert show.value is False
    assert "Shrinkage: each group's own data" not in [s.value for s in at.subheader]
    assert len(figures(at)) == 1  # the caterpillar only
    show.set_value(True).run()
    assert not at.exception
    assert "Shrinkage: each group's own data → the model's estimate" in [
        s.value for s in at.subheader]
    assert len(figures(at)) >= 3


def test_a_katex_group_name_stays_text_in_every_caption(classes):
    """A grouping column named as a KaTeX `\\href` macro showed as red KaTeX error text in the
    rank caption (the group words went into Markdown unescaped): every text element of the
    page that names the group must hold it escaped, so the reader sees the name as typed."""
    name = "$\\href{http://127.0.0.1:9/k}{x}$"
    frame = classes.rename(columns={"class": name})
    at = upload(new_app(), "classes.csv", frame.to_csv(index=False).encode())
    fit_by_formula(at, f"y ~ x + (1 | `{name}`)")
    show_fair(go(at, "class_effects"))
    assert not at.exception, [e.value for e in at.exception]
    naming = []
    for kind in ("header", "subheader", "markdown", "caption", "info", "warning", "success"):
        naming += [str(e.value) for e in getattr(at, kind) if "href" in str(e.value)]
    assert any("expected rank" in s for s in naming)  # the rank caption names the group
    for s in naming:
        assert "\\$\\\\href" in s and "$\\href" not in s.replace("\\$\\\\href", ""), s
    assert name in texts(at)
    # a column whose name holds ':' is one column, not lme4's nesting ("x (within y)")
    assert f"Intercept per {name} (y when" in texts(at)


def test_big_rank_draws_run_as_a_job_with_the_same_numbers(classes, monkeypatch):
    """Ranks drawn for many groups (draws x groups over ui.fits.VIEW_HERE_MAX) run in a worker
    process: the same table as drawn on the page, and the job really ran."""
    from apphelpers import count_jobs, state

    import hlm_core.fairness
    import ui.fits

    at = upload(new_app(), "classes.csv", classes.to_csv(index=False).encode())
    fit_by_formula(at, "y ~ x + (1 | class)")
    show_fair(go(at, "class_effects"))
    here = frame_by_key(at, "fair_table")
    state(at).memo.pop("fair_ranks")
    monkeypatch.setattr(ui.fits, "VIEW_HERE_MAX", 0)
    jobs = count_jobs(monkeypatch)
    go(at, "class_effects")
    assert jobs == [hlm_core.fairness.expected_ranks]
    pd.testing.assert_frame_equal(frame_by_key(at, "fair_table"), here)
