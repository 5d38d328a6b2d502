"""Crossed random effects in the builder: a second grouping variable crossed with the first
gives `(1 | a) + (1 | b)`, fits as lme4 does (exam_crossed reference), the structure check says
nested vs crossed, and the Class effects page offers each grouping factor."""

import numpy as np
import pandas as pd
import pytest
from apphelpers import (
    button,
    figures,
    fit_by_formula,
    frame_by_key,
    go,
    groups_in_figure,
    new_app,
    reference,
    state,
    texts,
    upload,
    widget,
)

CROSSED = "normexam ~ standLRT + (1 | school) + (1 | intake)"


def check_crossed_results(at) -> None:
    ref = reference("extra/exam_crossed")
    assert ref["formula"] == CROSSED
    go(at, "results")
    shown = frame_by_key(at, "fixed_effects").set_index("Term")
    for row in ref["reml"]["fixed"]:
        assert shown.loc[row["term"], "Estimate"] == pytest.approx(row["estimate"], abs=1e-4)
        assert shown.loc[row["term"], "Std. error"] == pytest.approx(row["std_error"], rel=2e-3)
        assert shown.loc[row["term"], "df"] == pytest.approx(row["df"], rel=2e-2)
    variances = frame_by_key(at, "variances")
    assert variances["Group"].tolist() == [r["group"] for r in ref["reml"]["varcorr"]]
    assert variances["SD"].tolist() == pytest.approx(
        [r["sdcor"] for r in ref["reml"]["varcorr"]], rel=2e-3)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Groups: school"] == "65" and metrics["Groups: intake"] == "3"


def test_builder_makes_crossed_intercepts_and_fits_like_lme4(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    go(at, "model")
    widget(at, "selectbox", "Outcome").set_value("normexam").run()
    widget(at, "multiselect", "Predictors").set_value(["standLRT"]).run()
    widget(at, "selectbox", "Grouping variable").set_value("school").run()
    crossed = widget(at, "multiselect", "Crossed with (optional)")
    assert "intake" in crossed.options and "school" not in crossed.options
    crossed.set_value(["intake"]).run()
    assert widget(at, "text_input", "Formula").value == CROSSED
    assert not state(at).custom
    assert "school and intake are crossed" in texts(at)  # the structure check
    button(at, "Fit model").click().run()
    assert not at.exception and not at.error
    check_crossed_results(at)
    # the Class effects page offers each grouping factor
    go(at, "class_effects")
    level = widget(at, "selectbox", "Level")
    assert level.options == ["school", "intake"]
    level.set_value("intake").run()
    assert not at.exception
    assert set(groups_in_figure(figures(at, "caterpillar")[0])) == {
        "bottom 25%", "mid 50%", "top 25%"
    }


def test_typed_crossed_formula_sets_the_builder(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    fit_by_formula(at, CROSSED)
    go(at, "model")
    assert widget(at, "multiselect", "Crossed with (optional)").value == ["intake"]
    assert widget(at, "selectbox", "Grouping variable").value == "school"
    assert not state(at).custom
    # a grouping that nests is not offered as crossed: the builder says so
    widget(at, "multiselect", "Crossed with (optional)").set_value(["schgend"]).run()
    assert "Each school belongs to one schgend, so they are nested, not crossed" in texts(at)


@pytest.fixture(scope="module")
def pupils() -> bytes:
    """Pupils of 40 primary schools who went on to 12 secondary schools: each primary school
    sends its pupils to 2 or 3 of the secondary schools (a crossed design)."""
    rng = np.random.default_rng(5)
    up = rng.normal(0, 1.0, 40)
    us = rng.normal(0, 0.7, 12)
    rows = []
    for p in range(40):
        feeds = rng.choice(12, size=rng.integers(2, 4), replace=False)
        for _ in range(15):
            s = int(rng.choice(feeds))
            x = rng.normal()
            rows.append({"pupil": len(rows) + 1, "primary": f"P{p:02d}", "secondary": f"S{s:02d}",
                         "x": x, "y": 6 + up[p] + us[s] + 0.5 * x + rng.normal(0, 1)})
    return pd.DataFrame(rows).to_csv(index=False).encode()


def test_data_page_tells_crossed_and_the_builder_follows(pupils):
    at = upload(new_app(), "pupils.csv", pupils)
    widget(at, "multiselect", "Grouping columns (smallest group first)").set_value(
        ["primary", "secondary"]).run()
    assert not at.exception
    t = texts(at)
    # hlm_core's structure sentence; a column name keeps its spelling (wording.sentence_start)
    assert "primary and secondary are crossed" in t
    assert "**Crossed:** primary and secondary cut across each other" in t
    assert "(1 | primary) + (1 | secondary)" in t
    go(at, "model")
    widget(at, "selectbox", "Outcome").set_value("y").run()
    widget(at, "multiselect", "Predictors").set_value(["x"]).run()
    assert widget(at, "text_input", "Formula").value == "y ~ x + (1 | primary) + (1 | secondary)"
    button(at, "Fit model").click().run()
    assert not at.exception and not at.error
    go(at, "results")
    assert frame_by_key(at, "variances")["Group"].tolist() == ["primary", "secondary", "Residual"]
    go(at, "class_effects")
    assert widget(at, "selectbox", "Level").options == ["primary", "secondary"]


def test_nested_levels_are_said_to_nest(exam_csv):
    data = pd.read_csv(pd.io.common.BytesIO(exam_csv))
    data["class"] = data["school"].astype(str) + "-" + (data.index % 3).astype(str)
    at = upload(new_app(), "classes.csv", data.to_csv(index=False).encode())
    widget(at, "multiselect", "Grouping columns (smallest group first)").set_value(
        ["class", "school"]).run()
    t = texts(at)
    assert "**Nested:** each class sits in one school" in t
    assert "Crossed" not in t
    go(at, "model")
    assert widget(at, "multiselect", "Higher levels (optional)").value == ["school"]
    assert widget(at, "multiselect", "Crossed with (optional)").value == []
