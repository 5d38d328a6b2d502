"""Test helpers: the lme4/lmerTest reference fits and the datasets they were made from."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(p.stem for p in FIXTURES.glob("*.json") if p.stem != "versions")


def load_reference(case: str) -> dict:
    ref = json.loads((FIXTURES / f"{case}.json").read_text())
    for method in ("reml", "ml"):
        for block in ref[method]["ranef"]:
            # jsonlite unboxes length-1 vectors: normalise to lists of lists
            if isinstance(block["terms"], str):
                block["terms"] = [block["terms"]]
            for key in ("values", "cond_sd"):
                if block[key] and not isinstance(block[key][0], list):
                    block[key] = [block[key]]
            block["levels"] = [str(x) for x in block["levels"]]
    return ref

