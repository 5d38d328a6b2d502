"""Write-up: HLM level equations, the APA paragraph and the APA table.

The equations are checked line by line for the classic models (Raudenbush & Bryk's HSB model
with cross-level interactions, a three-level model); the APA numbers are parsed back out of the
paragraph and compared with hlm_core's fit and with the lme4/lmerTest reference.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.io import read_table
from hlm_core.writeup import (
    apa_paragraph,
    apa_table,
    fmt,
    fmt_p,
    fmt_unit,
    level_equations,
)
from tests.refdata import FIXTURES, load_reference

Z975 = 1.959963984540054


@pytest.fixture(scope="module")
def data() -> dict[str, pd.DataFrame]:
    return {n: read_table(FIXTURES / f"{n}.csv").frame for n in ("exam", "hsb82", "bdf")}


@pytest.fixture(scope="module")
def fits(data):
    cases = {
        "exam_rs": ("exam", "normexam ~ standLRT + (standLRT | school)"),
        "hsb_rb": (
            "hsb82",
            "mAch ~ meanses + sector + cses + meanses:cses + sector:cses + (cses | school)",
        ),
    }
    return {k: fit(data[f], parse_formula(fm)) for k, (f, fm) in cases.items()}


# ----------------------------------------------------------------------------- equations


def test_exam_random_slope_equations(fits):
    eq = level_equations(fits["exam_rs"])
    assert eq["level1"] == ["normexam_ij = β0j + β1j·(standLRT)_ij + r_ij"]
    assert eq["level2"] == ["β0j = γ00 + u0j", "β1j = γ10 + u1j"]
    assert eq["level3"] == []
    assert eq["mixed"] == (
        "normexam_ij = γ00 + γ10·(standLRT)_ij + u0j + u1j·(standLRT)_ij + r_ij"
    )
    assert eq["latex_level1"] == [
        r"\text{normexam}_{ij} = \beta_{0j} + \beta_{1j}\,\text{standLRT}_{ij} + r_{ij}"
    ]
    assert eq["latex_level2"] == [r"\beta_{0j} = \gamma_{00} + u_{0j}",
                                  r"\beta_{1j} = \gamma_{10} + u_{1j}"]
    assert eq["predictor_levels"] == {"standLRT": 1}
    # the variances come from the fit: tau_11 = 0.0150 in lme4
    assert "Var(u1j) = 0.01 (school)" in eq["variances"]
    assert "Corr(u0j, u1j) = .49" in eq["variances"]


def test_hsb_cross_level_interactions_sit_in_the_slope_equation(fits):
    eq = level_equations(fits["hsb_rb"])
    assert eq["predictor_levels"] == {"meanses": 2, "sector": 2, "cses": 1}
    assert eq["level1"] == ["mAch_ij = β0j + β1j·(cses)_ij + r_ij"]
    assert eq["level2"] == [
        "β0j = γ00 + γ01·(meanses)_j + γ02·(sectorPublic)_j + u0j",
        "β1j = γ10 + γ11·(meanses)_j + γ12·(sectorPublic)_j + u1j",
    ]
    assert eq["mixed"] == (
        "mAch_ij = γ00 + γ01·(meanses)_j + γ02·(sectorPublic)_j + γ10·(cses)_ij"
        " + γ11·(cses)_ij·(meanses)_j + γ12·(cses)_ij·(sectorPublic)_j"
        " + u0j + u1j·(cses)_ij + r_ij"
    )
    assert eq["latex_level2"][1] == (
        r"\beta_{1j} = \gamma_{10} + \gamma_{11}\,\text{meanses}_{j}"
        r" + \gamma_{12}\,\text{sectorPublic}_{j} + u_{1j}"
    )
    assert any("Level-2 predictors" in n and "meanses, sector" in n for n in eq["notes"])


def test_fixed_slope_has_no_random_term(data):
    r = fit(data["hsb82"], parse_formula("mAch ~ cses + meanses + (1 | school)"))
    eq = level_equations(r)
    assert eq["level2"] == ["β0j = γ00 + γ01·(meanses)_j + u0j", "β1j = γ10"]


def test_group_centred_mean_is_level_two(data):
    spec = parse_formula("mAch ~ ses + sector + (ses | school)").with_(
        centering=(("ses", "group"),)
    )
    eq = level_equations(fit(data["hsb82"], spec))
    assert eq["predictor_levels"]["ses"] == 1
    assert eq["predictor_levels"]["ses.mean"] == 2
    assert eq["level2"][0] == "β0j = γ00 + γ01·(ses.mean)_j + γ02·(sectorPublic)_j + u0j"
    assert any("ses is centred within school" in n for n in eq["notes"])


def test_variable_only_in_an_interaction_needs_the_frame(data):
    """`sector` enters only through cses:sector; the frame says it is a school variable."""
    r = fit(data["hsb82"], parse_formula("mAch ~ cses + cses:sector + (cses | school)"))
    eq = level_equations(r, data["hsb82"])
    assert eq["predictor_levels"]["sector"] == 2
    assert eq["level2"] == ["β0j = γ00 + u0j", "β1j = γ10 + γ11·(sectorPublic)_j + u1j"]


def test_three_levels(data):
    r = fit(
        data["bdf"],
        parse_formula("langPOST ~ IQ.verb + classsiz + schoolSES + (1 | schoolNR/classNR)"),
    )
    eq = level_equations(r)
    assert eq["predictor_levels"] == {"IQ.verb": 1, "classsiz": 2, "schoolSES": 3}
    assert eq["levels"] == ["students", "classNR", "schoolNR"]
    assert eq["level1"] == ["langPOST_ijk = π0jk + π1jk·(IQ.verb)_ijk + e_ijk"]
    assert eq["level2"] == ["π0jk = β00k + β01k·(classsiz)_jk + r0jk", "π1jk = β10k"]
    assert eq["level3"] == [
        "β00k = γ000 + γ001·(schoolSES)_k + u00k",
        "β01k = γ010",
        "β10k = γ100",
    ]
    assert eq["mixed"] == (
        "langPOST_ijk = γ000 + γ100·(IQ.verb)_ijk + γ010·(classsiz)_jk"
        " + γ001·(schoolSES)_k + r0jk + u00k + e_ijk"
    )
    assert eq["latex_level3"][0] == (
        r"\beta_{00k} = \gamma_{000} + \gamma_{001}\,\text{schoolSES}_{k} + u_{00k}"
    )


def test_three_levels_with_slopes_at_both_levels(data):
    formula = "langPOST ~ IQ.verb * schoolSES + (IQ.verb | schoolNR/classNR)"
    r = fit(data["bdf"], parse_formula(formula))
    eq = level_equations(r)
    assert eq["level2"] == ["π0jk = β00k + r0jk", "π1jk = β10k + r1jk"]
    assert eq["level3"] == [
        "β00k = γ000 + γ001·(schoolSES)_k + u00k",
        "β10k = γ100 + γ101·(schoolSES)_k + u10k",
    ]


def test_crossed_factors_are_extra_terms(data):
    r = fit(data["exam"], parse_formula("normexam ~ standLRT + (1 | school) + (1 | intake)"))
    eq = level_equations(r)
    assert eq["level2"][0] == "β0j = γ00 + u0j + v0l"
    assert any("not nested" in n for n in eq["notes"])


def test_latex_escapes_names(data):
    frame = data["exam"].rename(columns={"standLRT": "reading_score&#1"})
    r = fit(frame, parse_formula("normexam ~ `reading_score&#1` + (1 | school)"))
    eq = level_equations(r)
    assert r"\text{reading\_score\&\#1}_{ij}" in eq["latex_level1"][0]
    assert "(reading_score&#1)_ij" in eq["level1"][0]


# ----------------------------------------------------------------------------- APA


def test_number_formats():
    assert fmt(0.5565) == "0.56"
    assert fmt(-0.0012) == "-0.0012"  # not "-0.00": a small variance stays visible
    assert fmt(0.0) == "0.00"
    assert fmt(-0.001, 2) == "-0.001"
    assert fmt_unit(0.391) == ".39"
    assert fmt_unit(-0.391) == "-.39"
    assert fmt_unit(1.0) == "1.00"
    assert fmt_p(1.7e-34) == "< .001"
    assert fmt_p(0.0234) == ".023"
    assert fmt_p(0.7725) == ".772"
    assert fmt_p(0.99999) == "> .999"


_FIXED = re.compile(
    r"(?P<term>[^;:,(]+(?::[^;,(]+)?)(?: \((?P<contrast>\S+ vs\. \S+)\))?, "
    r"b = (?P<b>\S+), SE = (?P<se>\S+), t\((?P<df>\S+)\) = "
    r"(?P<t>\S+), p (?P<p>[=<>] \.\d+), 95% CI \[(?P<lo>\S+), (?P<hi>\S+)\]"
)


def _parsed_fixed(paragraph: str) -> dict[str, dict[str, str]]:
    block = paragraph.split("Fixed effects: ", 1)[1].split(". Across", 1)[0]
    out = {}
    for piece in block.split("; "):
        m = _FIXED.fullmatch(piece.strip())
        assert m, piece
        out[m["term"]] = m.groupdict()
    return out


def _close(text: str, value: float, slack: float = 0.0) -> bool:
    """A number printed with 2 decimals agrees with `value` (plus a little slack for
    differences between hlm_core and lme4 that can move the last printed digit)."""
    return abs(float(text) - value) <= 0.005 + slack + 1e-12


@pytest.mark.parametrize("case", ["exam_rs", "hsb_rb"])
def test_apa_paragraph_numbers(fits, case):
    r = fits[case]
    ref = load_reference(case)["reml"]
    text = apa_paragraph(r)
    n_groups = ref["ngroups"]["school"]
    assert f"N = {ref['nobs']:,} students in J = {n_groups} schools" in text
    assert "restricted maximum likelihood (REML)" in text
    assert "Satterthwaite" in text and "lmerTest" in text

    parsed = _parsed_fixed(text)
    rows = {("intercept" if t == "(Intercept)" else t): t for t in r.fixed["term"]}
    assert list(parsed) == list(rows)
    for ref_row in ref["fixed"]:
        label = "intercept" if ref_row["term"] == "(Intercept)" else ref_row["term"]
        got = parsed[label]
        ours = r.fixed.set_index("term").loc[ref_row["term"]]
        # exactly hlm_core's numbers, rounded once (to the SE's second significant digit)
        se = ours["std_error"]
        assert got["b"] == fmt(ours["estimate"], se=se) and got["se"] == fmt(se, se=se)
        assert got["df"] == f"{ours['df']:.1f}" and got["t"] == fmt(ours["t_value"])
        assert got["lo"] == fmt(ours["ci_low"], se=se) and got["hi"] == fmt(ours["ci_high"],
                                                                            se=se)
        # ... which are lme4/lmerTest's numbers
        assert _close(got["b"], ref_row["estimate"], 1e-4)
        assert _close(got["se"], ref_row["std_error"], 1e-4)
        assert abs(float(got["df"]) - ref_row["df"]) <= 0.02 * ref_row["df"] + 0.05
        t_ref = ref_row["estimate"] / ref_row["std_error"]
        assert _close(got["t"], t_ref, 0.01)
        p = ref_row["p_value"]
        assert got["p"] == ("< .001" if p < 0.001 else f"= {fmt_p(p)}")

    # random slope SD and the range of 95% of the schools' slopes, from lme4's numbers
    slope = next(v for v in ref["varcorr"] if v["term1"] not in ("", "(Intercept)")
                 and v["term2"] == "")
    term = slope["term1"]
    est = next(f["estimate"] for f in ref["fixed"] if f["term"] == term)
    m = re.search(rf"slope of {term} \(SD = (\S+)\)", text)
    assert m and _close(m[1], slope["sdcor"], 1e-4)
    m = re.search(rf"slopes of {term} between (-?\d+\.\d+) and (-?\d+\.\d+)", text)
    assert m
    assert _close(m[1], est - Z975 * slope["sdcor"], 1e-3)
    assert _close(m[2], est + Z975 * slope["sdcor"], 1e-3)
    corr = next(v for v in ref["varcorr"] if v["term2"])
    assert f"r = {fmt_unit(corr['sdcor'])}" in text
    assert f"residual SD was {fmt(ref['sigma'])}" in text
    assert f"ICC = {fmt_unit(r.icc)}" in text
    assert f"R² = {fmt_unit(r.r2_marginal)}" in text
    assert f"R² = {fmt_unit(r.r2_conditional)}" in text


def test_apa_paragraph_null_model_icc_against_lme4(data):
    ref = load_reference("exam_null")
    r = fit(data["exam"], parse_formula(ref["formula"]))
    text = apa_paragraph(r)
    assert f"ICC = {fmt_unit(ref['icc'])}" in text
    assert f"{100 * ref['icc']:.0f}% of the variance in normexam lies between schools" in text


def test_apa_paragraph_ml_and_centring(data):
    spec = parse_formula("mAch ~ ses + (1 | school)", reml=False).with_(
        centering=(("ses", "group"),)
    )
    text = apa_paragraph(fit(data["hsb82"], spec))
    assert "maximum likelihood (ML)" in text and "REML" not in text
    assert "ses was centred within school" in text and "(ses.mean) was added" in text


def test_apa_table(fits):
    r = fits["hsb_rb"]
    ref = load_reference("hsb_rb")["reml"]
    t = apa_table(r)
    assert list(t.columns) == ["Part", "Term", "Estimate", "SE", "df", "t", "p", "95% CI", "SD"]
    parts = t["Part"].tolist()
    n_fixed = len(r.fixed)
    assert parts == ["Fixed effects"] * n_fixed + ["Random effects"] * (len(t) - n_fixed)
    assert t["Term"].tolist()[:n_fixed] == ["Intercept", *r.fixed["term"][1:]]
    for (_, row), f in zip(t.iloc[:n_fixed].iterrows(), ref["fixed"], strict=True):
        assert _close(row["Estimate"], f["estimate"], 1e-4)
        assert _close(row["SE"], f["std_error"], 1e-4)
        assert row["p"] == fmt_p(f["p_value"])
        assert re.fullmatch(r"\[-?\d+\.\d\d, -?\d+\.\d\d\]", row["95% CI"])
    assert (t.iloc[:n_fixed]["p"] == "< .001").all()
    rand = t.iloc[n_fixed:].set_index("Term")
    tau = next(v for v in ref["varcorr"] if v["term1"] == "cses" and not v["term2"])
    assert _close(rand.loc["cses | school (variance)", "Estimate"], tau["vcov"], 1e-4)
    assert _close(rand.loc["cses | school (variance)", "SD"], tau["sdcor"], 1e-4)
    corr = next(v for v in ref["varcorr"] if v["term2"])
    assert rand.loc["Intercept, cses | school (correlation)", "Estimate"] == fmt_unit(
        corr["sdcor"]
    )
    assert _close(rand.loc["Residual", "SD"], ref["sigma"], 1e-4)
    assert "N = 7,185" in t.attrs["note"] and "Satterthwaite" in t.attrs["note"]
    # every cell is text, ready to paste
    assert all(isinstance(v, str) for v in np.ravel(t.to_numpy()))
