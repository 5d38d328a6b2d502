"""Intervals as every output shows them: computed by method, attached to the fit (one
cache, read by the write-up, the APA table, the workbook and the HTML report), merged into the
command line's JSON, and formatted ("95% CI [.15, .22]").

Light to import (the exports import it): the engine loads only when intervals are computed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hlm_core.errors import ModelError
from hlm_core.result import FitResult

if TYPE_CHECKING:
    from hlm_core.intervals import Intervals

LEVEL = 0.95

CI_METHODS = ("profile", "boot")


def compute_intervals(
    result: FitResult,
    method: str = "profile",
    nsim: int | None = None,
    seed: int | None = None,
    progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Intervals:
    """Intervals by `method`: "profile" (lme4's default) or "boot" (parametric bootstrap)."""
    if method == "profile":
        from hlm_core.intervals import profile_intervals

        return profile_intervals(result, progress, should_stop)
    if method != "boot":
        raise ModelError(f"Unknown interval method '{method}': use 'profile' or 'boot'.")
    from hlm_core.bootstrap import DEFAULT_NSIM, DEFAULT_SEED, boot_intervals, bootstrap

    nsim = DEFAULT_NSIM if nsim is None else nsim
    if nsim < 20:
        raise ModelError("Use at least 20 bootstrap draws (--nsim 20); 500 or more is usual.")
    seed = DEFAULT_SEED if seed is None else seed
    draws = bootstrap(result, nsim, seed, progress, should_stop)
    return boot_intervals(result, draws)


def add_to_dict(payload: dict, iv: Intervals) -> dict:
    """The command line's JSON with intervals: ci_low / ci_high (and ci_note, words for an
    edge) on every variance_components row, icc_ci, and what produced them."""
    for row, ci in zip(payload["variance_components"], iv.table.itertuples(), strict=True):
        row["ci_low"] = _finite(ci.ci_low)
        row["ci_high"] = _finite(ci.ci_high)
        row["ci_note"] = ci.edge
    payload["icc_ci"] = [_finite(v) for v in iv.icc] if iv.icc is not None else None
    payload["ci"] = {"method": iv.method, "level": LEVEL, "nsim": iv.nsim, "seed": iv.seed,
                     "notes": list(iv.notes)}
    return payload


def _finite(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def format_ci(low: float, high: float, digits: int = 2, apa: bool = False) -> str:
    """"[.15, .22]" (APA style drops the leading zero of proportions) or "[0.15, 0.22]"."""
    def one(v: float) -> str:
        text = f"{v:.{digits}f}"
        return text.replace("0.", ".", 1) if apa and abs(v) < 1 else text

    return f"[{one(low)}, {one(high)}]"


def attach(result: FitResult, iv: Intervals) -> Intervals:
    """Keep `iv` with the fit (one per method), so the exports can show it."""
    result.extra.setdefault("intervals", {})[iv.method] = iv
    return iv


def attached(result: FitResult) -> Intervals | None:
    """The fit's intervals: the likelihood profile if computed (lme4's default), else the
    bootstrap's, else None."""
    found = result.extra.get("intervals") or {}
    return found.get("profile") or found.get("boot")


def varcorr_with_ci(result: FitResult) -> pd.DataFrame:
    """The varcorr table, with ci_low / ci_high (sdcor scale) when intervals are attached."""
    iv = attached(result)
    if iv is None:
        return result.varcorr
    out = result.varcorr.copy()
    out["ci_low"] = iv.table["ci_low"].to_numpy()
    out["ci_high"] = iv.table["ci_high"].to_numpy()
    return out


def method_words(iv: Intervals) -> str:
    if iv.method == "profile":
        return "likelihood profile, as lme4's confint()"
    return f"parametric bootstrap, {iv.nsim} draws, seed {iv.seed}, percentile"


def icc_ci_text(result: FitResult, apa: bool = True) -> str:
    """", 95% CI [.15, .22]" for the ICC when intervals are attached, else ""."""
    iv = attached(result)
    if iv is None or iv.icc is None or not all(np.isfinite(iv.icc)):
        return ""
    return f", 95% CI {format_ci(*iv.icc, apa=apa)}"


def icc_ci_rows(result: FitResult) -> list[tuple[str, object]]:
    """The ICC's 95% interval as model-fit table rows, when intervals are attached."""
    iv = attached(result)
    if iv is None or iv.icc is None:
        return []
    return [("ICC 95% CI low", iv.icc[0]), ("ICC 95% CI high", iv.icc[1])]


def ci_sheet_note(result: FitResult) -> str | None:
    """The workbook's note under the variance components, when intervals are attached."""
    iv = attached(result)
    return None if iv is None else f"ci_low, ci_high: 95% intervals ({method_words(iv)})."
