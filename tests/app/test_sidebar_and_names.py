"""The sidebar and result pages never pair a new, unfitted formula with "Fitted" (issue 10,
point 4); names with spaces or symbols render as code with the backticks a user must type,
everywhere, and the error that says so shows its backticks (point 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.app.apphelpers import fit_by_formula, go, new_app, texts, upload, widget

FITTED = "`Maths score` ~ `Homework hours` + (1 | class)"
NEW = "`Maths score` ~ `Homework hours` + `pupil's age` + (1 | class)"


def odd_names_csv() -> bytes:
    rng = np.random.default_rng(4)
    n = 120
    d = pd.DataFrame({"class": rng.integers(1, 9, n), "Homework hours": rng.integers(0, 6, n),
                      "pupil's age": rng.integers(9, 12, n)})
    d["Maths score"] = 50 + 2 * d["Homework hours"] + rng.normal(0, 5, n)
    return d.to_csv(index=False).encode()


def sidebar_code(at) -> list[str]:
    return [c.value for c in at.sidebar.code]


def test_sidebar_shows_the_fitted_formula_and_marks_a_new_one_not_fitted():
    at = upload(new_app(), "odd.csv", odd_names_csv())
    fit_by_formula(at, FITTED)
    assert sidebar_code(at) == [FITTED]
    side = " ".join(str(e.value) for e in [*at.sidebar.markdown, *at.sidebar.caption])
    assert "Fitted model" in side and "not fitted yet" not in side

    widget(at, "text_input", "Formula").input(NEW).run()  # typed, not fitted
    assert sidebar_code(at) == [FITTED, NEW]
    side = " ".join(str(e.value) for e in [*at.sidebar.markdown, *at.sidebar.caption])
    assert "not fitted yet" in side
    for page in ("results", "class_effects", "slopes", "diagnostics", "report"):
        go(at, page)
        warn = " ".join(str(w.value) for w in at.warning)
        assert "not fitted yet" in warn, page
        # both formulas as code spans whose fence keeps the inner backticks
        assert f"`` {FITTED} ``" in warn and f"`` {NEW} ``" in warn, warn


def test_headers_show_formulas_as_code_with_backticks():
    at = upload(new_app(), "odd.csv", odd_names_csv())
    fit_by_formula(at, FITTED)
    for page in ("results", "diagnostics", "report"):
        go(at, page)
        assert f"**Model:** `` {FITTED} ``" in texts(at), page


def test_backtick_hint_shows_its_backticks():
    at = upload(new_app(), "odd.csv", odd_names_csv())
    go(at, "model")
    widget(at, "text_input", "Formula").input("Maths score ~ Homework hours + (1 | class)").run()
    message = " ".join(str(e.value) for e in at.error)
    # escaped for Markdown, so the page shows `Maths score` with its backticks
    assert "\\`Maths score\\`" in message, message
