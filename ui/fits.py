"""Fitting in this session: the fit cache (the newest fits per data and model), the fit on show,
the model ladder, the Diagnostics page's refits on request, the memo of slow view computations,
the models the user saved for the Compare page and the figure images made for export.

Every fit, ladder and refit runs in a worker process (ui.jobs → hlm_core.jobs): memory and time
limits, a progress bar and a Stop button; a fit that fails or is stopped leaves the earlier fit
on show. A click elsewhere doesn't stop it: its answer lands in this session when it is ready,
through the same functions that keep it when the user waits (`_keep_fit`, `_keep_ladder`, ...).

Every cache lives in the session object (ui.state) only, keyed by the data key, so a fit is
never shown for data it was not fitted to, and never reaches another session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from hlm_core.compare import Ladder, ladder
from hlm_core.errors import HLMError
from hlm_core.fit import fit
from hlm_core.result import FitResult
from hlm_core.spec import ModelSpec
from ui import jobs
from ui.data import working_frame
from ui.state import session

MAX_FITS = 6  # fits kept per session (the newest; the one on show is never dropped)
MAX_LADDERS = 4
# numbers a view computation draws that stay on the page: 1,000 draws of 2,000 groups' ranks
# take ~0.1 s, less than starting a worker; bigger ones run in a worker process (memo_view)
VIEW_HERE_MAX = 2_000_000
FIT_ADVICE = "Try a simpler model (fewer random slopes or predictors) or a smaller data set."


# ---------------------------------------------------------------------------- fits


def fit_key(spec: ModelSpec) -> tuple:
    """What a fit is cached under: (data key, spec)."""
    return (session().data_key(), spec)


def fit_model(spec: ModelSpec, then: Callable[[FitResult], None] | None = None
              ) -> FitResult | None:
    """Fit `spec` to the working data (in a worker process), or reuse this session's earlier
    fit of the same (data, spec). Shows progress and Stop while fitting and a plain message
    when it can't be done. None when it failed, or goes on after a click elsewhere: the fit
    then lands in a later run (ui.jobs), followed by `then(result)` as if the user had
    waited."""
    s = session()
    key = fit_key(spec)
    s.fit_error = None
    if key in s.fits:
        s.fits.move_to_end(key)
        s.fit_key = key
        return s.fits[key]

    def done(result: FitResult) -> None:
        _keep_fit(key, result)
        if then is not None:
            then(result)

    jobs.run(fit, working_frame(), spec, what="Fitting the model", advice=FIT_ADVICE,
             key="fit", tag=key, done=done, failed=_fit_failed)
    return s.fits.get(key) if s.fit_key == key else None


def _keep_fit(key: tuple, result: FitResult) -> None:
    s = session()
    s.fits[key] = result
    s.fits.move_to_end(key)
    s.fit_key = key
    while len(s.fits) > MAX_FITS:
        s.fits.popitem(last=False)


def _fit_failed(message: str) -> None:
    session().fit_error = message


def use_fit(result: FitResult) -> None:
    """Show `result` (e.g. the other optimizer's better fit) as the fit of its model."""
    _keep_fit(fit_key(result.spec), result)


def current_fit() -> FitResult | None:
    """The fit the results pages show: the last one fitted, if it is for the current data."""
    return session().current_fit()


def fit_is_stale() -> bool:
    """True when the Model page now describes a different model than the one shown."""
    s = session()
    return s.fit_key is not None and s.spec is not None and s.fit_key[1] != s.spec


def rows_dropped_text(result: FitResult) -> str | None:
    """How many rows the fit left out for missing values, per column (None if none)."""
    if not result.rows_dropped:
        return None
    detail = ", ".join(f"{c}: {k:,}" for c, k in result.dropped_by_column.items())
    return (
        f"{result.rows_dropped:,} of {result.rows_total:,} rows were left out because of "
        f"missing values ({detail})."
    )


def memo(name: str, key: Any, compute: Callable[[], Any]) -> Any:
    """`compute()` once per `key` (e.g. the fit and the chosen options), remembered in this
    session only, the last key per `name` — so moving a slider doesn't redo slow work.

    `compute` runs here, in the server: only for work that is bounded and cheap, i.e. a pass
    or a sort over the fit's rows or groups, with no refits and no simulation — the
    Diagnostics residuals, Q-Q points (one sort; no simulated envelope) and per-group spread,
    the Class effects shrinkage and reliability, the Slopes page's per-group lines, the
    Report's equations, paragraph and figure list, Compare's A-versus-B (from the ladder's fits).
    On the largest data the reader accepts these take well under a second (the Data page's
    column summary, missing-code and stray-text checks on 3 million rows: ~0.16 s CPU).
    Refits, simulations and draws that grow with a user's settings go through jobs instead:
    `memo_job`, `memo_view`, `diag_run`, ui.intervals, ui.plan."""
    store = session().memo
    hit = store.get(name)
    if hit is not None and hit[0] == key:
        return hit[1]
    value = compute()
    store[name] = (key, value)
    return value


def memo_view(name: str, key: Any, size: int, fn: Callable[..., Any], *args: Any, what: str,
              **kwargs: Any) -> Any:
    """A view computation `fn(*args, **kwargs)` (a module-level hlm_core function) once per
    `key`: here when its `size` (numbers drawn) is at most VIEW_HERE_MAX, bounded and cheap;
    else in a worker process with progress and Stop (`memo_job`). HLMError in plain words
    when it fails; None while it goes on after a click elsewhere."""
    if size <= VIEW_HERE_MAX:
        return memo(name, key, lambda: fn(*args, **kwargs))
    out = memo_job(name, key, fn, *args, what=what, **kwargs)
    if isinstance(out, str):
        raise HLMError(out)
    return out


# ---------------------------------------------------------------------------- saved models


def saved_models() -> list[tuple[str, ModelSpec]]:
    """[(name, spec)] the user saved for the Compare page, oldest first."""
    return list(session().saved)


def save_model(name: str, spec: ModelSpec) -> str:
    """Keep (name, spec) for the Compare page; the same name again replaces it. Returns the
    sentence to show."""
    name = name.strip() or f"Saved model {len(saved_models()) + 1}"
    kept = [(n, s) for n, s in saved_models() if n != name]
    kept.append((name, spec))
    session().saved = kept
    return f"Saved as '{name}': fit it next to the model ladder on the Compare page."


# ---------------------------------------------------------------------------- the model ladder


def ladder_key(spec: ModelSpec, extra: list[tuple[str, ModelSpec]]) -> tuple:
    """What a ladder is cached under: (data key, the model by ML, the saved models)."""
    return (session().data_key(), spec.with_(reml=False), tuple(extra))


def cached_ladder(spec: ModelSpec, extra: list[tuple[str, ModelSpec]]) -> Ladder | str | None:
    """The ladder (or the message why it failed) fitted for this data, model and saved
    models, if it was fitted in this session."""
    return session().ladders.get(ladder_key(spec, extra))


def fit_ladder(spec: ModelSpec, extra: list[tuple[str, ModelSpec]]) -> Ladder | str | None:
    """Fit the model ladder (null → … → `spec`, then `extra`) by ML, once per (data, model,
    saved models) in this session. Returns the Ladder or a plain message; None while it goes
    on after a click elsewhere (it lands in a later run)."""
    key = ladder_key(spec, extra)
    if key not in session().ladders:
        jobs.run(ladder, working_frame(), spec, extra=list(extra) or None,
                 what="Fitting the model ladder by ML",
                 advice="Try a simpler model, or compare the models one at a time.",
                 key="ladder", tag=key, done=lambda out: _keep_ladder(key, out),
                 failed=lambda message: _keep_ladder(key, message))
    return session().ladders.get(key)


def _keep_ladder(key: tuple, out: Ladder | str) -> None:
    store = session().ladders
    store[key] = out
    while len(store) > MAX_LADDERS:
        store.popitem(last=False)


def comparison_table(spec: ModelSpec | None = None) -> pd.DataFrame | None:
    """The model ladder's table the Compare page made for the current data, if any, for the
    exports: the ladder up to `spec` when there is one, else the latest."""
    s = session()
    if not s.ladders:
        return None
    key = s.data_key()
    found = None
    for k, v in s.ladders.items():
        if isinstance(k, tuple) and k and k[0] == key and hasattr(v, "table"):
            if found is None or len(k) < 2 or k[1] == spec or found[0] != spec:
                found = (k[1] if len(k) > 1 else None, v)
    return found[1].table if found is not None else None


# ---------------------------------------------------------------------------- on request


def diag_get(what: str) -> Any:
    """A Diagnostics refit result stored for the fit on show (None if not run yet)."""
    s = session()
    return s.diagnostics.get((s.fit_key, what))


def diag_run(what: str, fn: Callable[..., Any], *args: Any, label: str,
             wrap: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
    """A slow Diagnostics refit `fn(*args, **kwargs)` (a module-level hlm_core function) for
    the fit on show, in a worker process with progress and Stop, once (a failure may be tried
    again), kept in this session under `what`: `wrap(value)` or `wrap(message)` when given, else
    the value or the plain message (str). None while it goes on after a click elsewhere."""
    s = session()
    key, store = s.fit_key, s.diagnostics
    found = store.get((key, what))
    if found is not None and not isinstance(found, str):
        return found
    for k in [k for k in store if k[0] != key]:
        del store[k]  # only the fit on show keeps its refits

    def keep(value: Any) -> None:
        session().diagnostics[(key, what)] = wrap(value) if wrap is not None else value

    jobs.run(fn, *args, what=label, advice=FIT_ADVICE, key=f"refit_{what}", tag=key,
             done=keep, failed=keep, **kwargs)
    return store.get((key, what))


def memo_job(name: str, key: Any, fn: Callable[..., Any], *args: Any, what: str,
             then: Callable[[Any], None] | None = None, **kwargs: Any) -> Any:
    """`memo` for a view computation that can take long on big data: `fn(*args, **kwargs)` (a
    module-level hlm_core function) in a worker process with progress and Stop, once per `key`;
    the value, or the plain message (str) why it failed. None while it goes on after a click
    elsewhere (it lands in a later run); `then(value)` follows a value that lands."""
    store = session().memo
    hit = store.get(name)
    if hit is not None and hit[0] == key:
        return hit[1]

    def keep(value: Any) -> None:
        session().memo[name] = (key, value)
        if then is not None and not isinstance(value, str):
            then(value)

    jobs.run(fn, *args, what=what, advice=FIT_ADVICE, key=f"view_{name}", tag=key,
             done=keep, failed=keep, **kwargs)
    hit = store.get(name)
    return hit[1] if hit is not None and hit[0] == key else None


def diag_forget(what: str) -> None:
    """Drop a Diagnostics refit result stored for the fit on show."""
    s = session()
    s.diagnostics.pop((s.fit_key, what), None)


def export_cache(result_key: Any) -> dict:
    """This session's store of figure images made on request, for the fit shown (older fits'
    images are dropped)."""
    s = session()
    if s.exports is None or s.exports[0] != result_key:
        s.exports = (result_key, {})
    return s.exports[1]
