"""95% intervals in the app: the likelihood profile once per fit (at once when it is quick, on
request otherwise), and the parametric bootstrap on request, with a progress bar, a Stop
button, and the number of draws and the seed shown.

Everything computed is kept in this session's `Session.intervals` (newest few), keyed by the
fit, and the profile is attached to the fit (hlm_core.ci_output.attach) so the write-up and
every export carry it.

Where it runs: a profile on request and every bootstrap (hundreds to thousands of refits) run
in a worker process (ui.jobs: memory and time limits, progress, Stop; a click elsewhere
doesn't stop them, their answer lands when ready). A quick profile (`profile_is_quick`: one
variance on at most QUICK_NOBS rows, ~0.15 s) runs here, on the page, without asking: bounded
and cheap, it costs less than starting a worker and sending it the fit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from hlm_core.bootstrap import DEFAULT_NSIM, DEFAULT_SEED, BootDraws, boot_intervals, bootstrap
from hlm_core.ci_output import attach, format_ci
from hlm_core.errors import HLMError
from hlm_core.intervals import Intervals, profile_intervals
from hlm_core.result import FitResult
from ui import jobs
from ui.state import log, session
from ui.text import md

MAX_KEPT = 16  # interval results kept per session (the newest)
QUICK_NOBS = 20_000  # a random-intercept profile on this many rows takes well under a second
QUICK_NOBS_GLMM = 3_000  # a yes/no or count model's profile refits beta too: ~0.5 s at 1,000
NSIM_CHOICES = (100, 200, 500, 1000, 2000)


def _key(result: FitResult, *what: Any) -> tuple:
    """One fit's results: its data, its model and its estimates (another optimizer's fit of
    the same model is another fit)."""
    return (session().data_key(), result.spec, round(result.loglik, 9), *what)


def cached(result: FitResult, *what: Any) -> Any:
    """What was computed for this fit under `what`, or None."""
    return session().intervals.get(_key(result, *what))


def _keep(key: tuple, value: Any) -> Any:
    store = session().intervals
    store[key] = value
    store.move_to_end(key)
    while len(store) > MAX_KEPT:
        store.popitem(last=False)
    return value


def _job(result: FitResult, what: tuple, fn: Callable[..., Any], *args: Any, label: str,
         key: str, **kwargs: Any) -> Any:
    """`fn(*args, progress=..., **kwargs)` (a module-level hlm_core function) in a worker
    process with progress and Stop (widget key `w_stop_<key>`); its value, or the plain message
    why it failed, kept for this fit under `what`. None while it goes on after a click."""
    kept = _key(result, *what)  # the fit as it is now: the answer lands under it

    def keep(value: Any) -> None:
        _keep(kept, value)

    jobs.run(fn, *args, what=label, key=key, tag=kept, done=keep, failed=keep, progress=True,
             advice="Try a simpler random part, or fewer bootstrap draws.", **kwargs)
    return session().intervals.get(kept)


def was_cancelled(key: str) -> bool:
    """True in the run that a Stop press (on the page or in the sidebar) started."""
    return bool(st.session_state.get(f"w_stop_{key}")
                or st.session_state.get(f"w_jobstop_{key}"))


# ---------------------------------------------------------------------------- profile


def profile_is_quick(result: FitResult) -> bool:
    """One variance and sigma (a random intercept, one grouping) on ordinary data: the
    profile takes ~0.15 s on the classroom example, so it is computed without asking."""
    if result.is_glmm:  # one SD, no residual row; each profile point refits the fixed effects
        return len(result.varcorr) == 1 and result.nobs <= QUICK_NOBS_GLMM
    return len(result.varcorr) <= 2 and result.nobs <= QUICK_NOBS


def profile(result: FitResult, key: str = "profile", compute: bool = False
            ) -> Intervals | str | None:
    """The fit's profile intervals: kept ones, or computed now when quick or `compute`;
    None when they wait for the user to ask. A str is a plain message why they failed."""
    found = cached(result, "profile")
    if found is None and profile_is_quick(result):  # bounded and cheap: here, at once
        try:
            found = profile_intervals(result)
        except HLMError as exc:
            found = str(exc)
        except Exception:
            log.exception("profile intervals failed")
            found = ("The intervals could not be computed for this model. Try a simpler "
                     "random part, or the other method.")
        _keep(_key(result, "profile"), found)
    elif found is None and compute:
        found = _job(result, ("profile",), profile_intervals, result, key=key,
                     label="Profiling the likelihood for the 95% intervals")
    if isinstance(found, Intervals):
        attach(result, found)
    return found


def ci_text(low: float, high: float, digits: int = 3) -> str:
    """"[0.250, 0.373]" for a table cell ("" when a bound is missing)."""
    if not (pd.notna(low) and pd.notna(high)):
        return ""
    return format_ci(low, high, digits=digits)


def icc_delta(iv: Intervals | str | None) -> str | None:
    """The ICC's interval for st.metric's delta line, or None."""
    if not isinstance(iv, Intervals) or iv.icc is None:
        return None
    return f"95% CI {format_ci(*iv.icc, digits=2)}"


# ---------------------------------------------------------------------------- bootstrap


def boot_settings(key: str, default_nsim: int = DEFAULT_NSIM) -> tuple[int, int]:
    """The draws and the seed, side by side (kept for the session)."""
    c1, c2 = st.columns(2)
    nsim = c1.selectbox("Bootstrap draws", NSIM_CHOICES, index=NSIM_CHOICES.index(default_nsim),
                        key=f"w_{key}_nsim", persist_state="session",
                        help="More draws give steadier interval ends and take longer.")
    seed = c2.number_input("Seed", min_value=0, max_value=2**31 - 1, value=DEFAULT_SEED, step=1,
                           key=f"w_{key}_seed", persist_state="session",
                           help="The same seed gives the same draws, so the same intervals.")
    return int(nsim), int(seed)


def draws(result: FitResult, nsim: int, seed: int, key: str, compute: bool = False
          ) -> BootDraws | str | None:
    """Parametric-bootstrap refits of this fit: kept ones, or run now when `compute`."""
    found = cached(result, "boot", nsim, seed)
    if found is None and compute:
        found = _job(result, ("boot", nsim, seed), bootstrap, result, nsim=nsim, seed=seed,
                     key=key, label=f"Bootstrap: refitting the model to {nsim:,} simulated "
                     "data sets")
    return found


def explained(null: FitResult, models: list[FitResult], nsim: int, seed: int, key: str,
              compute: bool = False) -> list[pd.DataFrame] | str | None:
    """Bootstrap intervals of the variance explained by each model relative to `null`."""
    from hlm_core.bootstrap import explained_intervals_each

    what = ("explained", tuple(m.formula for m in models), nsim, seed)
    found = cached(null, *what)
    if found is None and compute:
        found = _job(null, what, explained_intervals_each, null, list(models), nsim=nsim,
                     seed=seed, key=key,
                     label=f"Bootstrap: {nsim:,} simulated data sets per model")
    return found


def show_edges(iv: Intervals | str | None) -> None:
    """The words for bounds at an edge (an SD's 0, a correlation's ±1), one caption each."""
    if isinstance(iv, Intervals):
        for note in dict.fromkeys(e for e in iv.table["edge"] if e):
            st.caption(f":material/info: {md(note, None)}")


def boot_section(result: FitResult, icc_name: str = "ICC", key: str = "vc_boot"
                 ) -> Intervals | None:
    """Bootstrap intervals of the SDs, correlations and ICC on request (an expander with the
    draws, the seed, a progress bar and Cancel); the intervals once run (also attached to the
    fit, so the exports carry them when no profile was computed)."""
    with st.expander("Bootstrap intervals (parametric, as lme4's bootMer)"):
        st.caption(
            "Refits the model to data sets simulated from it and reads each interval off the "
            "middle 95% of the refits' values (percentile intervals). Slower than the profile; "
            "a check on it, especially with few groups."
        )
        nsim, seed = boot_settings(key, default_nsim=200)
        run = st.button("Run the bootstrap", key=f"{key}_go", icon=":material/casino:")
        found = draws(result, nsim, seed, key=key, compute=run)
        if isinstance(found, str):
            from ui.widgets import show_error

            show_error(found)
            return None
        if found is None:
            if was_cancelled(key):
                st.info("Stopped: no bootstrap intervals were computed.", icon=":material/cancel:")
            return None
        iv = attach(result, boot_intervals(result, found))
        vc = result.varcorr
        st.dataframe(pd.DataFrame({
            "Group": vc["group"],
            "Effect": [t1 if not t2 else f"correlation {t1} with {t2}"
                       for t1, t2 in zip(vc["term1"], vc["term2"].fillna(""), strict=True)],
            "Estimate": vc["sdcor"],
            "95% CI (bootstrap)": [ci_text(lo, hi, 4) for lo, hi in
                                   zip(iv.table["ci_low"], iv.table["ci_high"], strict=True)],
        }), hide_index=True, column_config={"Estimate": st.column_config.NumberColumn(
            format="%.4f")})
        if iv.icc is not None and result.icc is not None:
            st.markdown(f"{icc_name} {result.icc:.3f}, 95% CI {format_ci(*iv.icc, digits=3)} "
                        "(bootstrap).")
        for note in iv.notes:
            st.caption(f":material/info: {md(note, None)}")
        return iv
