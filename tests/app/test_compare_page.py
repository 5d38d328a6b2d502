"""Compare page: the model ladder on exam.csv against lme4 (logLik by ML, anova() LRTs), the
null model's ICC and design effect, the plain-language reading, saved models, the cache."""

import pytest
from apphelpers import (
    button,
    count_jobs,
    figures,
    fit_by_formula,
    frame_by_key,
    go,
    new_app,
    page_downloads,
    reference,
    texts,
    upload,
    widget,
)

import ui.fits

TABLE = "ladder"


@pytest.fixture
def exam_rs_app(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    return fit_by_formula(at, "normexam ~ standLRT + (standLRT | school)")


def fit_ladder(at):
    go(at, "compare")
    button(at, "Fit the model ladder").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return frame_by_key(at, TABLE)


def test_ladder_table_matches_lme4(exam_rs_app):
    at = exam_rs_app
    go(at, "compare")
    assert "Press **Fit the model ladder**" in texts(at)  # nothing fitted until asked
    table = fit_ladder(at)
    assert table["Model"].tolist() == [
        "1. Null model", "2. + student-level predictors", "3. + random slopes"
    ]
    explained = frame_by_key(at, "variance_explained")
    assert explained["Formula"].tolist() == [
        "normexam ~ 1 + (1 | school)",
        "normexam ~ standLRT + (1 | school)",
        "normexam ~ standLRT + (standLRT | school)",
    ]
    # every step by ML: lme4's ML log-likelihoods and AIC
    for i, case in enumerate(["exam_null", "exam_ri", "exam_rs"]):
        ml = reference(case)["ml"]
        assert table["logLik"][i] == pytest.approx(ml["loglik"], abs=2e-3)
        assert table["AIC"][i] == pytest.approx(ml["AIC"], abs=4e-3)
        assert table["BIC"][i] == pytest.approx(ml["BIC"], abs=4e-3)
        assert table["Deviance"][i] == pytest.approx(-2 * ml["loglik"], abs=4e-3)
        assert table["Parameters"][i] == ml["df_loglik"]
    # the random-slope step: lme4's anova(ri, rs) chi-square, df and p
    lrt = reference("exam_rs")["lrt"]
    assert table["χ²"][2] == "40.372"
    assert float(table["χ²"][2]) == pytest.approx(lrt["chisq"], abs=1e-3)
    assert table["df"][2] == str(lrt["df"])
    assert table["p"][2] == "< 0.001"
    assert float(table["χ²"][1]) == pytest.approx(reference("exam_ri")["lrt"]["chisq"],
                                                  abs=1e-3)
    assert table["χ²"][0] == "" and table["p"][0] == ""  # nothing above the null model
    # boundary-corrected p only for the step that adds a variance
    assert table["p (boundary-corrected)"].tolist() == ["", "", "< 0.001"]
    # variance explained relative to the null model, per level
    null = reference("exam_null")["ml"]["varcorr"]
    ri = reference("exam_ri")["ml"]["varcorr"]
    tau0, s0 = null[0]["vcov"], null[1]["vcov"]
    assert explained["Students (level 1)"][1] == pytest.approx((s0 - ri[1]["vcov"]) / s0,
                                                               abs=1e-3)
    assert explained["school"][1] == pytest.approx((tau0 - ri[0]["vcov"]) / tau0, abs=1e-3)
    assert explained["school"][0] == 0 and explained["Students (level 1)"][0] == 0

    t = texts(at)
    assert "Adding random slopes improved the fit: χ²(2) = 40.37, p < .001" in t
    assert "boundary-corrected p < .001" in t
    assert "All models are fitted by ML" in t and "which the Model page estimates by REML" in t
    metrics = {m.label: m.value for m in at.metric}
    icc = null[0]["vcov"] / (null[0]["vcov"] + null[1]["vcov"])
    assert float(metrics["ICC (null model, ML)"]) == pytest.approx(icc, abs=1e-3)
    deff = 1 + (4059 / 65 - 1) * icc
    assert float(metrics["Design effect"]) == pytest.approx(deff, abs=1e-2)
    assert page_downloads(at) == ["Download model comparison (CSV)"]
    assert len(figures(at, "ladder_plot")) == 1


def test_ladder_is_cached_per_data_and_model(exam_rs_app, monkeypatch):
    jobs = count_jobs(monkeypatch)  # every ladder runs as a job in a worker process

    def ladders_run() -> int:
        return sum(fn is ui.fits.ladder for fn in jobs)

    at = exam_rs_app
    fit_ladder(at)
    go(at, "results")
    go(at, "compare")  # shown again without a click, not refitted
    assert frame_by_key(at, TABLE)["Model"].size == 3
    fit_ladder(at)
    assert ladders_run() == 1
    # another model: another ladder
    fit_by_formula(at, "normexam ~ standLRT + sex + (standLRT | school)")
    table = fit_ladder(at)
    assert ladders_run() == 2
    assert "2. + student-level predictors" in table["Model"].tolist()


def test_saved_models_join_the_ladder(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    fit_by_formula(at, "normexam ~ standLRT + sex + (1 | school)")
    go(at, "results")
    widget(at, "text_input", "Name for this model").input("With sex").run()
    button(at, "Save this model").click().run()
    assert "Saved as 'With sex'" in texts(at)
    fit_by_formula(at, "normexam ~ standLRT + (standLRT | school)")
    go(at, "compare")
    saved = widget(at, "multiselect", "Saved models to add")
    assert saved.value == ["With sex"]
    table = fit_ladder(at)
    assert table["Model"].tolist()[-1] == "4. With sex"
    formulas = frame_by_key(at, "variance_explained")["Formula"].tolist()
    assert formulas[-1] == "normexam ~ standLRT + sex + (1 | school)"
    assert "Saved models are tested against the model above them" in texts(at)
    # without the saved model: just the ladder
    widget(at, "multiselect", "Saved models to add").set_value([]).run()
    table = fit_ladder(at)
    assert table["Model"].tolist()[-1] == "3. + random slopes"


def test_compare_without_a_model_says_what_to_do(exam_csv):
    at = go(new_app(), "compare")
    assert "No data yet" in texts(at)
    data = b"y,x,z\n" + b"".join(f"{i},{i % 7},{i % 3}\n".encode() for i in range(30))
    at = upload(new_app(), "plain.csv", data)
    go(at, "compare")
    assert not at.exception
    assert "Choose a model on the Model page first" in texts(at)
    # the example-free default model (exam: school guessed) is the null model: one rung
    at = upload(new_app(), "exam.csv", exam_csv)
    table = fit_ladder(at)
    assert table["Model"].tolist() == ["1. Null model"]
    ml = reference("exam_null")["ml"]
    assert table["logLik"][0] == pytest.approx(ml["loglik"], abs=2e-3)
