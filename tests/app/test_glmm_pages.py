"""Every page with a yes/no model and a count model (tests/fixtures/glmm/pupils.csv): no
crash, no raw engine text, and the numbers the pages show are the fit's (checked against lme4
in tests/test_glmm.py)."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import pandas as pd
import pytest
from apphelpers import (
    button,
    fit_by_formula,
    frame_by_key,
    go,
    new_app,
    open_expander,
    show_fair,
    state,
    texts,
    upload,
    widget,
)

GLMM = Path(__file__).resolve().parents[1] / "fixtures" / "glmm"
PAGES = ["results", "class_effects", "slopes", "compare", "diagnostics", "report"]


@pytest.fixture(scope="module")
def pupils_csv() -> bytes:
    return (GLMM / "pupils.csv").read_bytes()


def _binary(pupils_csv):
    at = upload(new_app(), "pupils.csv", pupils_csv)
    return fit_by_formula(at, "result ~ ses + small + (1 | class)")


def _count(pupils_csv):
    at = upload(new_app(), "pupils.csv", pupils_csv)
    go(at, "model")
    widget(at, "selectbox", "Outcome").set_value("absences").run()
    widget(at, "radio", "Outcome type").set_value("poisson").run()
    return fit_by_formula(at, "absences ~ ses + small + (1 | class)")


def test_typed_yes_no_outcome_is_fitted_as_logistic(pupils_csv):
    at = _binary(pupils_csv)
    spec = state(at).spec
    assert spec.family == "binomial"
    assert widget(at, "radio", "Outcome type").value == "binomial"
    assert "logit link" in texts(at) and "Laplace" in texts(at)


def test_results_page_shows_odds_ratios_and_latent_icc(pupils_csv):
    at = go(_binary(pupils_csv), "results")
    table = frame_by_key(at, "fixed_effects")
    assert "z" in table.columns and "Odds ratio" in table.columns and "t" not in table.columns
    assert "latent" in texts(at) and "odds" in texts(at)
    ses = table.set_index("Term").loc["ses"]
    assert ses["Odds ratio"] == pytest.approx(2.718281828 ** ses["Estimate"])
    # the ICC's metric: a label short enough for its column; latent scale and π²/3 in its help
    icc = next(m for m in at.metric if "ICC" in m.label)
    assert icc.label == "Latent ICC (adj.)"
    assert "π²/3" in icc.proto.help and "Adjusted" in icc.proto.help
    words = texts(at)
    assert "π²/3 (3.29)" in words and "pi^2" not in words
    # the write-up names the reference group (issue 10's rule), never "against the reference"
    assert "compared with small 'no' (the reference group)" in words
    assert "one unit more, or this category" not in words


def test_results_page_count_model_rate_ratios(pupils_csv):
    at = go(_count(pupils_csv), "results")
    table = frame_by_key(at, "fixed_effects")
    assert "Rate ratio" in table.columns
    ref = json.loads((GLMM / "pois_ri.json").read_text())
    assert list(table["Estimate"]) == pytest.approx([f["estimate"] for f in ref["fixed"]],
                                                    abs=2e-3)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("kind", ["binary", "count"])
def test_every_page_renders_for_generalized_models(pupils_csv, page, kind):
    at = _binary(pupils_csv) if kind == "binary" else _count(pupils_csv)
    at = go(at, page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert "Traceback" not in texts(at)


def test_class_effects_on_probability_scale(pupils_csv):
    at = go(_binary(pupils_csv), "class_effects")
    widget(at, "radio", "Scale").set_value("response").run()
    assert not at.exception and not at.error
    table = frame_by_key(open_expander(at, "w_effects_table_open"), "effects_table")
    assert set(table["term"]) == {"(Intercept)"}
    assert table["coef"].between(0, 1).all() and table["coef_low"].between(0, 1).all()
    assert (table["coef_low"] <= table["coef"]).all()
    assert (table["coef"] <= table["coef_high"]).all()
    assert "Chance of result = pass" in texts(at)


def test_slopes_show_probability_curves_and_raw_proportions(pupils_csv):
    from apphelpers import figures

    at = go(_binary(pupils_csv), "slopes")
    model_fig, raw_fig = figures(at, "slopes_model"), figures(at, "slopes_raw")
    assert model_fig and raw_fig
    assert "Chance of result = pass" in json.dumps(model_fig[0]["layout"])
    assert "raw proportion" in texts(at) or "raw proportion" in json.dumps(raw_fig[0]["layout"])


def test_compare_ladder_for_a_binary_outcome(pupils_csv):
    from apphelpers import button

    at = go(_binary(pupils_csv), "compare")
    button(at, "Fit the model ladder").click().run()
    assert not at.exception and not at.error
    ladder = frame_by_key(at, "ladder")
    null = json.loads((GLMM / "bin_null.json").read_text())
    assert ladder["logLik"].iloc[0] == pytest.approx(null["loglik"], abs=2e-3)
    assert len(ladder) == 3
    explained = frame_by_key(at, "variance_explained")
    assert explained["Students (level 1)"].isna().all()


def test_pass_mark_on_the_model_page(pupils_csv):
    at = upload(new_app(), "pupils.csv", pupils_csv)
    go(at, "model")
    widget(at, "selectbox", "Outcome").set_value("ses").run()
    widget(at, "radio", "Outcome type").set_value("binomial").run()
    widget(at, "toggle", "Make pass/fail from a score (a pass mark)").set_value(True).run()
    widget(at, "number_input", "Pass mark").set_value(0.5).run()
    widget(at, "selectbox", "Grouping variable").set_value("class").run()
    spec = state(at).spec
    assert spec.threshold == (">=", 0.5) and spec.family == "binomial"
    assert "success = ses >= 0.5" in texts(at)
    from apphelpers import button

    button(at, "Fit model").click().run()
    assert not at.exception and not at.error
    at = go(at, "results")
    assert "I(ses >= 0.5) ~ 1 + (1 | class)" in texts(at)


def test_random_slope_yes_no_model_class_effects_and_fair_comparisons(pupils_csv):
    at = upload(new_app(), "pupils.csv", pupils_csv)
    at = fit_by_formula(at, "result ~ ses + (1 + ses | class)")
    at = go(at, "class_effects")
    assert not at.exception and not at.error
    assert "Effect of ses per class" in texts(at)
    show_fair(at)
    assert not at.exception and not at.error
    assert "Shrinkage" in texts(at)


def test_a_markdown_group_name_stays_text_on_the_yes_no_diagnostics(pupils_csv):
    """The per-group check of a yes/no model names the grouping column in its heading and
    caption: a column named as a KaTeX macro or link must show as typed, never render."""
    name = "$\\href{http://127.0.0.1:9/k}{x}$ [a](http://127.0.0.1:9/l)"
    frame = pd.read_csv(BytesIO(pupils_csv)).rename(columns={"class": name})
    at = upload(new_app(), "pupils.csv", frame.to_csv(index=False).encode())
    fit_by_formula(at, f"result ~ ses + small + (1 | `{name}`)")
    go(at, "diagnostics")
    assert not at.exception, [e.value for e in at.exception]
    naming = [str(e.value) for kind in ("subheader", "caption") for e in getattr(at, kind)
              if "href" in str(e.value)]
    assert len(naming) >= 2, naming
    for s in naming:
        assert "\\$\\\\href" in s and "\\[a\\]" in s, s
    assert f"Observed minus expected per {name}" in texts(at)


def test_diagnostics_influence_refits_and_no_crosscheck_in_plain_words(pupils_csv):
    from hlm_core.diagnostics import influential_groups
    from hlm_core.fit import fit
    from hlm_core.formula import parse_formula
    from hlm_core.io import read_table

    at = go(_binary(pupils_csv), "diagnostics")
    words = texts(at)
    assert "Not available for yes/no and count models" in words and "Bayesian" in words
    assert not [b for b in at.button if "statsmodels" in b.label]  # nothing offered to fail
    button(at, "Refit without each of the top 5 groups").click().run()
    assert not at.exception and not at.error
    shown = at.dataframe[-1].value
    frame = read_table(GLMM / "pupils.csv").frame
    res = fit(frame, parse_formula("result ~ ses + small + (1 | class)").with_(
        family="binomial"))
    want = influential_groups(res, frame, top=5).table  # checked against glmer refits
    assert list(shown["class"]) == list(want["group"])
    assert list(shown["smallyes"]) == pytest.approx(list(want["smallyes"]), abs=1e-6)
    assert "on the logit scale" in texts(at)


def test_results_variance_components_carry_lme4s_profile_interval(pupils_csv):
    """A count model's class SD: the "95% CI" cell is lme4's confint (tests/fixtures/glmm_ci),
    and the latent ICC metric shows its interval."""
    at = go(_count(pupils_csv), "results")
    assert not at.exception and not at.error
    vc = next(d.value for d in at.dataframe if "95% CI" in d.value.columns)
    cell = vc["95% CI"].iloc[0]
    low, high = (float(x) for x in cell.strip("[]").split(","))
    ref = json.loads((GLMM.parent / "glmm_ci" / "pois_ri.json").read_text())["intervals"][0]
    assert low == pytest.approx(ref["lower"], rel=5e-3)
    assert high == pytest.approx(ref["upper"], rel=5e-3)
    icc = next(m for m in at.metric if m.label.startswith("Latent ICC"))
    assert icc.delta.startswith("95% CI [")
    assert "residual (within groups)" not in texts(at)
