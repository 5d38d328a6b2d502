"""Results page: the numbers shown equal lme4/lmerTest's, every table downloads as CSV."""

import io

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
    new_app,
    page_downloads,
    reference,
    texts,
    upload,
    widget,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def check_against_lme4(at, case: str, method: str = "reml") -> None:
    ref = reference(case)[method]
    shown = frame_by_key(at, "fixed_effects").set_index("Term")
    for row in ref["fixed"]:
        term = row["term"]
        assert shown.loc[term, "Estimate"] == pytest.approx(row["estimate"], abs=1e-4), term
        assert shown.loc[term, "Std. error"] == pytest.approx(row["std_error"], rel=2e-3), term
        assert shown.loc[term, "df"] == pytest.approx(row["df"], rel=2e-2), term
    variances = frame_by_key(at, "variances")
    ref_sd = [r["sdcor"] for r in ref["varcorr"] if not r["term2"]]
    assert variances["SD"].tolist() == pytest.approx(ref_sd, rel=2e-3)
    fit_table = frame_by_key(at, "model_fit").set_index("Statistic")["Value"]
    loglik = float(fit_table["log-likelihood"].replace(",", ""))
    assert loglik == pytest.approx(ref["loglik"], abs=2e-3)
    assert fit_table["observations"] == f"{ref['nobs']:,}"
    for g, n in ref["ngroups"].items():
        assert fit_table[f"groups: {g}"] == f"{n:,}"


def test_csv_builder_fit_matches_lme4(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    go(at, "model")
    widget(at, "selectbox", "Outcome").set_value("normexam").run()
    widget(at, "multiselect", "Predictors").set_value(["standLRT"]).run()
    widget(at, "selectbox", "Grouping variable").set_value("school").run()
    assert widget(at, "text_input", "Formula").value == "normexam ~ standLRT + (1 | school)"
    button(at, "Fit model").click().run()
    assert not at.exception and not at.error
    go(at, "results")
    check_against_lme4(at, "exam_ri")
    assert "normexam ~ standLRT + (1 | school)" in texts(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Observations"] == "4,059"
    assert metrics["Groups: school"] == "65"


def test_xlsx_formula_fit_matches_lme4(exam_xlsx):
    at = upload(new_app(), "exam.xlsx", exam_xlsx, XLSX)
    assert not at.error
    fit_by_formula(at, "normexam ~ standLRT + (1 | school)")
    go(at, "results")
    check_against_lme4(at, "exam_ri")


def test_random_slope_model_and_ml(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    go(at, "model")
    widget(at, "radio", "Estimation").set_value("ML").run()
    fit_by_formula(at, "normexam ~ standLRT + (standLRT | school)")
    go(at, "results")
    check_against_lme4(at, "exam_rs", "ml")
    corr = frame_by_key(at, "correlations")
    ref_corr = [r["sdcor"] for r in reference("exam_rs")["ml"]["varcorr"] if r["term2"]]
    assert corr["Correlation"].tolist() == pytest.approx(ref_corr, abs=2e-3)
    t = texts(at)
    assert "varies between schools" in t  # the plain-language paragraph
    assert "ML" in t


def test_results_paragraph_warnings_and_dropped_rows():
    at = new_app()
    button(at, "Use example data").click().run()
    fit_by_formula(at, "score ~ exam.prep.days + poverty + parent.ed + (exam.prep.days | class)")
    go(at, "results")
    t = texts(at)
    assert "6 of 500 rows were left out because of missing values (parent.ed: 6)" in t
    assert "Values of score differ between classes" in t
    assert "The effect of exam.prep.days varies between classes" in t
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) >= {"Observations", "Groups: class", "ICC (adjusted)", "R² marginal",
                            "R² conditional"}


def test_every_table_downloads_as_safe_csv(exam_csv):
    at = upload(new_app(), "exam.csv", exam_csv)
    fit_by_formula(at, "normexam ~ standLRT + sex + (1 | school)")
    go(at, "results")
    labels = page_downloads(at)
    assert labels == [
        "Download fixed effects (CSV)",
        "Download variance components (CSV)",
        "Download model fit (CSV)",
    ]
    shown = frame_by_key(at, "fixed_effects")
    assert shown["Term"].tolist() == ["(Intercept)", "standLRT", "sexM"]


def test_download_content_is_escaped():
    from hlm_core.export import safe_csv

    df = pd.DataFrame({"level": ["=HYPERLINK(1)", "Class A", "-2", "@x", "+1"], "v": [-1.5] * 5})
    back = pd.read_csv(io.BytesIO(safe_csv(df)), encoding="utf-8-sig")
    assert back["level"].tolist() == ["'=HYPERLINK(1)", "Class A", "'-2", "'@x", "'+1"]
    assert back["v"].tolist() == [-1.5] * 5


CASES = ["exam_null", "exam_full", "hsb_null", "hsb_rb", "hsb_rb_ri", "bdf_rs"]


@pytest.mark.parametrize("case", CASES)
def test_every_reference_model_through_the_app(case):
    """Upload the CSV, type the reference formula, fit: the tables shown equal lme4's."""
    ref = reference(case)
    at = upload(new_app(), ref["file"], (FIXTURES / ref["file"]).read_bytes())
    fit_by_formula(at, ref["formula"])
    go(at, "results")
    check_against_lme4(at, case)
    shown = frame_by_key(at, "fixed_effects")["Term"].tolist()
    assert shown == [f["term"] for f in ref["reml"]["fixed"]]  # lme4's names and order
    go(at, "class_effects")
    widget(at, "checkbox", "Hide groups with fewer than k students").uncheck().run()
    group = next(iter(ref["reml"]["ngroups"]))
    n_groups = ref["reml"]["ngroups"][group]
    for fig in figures(at, "caterpillar"):
        assert len(groups_in_figure(fig)) == n_groups
