"""Generalized multilevel models against lme4 1.1-31 `glmer` (tests/fixtures/glmm, made by
make_data.py + make_glmm_reference.R there), and the outcome coding rules and refusals."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlm_core.compare import lrt
from hlm_core.errors import ModelError
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import read_table

GLMM = Path(__file__).parent / "fixtures" / "glmm"
CASES = {row["case"]: row for row in csv.DictReader((GLMM / "cases.csv").open())}


def _ref(case: str) -> dict:
    ref = json.loads((GLMM / f"{case}.json").read_text())
    for block in ref["ranef"]:  # jsonlite unboxes length-1 vectors
        if isinstance(block["terms"], str):
            block["terms"] = [block["terms"]]
        for key in ("values", "cond_sd"):
            if block[key] and not isinstance(block[key][0], list):
                block[key] = [block[key]]
        block["levels"] = [str(x) for x in block["levels"]]
    return ref


_FITS: dict = {}


def lme4_warned(ref: dict) -> bool:
    """lme4 said its optimizer failed to converge: its numbers are no target there."""
    return any("converge" in m for m in ref["messages"])


STRICT = [c for c in CASES if not lme4_warned(_ref(c))]
WARNED = [c for c in CASES if lme4_warned(_ref(c))]


def _fit(case: str):
    if case not in _FITS:
        row = CASES[case]
        frame = read_table(GLMM / row["file"]).frame
        spec = parse_formula(row["formula"]).with_(family=row["family"],
                                                   nagq=int(row["nagq"] or 1))
        _FITS[case] = fit(frame, spec)
    return _FITS[case]


@pytest.mark.parametrize("case", STRICT)
def test_fixed_effects_match_glmer(case):
    ref, res = _ref(case), _fit(case)
    assert res.family == ref["family"] and res.method == ref["method"]
    assert list(res.fixed["term"]) == [f["term"] for f in ref["fixed"]]
    for (_, row), f in zip(res.fixed.iterrows(), ref["fixed"], strict=True):
        tol = max(0.02 * f["std_error"], 1e-3 * abs(f["estimate"]))
        assert abs(row["estimate"] - f["estimate"]) <= tol, row["term"]
        assert row["std_error"] == pytest.approx(f["std_error"], rel=0.01), row["term"]
        assert row["z_value"] == pytest.approx(f["z_value"], rel=0.02, abs=0.02)
        assert row["p_value"] == pytest.approx(f["p_value"], rel=0.05, abs=1e-4)
    ratio = "odds_ratio" if ref["family"] == "binomial" else "rate_ratio"
    assert np.allclose(res.fixed[ratio], np.exp(res.fixed["estimate"]))
    assert np.allclose(res.fixed[f"{ratio}_ci_low"],
                       np.exp(res.fixed["estimate"] - 1.959964 * res.fixed["std_error"]))
    assert "df" not in res.fixed and "t_value" not in res.fixed


@pytest.mark.parametrize("case", STRICT)
def test_variances_and_likelihood_match_glmer(case):
    ref, res = _ref(case), _fit(case)
    assert len(res.varcorr) == len(ref["varcorr"])  # no Residual row, as lme4
    for (_, row), v in zip(res.varcorr.iterrows(), ref["varcorr"], strict=True):
        assert (row["group"], row["term1"], row["term2"]) == (v["group"], v["term1"], v["term2"])
        assert abs(row["sdcor"] - v["sdcor"]) <= max(0.01 * abs(v["sdcor"]), 2e-3)
    assert ref["loglik"] - 2e-3 <= res.loglik <= ref["loglik"] + 0.05
    assert res.df_loglik == ref["df_loglik"] and res.nobs == ref["nobs"]
    assert res.aic == pytest.approx(ref["AIC"], abs=0.1)
    assert res.bic == pytest.approx(ref["BIC"], abs=0.1)
    assert res.ngroups == ref["ngroups"]
    assert res.singular == ref["singular"]


@pytest.mark.parametrize("case", STRICT)
def test_conditional_modes_and_sds_match_glmer(case):
    ref, res = _ref(case), _fit(case)
    for block in ref["ranef"]:
        tab = res.ranef[block["group"]]
        for k, term in enumerate(block["terms"]):
            sub = tab[tab["term"] == term].set_index("level").loc[block["levels"]]
            want, sd = np.array(block["values"][k]), np.array(block["cond_sd"][k])
            assert np.all(np.abs(sub["value"].to_numpy() - want) <= 5e-3 + 0.01 * np.abs(want))
            assert np.allclose(sub["cond_sd"].to_numpy(), sd, rtol=0.01)


@pytest.mark.parametrize("case", WARNED)
def test_where_lme4_failed_to_converge_our_optimum_is_at_least_as_good(case):
    ref, res = _ref(case), _fit(case)
    assert res.loglik >= ref["loglik"] - 2e-3
    assert [f["term"] for f in ref["fixed"]] == list(res.fixed["term"])
    assert res.nobs == ref["nobs"] and res.df_loglik == ref["df_loglik"]


def test_a_case_where_lme4_warns_is_among_the_references():
    assert WARNED, "keep at least one fit where lme4 reports a convergence failure"


@pytest.mark.parametrize("case", [c for c, r in CASES.items() if r["compare_with"]])
def test_lrt_matches_anova(case):
    ref = _ref(case)["lrt"]
    cmp = lrt(_fit(CASES[case]["compare_with"]), _fit(case), pd.DataFrame())
    assert cmp.df == ref["df"]
    assert cmp.chisq == pytest.approx(ref["chisq"], abs=0.01)
    assert cmp.p_value == pytest.approx(ref["p_value"], rel=0.02, abs=1e-6)


def test_latent_icc_and_r2_for_logit():
    null = _fit("bin_null")
    tau = null.varcorr["vcov"].iloc[0]
    assert null.icc == pytest.approx(tau / (tau + math.pi**2 / 3))
    assert not null.icc_adjusted and null.r2_marginal == pytest.approx(0)
    res = _fit("bin_ri")
    mf = res.model_frame
    vf = np.var(mf.X @ res.fixed["estimate"].to_numpy(), ddof=1)
    tau = res.varcorr["vcov"].iloc[0]
    total = vf + tau + math.pi**2 / 3
    assert res.r2_marginal == pytest.approx(vf / total)
    assert res.r2_conditional == pytest.approx((vf + tau) / total)
    assert res.extra["success"] == "pass" and res.extra["failure"] == "fail"


def test_poisson_distribution_variance_is_lognormal():
    res = _fit("pois_ri")
    null = fit(read_table(GLMM / "pupils.csv").frame,
               parse_formula("absences ~ 1 + (1 | class)").with_(family="poisson"))
    tau0 = null.varcorr["vcov"].iloc[0]
    lam = math.exp(null.fixed["estimate"].iloc[0] + tau0 / 2)
    assert res.extra["distribution_variance"] == pytest.approx(math.log1p(1 / lam), rel=1e-3)
    tau = res.varcorr["vcov"].iloc[0]
    assert res.icc == pytest.approx(tau / (tau + math.log1p(1 / lam)), rel=1e-3)


# ---------------------------------------------------------------- outcome coding and refusals

def _frame() -> pd.DataFrame:
    return read_table(GLMM / "pupils.csv").frame


def test_success_value_can_be_chosen_and_flips_signs():
    frame = _frame()
    spec = parse_formula("result ~ ses + (1 | class)").with_(family="binomial")
    a = fit(frame, spec)
    b = fit(frame, spec.with_(success="fail"))
    assert b.extra["success"] == "fail"
    assert np.allclose(a.fixed["estimate"], -b.fixed["estimate"], atol=2e-3)
    c = fit(frame, parse_formula("passed01 ~ ses + (1 | class)").with_(family="binomial"))
    assert np.allclose(a.fixed["estimate"], c.fixed["estimate"], atol=1e-6)


def test_logical_outcome_true_is_success():
    frame = read_table(GLMM / "crossed.csv").frame
    res = _fit("bin_crossed")
    assert res.extra["success"] == "TRUE"
    assert len(frame) == res.nobs


def test_threshold_makes_pass_fail():
    frame = _frame()
    spec = parse_formula("ses ~ small + (1 | class)").with_(family="binomial",
                                                           threshold=(">=", 0.0))
    res = fit(frame, spec)
    assert res.extra["success"] == "ses >= 0"
    frame2 = frame.assign(high=(frame["ses"] >= 0).astype(int))
    ref = fit(frame2, parse_formula("high ~ small + (1 | class)").with_(family="binomial"))
    assert np.allclose(res.fixed["estimate"], ref.fixed["estimate"])
    assert "I(ses >= 0)" in res.formula


@pytest.mark.parametrize(
    "column, values, family, words",
    [
        ("y", [0.5, 1.5, 2.25], "binomial", "decimal"),
        ("y", ["a", "b", "c"], "binomial", "3 different values"),
        ("y", [-1, 0, 2], "poisson", "negative"),
        ("y", [0.5, 1, 2], "poisson", "not whole numbers"),
        ("y", ["x", "y", "x"], "poisson", "text"),
        ("y", [1, 2, 1], "binomial", "0 and 1"),
    ],
)
def test_unsuitable_outcomes_are_refused_in_plain_words(column, values, family, words):
    rng = np.random.default_rng(1)
    n = 60
    frame = pd.DataFrame({column: rng.choice(values, n), "g": np.repeat(list("abcdef"), 10)})
    frame.loc[:2, column] = values  # every value present
    with pytest.raises(ModelError, match=words):
        fit(frame, parse_formula(f"{column} ~ 1 + (1 | g)").with_(family=family))


def test_agq_only_for_a_single_random_intercept():
    spec = parse_formula(CASES["bin_slope"]["formula"]).with_(family="binomial", nagq=5)
    with pytest.raises(ModelError, match="one random intercept"):
        fit(_frame(), spec)


def test_glmm_and_linear_models_are_not_compared():
    lin = fit(_frame(), parse_formula("passed01 ~ 1 + (1 | class)").with_(reml=False))
    with pytest.raises(ModelError, match="outcome differently"):
        lrt(lin, _fit("bin_nested"), _frame())


def test_overdispersion_and_fitted_values_match_lme4():
    from hlm_core.diagnostics_glmm import fitted_response, overdispersion

    ref = json.loads((GLMM / "dispersion.json").read_text())
    od = overdispersion(_fit("pois_ri"))
    assert od.df == ref["df"]
    assert od.chisq == pytest.approx(ref["pearson_chisq"], rel=2e-3)
    assert od.p_value == pytest.approx(ref["p_value"], abs=0.01)
    assert "No sign of overdispersion" in od.sentence()
    bin_fit = fit(_frame(), parse_formula("result ~ ses + small + (1 | class)").with_(
        family="binomial"))
    assert fitted_response(bin_fit)[[0, 99, 499]] == pytest.approx(ref["fitted_bin"], abs=2e-3)


def test_binned_and_group_residuals():
    from hlm_core.diagnostics_glmm import binned_residuals, group_residuals

    res = _fit("bin_ri")
    b = binned_residuals(res)
    assert b["n"].sum() == res.nobs and b["fitted"].is_monotonic_increasing
    # the model's fitted values are conditional: residuals average to ~0 overall
    assert abs((b["residual"] * b["n"]).sum() / res.nobs) < 0.01
    g = group_residuals(res)
    y = res.model_frame.y
    block = res.model_frame.blocks[0]
    first = g.iloc[0]
    assert first["observed"] == pytest.approx(y[block.codes == 0].mean())
    assert len(g) == 60


def test_write_up_speaks_in_odds_and_equations_show_the_link():
    from hlm_core.report import describe_results
    from hlm_core.writeup import apa_paragraph, apa_table, level_equations

    res = _fit("bin_ri")
    orow = res.fixed.set_index("term").loc["smallyes"]
    text = apa_paragraph(res)
    assert f"OR = {orow['odds_ratio']:.2f}" in text and "Laplace" in text and "z = " in text
    words = describe_results(res)
    assert (f"Pupils with small 'yes', compared with small 'no' (the reference group), had "
            f"{orow['odds_ratio']:.2f} times the odds of result = pass (95% CI "
            f"{orow['odds_ratio_ci_low']:.2f} to {orow['odds_ratio_ci_high']:.2f})") in words
    ses = res.fixed.set_index("term").loc["ses"]
    assert f"Each extra unit of ses multiplies the odds of result = pass by " \
           f"{ses['odds_ratio']:.2f}" in words
    assert "against the reference" not in words and "one unit more" not in words
    table = apa_table(res)
    assert "OR" in table.columns and "t" not in table.columns
    eq = level_equations(res, _frame())
    assert eq["level1"][0].startswith("logit(P(result_ij = 1)) = ")
    assert "r_ij" not in eq["mixed"] and not any("σ²" in v for v in eq["variances"])
    pois = _fit("pois_nested")
    eqp = level_equations(pois, _frame())
    assert eqp["mixed"].startswith("log(E(absences_ijk)) = ")
    assert "IRR = " in apa_paragraph(pois)
    prow = pois.fixed.set_index("term").loc["ses"]
    said = describe_results(pois)
    assert f"Each extra unit of ses multiplies the expected number of absences by " \
           f"{prow['rate_ratio']:.2f}" in said
    # smallyes is not clearly different from 1 here: said so, with its rate ratio and p
    small = pois.fixed.set_index("term").loc["smallyes"]
    assert small["p_value"] > 0.05
    assert (f"Pupils with small 'yes' do not clearly differ from those with small 'no' (the "
            f"reference group) (rate ratio {small['rate_ratio']:.2f}") in said
    assert "in an average class has" in said  # the inner unit of school/class, not 'class:school'
    assert "lies between classes (within schools) and schools (latent-scale ICC" in said


def test_workbook_and_html_report_for_a_yes_no_model():
    import io

    from openpyxl import load_workbook

    from hlm_core.export import workbook
    from hlm_core.report_html import html_report

    res = _fit("bin_ri")
    book = load_workbook(io.BytesIO(workbook(res)))
    fixed = next(ws for ws in book.worksheets if ws.title.lower().startswith("fixed"))
    rows = [[c.value for c in r] for r in fixed.iter_rows()]
    header = rows[0]
    assert header == ["term", "estimate", "std_error", "z_value", "p_value", "estimate_ci_low",
                      "estimate_ci_high", "odds_ratio", "ci_low", "ci_high"]
    small = dict(zip(header, next(r for r in rows if r[0] == "smallyes"), strict=True))
    orow = res.fixed.set_index("term").loc["smallyes"]
    assert small["ci_low"] == pytest.approx(orow["odds_ratio_ci_low"])  # the ratio's interval
    assert small["estimate_ci_high"] == pytest.approx(orow["ci_high"])  # the logit's
    assert any("ci_low/ci_high its 95% interval" in str(r[0]) for r in rows[1:])
    page = html_report(res, "fp", None, None)
    assert "odds" in page and "logit" in page
    assert "Satterthwaite" not in page and "Wald z tests" in page and "estimate_ci_low" in page


def test_fair_comparisons_on_the_link_scale():
    from hlm_core.fairness import reliability, shrinkage

    res = _fit("bin_ri")
    rel = reliability(res, "class")
    tau = res.varcorr["vcov"].iloc[0]
    sd = res.ranef["class"]["cond_sd"].to_numpy()
    assert np.allclose(rel["reliability"], 1 - sd**2 / tau)
    assert rel["reliability"].between(0, 1).all()
    sh = shrinkage(res, "(Intercept)", "class")
    own = sh["own_estimate"] - sh["average"]
    model = sh["model_estimate"] - sh["average"]
    # the model pulls every class towards the average: never further out, same side mostly
    assert (model.abs() <= own.abs() + 1e-9).mean() > 0.95
    assert np.corrcoef(own, model)[0, 1] > 0.8
