"""A small data set shaped like the Tennessee STAR kindergarten file: schools `sch`, teachers
`tch` with IDs unique across schools (so teachers nest in schools), pupils' scores. Used by the
grouping-order tests (issue 10, point 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def star_like(schools: int = 40, pupils: int = 18, extra_columns: int = 0,
              seed: int = 3) -> pd.DataFrame:
    """`schools` schools with 2-5 teachers each and `pupils` pupils per teacher; columns
    `read`, `math`, `sch`, `tch`, after `extra_columns` unrelated number columns (a long list
    of columns before the ones a user needs, as in the real file)."""
    rng = np.random.default_rng(seed)
    rows = []
    tch = 16000
    for sch in range(1, schools + 1):
        for _ in range(rng.integers(2, 6)):
            tch += 1
            for _ in range(pupils):
                rows.append((rng.normal(430, 30), rng.normal(480, 40), sch, tch))
    d = pd.DataFrame(rows, columns=["read", "math", "sch", "tch"])
    for k in range(extra_columns):
        d.insert(0, f"q{k}", rng.normal(size=len(d)))
    return d
