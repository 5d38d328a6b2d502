"""Workshop mode: plain-language notes on the pages when switched on (and only then), hover help
for the statistical terms, the example data sets with their guided tour, and the presenter view
(larger fonts on the page and in the charts)."""

from __future__ import annotations

import pytest
from apphelpers import button, figures, fit_by_formula, go, new_app, show_fair, texts, widget

import ui.guidance
from hlm_core.examples import example_info, list_examples
from hlm_core.figures import FONT
from hlm_core.glossary import TERMS, TOPICS, term_help

ALL_PAGES = ["data", "model", "results", "class_effects", "slopes", "compare", "diagnostics",
             "plan", "report"]
NOTES = {  # page -> workshop notes it must show once a model is fitted
    "data": ["data", "levels"],
    "model": ["model", "centring"],
    "results": ["icc", "fixed_effects", "variance_components", "random_effect", "model_fit"],
    "class_effects": ["caterpillar", "interval_width", "shrinkage", "reliability"],
    "compare": ["comparison"],
    "diagnostics": ["diagnostics"],
    "slopes": ["slopes", "random_slope", "shrinkage"],
    "plan": ["planning"],
    "report": ["report", "export"],
}


def infos(at) -> str:
    return "\n".join(str(i.value) for i in at.info)


def toggle(at, label: str):
    return widget(at, "toggle", label)


def fitted_example(workshop: bool):
    at = new_app()
    if workshop:
        toggle(at, "Workshop mode").set_value(True).run()
    button(at, "Use example data").click().run()
    return fit_by_formula(
        at, "score ~ exam.prep.days + poverty + parent.ed + (exam.prep.days | class)")


@pytest.mark.parametrize("page", ALL_PAGES)
def test_every_page_has_the_workshop_and_presenter_toggles(page):
    at = go(new_app(), page)
    labels = [t.label for t in at.toggle]
    assert "Workshop mode" in labels and "Large font (presenter view)" in labels


def test_workshop_notes_show_only_in_workshop_mode():
    at = fitted_example(workshop=False)
    for page in NOTES:
        go(at, page)
        for topic in NOTES[page]:
            assert TOPICS[topic] not in infos(at), (page, topic)
    at = fitted_example(workshop=True)
    for page, topics in NOTES.items():
        go(at, page)
        if page == "class_effects":  # shrinkage and reliability: in the fair comparisons
            show_fair(at)
        assert toggle(at, "Workshop mode").value is True  # stays on across pages
        for topic in topics:
            assert TOPICS[topic] in infos(at), (page, topic)
    # and off again
    toggle(at, "Workshop mode").set_value(False).run()
    assert TOPICS["report"] not in infos(at)


def test_hover_help_on_results_comes_from_the_glossary():
    at = go(fitted_example(workshop=False), "results")
    helps = {m.label: m.proto.help for m in at.metric}
    assert helps["R² marginal"] == TERMS["R² marginal"]
    assert helps["R² conditional"] == TERMS["R² conditional"]
    assert helps["ICC (adjusted)"].startswith(TERMS["ICC"])


def test_every_statistical_term_has_hover_help():
    wanted = ["ICC", "REML", "ML", "Satterthwaite df", "random intercept", "random slope",
              "BLUP", "conditional SD", "shrinkage", "reliability", "deviance", "AIC", "BIC",
              "R² marginal", "R² conditional", "singular fit", "design effect", "centring"]
    for term in wanted:
        assert len(term_help(term)) > 40, term
        assert ui.guidance.help_text(term) == term_help(term)
    # forgiving spelling
    assert term_help("r2 marginal") == TERMS["R² marginal"]
    assert term_help("Centering") == TERMS["centring"]
    assert term_help("satterthwaite-df") == TERMS["Satterthwaite df"]
    assert ui.guidance.help_text("no such term") is None
    for topic in ["random_effect", "interval_width", "shrinkage", "icc", "random_slope",
                  "caterpillar"]:
        assert len(TOPICS[topic]) > 100


@pytest.mark.parametrize(("name", "rows", "group"), [
    ("classroom", 500, "class"), ("exam", 4059, "school"), ("hsb82", 7185, "school"),
    ("bdf", 2287, "schoolNR"),
])
def test_example_data_sets_with_the_guided_tour(name, rows, group):
    at = new_app()
    toggle(at, "Workshop mode").set_value(True).run()
    assert set(widget(at, "selectbox", "Example data set").options) == {
        example_info(n).title for n in list_examples()}
    widget(at, "selectbox", "Example data set").set_value(name).run()
    button(at, "Use example data").click().run()
    assert not at.exception and not at.error
    assert f"Example: {name}: {rows:,} rows" in texts(at)
    assert widget(at, "multiselect", "Grouping columns (smallest group first)").value == [group]
    info = example_info(name)
    tour = "\n".join(str(s.value) for s in at.success)
    assert info.tour["Data"] in tour
    assert any(info.formulas[-1] in str(c.value) for c in at.code)
    # the tour follows to the next pages
    go(at, "model")
    assert info.tour["Model"] in "\n".join(str(s.value) for s in at.success)
    # and the suggested model fits
    fit_by_formula(at, info.formulas[-1])


def test_presenter_view_injects_css_and_enlarges_chart_fonts():
    at = go(fitted_example(workshop=False), "slopes")
    assert not [h for h in at.get("html") if "hlm-presenter-view" in h.proto.body]
    base = figures(at)[0]["layout"]["font"]["size"]
    assert base == FONT["size"]
    toggle(at, "Large font (presenter view)").set_value(True).run()
    styles = [h.proto.body for h in at.get("html") if "hlm-presenter-view" in h.proto.body]
    assert styles and "font-size" in styles[0] and styles[0].startswith("<style")
    assert figures(at)[0]["layout"]["font"]["size"] == round(
        FONT["size"] * ui.guidance.PRESENTER_SCALE)
    go(at, "class_effects")  # the caterpillar too
    caterpillar = figures(at, "caterpillar")
    assert caterpillar and all(
        f["layout"]["font"]["size"] == round(FONT["size"] * ui.guidance.PRESENTER_SCALE)
        for f in caterpillar
    )
    go(at, "results")  # stays on across pages
    assert [h for h in at.get("html") if "hlm-presenter-view" in h.proto.body]
    toggle(at, "Large font (presenter view)").set_value(False).run()
    assert not [h for h in at.get("html") if "hlm-presenter-view" in h.proto.body]
