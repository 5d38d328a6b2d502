"""Centring in the model builder: per-predictor none / grand-mean / group-mean, the formula box
and its caption, the numbers against lme4 on hsb82's hand-centred columns, and the centring
stated on every results page (the Slopes page draws on the centred scale)."""

import numpy as np
import pandas as pd
import pytest
from apphelpers import (
    FIXTURES,
    button,
    figures,
    fit_by_formula,
    frame_by_key,
    go,
    groups_in_figure,
    lines_by_group,
    new_app,
    reference,
    state,
    texts,
    upload,
    widget,
)

HSB = (FIXTURES / "hsb82.csv").read_bytes()
CAPTION = "ses centred within school; school mean of ses added as ses.mean"
RENAME = {"cses": "ses", "meanses": "ses.mean"}  # lme4 fitted the hand-centred columns


@pytest.fixture
def hsb_centred_app():
    at = upload(new_app(), "hsb82.csv", HSB)
    go(at, "model")
    widget(at, "selectbox", "Outcome").set_value("mAch").run()
    widget(at, "multiselect", "Predictors").set_value(["ses", "sector"]).run()
    widget(at, "selectbox", "Grouping variable").set_value("school").run()
    widget(at, "multiselect", "Random slopes").set_value(["ses"]).run()
    # only number predictors can be centred
    assert [w.label for w in at.selectbox if w.label.startswith("Centre")] == ["Centre ses"]
    widget(at, "selectbox", "Centre ses").set_value("group").run()
    assert not at.exception
    return at


def test_group_mean_centring_matches_lme4(hsb_centred_app):
    at = hsb_centred_app
    # centring is not lme4 syntax: the formula stays, a caption under it says what is done
    assert widget(at, "text_input", "Formula").value == "mAch ~ ses + sector + (ses | school)"
    assert CAPTION in texts(at)
    spec = state(at).spec
    assert spec.centering == (("ses", "group"),)
    button(at, "Fit model").click().run()
    assert not at.exception and not at.error

    go(at, "results")
    ref = reference("extra/hsb_centred")["reml"]
    shown = frame_by_key(at, "fixed_effects").set_index("Term")
    assert shown.index.tolist() == [RENAME.get(f["term"], f["term"]) for f in ref["fixed"]]
    for row in ref["fixed"]:
        term = RENAME.get(row["term"], row["term"])
        assert shown.loc[term, "Estimate"] == pytest.approx(row["estimate"], abs=1e-4), term
        assert shown.loc[term, "Std. error"] == pytest.approx(row["std_error"], rel=2e-3), term
        assert shown.loc[term, "df"] == pytest.approx(row["df"], rel=2e-2), term
    variances = frame_by_key(at, "variances")
    ref_sd = [r["sdcor"] for r in ref["varcorr"] if not r["term2"]]
    assert variances["SD"].tolist() == pytest.approx(ref_sd, rel=2e-3)
    assert variances["Effect"].tolist()[:2] == ["(Intercept)", "ses"]
    # stated beside the tables, not only once at the top
    assert texts(at).count(f"**Centring:** {CAPTION}.") >= 2


def test_centring_is_stated_on_every_results_page(hsb_centred_app):
    at = hsb_centred_app
    button(at, "Fit model").click().run()
    for page in ("class_effects", "slopes", "diagnostics"):
        go(at, page)
        assert f"**Centring:** {CAPTION}." in texts(at), page
    go(at, "compare")
    assert CAPTION in texts(at)
    # the sidebar carries it next to the formula
    assert f"**Centring:** {CAPTION}" in "\n".join(c.value for c in at.sidebar.caption)


def test_slopes_page_draws_on_the_centred_scale(hsb_centred_app):
    at = hsb_centred_app
    button(at, "Fit model").click().run()
    go(at, "slopes")
    assert not at.error
    slider = widget(at, "slider", "Range of ses (centred)")
    data = pd.read_csv(FIXTURES / "hsb82.csv")
    centred = data["ses"] - data.groupby("school")["ses"].transform("mean")
    assert slider.value == pytest.approx((centred.min(), centred.max()), abs=1e-9)
    model_fig, raw_fig = figures(at, "slopes")
    for fig in (model_fig, raw_fig):
        assert fig["layout"]["xaxis"]["title"]["text"] == "ses (centred within school)"
    # the raw straight lines are fitted to the centred values: each school's line spans its
    # own centred range and has the slope of an OLS fit on them
    lines = lines_by_group(raw_fig)
    assert len(set(groups_in_figure(raw_fig))) == 160
    d = data.assign(c=centred)
    for school in ("1224", "8367"):
        sub = d[d["school"].astype(str) == school]
        xs, ys = lines[school]
        assert xs == pytest.approx([sub["c"].min(), sub["c"].max()], abs=1e-9)
        slope, icpt = np.polyfit(sub["c"], sub["mAch"], 1)
        assert ys == pytest.approx(icpt + slope * xs, abs=1e-8)


def test_grand_mean_centring_and_typed_formulas(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    fit_by_formula(at, "normexam ~ standLRT + (1 | school)")
    go(at, "results")
    raw = frame_by_key(at, "fixed_effects").set_index("Term")["Estimate"]
    go(at, "model")
    widget(at, "selectbox", "Centre standLRT").set_value("grand").run()
    assert "standLRT centred at its overall mean" in texts(at)
    button(at, "Fit model").click().run()
    go(at, "results")
    est = frame_by_key(at, "fixed_effects").set_index("Term")["Estimate"]
    mean = pd.read_csv(FIXTURES / "exam.csv")["standLRT"].mean()
    # centring at the mean moves the intercept to the average student; the slope stays
    assert est["standLRT"] == pytest.approx(raw["standLRT"], abs=1e-6)
    assert est["(Intercept)"] == pytest.approx(raw["(Intercept)"] + raw["standLRT"] * mean,
                                               abs=1e-6)
    # a typed formula keeps the centring of the predictors it still has
    go(at, "model")
    widget(at, "text_input", "Formula").input("normexam ~ standLRT + sex + (1 | school)").run()
    assert state(at).spec.centering == (("standLRT", "grand"),)
    assert widget(at, "selectbox", "Centre standLRT").value == "grand"
    widget(at, "selectbox", "Centre standLRT").set_value("none").run()
    assert state(at).spec.centering == ()
    # the main page no longer mentions centring (the sidebar still states the centring of
    # the model fitted before, which is no longer the one on the Model page)
    main = "\n".join(str(e.value) for kind in ("markdown", "caption", "info", "warning")
                     for e in getattr(at.main, kind))
    assert "centred" not in main
