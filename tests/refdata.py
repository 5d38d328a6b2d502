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

