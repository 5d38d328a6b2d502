"""The bad-input corpus (tests/corpus) through the app with AppTest: every case, as a user does it.

Each case starts a fresh app and uploads the corpus file through the real "Upload data" widget on
the Data page (picking the sheet if the case names one), then, as `tests.corpus.cases.app_check`
describes (the steps are in corpus_app.py): checks the read notes and the table (``upload``),
chooses the grouping columns (``describe``), ticks "Treat these codes as missing"
(``missing_codes``), or types the formula and presses Fit model (``fit``). No step may show a
traceback (``at.exception`` stays empty); a refusal is an st.error holding the case's plain
message; and for a sample of cases (at least one per kind, refused and accepted) the session goes
on: the example data load and fit, and the results pages open.
"""

from __future__ import annotations

import pytest
from corpus_app import STILL_USABLE

from tests.corpus import cases as corpus
from tests.corpus.cases import CASES, Case


def test_every_kind_is_checked_for_usability_afterwards():
    ids = {c.id: c for c in CASES}
    assert STILL_USABLE <= ids.keys()
    kinds = {(ids[i].does, bool(ids[i].error)) for i in STILL_USABLE}
    assert {(c.does, bool(c.error)) for c in CASES} <= kinds


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_through_the_app(case: Case):
    corpus.app_check(case)


