"""95% intervals on the Results, Compare and Class effects pages (issue 14): the numbers are
lme4's confint(), the profile is computed once per fit (at once when quick, on request
otherwise), the bootstrap runs on request with its draws and seed shown, and all of it is
kept per fit in the session."""

import json

import pytest
from apphelpers import (
    FIXTURES,
    button,
    fit_by_formula,
    frame_by_key,
    go,
    new_app,
    show_fair,
    state,
    texts,
    upload,
    widget,
)

CI = FIXTURES / "ci"


def lme4_bounds(case: str) -> dict[str, tuple[float, float]]:
    ref = json.loads((CI / f"{case}.json").read_text())
    return {r["parm"]: (r["lower"], r["upper"]) for r in ref["intervals"]}


def cell(text: str) -> tuple[float, float]:
    low, high = text.strip("[]").split(",")
    return float(low), float(high)


def test_quick_model_shows_lme4s_intervals_and_the_icc_interval(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    fit_by_formula(at, "normexam ~ 1 + (1 | school)")
    go(at, "results")
    ref = lme4_bounds("exam_null_reml")
    v = frame_by_key(at, "variances").set_index("Effect")
    assert cell(v.loc["(Intercept)", "95% CI"]) == pytest.approx(ref["sd_(Intercept)|school"],
                                                                   abs=1e-4)
    assert cell(v.loc["(within groups)", "95% CI"]) == pytest.approx(ref["sigma"], abs=1e-4)
    icc = next(m for m in at.metric if m.label == "ICC")
    assert icc.value == "0.168" and icc.delta.startswith("95% CI [0.12, 0.23]")
    assert not [b for b in at.button if b.label == "Compute 95% intervals"]
    kept = state(at).intervals
    assert len(kept) == 1
    first = next(iter(kept.values()))
    go(at, "model")
    go(at, "results")  # computed once per fit: the same object comes back
    assert next(iter(state(at).intervals.values())) is first


def test_slow_model_waits_for_the_button_then_matches_lme4(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    fit_by_formula(at, "normexam ~ standLRT + (standLRT | school)")
    go(at, "results")
    assert (frame_by_key(at, "variances")["95% CI"] == "").all()
    assert next(m for m in at.metric if m.label == "ICC (adjusted)").delta in ("", None)
    button(at, "Compute 95% intervals").click().run()
    assert not at.exception and not at.error
    ref = lme4_bounds("exam_rs_reml")
    v = frame_by_key(at, "variances").set_index("Effect")
    assert cell(v.loc["standLRT", "95% CI"]) == pytest.approx(ref["sd_standLRT|school"],
                                                                rel=5e-3)
    c = frame_by_key(at, "correlations")
    assert cell(c["95% CI"].iloc[0]) == pytest.approx(
        ref["cor_standLRT.(Intercept)|school"], abs=1e-3)
    assert next(m for m in at.metric if m.label == "ICC (adjusted)").delta.startswith("95% CI")
    go(at, "report")  # the write-up carries the intervals now
    page = texts(at) + "\n".join(str(c.value) for c in at.code)
    assert "ICC = .16, 95% CI [.12, .22]" in page


def test_singular_fit_says_the_lower_bound_is_zero_in_words():
    at = upload(new_app(), "ci_singular.csv", (CI / "ci_singular.csv").read_bytes())
    fit_by_formula(at, "score ~ x + (1 | class)")
    go(at, "results")
    assert "The lower bound is 0: the data are consistent with the average not differing " \
        "between classes at all" in texts(at).replace("\\", "")


def test_compare_shows_the_null_icc_interval_and_bootstraps_explained_on_request():
    at = new_app()
    button(at, "Use example data").click().run()
    fit_by_formula(at, "score ~ exam.prep.days + (1 | class)")
    go(at, "compare")
    button(at, "Fit the model ladder").click().run()
    assert not at.exception and not at.error
    icc = next(m for m in at.metric if m.label.startswith("ICC (null model"))
    assert icc.delta.startswith("95% CI [")
    low, high = cell(icc.delta.removeprefix("95% CI "))
    assert low < float(icc.value) < high
    assert "likelihood-profile interval" in texts(at)
    widget(at, "selectbox", "Bootstrap draws").set_value(100).run()
    widget(at, "number_input", "Seed").set_value(11).run()
    button(at, "Run the bootstrap").click().run()
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "Level" in d.value.columns)
    assert set(table["Level"]) == {"Students (level 1)", "class"}
    assert all(c.startswith("[") for c in table["95% CI"])
    assert "100 simulated data sets per model (seed 11)" in texts(at)
    again = table.copy()
    at.run()  # kept: the same table without running again
    assert next(d.value for d in at.dataframe if "Level" in d.value.columns).equals(again)


def test_class_effects_rank_intervals_by_bootstrap_on_request(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    fit_by_formula(at, "normexam ~ standLRT + (1 | school)")
    show_fair(go(at, "class_effects"))
    plain = frame_by_key(at, "fair_table")
    assert "The ranks below use" not in texts(at)
    widget(at, "selectbox", "Bootstrap draws").set_value(100).run()
    widget(at, "number_input", "Seed").set_value(3).run()
    button(at, "Run the bootstrap").click().run()
    assert not at.exception and not at.error
    t = texts(at)
    assert "The ranks below use 100 bootstrap refits, seed 3." in t
    assert "10 from each of 100 bootstrap refits (seed 3)" in t
    boot = frame_by_key(at, "fair_table")
    m = plain.merge(boot, on="level", suffixes=("_p", "_b"))
    # 65 schools: the variance is well estimated, so the two rankings agree closely
    assert (m["expected_rank_p"] - m["expected_rank_b"]).abs().max() < 3
    kept = [k for k in state(at).intervals if "boot" in k]
    assert len(kept) == 1 and kept[0][-3:] == ("boot", 100, 3)
    at.run()  # kept per fit: no second bootstrap
    assert [k for k in state(at).intervals if "boot" in k] == kept
