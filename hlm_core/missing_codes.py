"""Missing-value codes such as -99 or 999: finding columns that use them and turning them
into missing values. Re-exported from `hlm_core.io`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hlm_core.errors import ModelError
from hlm_core.io_common import _listing

MISSING_CODES: tuple[float, ...] = (99.0, 999.0, -99.0, -999.0, -9.0)


def detect_missing_codes(frame: pd.DataFrame) -> dict[str, list[float]]:
    """Numeric columns that seem to use 99, 999, -99, -999 or -9 as "missing" markers.

    Survey and SPSS exports often write missing answers as such codes; left in, they wreck means
    and variances. A code is flagged when it appears at least twice and lies far outside the rest
    of the column: at least one full range (max - min of the other values) beyond its nearer
    end. E.g. 999 in test scores 0-100 is flagged; 99 in the same column is not. Only a
    suggestion: the app asks before `apply_missing_codes` changes anything.
    """
    found: dict[str, list[float]] = {}
    for col in frame.columns:
        series = frame[col]
        if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series):
            continue
        values = series.dropna().to_numpy(dtype=float)
        if values.size < 3:
            continue
        is_code = np.isin(values, MISSING_CODES)
        rest = values[~is_code]
        if rest.size < 2:
            continue
        lo, hi = float(rest.min()), float(rest.max())
        span = max(hi - lo, 1e-12)
        codes = []
        for code in MISSING_CODES:
            count = int(np.sum(values == code))
            if count < 2:
                continue
            if (code > hi and code - hi >= span) or (code < lo and lo - code >= span):
                codes.append(code)
        if codes:
            found[str(col)] = sorted(codes)
    return found


def apply_missing_codes(frame: pd.DataFrame, codes: dict[str, list[float]]) -> pd.DataFrame:
    """A copy of `frame` with the given codes set to missing (NaN) in their columns."""
    unknown = [c for c in codes if c not in frame.columns]
    if unknown:
        raise ModelError(f"There is no column called {_listing(unknown)} in the data.")
    out = frame.copy()
    for col, values in codes.items():
        if values:
            out[col] = out[col].mask(out[col].isin(list(values)))
    return out
