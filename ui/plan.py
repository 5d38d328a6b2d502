"""The Plan a study page's session glue: the planning inputs read from this session's data and
fits (with where each came from), the input widgets' state, and the simulation run in pieces
so its progress bar moves and Cancel works."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from hlm_core.compare import Ladder, ladder_specs
from hlm_core.errors import HLMError
from hlm_core.fit import fit
from hlm_core.plan_prefill import Prefill, omega_from_slope, prefill
from hlm_core.plan_views import TYPICAL
from hlm_core.power import PlanResult
from hlm_core.power_sim import (
    PowerSimulation,
    SimResult,
    SimSettings,
    run_piece,
    top_and_inner,
)
from hlm_core.result import FitResult
from ui import data, fits, jobs
from ui.state import session
from ui.text import md
from ui.widgets import group_label

PREFIX = "w_plan_"
SIM_PIECE_S = 1.0  # seconds of refits per page run: the bar moves and Cancel is seen that often
INTEGER = {"g2", "g3"}


OWN_IN_CRA3 = {"J", "rho2", "r22"}  # classes within schools in cra3; clusters in cra2/bira2


def key(name: str, design: str) -> str:
    """The widget key of an input. J, rho2 and r22 mean classes within schools in the 3-level
    design, so there they have their own inputs."""
    if name in OWN_IN_CRA3 and design == "cra3":
        return f"{PREFIX}{name}_cra3"
    return f"{PREFIX}{name}"


# ---------------------------------------------------------------------------- from the data


def _null_spec():
    s = session()
    if s.spec is None or not s.spec.random or s.table is None:
        return None
    try:
        return ladder_specs(data.working_frame(), s.spec)[0][1]
    except (HLMError, KeyError, ValueError):
        return None


def null_model() -> FitResult | None:
    """A null model of the current data: the fit on show when it is one, the one fitted here,
    or the model ladder's first step."""
    s = session()
    null = _null_spec()
    if null is None:
        return None
    shown = s.current_fit()
    if shown is not None and shown.spec.with_(reml=True) == null.with_(reml=True):
        return shown
    hit = s.memo.get("plan_null")
    if hit is not None and hit[0] == (s.data_key(), null):
        return hit[1] if isinstance(hit[1], FitResult) else None
    lad = ladder()
    return lad.results[0] if lad is not None else None


def fit_null_model(then: Callable[[FitResult], None] | None = None) -> str | None:
    """Fit the null model of the current model's grouping (REML), then `then(fit)`; a plain
    message on failure (None also while it goes on after a click elsewhere: `then` follows
    when it lands)."""
    null = _null_spec()
    if null is None:
        return "Choose a model with a grouping variable on the Model page first."

    out = fits.memo_job("plan_null", (session().data_key(), null), fit, data.working_frame(),
                        null, what="Fitting the null model", then=then)
    return out if isinstance(out, str) else None


def ladder() -> Ladder | None:
    """The model ladder fitted on the Compare page for the current data, if any."""
    s = session()
    key_now = s.data_key()
    for k, v in reversed(s.ladders.items()):
        if isinstance(v, Ladder) and k[0] == key_now:
            return v
    return None


def found_values(design: str) -> dict[str, Prefill]:
    """Every planning input this session's data and fits can give, with its source."""
    s = session()
    if s.table is None:
        return {}
    structure = None
    if s.levels:
        out = data.structure(data.working_frame(), list(s.levels))
        structure = out if not isinstance(out, str) else None
    null = null_model()
    shown = s.current_fit()
    try:
        found = prefill(design, null=null, structure=structure, ladder=ladder(), result=shown)
    except (HLMError, KeyError, ValueError, IndexError):
        return {}
    if design == "bira2" and shown is not None:  # omega2 from the first random slope
        slopes = [t for g in shown.ranef for t in shown.random_terms(g) if t != "(Intercept)"]
        omega = omega_from_slope(shown, slopes[0]) if slopes else None
        if omega is not None:
            found["omega2"] = omega
    return found


# ---------------------------------------------------------------------------- input widgets


COUNTS = {"n", "J", "K"}


def _typed(name: str, value: float) -> Any:
    """The value as its input holds it: whole numbers for covariates, one decimal for group
    sizes and counts, four for shares."""
    if name in INTEGER:
        return round(value)
    return round(float(value), 1 if name in COUNTS else 4)


def input_format(name: str) -> str | None:
    if name in INTEGER:
        return None
    return "%.1f" if name in COUNTS else "%.4f"


def ensure_defaults(names: list[str], design: str, found: dict[str, Prefill]) -> None:
    """First visit: each input starts at the value from the data, else a typical value."""
    for name in names:
        k = key(name, design)
        if k not in st.session_state:
            value = found[name].value if name in found else TYPICAL[name]
            if name == "J" and design == "cra3" and name not in found:
                value = 3.0
            st.session_state[k] = _typed(name, value)


def use_data_values(design: str) -> None:
    """Button callback: every input the data can give goes back to the data's value."""
    for name, p in found_values(design).items():
        st.session_state[key(name, design)] = _typed(name, p.value)


def source_note(name: str, value: float, found: dict[str, Prefill]) -> str:
    """Where the value shown came from, in words."""
    p = found.get(name)
    if p is None:
        return "typical value — replace it with yours" if value == TYPICAL.get(name) else \
            "entered by you"
    ci = f"; 95% interval {p.interval[0]:.3f} to {p.interval[1]:.3f}" if p.interval else ""
    if abs(value - _typed(name, p.value)) < 1e-9:
        return f"from your data: {p.source}{ci}"
    return f"entered by you (your data say {p.value:.3g}: {p.source}{ci})"


def store(res: PlanResult, sources: dict[str, str], sim: SimResult | None = None) -> None:
    """Keep the answer (and the simulation shown with it) for the report and the workbook."""
    session().plan = (res, sources, sim)


# ---------------------------------------------------------------------------- simulation


def sim_levels(result: FitResult) -> tuple[str, str]:
    """The grouping the simulation copies (fewest groups) and the one it fills with rows."""
    top, inner = top_and_inner(result.model_frame)
    return top.group, inner.group


def group_text(result: FitResult, group: str) -> str:
    """A grouping's name for a label, as Markdown-safe text: a column name as it is (it may
    hold ':'), lme4's 'class:school' as 'class (within school)'."""
    plain = group if group in result.spec.variables() else group_label(group)
    return md(plain)


def sim_run() -> PowerSimulation | None:
    return session().plan_sim


def start_sim(result: FitResult, settings: SimSettings) -> str | None:
    """Set up a simulation run (the page runs it in pieces). A plain message if it can't."""
    try:
        session().plan_sim = PowerSimulation(result, settings)
    except HLMError as exc:
        return str(exc)
    return None


def cancel_sim() -> None:
    run = sim_run()
    if run is not None:
        run.cancelled = True


def step_sim(bar: Any) -> None:
    """Run the next piece of the simulation (about SIM_PIECE_S of refits) in a worker process,
    then move `bar`; the page reruns until it is done. Between pieces Cancel is seen, and what
    was done is kept."""
    run = sim_run()
    if run is None or run.finished:
        return

    def done(records: list) -> None:
        if sim_run() is run and not run.cancelled:
            run.records.extend(records)

    def failed(message: str) -> None:
        run.cancelled = True  # what was done is kept and shown
        session().job_note = message

    jobs.run(run_piece, run, SIM_PIECE_S, what="Simulating", key="plan_sim", done=done,
             failed=failed, show=False)
    total = run.settings.nsim
    bar.progress(run.done / total, text=f"Simulation {run.done:,} of {total:,}")
