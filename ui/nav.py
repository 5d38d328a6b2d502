"""Where the pages are, and the "nothing here yet" notes that send the user to the page that
comes first (never an error, never a blank page)."""

from __future__ import annotations

import streamlit as st

from hlm_core.result import FitResult
from ui.state import session

DATA_PAGE = "pages/data.py"
MODEL_PAGE = "pages/model.py"
RESULTS_PAGE = "pages/results.py"
EFFECTS_PAGE = "pages/class_effects.py"
SLOPES_PAGE = "pages/slopes.py"
COMPARE_PAGE = "pages/compare.py"
DIAGNOSTICS_PAGE = "pages/diagnostics.py"
PLAN_PAGE = "pages/plan.py"
REPORT_PAGE = "pages/report.py"


def need_data() -> bool:
    """True (after showing what to do) when no data is loaded yet."""
    if session().table is not None:
        return False
    st.info("No data yet. Upload a file or try the example data on the Data page first.")
    st.page_link(DATA_PAGE, label="Go to Data", icon=":material/upload_file:")
    return True


def _not_fitted_note(result: FitResult) -> None:
    """Results pages show the fitted model; say so when the Model page holds another one."""
    from hlm_core.formula import format_formula
    from ui.widgets import md_code

    st.warning(
        f"These results are for the fitted model {md_code(format_formula(result.spec))} "
        f"({result.method}). The model now on the Model page, "
        f"{md_code(format_formula(session().spec))}, is **not fitted yet**: press Fit model "
        "there to see its results.",
        icon=":material/history:",
    )


def need_fit() -> FitResult | None:
    """The fitted model to show, or None after saying what to do next (never an error)."""
    if need_data():
        return None
    s = session()
    result = s.current_fit()
    if result is not None:
        if s.spec is not None and s.spec != result.spec:
            _not_fitted_note(result)
        return result
    if s.fit_key is not None:
        st.info(
            "The data changed since the model was fitted. Fit the model again on the Model page "
            "to see results for the data as they are now."
        )
    else:
        st.info("No model fitted yet. Choose the model on the Model page and press Fit model.")
    st.page_link(MODEL_PAGE, label="Go to Model", icon=":material/tune:")
    return None
