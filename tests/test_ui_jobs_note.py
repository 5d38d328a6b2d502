"""A click that interrupts a job (Streamlit stops the old run at its next progress update) leaves
a plain note for the next run, so a fit cut short by opening another page is not lost silently."""

import pytest

import ui.jobs as uj
from ui.state import session


class Interrupted(BaseException):
    pass

def test_a_click_that_interrupts_a_job_leaves_a_note(monkeypatch):
    def boom(*a, **k):
        raise Interrupted()
    monkeypatch.setattr(uj.jobs, "run_job", boom)
    session().job_note = None
    with pytest.raises(Interrupted):
        uj.run(print, what="Fitting the model", key="t")
    assert "Fitting the model was interrupted by another click" in session().job_note
