"""Pages opened with no data or no fit say what to do next (with a link), never an error."""

import pytest
from apphelpers import button, go, new_app, texts

PAGES_NEEDING_DATA = ["model", "results", "class_effects", "slopes"]


def links(at):
    return [(p.value, p.proto.page) for p in at.page_link]


def test_app_starts_on_the_data_page():
    at = new_app()
    assert not at.exception
    assert at.title[0].value == "Data"
    assert [f.label for f in at.file_uploader] == ["Upload data", "Open analysis (.hlm.zip)"]
    assert "Use example data" in [b.label for b in at.button]
    assert not at.error


@pytest.mark.parametrize("page", PAGES_NEEDING_DATA)
def test_pages_without_data_point_to_the_data_page(page):
    at = go(new_app(), page)
    assert not at.error
    assert "No data yet" in texts(at)
    assert any("data" in target.lower() for _label, target in links(at)), links(at)


@pytest.mark.parametrize("page", ["results", "class_effects", "slopes"])
def test_pages_without_a_fit_point_to_the_model_page(page):
    at = new_app()
    button(at, "Use example data").click().run()
    go(at, page)
    assert not at.error
    assert "No model fitted yet" in texts(at)
    assert any("model" in target.lower() for _label, target in links(at)), links(at)


def test_changing_the_data_after_a_fit_asks_for_a_new_fit():
    from apphelpers import fit_by_formula, widget

    at = new_app()
    button(at, "Use example data").click().run()
    fit_by_formula(at, "score ~ exam.prep.days + (1 | class)")
    go(at, "data")
    cats = widget(at, "multiselect", "Categorical columns")
    cats.set_value([*cats.value, "poverty"]).run()
    go(at, "results")
    assert not at.error
    assert "data changed" in texts(at)
