"""Test helpers: the lme4/lmerTest reference fits and the datasets they were made from."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
EXTRA = FIXTURES / "extra"  # more lme4 fits made here with extra/make_reference.R (see cases.csv)
CASES = sorted(p.stem for p in FIXTURES.glob("*.json") if p.stem != "versions")
EXTRA_CASES = sorted(p.stem for p in EXTRA.glob("*.json") if p.stem != "versions")
ALL_CASES = CASES + EXTRA_CASES


def load_reference(case: str) -> dict:
    path = FIXTURES / f"{case}.json"
    ref = json.loads((path if path.exists() else EXTRA / f"{case}.json").read_text())
    for method in ("reml", "ml"):
        for block in ref[method]["ranef"]:
            # jsonlite unboxes length-1 vectors: normalise to lists of lists
            if isinstance(block["terms"], str):
                block["terms"] = [block["terms"]]
            for key in ("values", "cond_sd"):
                if isinstance(block[key], dict):  # named list from R
                    block[key] = [block[key][t] for t in block["terms"]]
                if block[key] and not isinstance(block[key][0], list):
                    block[key] = [block[key]]
            block["levels"] = [str(x) for x in block["levels"]]
    return ref



def assert_estimates_match(got, want) -> None:
    """Fixed-effect terms, estimates and SEs against lme4's, at the published tolerances:
    estimates 1e-4 relative or 1e-3 of their SE, standard errors 2e-3 relative."""
    import numpy as np

    assert list(got["term"]) == list(want["term"])
    est_err = np.abs(got["estimate"].to_numpy() - want["estimate"].to_numpy())
    ok = (est_err <= 1e-4 * np.abs(want["estimate"].to_numpy())) | (
        est_err <= 1e-3 * want["std_error"].to_numpy()
    )
    assert ok.all(), est_err
    np.testing.assert_allclose(got["std_error"], want["std_error"], rtol=2e-3)
